use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::provenance::record::{Predicate, Statement};
use crate::registry::manifest::{OCI_INDEX, OCI_MANIFEST};
use crate::registry::test_registry::{self, TestRegistry};
use crate::registry::{Repository, Via};

const PATH: &str = "team/api";

/// An image manifest for `arch`; its digest and size.
fn manifest(r: &TestRegistry, arch: &str) -> (String, usize) {
    let config = r.blob(format!(r#"{{"os":"linux","architecture":"{arch}"}}"#).as_bytes());
    let bytes = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 36},
        "layers": [],
    }))
    .unwrap();
    (r.put(PATH, None, OCI_MANIFEST, &bytes), bytes.len())
}

/// An index of `children` (arch, digest, size) tagged `tag`.
fn index(r: &TestRegistry, tag: &str, children: &[(&str, &(String, usize))]) -> String {
    let manifests: Vec<_> = children
        .iter()
        .map(|(arch, (d, n))| json!({"mediaType": OCI_MANIFEST, "digest": d, "size": n, "platform": {"os": "linux", "architecture": arch}}))
        .collect();
    let bytes = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}),
    )
    .unwrap();
    r.put(PATH, Some(tag), OCI_INDEX, &bytes)
}

/// A record of `root` listing `platforms` (arch, digest), pushed as a referrer of
/// `subject` (whose descriptor says `root`'s size when it is the root).
fn push_record(
    c: &Client,
    repo: &Repository,
    root: &str,
    platforms: &[(&str, &str)],
    subject: &str,
) -> Statement {
    let mut p: Predicate = crate::provenance::record::tests::predicate();
    p.digest = root.to_string();
    p.tags.truncate(1);
    p.tags[0].digest = root.to_string();
    let template = p.platforms[0].clone();
    p.platforms = platforms
        .iter()
        .map(|(arch, d)| {
            let mut r = template.clone();
            r.platform = format!("linux/{arch}");
            r.config = r.platform.clone();
            r.digest = d.to_string();
            r
        })
        .collect();
    let s = Statement::new(p);
    let bytes = s.bytes();
    let layer = c.put_blob_bytes(repo, &bytes).unwrap();
    let subject = Descriptor {
        media_type: OCI_INDEX.into(),
        digest: subject.to_string(),
        size: 1,
        platform: None,
        artifact_type: None,
        annotations: BTreeMap::new(),
    };
    c.put_artifact(repo, &s.artifact(&subject, &layer, bytes.len() as u64))
        .unwrap();
    s
}

fn require(c: &Client, r: &TestRegistry, tag: &str) -> RecordCheck {
    let reference = Reference::parse(&format!("{}/{PATH}:{tag}", r.server.addr)).unwrap();
    let root = c.get_manifest(&reference).unwrap();
    let listed = c.referrers(&reference.repository, &root.digest).unwrap();
    assert_eq!(listed.via, Via::TagSchema);
    check(c, &reference, &root, &listed).unwrap()
}

#[test]
fn a_record_of_the_index_as_it_is_now_passes_and_any_other_fails() {
    let (r, c) = test_registry::start(false);
    let repo = r.repo(PATH);
    let amd = manifest(&r, "amd64");
    let arm = manifest(&r, "arm64");
    let verified = index(&r, "latest", &[("amd64", &amd), ("arm64", &arm)]);
    let both = [("amd64", amd.0.as_str()), ("arm64", arm.0.as_str())];

    // No record at all: pushed without mpbuild.
    let none = require(&c, &r, "latest");
    assert!(
        none.problem
            .as_deref()
            .unwrap()
            .contains("no verification record"),
        "{none:?}"
    );

    push_record(&c, &repo, &verified, &both, &verified);
    let ok = require(&c, &r, "latest");
    assert!(ok.ok(), "{ok:?}");
    assert!(ok.record.is_some());
    assert_eq!(ok.source_commit.as_deref(), Some("3f2a9c1"));

    // The tag moved to an index without arm64 (what `docker push` from one laptop
    // does): no record of that digest.
    index(&r, "latest", &[("amd64", &amd)]);
    let moved = require(&c, &r, "latest");
    assert!(!moved.ok());
    assert!(
        moved
            .problem
            .as_deref()
            .unwrap()
            .contains("no verification record among")
    );
}

#[test]
fn a_record_copied_onto_another_index_or_listing_other_platforms_does_not_agree() {
    let (r, c) = test_registry::start(false);
    let repo = r.repo(PATH);
    let amd = manifest(&r, "amd64");
    let arm = manifest(&r, "arm64");
    let verified = index(&r, "v1", &[("amd64", &amd), ("arm64", &arm)]);
    // Another index (arm64 swapped for riscv64) carries a record of the verified one.
    let rv = manifest(&r, "riscv64");
    let other = index(&r, "v2", &[("amd64", &amd), ("riscv64", &rv)]);
    let both = [("amd64", amd.0.as_str()), ("arm64", arm.0.as_str())];
    push_record(&c, &repo, &verified, &both, &other);
    let copied = require(&c, &r, "v2");
    assert!(
        copied.problem.as_deref().unwrap().contains("does not name"),
        "{copied:?}"
    );
    // A record of `other` itself that lists arm64 instead of riscv64.
    let wrong = [("amd64", amd.0.as_str()), ("arm64", arm.0.as_str())];
    push_record(&c, &repo, &other, &wrong, &other);
    let listed_wrong = require(&c, &r, "v2");
    assert!(
        listed_wrong
            .problem
            .as_deref()
            .unwrap()
            .contains("which the record does not list"),
        "{listed_wrong:?}"
    );
    // A record of `verified` listed under `verified` but made a referrer of another
    // digest: the tag schema index is anyone's to write, the manifest's subject counts.
    let entry = c
        .referrers(&repo, &other)
        .unwrap()
        .manifests
        .into_iter()
        .next()
        .unwrap();
    let tag = crate::registry::referrers::tag_for(&verified);
    let forged = serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}),
    )
    .unwrap();
    r.put(PATH, Some(&tag), OCI_INDEX, &forged);
    let misfiled = require(&c, &r, "v1");
    assert!(
        misfiled
            .problem
            .as_deref()
            .unwrap()
            .contains("its subject is"),
        "{misfiled:?}"
    );
}

#[test]
fn a_plain_manifest_a_tag_of_its_own_points_at_has_its_record() {
    let (r, c) = test_registry::start(false);
    let repo = r.repo(PATH);
    let amd = manifest(&r, "amd64");
    let arm = manifest(&r, "arm64");
    let root = index(&r, "latest", &[("amd64", &amd), ("arm64", &arm)]);
    let bytes = r.manifest(PATH, &arm.0).unwrap();
    r.put(PATH, Some("v1-lambda"), OCI_MANIFEST, &bytes);
    let both = [("amd64", amd.0.as_str()), ("arm64", arm.0.as_str())];
    push_record(&c, &repo, &root, &both, &arm.0);
    let ok = require(&c, &r, "v1-lambda");
    assert!(ok.ok(), "{ok:?}");
}
