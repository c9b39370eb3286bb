//! Image configs: parsed as verify and mirror do, then the program they would run.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpbuild::registry::ImageConfig;
use mpbuild::registry::Repository;

fuzz_target!(|data: &[u8]| {
    let repo = Repository::parse("127.0.0.1:5000/fuzz").unwrap();
    let digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let Ok(cfg) = mpbuild::verify::collect::parse_config(&repo, digest, data) else {
        return;
    };
    let _ = cfg.platform().to_string();
    if let Some(run) = &cfg.config {
        let argv = mpbuild::inspect::entrypoint::argv(run);
        let _ = mpbuild::inspect::entrypoint::shell_command(&argv);
        if let Some(c) = mpbuild::inspect::entrypoint::shell_command(&argv) {
            let _ = mpbuild::inspect::entrypoint::shell_first_program(c);
        }
        let _ = mpbuild::inspect::entrypoint::env_program(&argv, "/usr/bin:/bin");
    }
    let _: Result<ImageConfig, _> = serde_json::from_slice(data);
});
