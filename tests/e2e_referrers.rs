//! Provenance as referrers on the real stack, read back with Debian's `oras` (an
//! independent OCI 1.1 client): the stack's distribution 2.8 has no referrers API, so
//! these are the referrers tag schema's paths.

mod common;

use std::process::Command;

use common::run::{path_of, registry_get_json};
use common::{Stack, text};
use serde_json::Value;

const PREDICATE: &str =
    "https://github.com/acme/mpbuild/blob/main/schema/verification-record.v1.schema.json";
const PROVENANCE: &str = "application/vnd.docker.attestation.manifest.v1+json";
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// `oras discover --format json REPO@DIGEST`: the referrers an independent client finds.
fn discover(stack: &Stack, repo: &str, digest: &str) -> Vec<Value> {
    let out = Command::new("oras")
        .env("PATH", &stack.path)
        .args(["discover", "--plain-http", "--format", "json"])
        .arg(format!("{repo}@{digest}"))
        .output()
        .expect("oras (scripts/stack up installs it)");
    assert!(out.status.success(), "oras discover: {}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["manifests"].as_array().cloned().unwrap_or_default()
}

/// `oras` is part of the stack (`scripts/stack up` installs it): its absence fails the
/// test, it does not skip it.
fn oras(stack: &Stack) {
    let ok = Command::new("oras")
        .env("PATH", &stack.path)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "no `oras` on the stack's PATH: run scripts/stack up, which installs it"
    );
}

fn types(found: &[Value]) -> Vec<&str> {
    let mut t: Vec<&str> = found
        .iter()
        .map(|m| m["artifactType"].as_str().unwrap_or(""))
        .collect();
    t.sort();
    t
}

/// The entries of the referrers tag schema's index of `digest` (none: no such tag).
fn tag_schema(stack: &Stack, repo: &str, digest: &str) -> Vec<Value> {
    let tag = digest.replace(':', "-");
    let (code, v) = registry_get_json(
        &stack.registry,
        &format!("/v2/{}/manifests/{tag}", path_of(repo)),
    );
    if code == 404 {
        return Vec::new();
    }
    assert_eq!(code, 200, "{v}");
    v["manifests"].as_array().cloned().unwrap_or_default()
}

/// The verification record's statement, read the way a user would: the record among
/// `oras discover`'s referrers of `digest`, its manifest, its one layer.
fn record_of(stack: &Stack, repo: &str, digest: &str) -> Value {
    let found = discover(stack, repo, digest);
    let record = found
        .iter()
        .find(|m| m["annotations"]["in-toto.io/predicate-type"] == PREDICATE)
        .unwrap_or_else(|| panic!("no record among the referrers of {digest}: {found:?}"));
    assert_eq!(record["artifactType"], IN_TOTO);
    let path = path_of(repo);
    let (code, manifest) = registry_get_json(
        &stack.registry,
        &format!(
            "/v2/{path}/manifests/{}",
            record["digest"].as_str().unwrap()
        ),
    );
    assert_eq!(code, 200);
    assert_eq!(manifest["subject"]["digest"], digest);
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let (code, statement) =
        registry_get_json(&stack.registry, &format!("/v2/{path}/blobs/{layer}"));
    assert_eq!(code, 200);
    statement
}

fn validate(statement: &Value) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text =
        std::fs::read_to_string(dir.join("schema/verification-record.v1.schema.json")).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    let v = jsonschema::draft202012::new(&schema).unwrap();
    let errors: Vec<String> = v.iter_errors(statement).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{statement:#}");
}

