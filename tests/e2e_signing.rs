//! Signed promotion on the real stack, with the real cosign and a generated key pair
//! (offline: no transparency log): push signs the index and every platform manifest
//! before a tag moves, cosign itself verifies each digest, `verify --signed-by` is the
//! gate, and a signing failure moves no tag.

mod common;

use std::path::Path;
use std::process::Command;

use common::cosign::{self, PASSWORD, RECORD_TYPE, WRONG, digest_of, key_pair};
use common::text;

const SHA: &str = "sig1";

#[test]
fn push_signs_every_digest_before_a_tag_moves_and_verify_is_the_gate() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("signed");
    let yaml = format!(
        "version: 1\nsign:\n  key: cosign.key\n  password_env: RELEASE_KEY_PW\nimages:\n  web:\n    repository: {repo}\n    tags: [latest]\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n      - service: lambda\n        arch: arm64\n        tag: \"${{GIT_SHA}}-lambda\"\n      - service: heroku\n        tag: \"${{GIT_SHA}}-heroku\"\n"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let p = dir.path();
    key_pair(&stack, p, "cosign");
    key_pair(&stack, p, "other");
    let metadata = p.join("meta.json");

    let (out, doc) = stack
        .run_in(p)
        .git_sha(SHA)
        .env("RELEASE_KEY_PW", PASSWORD)
        .json(&[
            "push",
            "--progress",
            "plain",
            "--format",
            "json",
            "--metadata-file",
            metadata.to_str().unwrap(),
        ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!t.contains(PASSWORD), "the password was printed: {t}");
    let meta = std::fs::read_to_string(&metadata).unwrap();
    assert!(!meta.contains(PASSWORD), "{meta}");

    // What the report says was signed: the index, both platforms, the Lambda tag's
    // manifest (the arm64 one) and the Heroku tag's Docker manifest (a digest of its
    // own).
    let index_digest = stack.tag_digest(&repo, "latest").unwrap();
    let index = stack.manifest(&repo, "latest");
    let amd = digest_of(&index, "amd64");
    let arm = digest_of(&index, "arm64");
    let heroku = stack.tag_digest(&repo, "sig1-heroku").unwrap();
    assert_eq!(stack.tag_digest(&repo, "sig1-lambda").unwrap(), arm);
    let signed: Vec<(String, String)> = doc["signed"][0]["digests"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|d| {
            (
                d["what"].as_str().unwrap().to_string(),
                d["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let digests: Vec<&str> = signed.iter().map(|(_, d)| d.as_str()).collect();
    assert_eq!(
        digests,
        [
            index_digest.as_str(),
            amd.as_str(),
            arm.as_str(),
            heroku.as_str()
        ],
        "{signed:?}"
    );
    assert_eq!(doc["signed"][0]["signer"]["kind"], "key", "{doc}");

    // The real cosign, independently: each digest verifies with the public key, none
    // with another key.
    for d in &digests {
        let r = format!("{repo}@{d}");
        assert!(cosign::verifies(&stack, p, "cosign.pub", &r), "{r}");
        assert!(!cosign::verifies(&stack, p, "other.pub", &r), "{r}");
    }

    // The gate passes: the index and both platforms the targets need, signed.
    let latest = format!("{repo}:latest");
    let gate = |key: &str| {
        stack.run_in(p).json(&[
            "verify",
            &latest,
            "--target",
            "apprunner",
            "--target",
            "apple-silicon",
            "--signed-by",
            key,
            "--format",
            "json",
        ])
    };
    let (out, doc) = gate("cosign.pub");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let statuses: Vec<(String, String)> = doc["references"][0]["signatures"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|s| {
            (
                s["of"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("index".to_string(), "valid".to_string()),
            ("linux/amd64".to_string(), "valid".to_string()),
            ("linux/arm64".to_string(), "valid".to_string())
        ],
        "{doc}"
    );
    // `check` takes the same flags: a Deployment on arm64 nodes needs the index and the
    // arm64 manifest signed.
    let deployment = p.join("deploy.yaml");
    std::fs::write(
        &deployment,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      nodeSelector: {{kubernetes.io/arch: arm64}}\n      containers:\n        - name: web\n          image: {latest}\n"
        ),
    )
    .unwrap();
    let check = || {
        stack.run_in(p).json(&[
            "check",
            deployment.to_str().unwrap(),
            "--signed-by",
            "cosign.pub",
            "--format",
            "json",
        ])
    };
    let (out, _) = check();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A wrong key fails it.
    let (out, doc) = gate("other.pub");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(doc["references"][0]["signatures"][0]["status"], "invalid");

    // A signing failure (a wrong password) after a change: nothing moves.
    std::fs::write(p.join("Dockerfile"), "FROM scratch\nCOPY mpbuild.yaml /y\n").unwrap();
    let out = stack
        .run_in(p)
        .git_sha(SHA)
        .env("RELEASE_KEY_PW", WRONG)
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("signing failed: no tag moved"), "{t}");
    assert!(t.contains("decryption failed"), "{t}");
    assert!(!t.contains(WRONG), "the password was printed: {t}");
    assert_eq!(
        stack.tag_digest(&repo, "latest"),
        Some(index_digest.clone())
    );
    assert_eq!(stack.tag_digest(&repo, "sig1-lambda"), Some(arm.clone()));
    assert_eq!(stack.tag_digest(&repo, "sig1-heroku"), Some(heroku.clone()));

    // The arm64 manifest re-pushed unsigned under the same tag (same blobs, one
    // annotation more, so another digest): the gate fails, naming the platform.
    let mut arm_manifest = stack.manifest(&repo, &arm);
    arm_manifest["annotations"] = serde_json::json!({"tampered": "yes"});
    let file = p.join("arm.json");
    std::fs::write(&file, serde_json::to_vec(&arm_manifest).unwrap()).unwrap();
    let pushed = oras_manifest_push(&stack, &format!("{repo}:unsigned-arm"), &file);
    let new_arm = stack.tag_digest(&repo, "unsigned-arm").unwrap();
    let mut new_index = index.clone();
    for m in new_index["manifests"].as_array_mut().unwrap() {
        if m["digest"] == arm.as_str() {
            m["digest"] = serde_json::json!(new_arm);
            m["size"] = serde_json::json!(std::fs::metadata(&file).unwrap().len());
        }
    }
    std::fs::write(&file, serde_json::to_vec(&new_index).unwrap()).unwrap();
    oras_manifest_push(&stack, &latest, &file);
    assert_ne!(
        stack.tag_digest(&repo, "latest"),
        Some(index_digest),
        "{pushed}"
    );
    let (out, doc) = gate("cosign.pub");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let arm_status = doc["references"][0]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["of"] == "linux/arm64")
        .cloned()
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(arm_status["status"], "missing", "{doc}");
    assert_eq!(arm_status["digest"], new_arm.as_str(), "{doc}");
    let problems = doc["references"][0]["problems"].to_string();
    assert!(
        problems.contains("linux/arm64") && problems.contains("not signed by cosign.pub"),
        "{problems}"
    );
    let (out, doc) = check();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        doc.to_string().contains("linux/arm64 (sha256:"),
        "check names the platform: {doc}"
    );
    // The index itself is new and unsigned too; amd64 is still signed.
    let out = stack.run_in(p).output(&[
        "verify",
        &latest,
        "--platform",
        "linux/amd64",
        "--signed-by",
        "cosign.pub",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(!t.contains("linux/amd64 ("), "{t}");
}

/// `oras manifest push` of `file` to `reference` (the stack's plain-HTTP registry).
fn oras_manifest_push(stack: &common::Stack, reference: &str, file: &Path) -> String {
    let mut c = Command::new("oras");
    stack.apply_env(&mut c);
    let out = c
        .args([
            "manifest",
            "push",
            "--plain-http",
            reference,
            file.to_str().unwrap(),
        ])
        .output()
        .expect("spawn oras");
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

#[test]
fn a_mirrored_signed_image_verifies_at_the_destination_with_the_same_key() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("signed-src");
    let yaml = format!(
        "version: 1\nsign: {{key: cosign.key}}\nimages:\n  web:\n    repository: {repo}\n    tags: [latest]\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let p = dir.path();
    key_pair(&stack, p, "cosign");
    let out =
        stack
            .run_in(p)
            .env("COSIGN_PASSWORD", PASSWORD)
            .output(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let index = stack.tag_digest(&repo, "latest").unwrap();
    let m = stack.manifest(&repo, "latest");
    let (amd, arm) = (digest_of(&m, "amd64"), digest_of(&m, "arm64"));

    // Every platform, the source digest kept: the index and both platforms verify at the
    // destination.
    let all = stack.unique_repo("signed-all");
    let out = stack.run_in(p).output(&[
        "mirror",
        &format!("{repo}:latest"),
        &format!("{all}:latest"),
        "--all",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    for d in [&index, &amd, &arm] {
        let r = format!("{all}@{d}");
        assert!(cosign::verifies(&stack, p, "cosign.pub", &r), "{r}");
    }
    // The `.sig` and `.att` (the record's attestation) of the index and of each platform.
    assert!(
        t.contains("6 cosign signature/attestation tag(s) copied"),
        "{t}"
    );
    assert!(cosign::attested(&stack, p, "cosign.pub", &format!("{all}@{index}")).is_ok());
    // One platform (a new index, unsigned): that platform's manifest keeps its digest
    // and its signature.
    let one = stack.unique_repo("signed-arm64");
    let out = stack.run_in(p).output(&[
        "mirror",
        &format!("{repo}:latest"),
        &format!("{one}:latest"),
        "--platform",
        "linux/arm64",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(cosign::verifies(
        &stack,
        p,
        "cosign.pub",
        &format!("{one}@{arm}")
    ));
    let out = stack.run_in(p).output(&[
        "verify",
        &format!("{one}:latest"),
        "--platform",
        "linux/arm64",
        "--signed-by",
        "cosign.pub",
    ]);
    let t = text(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the new index is not signed: {t}"
    );
    assert!(t.contains("linux/arm64 signed"), "{t}");
}

#[test]
fn legs_sign_nothing_and_merge_signs_the_merged_index_and_each_legs_manifest() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("signed-merge");
    let yaml = format!(
        "version: 1\nsign: {{key: cosign.key, password_env: RELEASE_KEY_PW}}\nimages:\n  web:\n    repository: {repo}\n    tags: [latest]\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let p = dir.path();
    key_pair(&stack, p, "cosign");
    let legs = p.join("legs");
    // A leg needs neither the password nor cosign: it moves no tag and signs nothing.
    for platform in ["linux/amd64", "linux/arm64"] {
        let out = stack
            .run_in(p)
            .env("MPBUILD_COSIGN", "/nonexistent")
            .output(&[
                "push",
                "--platform",
                platform,
                "--digests-dir",
                legs.to_str().unwrap(),
                "--progress",
                "plain",
            ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let (out, doc) = stack.run_in(p).env("RELEASE_KEY_PW", PASSWORD).json(&[
        "merge",
        "--digests-dir",
        legs.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!t.contains(PASSWORD), "{t}");
    let index = stack.tag_digest(&repo, "latest").unwrap();
    let m = stack.manifest(&repo, "latest");
    let (amd, arm) = (digest_of(&m, "amd64"), digest_of(&m, "arm64"));
    for d in [&index, &amd, &arm] {
        let r = format!("{repo}@{d}");
        assert!(cosign::verifies(&stack, p, "cosign.pub", &r), "{r}");
    }
    let whats: Vec<&str> = doc["signed"][0]["digests"]
        .as_array()
        .unwrap_or_else(|| panic!("{doc}"))
        .iter()
        .map(|d| d["what"].as_str().unwrap())
        .collect();
    assert_eq!(whats, ["index", "linux/amd64", "linux/arm64"], "{doc}");
}

#[test]
fn the_record_is_attested_with_the_signing_key_and_the_gate_requires_that_attestation() {
    let Some(stack) = common::stack() else { return };
    let ours = stack.unique_repo("attested");
    let theirs = stack.unique_repo("attested-other");
    let targets = "    tags: [latest]\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n";
    let yaml = format!(
        "version: 1\nsign: {{key: cosign.key, password_env: RELEASE_KEY_PW}}\nimages:\n  web:\n    repository: {ours}\n{targets}  other:\n    repository: {theirs}\n    sign: {{key: other.key, password_env: RELEASE_KEY_PW}}\n{targets}"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let p = dir.path();
    key_pair(&stack, p, "cosign");
    key_pair(&stack, p, "other");
    let (out, doc) = stack.run_in(p).env("RELEASE_KEY_PW", PASSWORD).json(&[
        "push",
        "--progress",
        "plain",
        "--format",
        "json",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!t.contains(PASSWORD), "the password was printed: {t}");

    // The report names the record it attested: the record pushed as the index's
    // referrer.
    let index = stack.tag_digest(&ours, "latest").unwrap();
    let image = doc["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "web")
        .unwrap_or_else(|| panic!("{doc}"));
    let record = image["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "record" && r["subject"] == index.as_str())
        .unwrap_or_else(|| panic!("no record of the index: {doc}"))["digest"]
        .clone();
    let signed = doc["signed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["image"] == "web")
        .unwrap_or_else(|| panic!("{doc}"));
    assert_eq!(signed["record_attested"], record, "{doc}");

    // The real cosign, independently: the index carries an attestation of the record's
    // type that verifies with the signing key, about the index, whose predicate is the
    // record's (the index and both platform manifests); none with the other key.
    let m = stack.manifest(&ours, "latest");
    let (amd, arm) = (digest_of(&m, "amd64"), digest_of(&m, "arm64"));
    let at = format!("{ours}@{index}");
    let statements = cosign::attested(&stack, p, "cosign.pub", &at).unwrap();
    assert_eq!(statements.len(), 1, "{statements:?}");
    let s = &statements[0];
    assert_eq!(s["predicateType"], RECORD_TYPE, "{s}");
    assert_eq!(
        format!(
            "sha256:{}",
            s["subject"][0]["digest"]["sha256"].as_str().unwrap()
        ),
        index,
        "{s}"
    );
    assert_eq!(s["predicate"]["digest"], index.as_str(), "{s}");
    let mut platforms: Vec<(String, String)> = s["predicate"]["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["platform"].as_str().unwrap().to_string(),
                r["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(
        platforms,
        [
            ("linux/amd64".to_string(), amd.clone()),
            ("linux/arm64".to_string(), arm.clone())
        ],
        "{s}"
    );
    assert!(cosign::attested(&stack, p, "other.pub", &at).is_err());
    // Each platform manifest carries the same predicate, attested about itself.
    for d in [&amd, &arm] {
        let s = &cosign::attested(&stack, p, "cosign.pub", &format!("{ours}@{d}")).unwrap()[0];
        assert_eq!(s["predicate"]["digest"], index.as_str(), "{s}");
        let subject = s["subject"][0]["digest"]["sha256"].as_str().unwrap();
        assert_eq!(&format!("sha256:{subject}"), d, "{s}");
    }

    // The gate: signed and attested by cosign.pub → 0, the record's attestation listed.
    let gate = |repo: &str| {
        stack.run_in(p).json(&[
            "verify",
            &format!("{repo}:latest"),
            "--target",
            "apprunner",
            "--target",
            "apple-silicon",
            "--signed-by",
            "cosign.pub",
            "--require-record",
            "--format",
            "json",
        ])
    };
    let (out, doc) = gate(&ours);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let record_status = |doc: &serde_json::Value| -> Vec<(String, String)> {
        doc["references"][0]["signatures"]
            .as_array()
            .unwrap_or_else(|| panic!("{doc}"))
            .iter()
            .filter(|s| s["of"] == "record")
            .map(|s| {
                (
                    s["digest"].as_str().unwrap().to_string(),
                    s["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        record_status(&doc),
        [(index.clone(), "valid".to_string())],
        "{doc}"
    );

    // The other image: its record attested by other.key only. Every digest also signed
    // by cosign.key (by hand), so only the record's attestation is missing a signer.
    let other_index = stack.tag_digest(&theirs, "latest").unwrap();
    let om = stack.manifest(&theirs, "latest");
    let refs: Vec<String> = [
        other_index.clone(),
        digest_of(&om, "amd64"),
        digest_of(&om, "arm64"),
    ]
    .iter()
    .map(|d| format!("{theirs}@{d}"))
    .collect();
    cosign::sign(&stack, p, "cosign.key", &refs);
    let at = format!("{theirs}@{other_index}");
    assert!(cosign::attested(&stack, p, "other.pub", &at).is_ok());
    let (out, doc) = gate(&theirs);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let statuses = record_status(&doc);
    assert_eq!(statuses.len(), 1, "{doc}");
    assert_eq!(statuses[0].0, other_index, "{doc}");
    // Attestations there, none verifying with cosign.pub: invalid, not missing.
    assert_eq!(statuses[0].1, "invalid", "{doc}");
    let problems = doc["references"][0]["problems"].to_string();
    assert!(
        problems.contains(&format!("verification record of {other_index}"))
            && problems.contains("attested by cosign.pub"),
        "{problems}"
    );
    assert!(
        doc["references"][0]["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["of"] != "record")
            .all(|s| s["status"] == "valid"),
        "{doc}"
    );
}
