use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::registry::manifest::OCI_MANIFEST;
use crate::registry::test_registry::{self, TestRegistry};
use crate::registry::test_server::{self, Reply};

/// An image manifest in `path` of `r` to refer to; returns its descriptor.
fn image(r: &TestRegistry, path: &str, seed: &str) -> Descriptor {
    let config =
        r.blob(format!(r#"{{"os":"linux","architecture":"amd64","x":"{seed}"}}"#).as_bytes());
    let bytes = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 40},
        "layers": [],
    }))
    .unwrap();
    let digest = r.put(path, None, OCI_MANIFEST, &bytes);
    Descriptor {
        media_type: OCI_MANIFEST.into(),
        digest,
        size: bytes.len() as u64,
        platform: None,
        artifact_type: None,
        annotations: BTreeMap::new(),
    }
}

/// An artifact of `kind` about `subject`, its one layer put into `repo`.
fn artifact(c: &Client, repo: &Repository, subject: &Descriptor, kind: &str) -> Artifact {
    let body = format!(r#"{{"kind":"{kind}"}}"#);
    let digest = c.put_blob_bytes(repo, body.as_bytes()).unwrap();
    Artifact {
        artifact_type: format!("application/vnd.example.{kind}+json"),
        layers: vec![Descriptor {
            media_type: "application/vnd.example.layer".into(),
            digest: digest.into(),
            size: body.len() as u64,
            platform: None,
            artifact_type: None,
            annotations: BTreeMap::new(),
        }],
        subject: subject.clone(),
        annotations: BTreeMap::from([("org.example.kind".to_string(), kind.to_string())]),
    }
}

fn tag_puts(r: &TestRegistry, subject: &str) -> usize {
    let tag = tag_for(subject);
    r.requests()
        .iter()
        .filter(|q| q.starts_with("PUT ") && q.ends_with(&format!("/manifests/{tag}")))
        .count()
}

#[test]
fn the_referrers_tag_is_the_specs_truncated_digest() {
    let a = "a".repeat(64);
    assert_eq!(tag_for(&format!("sha256:{a}")), format!("sha256-{a}"));
    assert_eq!(
        tag_for(&format!("sha512:{}", "a".repeat(128))),
        format!("sha512-{a}")
    );
    // The distribution spec's own example of truncation and replacement.
    assert_eq!(
        tag_for(
            "test+algorithm+using+algorithm+separators+and+lots+of+characters+to+excercise+overall+truncation:alsoSome=InTheEncodedSectionToShowHyphenReplacementAndLotsAndLotsOfCharactersToExcerciseEncodedTruncation"
        ),
        "test-algorithm-using-algorithm-s-alsoSome-InTheEncodedSectionToShowHyphenReplacementAndLotsAndLot"
    );
}

#[test]
fn a_registry_with_the_api_lists_referrers_itself_and_no_tag_is_written() {
    let (r, c) = test_registry::start(true);
    let repo = r.repo("team/app");
    let subject = image(&r, "team/app", "a");
    let a = artifact(&c, &repo, &subject, "sbom");
    let (digest, via) = c.put_artifact(&repo, &a).unwrap();
    assert_eq!(via, Via::Api);
    assert_eq!(tag_puts(&r, &subject.digest), 0, "{:?}", r.requests());
    assert!(r.manifest("team/app", &tag_for(&subject.digest)).is_none());
    // The artifact as written: empty config, artifactType, subject, annotations.
    let stored: Value = serde_json::from_slice(&r.manifest("team/app", &digest).unwrap()).unwrap();
    assert_eq!(stored["artifactType"], "application/vnd.example.sbom+json");
    assert_eq!(stored["config"]["digest"], EMPTY_DIGEST);
    assert_eq!(stored["subject"]["digest"], subject.digest.as_str());
    assert!(r.state.lock().unwrap().blobs.contains_key(EMPTY_DIGEST));
    let listed = c.referrers(&repo, &subject.digest).unwrap();
    assert_eq!(listed.via, Via::Api);
    assert_eq!(listed.manifests.len(), 1);
    let e = &listed.manifests[0];
    assert_eq!(e.digest, digest);
    assert_eq!(
        e.artifact_type.as_deref(),
        Some("application/vnd.example.sbom+json")
    );
    assert_eq!(e.annotations["org.example.kind"], "sbom");
    assert!(
        r.requests()
            .iter()
            .all(|q| !q.contains(&format!("/manifests/{}", tag_for(&subject.digest)))),
        "the tag schema is never read where the API answers: {:?}",
        r.requests()
    );
}

#[test]
fn without_the_api_the_tag_schema_index_is_merged_idempotently_keeping_others_entries() {
    let (r, c) = test_registry::start(false);
    let repo = r.repo("team/app");
    let subject = image(&r, "team/app", "b");
    // Another tool's entry, with fields mpbuild does not know, already listed.
    let theirs = json!({
        "mediaType": OCI_MANIFEST, "digest": format!("sha256:{}", "c".repeat(64)), "size": 7,
        "artifactType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "data": "e30=", "x-their-field": {"kept": [1, 2]},
        "annotations": {"dev.sigstore.bundle.predicateType": "https://example.com/p"},
    });
    let seeded = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [theirs.clone()],
        "annotations": {"made-by": "another tool"},
    }))
    .unwrap();
    r.put(
        "team/app",
        Some(&tag_for(&subject.digest)),
        OCI_INDEX,
        &seeded,
    );

    let sbom = artifact(&c, &repo, &subject, "sbom");
    let (first, via) = c.put_artifact(&repo, &sbom).unwrap();
    assert_eq!(via, Via::TagSchema);
    let prov = artifact(&c, &repo, &subject, "provenance");
    let (second, _) = c.put_artifact(&repo, &prov).unwrap();
    let puts = tag_puts(&r, &subject.digest);
    assert_eq!(puts, 2);
    // The same referrers again: nothing is written to the tag.
    c.put_artifact(&repo, &sbom).unwrap();
    c.put_artifact(&repo, &prov).unwrap();
    assert_eq!(tag_puts(&r, &subject.digest), puts, "{:?}", r.requests());

    let index: Value =
        serde_json::from_slice(&r.manifest("team/app", &tag_for(&subject.digest)).unwrap())
            .unwrap();
    let entries = index["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "{index}");
    assert_eq!(
        entries[0], theirs,
        "another tool's entry kept as it was written"
    );
    assert_eq!(index["annotations"]["made-by"], "another tool");
    assert_eq!(entries[1]["digest"], first.as_str());
    assert_eq!(
        entries[1]["artifactType"],
        "application/vnd.example.sbom+json"
    );
    assert_eq!(entries[1]["annotations"]["org.example.kind"], "sbom");
    assert_eq!(entries[2]["digest"], second.as_str());

    let listed = c.referrers(&repo, &subject.digest).unwrap();
    assert_eq!(listed.via, Via::TagSchema);
    let digests: Vec<&str> = listed.manifests.iter().map(|d| d.digest.as_str()).collect();
    assert_eq!(
        digests,
        [theirs["digest"].as_str().unwrap(), &first, &second]
    );
}

