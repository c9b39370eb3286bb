//! Indexes that lie, served by a registry of the test's own (no stack needed): an entry
//! that calls itself an attestation to escape verification.

mod common;

use std::process::Output;

use common::static_registry::{IN_TOTO, OCI_INDEX, StaticRegistry};
use common::text;

const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const REPO: &str = "team/app";

fn mpbuild(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_mpbuild"))
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", dir.path())
        .env("MPBUILD_REQUEST_TIMEOUT", "10")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap()
}

/// An index entry: `platform` is `OS/ARCH`; `attestation_of` adds buildx's annotations.
fn entry(
    digest: &str,
    size: usize,
    platform: &str,
    attestation_of: Option<&str>,
) -> serde_json::Value {
    let (os, arch) = platform.split_once('/').unwrap();
    let mut e = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": digest,
        "size": size,
        "platform": {"os": os, "architecture": arch},
    });
    if let Some(subject) = attestation_of {
        e["annotations"] = serde_json::json!({
            "vnd.docker.reference.type": "attestation-manifest",
            "vnd.docker.reference.digest": subject,
        });
    }
    e
}

fn index(reg: &StaticRegistry, tag: &str, entries: Vec<serde_json::Value>) -> String {
    let bytes =
        serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
            .to_string();
    reg.manifest(REPO, Some(tag), OCI_INDEX, bytes.as_bytes());
    format!("{}/{REPO}:{tag}", reg.addr)
}

#[test]
fn an_entry_annotated_as_an_attestation_with_a_real_platform_is_checked_as_an_image() {
    let reg = StaticRegistry::start();
    let (amd, amd_size) = reg.image(REPO, "linux", "amd64", LAYER);
    let (arm, arm_size) = reg.image(REPO, "linux", "arm64", LAYER);
    let (att, att_size) = reg.image(REPO, "unknown", "unknown", IN_TOTO);

    // The attack: the linux/amd64 entry is an arm64 image annotated as an attestation
    // (a runtime on amd64 selects it by its platform and runs arm64 code).
    let evil = index(
        &reg,
        "evil",
        vec![
            entry(&arm, arm_size, "linux/amd64", Some(&arm)),
            entry(&arm, arm_size, "linux/arm64", None),
            entry(&att, att_size, "unknown/unknown", Some(&arm)),
        ],
    );
    let out = mpbuild(&["verify", &evil, "--platform", "linux/amd64"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!(
            "index entry 1 ({arm}, linux/amd64) is annotated as an attestation manifest"
        )) && t.contains("a runtime selects it for linux/amd64"),
        "{t}"
    );
    // The entry is checked as the image it is.
    assert!(
        t.contains("the index entry says linux/amd64 but its image config says linux/arm64"),
        "{t}"
    );
    // An inventory fails on it too, and so does JSON.
    let out = mpbuild(&["verify", &evil, "--inventory"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = mpbuild(&[
        "verify",
        &evil,
        "--platform",
        "linux/amd64",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["references"][0]["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("annotated as an attestation manifest")),
        "{doc}"
    );

    // Even when the annotated entry's image is right for its platform, the claim
    // itself is an error: the index is not what buildx writes.
    let claim = index(
        &reg,
        "claim",
        vec![entry(&amd, amd_size, "linux/amd64", Some(&amd))],
    );
    let out = mpbuild(&["verify", &claim, "--platform", "linux/amd64"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!("index entry 1 ({amd}, linux/amd64)")),
        "{t}"
    );

    // An unknown/unknown entry whose layers are an image's is no attestation: it is
    // checked as an image (its config says linux/arm64).
    let fake = index(
        &reg,
        "fake",
        vec![
            entry(&amd, amd_size, "linux/amd64", None),
            entry(&arm, arm_size, "unknown/unknown", Some(&amd)),
        ],
    );
    let out = mpbuild(&["verify", &fake, "--platform", "linux/amd64"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("its layers are not in-toto statements"), "{t}");

    // What buildx writes passes: the attestation (unknown/unknown, in-toto layers) is
    // listed apart, its config never read.
    let honest = index(
        &reg,
        "honest",
        vec![
            entry(&amd, amd_size, "linux/amd64", None),
            entry(&att, att_size, "unknown/unknown", Some(&amd)),
        ],
    );
    let out = mpbuild(&["verify", &honest, "--platform", "linux/amd64"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("attestations: 1 manifest(s)"), "{t}");
}

#[test]
fn mirror_refuses_a_false_attestation_before_writing() {
    let reg = StaticRegistry::start();
    let (arm, arm_size) = reg.image(REPO, "linux", "arm64", LAYER);
    let evil = index(
        &reg,
        "evil",
        vec![
            entry(&arm, arm_size, "linux/amd64", Some(&arm)),
            entry(&arm, arm_size, "linux/arm64", None),
        ],
    );
    let dest = format!("{}/team/copy:v1", reg.addr);
    let out = mpbuild(&["mirror", &evil, &dest, "--platform", "linux/amd64"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("annotated as an attestation manifest"), "{t}");
    let writes: Vec<_> = reg
        .requests()
        .into_iter()
        .filter(|(m, _)| m != "GET" && m != "HEAD")
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
}
