//! Image configs: parsed as verify and mirror do, then the program they would run.
//! Property: a config that parses, serialised and parsed again, serialises to the same
//! bytes (nothing mpbuild reads from it is lost or changed on the way).
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
        if let Some(c) = mpbuild::inspect::entrypoint::shell_command(&argv) {
            let _ = mpbuild::inspect::entrypoint::shell_first_program(c);
        }
        let _ = mpbuild::inspect::entrypoint::env_program(&argv, "/usr/bin:/bin");
    }
    let once = serde_json::to_vec(&cfg).expect("a parsed config serialises");
    let again: ImageConfig = serde_json::from_slice(&once)
        .unwrap_or_else(|e| panic!("{cfg:?} written as {once:?} does not parse: {e}"));
    assert_eq!(
        serde_json::to_vec(&again).unwrap(),
        once,
        "changed by a round trip"
    );
    assert_eq!(again.platform(), cfg.platform());
});