#[test]
fn a_referrers_tag_another_client_rewrote_meanwhile_is_merged_again() {
    // Another client writes the tag (with only its own entry) right after mpbuild's
    // first write: the read-back sees it, and mpbuild merges again.
    let raced = std::sync::atomic::AtomicBool::new(false);
    let (r, c) = test_registry::start_with(false, move |seen, state| {
        let tag_put = seen.method == "PUT" && seen.path.contains("/manifests/sha256-");
        if tag_put && !raced.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let name = seen.path.trim_start_matches("/v2/");
            let (name, tag) = name.split_once("/manifests/").unwrap();
            let theirs = serde_json::to_vec(&json!({
                "schemaVersion": 2, "mediaType": OCI_INDEX,
                "manifests": [{"mediaType": OCI_MANIFEST, "digest": format!("sha256:{}", "d".repeat(64)), "size": 3}],
            }))
            .unwrap();
            let d = crate::digest::sha256(&theirs);
            state
                .manifests
                .insert(format!("{name}/{tag}"), (OCI_INDEX.into(), theirs.clone()));
            state
                .manifests
                .insert(format!("{name}/{d}"), (OCI_INDEX.into(), theirs));
            return Some(test_server::status(201, &[]));
        }
        None
    });
    let repo = r.repo("team/app");
    let subject = image(&r, "team/app", "c");
    let (mine, via) = c
        .put_artifact(&repo, &artifact(&c, &repo, &subject, "sbom"))
        .unwrap();
    assert_eq!(via, Via::TagSchema);
    let listed: Vec<String> = c
        .referrers(&repo, &subject.digest)
        .unwrap()
        .manifests
        .into_iter()
        .map(|d| d.digest)
        .collect();
    assert_eq!(
        listed,
        [format!("sha256:{}", "d".repeat(64)), mine.to_string()]
    );
    assert_eq!(tag_puts(&r, &subject.digest), 2);
}