fn lambda_and_ecs(stack: &Stack, repo: &str) -> tempfile::TempDir {
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    attestations: referrers\n    build_args: {{BASE: \"{base}\"}}\n    targets:\n      - service: ecs-fargate\n        arch: [X86_64, ARM64]\n      - service: lambda\n        arch: arm64\n        tag: v1-lambda\n",
        base = stack.base_image
    );
    stack.project(
        &yaml,
        "ARG BASE\nFROM ${BASE}\nRUN uname -m > /arch\nCMD [\"cat\", \"/arch\"]\n",
    )
}

#[test]
fn a_lambda_and_ecs_push_keeps_provenance_as_referrers_and_records_what_it_verified() {
    let Some(stack) = common::stack() else { return };
    oras(&stack);
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("referrers");
    let dir = lambda_and_ecs(&stack, &repo);
    let (out, doc) =
        stack
            .run_in(dir.path())
            .json(&["push", "--progress", "plain", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The index the tags point at holds exactly the runnable platforms.
    let index_digest = stack.tag_digest(&repo, "latest").unwrap();
    let index = stack.manifest(&repo, "latest");
    let entries = index["manifests"].as_array().unwrap();
    let mut platforms: Vec<String> = entries
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{index}");
    // The Lambda tag is a plain manifest: the arm64 one.
    let arm = entries
        .iter()
        .find(|m| m["platform"]["architecture"] == "arm64")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let lambda = stack.manifest(&repo, "v1-lambda");
    assert_eq!(
        lambda["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        stack.tag_digest(&repo, "v1-lambda").as_deref(),
        Some(arm.as_str())
    );

    // Each platform manifest has its provenance (and the record) as referrers, found by
    // oras through the tag schema; the index has the record.
    for e in entries {
        let d = e["digest"].as_str().unwrap();
        let found = discover(&stack, &repo, d);
        assert_eq!(types(&found), [PROVENANCE, IN_TOTO], "{d}: {found:?}");
        let prov = found
            .iter()
            .find(|m| m["artifactType"] == PROVENANCE)
            .unwrap();
        let (_, m) = registry_get_json(
            &stack.registry,
            &format!(
                "/v2/{}/manifests/{}",
                path_of(&repo),
                prov["digest"].as_str().unwrap()
            ),
        );
        assert_eq!(m["subject"]["digest"], d);
        assert!(
            m["layers"][0]["annotations"]["in-toto.io/predicate-type"]
                .as_str()
                .unwrap()
                .starts_with("https://slsa.dev/provenance/"),
            "{m}"
        );
    }
    assert_eq!(types(&discover(&stack, &repo, &index_digest)), [IN_TOTO]);

    // The record: valid against its schema, about this index and its platforms.
    let statement = record_of(&stack, &repo, &index_digest);
    validate(&statement);
    let p = &statement["predicate"];
    assert_eq!(p["digest"], index_digest.as_str());
    assert_eq!(p["attestations"], "referrers");
    let recorded: Vec<(&str, &str)> = p["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["platform"].as_str().unwrap(),
                r["digest"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(recorded.contains(&("linux/arm64", arm.as_str())), "{p}");
    let arm_row = p["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["platform"] == "linux/arm64")
        .unwrap();
    assert_eq!(
        arm_row["required_by"],
        serde_json::json!(["ecs-fargate", "lambda"]),
        "{arm_row}"
    );
    assert!(
        ["native", "emulated", "cached"].contains(&arm_row["build"]["built"].as_str().unwrap()),
        "{arm_row}"
    );
    assert!(
        p["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["tag"] == "v1-lambda" && t["digest"] == arm.as_str())
    );

    // The report lists what was pushed, and how.
    let listed = doc["images"][0]["referrers"].as_array().unwrap();
    assert!(listed.iter().all(|r| r["via"] == "tag-schema"), "{doc}");
    assert_eq!(
        listed.iter().filter(|r| r["kind"] == "provenance").count(),
        2
    );
    assert_eq!(listed.iter().filter(|r| r["kind"] == "record").count(), 3);

    // Another tool attaches its own referrer to the index; a second push of the same
    // digest (unchanged: reused) duplicates nothing and keeps the other tool's entry.
    // (Its file outside the project: the push's inputs stay the same.)
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(elsewhere.path().join("note.json"), "{}").unwrap();
    let attach = Command::new("oras")
        .env("PATH", &stack.path)
        .current_dir(elsewhere.path())
        .args([
            "attach",
            "--plain-http",
            "--artifact-type",
            "application/vnd.example.note+json",
        ])
        .arg(format!("{repo}@{index_digest}"))
        .arg("note.json:application/json")
        .output()
        .unwrap();
    assert!(attach.status.success(), "{}", text(&attach));
    let before = tag_schema(&stack, &repo, &index_digest);
    let before_arm = tag_schema(&stack, &repo, &arm);
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("unchanged  since"), "{t}");
    assert!(
        t.contains("verification record sha256:") && t.contains("(already there)"),
        "{t}"
    );
    assert_eq!(tag_schema(&stack, &repo, &index_digest), before);
    assert_eq!(tag_schema(&stack, &repo, &arm), before_arm);
    assert!(
        types(&discover(&stack, &repo, &index_digest))
            .contains(&"application/vnd.example.note+json")
    );

    // verify lists them, and finds the record.
    let out = stack.run(&["verify", &format!("{repo}:latest"), "--require-record"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("referrers, listed through the referrers tag schema"),
        "{t}"
    );
    assert!(t.contains("mpbuild verification record"), "{t}");
    assert!(t.contains("    linux/arm64  sha256:"), "{t}");
}

#[test]
fn require_record_fails_without_mpbuild_and_after_the_tag_moved() {
    let Some(stack) = common::stack() else { return };
    oras(&stack);
    let _emu = stack.emulation_shared();
    // An image pushed without mpbuild: the stack's base image, copied by oras.
    let foreign = stack.unique_repo("foreign");
    let copy = Command::new("oras")
        .env("PATH", &stack.path)
        .args(["copy", "-r", "--from-plain-http", "--to-plain-http"])
        .arg(&stack.base_image)
        .arg(format!("{foreign}:latest"))
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", text(&copy));
    let out = stack.run(&["verify", &format!("{foreign}:latest"), "--require-record"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("no verification record among the referrers of"),
        "{t}"
    );

    // Pushed by mpbuild: passes; then the tag is overwritten (with the base image):
    // fails.
    let repo = stack.unique_repo("moved");
    let dir = lambda_and_ecs(&stack, &repo);
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let ok = stack.run(&["verify", &format!("{repo}:latest"), "--require-record"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    let copy = Command::new("oras")
        .env("PATH", &stack.path)
        .args(["copy", "-r", "--from-plain-http", "--to-plain-http"])
        .arg(&stack.base_image)
        .arg(format!("{repo}:latest"))
        .output()
        .unwrap();
    assert!(copy.status.success(), "{}", text(&copy));
    let out = stack.run(&[
        "verify",
        &format!("{repo}:latest"),
        "--require-record",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problem = v["references"][0]["record"]["problem"].as_str().unwrap();
    assert!(
        problem.contains("no verification record among the referrers of"),
        "{problem}"
    );
}

/// `oras discover` against a registry of the test's own.
fn discover_at(stack: &Stack, registry: &str, path: &str, digest: &str) -> Vec<Value> {
    discover(stack, &format!("{registry}/{path}"), digest)
}

#[test]
fn mirror_brings_the_referrers_and_refuses_a_tampered_one() {
    let Some(stack) = common::stack() else { return };
    oras(&stack);
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("mirrored");
    let dir = lambda_and_ecs(&stack, &repo);
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let index_digest = stack.tag_digest(&repo, "latest").unwrap();
    let index = stack.manifest(&repo, "latest");
    let platforms: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();

    // To a second registry: the referrers come along, and oras finds them there.
    let b = stack.start_registry("", None);
    let dest = format!("{}/mirrored/app:latest", b.addr);
    let (out, doc) = stack.run_in(dir.path()).json(&[
        "mirror",
        &format!("{repo}:latest"),
        &dest,
        "--all",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let copied = doc["mirrors"][0]["referrers"].as_array().unwrap();
    assert_eq!(copied.len(), 1 + 2 * platforms.len(), "{doc}");
    assert!(copied.iter().all(|r| r["via"] == "tag-schema"), "{doc}");
    assert_eq!(
        types(&discover_at(&stack, &b.addr, "mirrored/app", &index_digest)),
        [IN_TOTO]
    );
    for d in &platforms {
        assert_eq!(
            types(&discover_at(&stack, &b.addr, "mirrored/app", d)),
            [PROVENANCE, IN_TOTO],
            "{d}"
        );
    }
    // The record came along whole: it agrees with what the destination holds.
    let out = stack.run(&["verify", &dest, "--require-record"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // --no-referrers leaves them behind.
    let bare = format!("{}/bare/app:latest", b.addr);
    let out = stack.run(&[
        "mirror",
        &format!("{repo}:latest"),
        &bare,
        "--all",
        "--no-referrers",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(discover_at(&stack, &b.addr, "bare/app", &index_digest).is_empty());

    // A referrer's blob changed in the second registry's storage (same length): the
    // mirror from there to a third fails on its digest, and tags nothing.
    let found = discover_at(&stack, &b.addr, "mirrored/app", &index_digest);
    assert_eq!(
        found[0]["annotations"]["in-toto.io/predicate-type"],
        PREDICATE
    );
    let (_, manifest) = registry_get_json(
        &b.addr,
        &format!(
            "/v2/mirrored/app/manifests/{}",
            found[0]["digest"].as_str().unwrap()
        ),
    );
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let hex = layer.strip_prefix("sha256:").unwrap();
    let path = b
        .storage()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.iter().position(|&c| c == b'{').unwrap();
    bytes[at] = b'[';
    std::fs::write(&path, bytes).unwrap();
    let c = stack.start_registry("", None);
    let out = stack.run(&[
        "mirror",
        &dest,
        &format!("{}/again/app:latest", c.addr),
        "--all",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains(layer), "{t}");
    let (code, _) = registry_get_json(&c.addr, "/v2/again/app/manifests/latest");
    assert_eq!(code, 404, "the tag moved: {t}");
}

#[test]
fn merge_leaves_the_legs_attestations_out_of_its_index_and_publishes_them_as_referrers() {
    let Some(stack) = common::stack() else { return };
    oras(&stack);
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("merged");
    let dir = lambda_and_ecs(&stack, &repo);
    let runners = tempfile::tempdir().unwrap();
    let all = runners.path().join("all");
    std::fs::create_dir_all(&all).unwrap();
    for arch in ["amd64", "arm64"] {
        let digests = runners.path().join(format!("d-{arch}"));
        let out = stack
            .runner()
            .dir(dir.path())
            .work_dir(&runners.path().join(format!("work-{arch}")))
            .output(&[
                "push",
                "--platform",
                &format!("linux/{arch}"),
                "--digests-dir",
                &digests.display().to_string(),
                "--progress",
                "plain",
            ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        for e in std::fs::read_dir(&digests).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), all.join(e.file_name())).unwrap();
        }
    }
    let (out, doc) = stack
        .runner()
        .dir(dir.path())
        .work_dir(&runners.path().join("work-merge"))
        .json(&[
            "merge",
            "--digests-dir",
            &all.display().to_string(),
            "--format",
            "json",
        ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // The index holds the two platforms and nothing else (each leg's was an index with
    // its attestation); each platform has its provenance and the record as referrers.
    let index_digest = stack.tag_digest(&repo, "latest").unwrap();
    let index = stack.manifest(&repo, "latest");
    let entries = index["manifests"].as_array().unwrap();
    let platforms: Vec<&str> = entries
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["amd64", "arm64"], "{index}");
    for e in entries {
        let d = e["digest"].as_str().unwrap();
        assert_eq!(
            types(&discover(&stack, &repo, d)),
            [PROVENANCE, IN_TOTO],
            "{d}"
        );
    }
    assert_eq!(types(&discover(&stack, &repo, &index_digest)), [IN_TOTO]);
    let listed = doc["images"][0]["referrers"].as_array().unwrap();
    assert_eq!(
        listed.iter().filter(|r| r["kind"] == "provenance").count(),
        2,
        "{doc}"
    );
    // The record says how each leg built its platform.
    let statement = record_of(&stack, &repo, &index_digest);
    validate(&statement);
    for row in statement["predicate"]["platforms"].as_array().unwrap() {
        assert!(row["build"].is_object(), "{row}");
    }
    let out = stack.run(&["verify", &format!("{repo}:latest"), "--require-record"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
