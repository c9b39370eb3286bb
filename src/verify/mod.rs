//! Verification: prove that what a registry holds contains every platform the targets
//! need. `check` decides (pure); `collect` reads the registry; `report` renders.

pub mod check;
pub mod report;
pub mod requirements;

pub use check::{Deep, Entry, Kind, Observed, Requirements, Row, Status, Verdict, check};
pub mod collect;

use crate::registry::{Client, Reference, RegistryError};

/// Checks one reference: observes it and decides. A reference the registry does not
/// have fails with every required platform missing.
pub fn verify_reference(
    client: &Client,
    reference: &Reference,
    requirements: &Requirements,
    deep: Option<&collect::DeepFn>,
) -> Result<Verdict, RegistryError> {
    let deep = if requirements.deep { deep } else { None };
    match collect::observe(client, reference, deep)? {
        Some(observed) => Ok(check(&observed, requirements)),
        None => Ok(Verdict {
            reference: reference.to_string(),
            digest: String::new(),
            kind: "absent",
            rows: requirements
                .platforms
                .iter()
                .map(|(p, why)| Row {
                    platform: p.clone(),
                    needed_by: why.clone(),
                    status: Status::Missing,
                    digest: None,
                    deep: None,
                })
                .collect(),
            extra: Vec::new(),
            attestations: Vec::new(),
            problems: vec!["it does not exist in the registry (no such tag or digest)".to_string()],
        }),
    }
}

/// Checks several references in parallel, in order of the input.
pub fn verify_all(
    client: &Client,
    jobs: &[(Reference, Requirements)],
    deep: Option<&collect::DeepFn>,
) -> Result<Vec<Verdict>, RegistryError> {
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|(r, req)| s.spawn(move || verify_reference(client, r, req, deep)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("verify thread panicked"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::platform::Platform;
    use crate::registry::Options;
    use crate::registry::credentials::Store;
    use crate::registry::test_server::{self, Reply};

    /// A registry holding `manifests` (by tag or digest) and `blobs`, over plain HTTP.
    fn registry(
        manifests: Vec<(String, String, Vec<u8>)>,
        blobs: Vec<(String, Vec<u8>)>,
    ) -> (test_server::Server, Arc<Client>) {
        let manifests: HashMap<String, (String, Vec<u8>)> =
            manifests.into_iter().map(|(k, t, b)| (k, (t, b))).collect();
        let blobs: HashMap<String, Vec<u8>> = blobs.into_iter().collect();
        let server = test_server::serve(move |seen| {
            let path = seen.path.as_str();
            if let Some(target) = path.strip_prefix("/v2/app/manifests/")
                && let Some((media_type, body)) = manifests.get(target)
            {
                return Reply::Full(
                    200,
                    vec![("Content-Type".into(), media_type.clone())],
                    body.clone(),
                );
            }
            if let Some(digest) = path.strip_prefix("/v2/app/blobs/")
                && let Some(body) = blobs.get(digest)
            {
                return Reply::Full(200, Vec::new(), body.clone());
            }
            test_server::status(404, &[])
        });
        let c = test_server::client(Options::default(), Store::default());
        test_server::plain_http(&c, &server.addr);
        (server, c)
    }

    fn index_of(children: &[(&str, &[u8])]) -> Vec<u8> {
        let manifests: Vec<serde_json::Value> = children
            .iter()
            .map(|(digest, bytes)| {
                serde_json::json!({
                    "mediaType": crate::registry::manifest::OCI_MANIFEST,
                    "digest": digest,
                    "size": bytes.len(),
                    "platform": {"os": "linux", "architecture": "amd64"},
                })
            })
            .collect();
        serde_json::json!({"schemaVersion": 2, "mediaType": crate::registry::manifest::OCI_INDEX, "manifests": manifests})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn index_children_are_checked_with_their_own_digest_algorithm() {
        let config = br#"{"os":"linux","architecture":"amd64"}"#.to_vec();
        let config_digest = crate::digest::sha256(&config);
        let child = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": crate::registry::manifest::OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
            "layers": [],
        })
        .to_string()
        .into_bytes();
        let good = crate::digest::sha512(&child);
        let lying = crate::digest::sha512(b"something else");
        let unknown = "md5:0123456789abcdef0123456789abcdef";
        let (server, client) = registry(
            vec![
                (
                    "good".into(),
                    crate::registry::manifest::OCI_INDEX.into(),
                    index_of(&[(&good, &child)]),
                ),
                (
                    "lying".into(),
                    crate::registry::manifest::OCI_INDEX.into(),
                    index_of(&[(&lying, &child)]),
                ),
                (
                    "unknown".into(),
                    crate::registry::manifest::OCI_INDEX.into(),
                    index_of(&[(unknown, &child)]),
                ),
                (
                    good.clone(),
                    crate::registry::manifest::OCI_MANIFEST.into(),
                    child.clone(),
                ),
                (
                    lying.clone(),
                    crate::registry::manifest::OCI_MANIFEST.into(),
                    child.clone(),
                ),
                (
                    unknown.into(),
                    crate::registry::manifest::OCI_MANIFEST.into(),
                    child.clone(),
                ),
            ],
            vec![(config_digest, config)],
        );
        let mut req = Requirements::default();
        req.need(Platform::linux("amd64", ""), "test");
        let r = |tag: &str| Reference::parse(&format!("{}/app:{tag}", server.addr)).unwrap();
        // sha512: fetched by digest and checked with sha512.
        let v = verify_reference(&client, &r("good"), &req, None).unwrap();
        assert!(v.ok(), "{v:?}");
        assert_eq!(v.rows[0].digest.as_deref(), Some(good.as_str()));
        // Content that does not match its sha512 digest is refused.
        let e = verify_reference(&client, &r("lying"), &req, None).unwrap_err();
        assert!(matches!(e, RegistryError::DigestMismatch { .. }), "{e}");
        // An algorithm mpbuild cannot check is refused, and never fetched at all.
        let e = verify_reference(&client, &r("unknown"), &req, None).unwrap_err();
        assert!(
            e.to_string().contains("`md5`, which mpbuild cannot check"),
            "{e}"
        );
        assert!(
            server.requests().iter().all(|s| !s.path.contains("md5")),
            "{:?}",
            server.requests()
        );
    }
}
