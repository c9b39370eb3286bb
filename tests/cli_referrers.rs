//! `verify` and referrers against a registry of the test's own that has the referrers
//! API (the stack's distribution 2.8 has not; the tag schema path runs in the e2e
//! tests): what it lists per digest, in text and JSON, and `--require-record`.

mod common;

use std::process::Output;

use common::static_registry::{IN_TOTO, OCI_INDEX, OCI_MANIFEST, StaticRegistry};
use common::text;
use serde_json::{Value, json};

const REPO: &str = "team/app";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const PREDICATE: &str =
    "https://github.com/acme/mpbuild/blob/main/schema/verification-record.v1.schema.json";
const EMPTY: &str = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

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

struct Image {
    reg: StaticRegistry,
    index: String,
    amd: String,
    arm: String,
    /// The record's referrer manifest, and a provenance referrer of amd64.
    record: (String, usize),
    provenance: (String, usize),
}

fn hex(d: &str) -> &str {
    d.split_once(':').unwrap().1
}

/// A two-platform index, a verification record of it that lists `recorded` (arch,
/// digest) and a provenance artifact of its amd64 manifest, all in the registry.
/// The platforms a record lists, from the amd64 and arm64 digests.
type Recorded = dyn Fn(&str, &str) -> Vec<(&'static str, String)>;

fn image(recorded: &Recorded) -> Image {
    let reg = StaticRegistry::start();
    let (amd, amd_size) = reg.image(REPO, "linux", "amd64", LAYER);
    let (arm, arm_size) = reg.image(REPO, "linux", "arm64", LAYER);
    let idx = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": amd, "size": amd_size, "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": OCI_MANIFEST, "digest": arm, "size": arm_size, "platform": {"os": "linux", "architecture": "arm64"}},
    ]})
    .to_string();
    let index = reg.manifest(REPO, Some("v1"), OCI_INDEX, idx.as_bytes());
    reg.blob(b"{}");
    let platforms: Vec<Value> = recorded(&amd, &arm)
        .into_iter()
        .map(|(arch, d)| {
            json!({
                "platform": format!("linux/{arch}"), "digest": d, "media_type": OCI_MANIFEST,
                "required_by": ["apprunner"], "config": format!("linux/{arch}"),
                "deep": null, "smoke": null, "build": null,
            })
        })
        .collect();
    let mut subject =
        vec![json!({"name": "index", "digest": {"sha256": hex(&index)}, "mediaType": OCI_INDEX})];
    for p in &platforms {
        let d = p["digest"].as_str().unwrap();
        subject.push(
            json!({"name": p["platform"], "digest": {"sha256": hex(d)}, "mediaType": OCI_MANIFEST}),
        );
    }
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1", "subject": subject, "predicateType": PREDICATE,
        "predicate": {
            "mpbuild": {"version": "0.1.0", "commit": "abc"}, "image": "app", "repository": REPO,
            "digest": index, "media_type": OCI_INDEX, "verified_at": "2026-12-07T10:00:00Z",
            "source_commit": "3f2a9c1", "inputs_fingerprint": null, "plan_fingerprint": index,
            "builder": null, "deep": "off", "attestations": "referrers",
            "platforms": platforms, "tags": [{"tag": "v1", "digest": index, "media_type": OCI_INDEX}],
        },
    })
    .to_string();
    let layer = reg.blob(statement.as_bytes());
    let annotations = json!({"in-toto.io/predicate-type": PREDICATE, "org.opencontainers.image.created": "2026-12-07T10:00:00Z"});
    let record = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": IN_TOTO,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2},
        "layers": [{"mediaType": IN_TOTO, "digest": layer, "size": statement.len(), "annotations": {"in-toto.io/predicate-type": PREDICATE}}],
        "subject": {"mediaType": OCI_INDEX, "digest": index, "size": idx.len()},
        "annotations": annotations,
    })
    .to_string();
    let record_digest = reg.manifest(REPO, None, OCI_MANIFEST, record.as_bytes());
    let prov = json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.docker.attestation.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": EMPTY, "size": 2},
        "layers": [{"mediaType": IN_TOTO, "digest": layer, "size": statement.len()}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": amd, "size": amd_size},
        "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
    })
    .to_string();
    let prov_digest = reg.manifest(REPO, None, OCI_MANIFEST, prov.as_bytes());
    let listed = |digest: &str, size: usize, artifact_type: &str, annotations: &Value| json!({"mediaType": OCI_MANIFEST, "digest": digest, "size": size, "artifactType": artifact_type, "annotations": annotations});
    let of_index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [listed(&record_digest, record.len(), IN_TOTO, &annotations)]})
    .to_string();
    let of_amd = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [listed(&prov_digest, prov.len(), "application/vnd.docker.attestation.manifest.v1+json",
                              &json!({"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"}))]})
    .to_string();
    let (i, a) = (index.clone(), amd.clone());
    reg.answer(move |_, path| {
        let list = |body: &str| {
            Some((200, vec![("Content-Type".to_string(), OCI_INDEX.to_string())], body.as_bytes().to_vec()))
        };
        let target = path.strip_prefix(&format!("/v2/{REPO}/referrers/"))?;
        if target == i {
            list(&of_index)
        } else if target == a {
            list(&of_amd)
        } else {
            list(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#)
        }
    });
    Image {
        reg,
        index,
        amd,
        arm,
        record: (record_digest, record.len()),
        provenance: (prov_digest, prov.len()),
    }
}

