//! Deployment files (ECS task definitions, CloudFormation/SAM, Kubernetes, compose,
//! Copilot), as `from:` targets read them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpbuild::platform::Platform;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let archs = [
        Platform::new("linux", "amd64", ""),
        Platform::new("linux", "arm64", ""),
    ];
    for (cluster, repository) in [(None, None), (Some(&archs[..]), Some("r.example/app"))] {
        match mpbuild::deploy::read_text(text, "fuzz.yaml", cluster, repository) {
            Ok(found) => {
                let _ = format!("{found:?}");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
