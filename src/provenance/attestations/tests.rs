use serde_json::json;

use super::*;
use crate::provenance::IN_TOTO;
use crate::registry::manifest::{OCI_INDEX, OCI_MANIFEST};
use crate::registry::test_registry::{self, TestRegistry};

const PATH: &str = "team/api";

fn put_json(r: &TestRegistry, media_type: &str, v: serde_json::Value) -> (String, usize) {
    let bytes = serde_json::to_vec(&v).unwrap();
    (r.put(PATH, None, media_type, &bytes), bytes.len())
}

fn image(r: &TestRegistry, arch: &str) -> (String, usize) {
    let config = r.blob(format!(r#"{{"os":"linux","architecture":"{arch}"}}"#).as_bytes());
    put_json(
        r,
        OCI_MANIFEST,
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 36},
               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": config, "size": 36}]}),
    )
}

/// An attestation manifest as buildx writes it (image config of unknown/unknown, one
/// in-toto layer annotated with its predicate type).
fn attestation(r: &TestRegistry, predicate: &str) -> (String, usize) {
    let config = r.blob(br#"{"architecture":"unknown","os":"unknown","config":{}}"#);
    let statement = r.blob(
        format!(r#"{{"_type":"https://in-toto.io/Statement/v1","predicateType":"{predicate}"}}"#)
            .as_bytes(),
    );
    put_json(
        r,
        OCI_MANIFEST,
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 52},
               "layers": [{"mediaType": IN_TOTO, "digest": statement, "size": 80,
                           "annotations": {PREDICATE_ANNOTATION: predicate}}]}),
    )
}

fn entry(d: &(String, usize), os: &str, arch: &str, of: Option<&str>) -> serde_json::Value {
    let mut e = json!({"mediaType": OCI_MANIFEST, "digest": d.0, "size": d.1,
                       "platform": {"os": os, "architecture": arch}});
    if let Some(of) = of {
        e["annotations"] =
            json!({"vnd.docker.reference.type": "attestation-manifest", REFERENCE_DIGEST: of});
    }
    e
}

#[test]
fn attestations_leave_the_index_and_keep_what_they_describe() {
    let (r, c) = test_registry::start(false);
    let repo = r.repo(PATH);
    let amd = image(&r, "amd64");
    let arm = image(&r, "arm64");
    let amd_att = attestation(&r, "https://slsa.dev/provenance/v0.2");
    let arm_att = attestation(&r, "https://slsa.dev/provenance/v1");
    let (root, _) = put_json(
        &r,
        OCI_INDEX,
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
               "manifests": [entry(&amd, "linux", "amd64", None), entry(&arm, "linux", "arm64", None),
                             entry(&amd_att, "unknown", "unknown", Some(&amd.0)),
                             entry(&arm_att, "unknown", "unknown", Some(&arm.0))],
               "annotations": {"dev.mpbuild.inputs": "sha256:feed"}}),
    );
    let split = detach(&c, &repo, &Digest::parse(&root).unwrap()).unwrap();
    assert_ne!(split.digest, root);
    let published: serde_json::Value =
        serde_json::from_slice(&r.manifest(PATH, &split.digest).unwrap()).unwrap();
    let left: Vec<&str> = published["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["digest"].as_str().unwrap())
        .collect();
    assert_eq!(left, [amd.0.as_str(), arm.0.as_str()]);
    assert_eq!(
        published["annotations"]["dev.mpbuild.inputs"],
        "sha256:feed"
    );
    let pairs: Vec<(&str, &str)> = split
        .detached
        .iter()
        .map(|d| (d.entry.digest.as_str(), d.subject.digest.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            (amd_att.0.as_str(), amd.0.as_str()),
            (arm_att.0.as_str(), arm.0.as_str())
        ]
    );

    // Again: the same index, nothing more to take out.
    let again = detach(&c, &repo, &split.digest).unwrap();
    assert_eq!(again.digest, split.digest);
    assert!(again.detached.is_empty());
}

#[test]
fn only_real_attestations_leave_and_one_naming_no_image_is_an_error() {
    let (r, c) = test_registry::start(false);
    let repo = r.repo(PATH);
    let amd = image(&r, "amd64");
    // Annotated as an attestation but with a real platform: an image, and it stays.
    let liar = image(&r, "arm64");
    let (root, _) = put_json(
        &r,
        OCI_INDEX,
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
               "manifests": [entry(&amd, "linux", "amd64", None), entry(&liar, "linux", "arm64", Some(&amd.0))]}),
    );
    let split = detach(&c, &repo, &Digest::parse(&root).unwrap()).unwrap();
    assert_eq!(split.digest, root);
    let att = attestation(&r, "https://slsa.dev/provenance/v1");
    let (orphan, _) = put_json(
        &r,
        OCI_INDEX,
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
               "manifests": [entry(&amd, "linux", "amd64", None),
                             entry(&att, "unknown", "unknown", Some(&format!("sha256:{}", "9".repeat(64))))]}),
    );
    let e = detach(&c, &repo, &Digest::parse(&orphan).unwrap()).unwrap_err();
    assert!(
        e.to_string().contains("which is no image of the index"),
        "{e}"
    );
}

#[test]
fn an_attestation_is_republished_with_its_layers_for_its_subject() {
    let (r, c) = test_registry::start(false);
    let att = attestation(&r, "https://slsa.dev/provenance/v1");
    let amd = image(&r, "amd64");
    let m = c
        .get_manifest(&Reference::parse(&format!("{}/{PATH}@{}", r.server.addr, att.0)).unwrap())
        .unwrap();
    let subject = Descriptor {
        media_type: OCI_MANIFEST.into(),
        digest: amd.0.clone(),
        size: amd.1 as u64,
        platform: Some(crate::registry::manifest::RawPlatform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }),
        artifact_type: None,
        annotations: Default::default(),
    };
    let a = artifact(&m.manifest, &subject, None).unwrap();
    let bytes = a.bytes();
    assert_eq!(a.bytes(), bytes, "the same attestation, the same artifact");
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["artifactType"], BUILDX_ATTESTATION);
    assert_eq!(
        v["config"]["mediaType"],
        crate::registry::referrers::EMPTY_MEDIA_TYPE
    );
    assert_eq!(
        v["subject"],
        json!({"mediaType": OCI_MANIFEST, "digest": amd.0, "size": amd.1})
    );
    let Manifest::Image { layers, .. } = &m.manifest else {
        panic!()
    };
    assert_eq!(v["layers"], serde_json::to_value(layers).unwrap());
    assert_eq!(
        v["annotations"][PREDICATE_ANNOTATION],
        "https://slsa.dev/provenance/v1"
    );
    assert_eq!(v["annotations"][REFERENCE_DIGEST], amd.0.as_str());
    let converted = artifact(&m.manifest, &subject, Some("sha256:orig")).unwrap();
    assert_eq!(converted.annotations[CONVERTED_FROM], "sha256:orig");
}
