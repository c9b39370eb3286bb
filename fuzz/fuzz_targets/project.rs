//! mpbuild.yaml, as `config::parse` checks it (no environment variables set).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use mpbuild::config::{self, Env};
use mpbuild::platform::Platform;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = Env {
        host: Platform::new("linux", "amd64", ""),
        var: &|_| None,
    };
    if let Err(e) = config::parse(Path::new("/nonexistent/fuzz/mpbuild.yaml"), text, &env) {
        let _ = e.to_string();
    }
});
