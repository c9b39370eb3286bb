//! Platforms: parse, print, parse again; matching is reflexive.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpbuild::platform::Platform;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = Platform::parse(s) {
        let printed = p.to_string();
        let again = Platform::parse(&printed)
            .unwrap_or_else(|e| panic!("{s:?} printed as {printed:?}, which does not parse: {e}"));
        assert!(
            again.matches(&p) && p.matches(&again),
            "{s:?} → {printed:?}"
        );
    }
});
