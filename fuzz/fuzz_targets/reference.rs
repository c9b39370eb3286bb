//! Image references: parse, print, parse again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpbuild::registry::{Reference, Repository};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Repository::parse(s);
    if let Ok(r) = Reference::parse(s) {
        let printed = r.to_string();
        let again = Reference::parse(&printed)
            .unwrap_or_else(|e| panic!("{s:?} printed as {printed:?}, which does not parse: {e}"));
        assert_eq!(again.to_string(), printed, "{s:?}");
        let _ = r
            .with_target("sha256:0000000000000000000000000000000000000000000000000000000000000000");
        let _ = r.repository.api_host();
    }
});