fn both(amd: &str, arm: &str) -> Vec<(&'static str, String)> {
    vec![("amd64", amd.to_string()), ("arm64", arm.to_string())]
}

#[test]
fn verify_lists_each_digests_referrers_through_the_api_in_text_and_json() {
    let img = image(&both);
    let r = format!("{}/{REPO}:v1", img.reg.addr);
    let out = mpbuild(&[
        "verify",
        &r,
        "--platform",
        "linux/amd64",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = &v["references"][0]["referrers"];
    assert_eq!(
        listed,
        &json!([
            {"of": "index", "digest": img.index, "via": "api", "referrers": [
                {"artifact_type": IN_TOTO, "digest": img.record.0, "size": img.record.1, "predicate_type": PREDICATE}]},
            {"of": "linux/amd64", "digest": img.amd, "via": "api", "referrers": [
                {"artifact_type": "application/vnd.docker.attestation.manifest.v1+json", "digest": img.provenance.0,
                 "size": img.provenance.1, "predicate_type": "https://slsa.dev/provenance/v0.2"}]},
        ]),
        "{v:#}"
    );
    // The tag schema is never asked where the API answers.
    assert!(
        img.reg
            .requests()
            .iter()
            .all(|(_, p)| !p.contains("/manifests/sha256-")),
        "{:?}",
        img.reg.requests()
    );
    let out = mpbuild(&["verify", &r, "--platform", "linux/amd64"]);
    let t = text(&out);
    assert!(
        t.contains("  referrers, listed through the registry's referrers API:\n"),
        "{t}"
    );
    let short = |d: &str| d[..19].to_string();
    assert!(
        t.contains(&format!(
            "    index        {}  {IN_TOTO}  {} B  mpbuild verification record\n",
            short(&img.record.0),
            img.record.1
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "    linux/amd64  {}  application/vnd.docker.attestation.manifest.v1+json  {} B  https://slsa.dev/provenance/v0.2\n",
            short(&img.provenance.0),
            img.provenance.1
        )),
        "{t}"
    );
}

#[test]
fn require_record_passes_on_an_agreeing_record_and_fails_otherwise() {
    let img = image(&both);
    let r = format!("{}/{REPO}:v1", img.reg.addr);
    let out = mpbuild(&["verify", &r, "--require-record"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains(&format!(
            "  record: {} agrees with what the registry holds (verified 2026-12-07T10:00:00Z, source commit 3f2a9c1)",
            &img.record.0[..19]
        )),
        "{t}"
    );
    assert!(
        t.contains("verified: 1 reference(s), each with a verification record that agrees"),
        "{t}"
    );

    // A record that leaves arm64 out does not agree with the index.
    let partial = image(&|amd, _| vec![("amd64", amd.to_string())]);
    let r = format!("{}/{REPO}:v1", partial.reg.addr);
    let out = mpbuild(&["verify", &r, "--require-record", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problem = v["references"][0]["record"]["problem"].as_str().unwrap();
    assert!(
        problem.contains(&format!(
            "holds linux/arm64 {}, which the record does not list",
            partial.arm
        )),
        "{problem}"
    );
    assert_eq!(v["ok"], false);

    // A digest with no record (the amd64 manifest by digest has only provenance).
    let r = format!("{}/{REPO}@{}", img.reg.addr, img.amd);
    let out = mpbuild(&["verify", &r, "--require-record"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("verification record: no verification record among the referrers of"),
        "{t}"
    );
}
