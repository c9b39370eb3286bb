//! `mpbuild check --require-record` on the real stack, with the real cosign: the deploy
//! gate requires, for each image a deployment file names, mpbuild's verification record
//! of the digest, attested by the signer named with `--signed-by` — as `verify
//! --signed-by --require-record` does for one reference.

mod common;

use std::path::Path;

use common::cosign::{self, PASSWORD, digest_of, key_pair};
use common::text;

/// A Deployment per (name, image) on arm64 nodes, one after the other; the line each
/// `image:` is on.
fn deployments(file: &Path, images: &[(&str, &str)]) -> Vec<u32> {
    let mut yaml = String::new();
    let mut lines = Vec::new();
    for (name, image) in images {
        if !yaml.is_empty() {
            yaml.push_str("---\n");
        }
        yaml.push_str(&format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  template:\n    spec:\n      nodeSelector: {{kubernetes.io/arch: arm64}}\n      containers:\n        - name: {name}\n"
        ));
        lines.push(yaml.lines().count() as u32 + 1);
        yaml.push_str(&format!("          image: {image}\n"));
    }
    std::fs::write(file, yaml).unwrap();
    lines
}

#[test]
fn check_requires_a_record_attested_by_the_key_for_every_pinned_digest() {
    let Some(stack) = common::stack() else { return };
    let ours = stack.unique_repo("record-ours");
    let theirs = stack.unique_repo("record-theirs");
    let bare = stack.unique_repo("record-none");
    // `web`: signed and its record attested with cosign.key; `other`: with other.key;
    // `bare`: signed with cosign.key, but `attestations: off` publishes no record.
    let targets = "    tags: [latest]\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n";
    let yaml = format!(
        "version: 1\nsign: {{key: cosign.key, password_env: RELEASE_KEY_PW}}\nimages:\n  web:\n    repository: {ours}\n{targets}  other:\n    repository: {theirs}\n    sign: {{key: other.key, password_env: RELEASE_KEY_PW}}\n{targets}  bare:\n    repository: {bare}\n    attestations: off\n{targets}"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let p = dir.path();
    key_pair(&stack, p, "cosign");
    key_pair(&stack, p, "other");
    let out =
        stack
            .run_in(p)
            .env("RELEASE_KEY_PW", PASSWORD)
            .output(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Every digest of `other` signed by cosign.key too (by hand), so its signatures
    // pass the gate and only its record's attestation lacks cosign.key.
    let pinned = |repo: &str| {
        let index = stack.tag_digest(repo, "latest").unwrap();
        let m = stack.manifest(repo, "latest");
        (index, digest_of(&m, "arm64"))
    };
    let (web_index, _) = pinned(&ours);
    let (other_index, other_arm) = pinned(&theirs);
    let (bare_index, _) = pinned(&bare);
    cosign::sign(
        &stack,
        p,
        "cosign.key",
        &[
            format!("{theirs}@{other_index}"),
            format!("{theirs}@{other_arm}"),
        ],
    );

    let good = p.join("good.yaml");
    let bad = p.join("bad.yaml");
    let web_ref = format!("{ours}@{web_index}");
    let bare_ref = format!("{bare}:latest@{bare_index}");
    let other_ref = format!("{theirs}@{other_index}");
    deployments(&good, &[("web", &web_ref)]);
    let lines = deployments(&bad, &[("bare", &bare_ref), ("other", &other_ref)]);
    let check = |file: &Path, record: bool, format: &str| {
        let mut args = vec![
            "check",
            file.to_str().unwrap(),
            "--signed-by",
            "cosign.pub",
            "--format",
            format,
        ];
        if record {
            args.push("--require-record");
        }
        stack.run_in(p).output(&args)
    };

    // Pinned to a digest whose record is attested by cosign.key: passes, the record
    // and its attestation named in the JSON.
    let out = check(&good, true, "json");
    let doc = common::json(&out);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = &doc["references"][0]["verification"];
    assert!(v["record"]["record"].is_string(), "{doc}");
    let record: Vec<(&str, &str)> = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["of"] == "record")
        .map(|s| (s["digest"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(record, [(web_index.as_str(), "valid")], "{doc}");

    // Signatures alone: the bad file passes (both images are signed by cosign.key)…
    let out = check(&bad, false, "text");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The record alone (no signer named): `bare` has none, `other` has one that agrees.
    let out = stack.run_in(p).output(&[
        "check",
        bad.to_str().unwrap(),
        "--require-record",
        "--format",
        "json",
    ]);
    let doc = common::json(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let statuses: Vec<&str> = doc["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "ok"], "{doc}");
    assert!(
        doc["references"][1]["verification"]["record"]["record"].is_string(),
        "{doc}"
    );
    // …and with --signed-by as well it fails: no record at all, and a record attested
    // by another key.
    let out = check(&bad, true, "json");
    let doc = common::json(&out);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let refs = doc["references"].as_array().unwrap();
    let at = |i: usize| format!("{}:{}", bad.display(), lines[i]);
    assert_eq!(refs[0]["at"], at(0).as_str(), "{doc}");
    assert_eq!(refs[0]["status"], "failed", "{doc}");
    assert_eq!(refs[0]["digest"], bare_index.as_str(), "{doc}");
    let problems = refs[0]["problems"].to_string();
    assert!(
        problems.contains(&format!(
            "verification record: no verification record among the referrers of {bare_index}"
        )) && problems.contains("mpbuild push"),
        "{problems}"
    );
    assert_eq!(refs[1]["at"], at(1).as_str(), "{doc}");
    assert_eq!(refs[1]["status"], "failed", "{doc}");
    let statuses: Vec<(&str, &str)> = refs[1]["verification"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["of"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        statuses,
        [
            ("index", "valid"),
            ("linux/arm64", "valid"),
            ("record", "invalid")
        ],
        "{doc}"
    );
    let problems = refs[1]["problems"].to_string();
    assert!(
        problems.contains(&format!(
            "the verification record of {other_index} is not validly attested by cosign.pub"
        )),
        "{problems}"
    );

    // For people: the file:line, the reference, the digest, what is missing, what to do.
    let out = check(&bad, true, "text");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for needle in [
        format!("FAIL  {}  Deployment/bare (bare)", at(0)),
        format!("{bare_ref} → sha256:{}", &bare_index[7..19]),
        format!("no verification record among the referrers of {bare_index}"),
        "to fix: publish the image with `mpbuild push` (or `mpbuild merge`)".to_string(),
        format!("FAIL  {}  Deployment/other (other)", at(1)),
        format!("the verification record of {other_index} is not validly attested by cosign.pub"),
    ] {
        assert!(t.contains(&needle), "{needle:?} not in:\n{t}");
    }
}
