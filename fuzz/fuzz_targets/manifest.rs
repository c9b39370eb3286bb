//! Manifests and indexes as a registry may serve them, with and without a Content-Type.
//! Property: what parses, written back as mpbuild writes manifests (mirror's filtered
//! index, merge's assembled one: `schemaVersion`, `mediaType`, the descriptors), parses
//! into the same manifest, and writing that again gives the same bytes — so a digest
//! computed over them is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpbuild::registry::Manifest;
use mpbuild::registry::manifest::{DOCKER_LIST, OCI_MANIFEST};

fn write(m: &Manifest) -> Vec<u8> {
    let doc = match m {
        Manifest::Index {
            media_type,
            manifests,
        } => serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "manifests": manifests,
        }),
        Manifest::Image {
            media_type,
            config,
            layers,
        } => serde_json::json!({
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": config,
            "layers": layers,
        }),
    };
    serde_json::to_vec(&doc).expect("a parsed manifest serialises")
}

fuzz_target!(|data: &[u8]| {
    for ct in [
        None,
        Some(OCI_MANIFEST),
        Some(DOCKER_LIST),
        Some("text/plain; charset=x"),
    ] {
        let Ok(m) = Manifest::parse(ct, data) else {
            continue;
        };
        let _ = m.media_type();
        let _ = m.holds_statements();
        if let Manifest::Index { manifests, .. } = &m {
            for d in manifests {
                let _ = d.in_attestation_slot();
                let _ = d.claims_attestation();
                let _ = d.platform_label();
                // The entry's own manifest is fetched separately; this one stands in.
                let _ = mpbuild::registry::manifest::is_attestation(d, &m);
                let _ = mpbuild::registry::manifest::false_attestation(d, &m);
                if let Some(p) = &d.platform {
                    let _ = p.platform().to_string();
                }
            }
        }
        let once = write(&m);
        let again = Manifest::parse(None, &once)
            .unwrap_or_else(|e| panic!("{m:?} written as {once:?} does not parse: {e}"));
        assert_eq!(format!("{again:?}"), format!("{m:?}"), "changed by a round trip");
        assert_eq!(write(&again), once, "written twice, different bytes");
    }
});