#[test]
fn a_referrers_tag_that_is_not_an_index_is_neither_read_nor_overwritten() {
    let (r, c) = test_registry::start(false);
    let repo = r.repo("team/app");
    let subject = image(&r, "team/app", "e");
    let squatter = image(&r, "team/app", "squatter");
    let bytes = r.manifest("team/app", &squatter.digest).unwrap();
    r.put(
        "team/app",
        Some(&tag_for(&subject.digest)),
        OCI_MANIFEST,
        &bytes,
    );
    let e = c
        .put_artifact(&repo, &artifact(&c, &repo, &subject, "sbom"))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("not an image index listing referrers"),
        "{e}"
    );
    assert_eq!(tag_puts(&r, &subject.digest), 0);
    assert_eq!(
        r.manifest("team/app", &tag_for(&subject.digest)).unwrap(),
        bytes
    );
}

#[test]
fn the_api_is_read_page_by_page_and_bounded() {
    let page = |n: usize, from: usize| -> Vec<u8> {
        let manifests: Vec<Value> = (from..from + n)
            .map(|i| json!({"mediaType": OCI_MANIFEST, "digest": format!("sha256:{i:064x}"), "size": 1, "artifactType": "a/b"}))
            .collect();
        serde_json::to_vec(
            &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
        )
        .unwrap()
    };
    let server = test_server::serve(move |seen| {
        let ct = ("Content-Type".to_string(), OCI_INDEX.to_string());
        if seen.path.contains("/referrers/") && seen.path.contains("next=2") {
            Reply::Full(200, vec![ct], page(2, 3))
        } else if seen.path.contains("/referrers/sha256:1") {
            let link = (
                "Link".to_string(),
                format!("<{}?next=2>; rel=\"next\"", seen.path),
            );
            Reply::Full(200, vec![ct, link], page(3, 0))
        } else if seen.path.contains("/referrers/") {
            // Endless pages: the cap stops it.
            let link = ("Link".to_string(), format!("<{}>; rel=\"next\"", seen.path));
            Reply::Full(200, vec![ct, link], page(400, 0))
        } else {
            test_server::status(404, &[])
        }
    });
    let c = test_server::client(crate::registry::Options::default(), Default::default());
    test_server::plain_http(&c, &server.addr);
    let repo = Repository::parse(&format!("{}/app", server.addr)).unwrap();
    let listed = c
        .referrers(&repo, &format!("sha256:{}", "1".repeat(64)))
        .unwrap();
    assert_eq!(listed.via, Via::Api);
    assert_eq!(listed.manifests.len(), 5);
    assert_eq!(listed.manifests[4].digest, format!("sha256:{:064x}", 4));
    let e = c
        .referrers(&repo, &format!("sha256:{}", "2".repeat(64)))
        .unwrap_err();
    assert!(matches!(e, RegistryError::TooManyEntries { .. }), "{e}");
    assert!(
        next_link(r#"<http://a/x?n=1>; rel="prev", </v2/x?last=b>; rel="next""#).as_deref()
            == Some("/v2/x?last=b")
    );
    assert_eq!(next_link("</v2/x>; rel=\"last\""), None);
}
