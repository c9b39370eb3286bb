//! Manifests and indexes as a registry may serve them, with and without a Content-Type.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpbuild::registry::Manifest;
use mpbuild::registry::manifest::{DOCKER_LIST, OCI_MANIFEST};

fuzz_target!(|data: &[u8]| {
    for ct in [
        None,
        Some(OCI_MANIFEST),
        Some(DOCKER_LIST),
        Some("text/plain; charset=x"),
    ] {
        if let Ok(m) = Manifest::parse(ct, data) {
            let _ = m.media_type();
            if let Manifest::Index { manifests, .. } = &m {
                for d in manifests {
                    let _ = d.is_attestation();
                    if let Some(p) = &d.platform {
                        let _ = p.platform().to_string();
                    }
                }
            }
        }
    }
});
