//! Verification: prove that what a registry holds contains every platform the targets
//! need. `check` decides (pure); `collect` reads the registry; `report` renders;
//! `referrers` adds what `verify` says of referrers (and `--require-record`);
//! `signatures` and `attested` are the `--signed-by` gate.

pub mod attested;
pub mod check;
pub mod listed;
pub mod pool;
mod reference;
pub mod referrers;
pub mod report;
pub mod requirements;
pub mod signatures;

pub use check::{Deep, Entry, Kind, Observed, Requirements, Row, Status, Verdict, check};
pub use reference::{
    DeepCheckFn, absent, observe_resolved, verify_all, verify_reference, verify_root,
};
pub mod collect;

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::platform::Platform;
    use crate::registry::Options;
    use crate::registry::credentials::Store;
    use crate::registry::manifest::{ImageConfig, Manifest};
    use crate::registry::test_server::{self, Reply};
    use crate::registry::{Client, Reference, RegistryError, Repository};

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

    #[test]
    fn the_deep_check_runs_only_for_the_platforms_the_targets_need() {
        let mut manifests = Vec::new();
        let mut blobs = Vec::new();
        let mut children = Vec::new();
        for (os, arch) in [("linux", "amd64"), ("windows", "amd64"), ("linux", "s390x")] {
            let config = format!(r#"{{"os":"{os}","architecture":"{arch}"}}"#).into_bytes();
            let config_digest = crate::digest::sha256(&config);
            let child = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": crate::registry::manifest::OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
                "layers": [],
            })
            .to_string()
            .into_bytes();
            let digest = crate::digest::sha256(&child);
            children.push(serde_json::json!({
                "mediaType": crate::registry::manifest::OCI_MANIFEST,
                "digest": digest,
                "size": child.len(),
                "platform": {"os": os, "architecture": arch},
            }));
            manifests.push((
                digest,
                crate::registry::manifest::OCI_MANIFEST.to_string(),
                child,
            ));
            blobs.push((config_digest, config));
        }
        let index = serde_json::json!({"schemaVersion": 2, "mediaType": crate::registry::manifest::OCI_INDEX, "manifests": children});
        manifests.push((
            "v1".into(),
            crate::registry::manifest::OCI_INDEX.into(),
            index.to_string().into_bytes(),
        ));
        let (server, client) = registry(manifests, blobs);
        let asked = std::sync::Mutex::new(Vec::new());
        // A deep check that fails every platform but linux/amd64.
        let deep = |_: &Client,
                    _: &Repository,
                    _: &Manifest,
                    _: &ImageConfig,
                    p: &Platform,
                    _: &Requirements| {
            asked.lock().unwrap().push(p.to_string());
            Ok(Deep {
                ok: p.architecture == "amd64" && p.os == "linux",
                summary: format!("checked {p}"),
            })
        };
        let mut req = Requirements {
            deep: true,
            ..Requirements::default()
        };
        req.need(Platform::linux("amd64", ""), "apprunner");
        let r = Reference::parse(&format!("{}/app:v1", server.addr)).unwrap();
        let v = verify_reference(&client, &r, &req, Some(&deep)).unwrap();
        assert!(v.ok(), "{v:?}");
        assert_eq!(*asked.lock().unwrap(), vec!["linux/amd64"]);
        assert_eq!(v.extra.len(), 2);
    }
}
