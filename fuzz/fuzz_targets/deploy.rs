//! Deployment files (ECS task definitions, CloudFormation/SAM, Kubernetes, compose,
//! Copilot), as `from:` targets and `mpbuild check` read them.
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
    let env = |_: &str| None;
    for cluster in [None, Some(&archs[..])] {
        let ctx = mpbuild::deploy::Context {
            file: "fuzz.yaml",
            cluster,
            env: &env,
        };
        match mpbuild::deploy::read_text(text, &ctx) {
            Ok(found) => {
                let _ = format!("{found:?}");
                let _ = mpbuild::deploy::select_for_image(found, "fuzz.yaml", "r.example/app");
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
