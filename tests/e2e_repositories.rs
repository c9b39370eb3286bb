//! `repositories:` on the real stack: an image built once, pushed to the first
//! repository and copied to the others (one in the same registry: blobs mounted; one in
//! a second registry: blobs streamed), receives the same index digest and the same tags
//! in each; and when the second registry refuses writes, the copy fails before promotion
//! and no tag moves anywhere — the first repository's tags stay where they were.

mod common;

use common::fault::{Fault, PREFLIGHT, Proxy};
use common::{path_of, tag_digest_at, text};

const DOCKERFILE: &str = "ARG BASE\nFROM ${BASE}\nCOPY version /version\n";

fn yaml(stack: &common::Stack, repos: &[&str]) -> String {
    format!(
        "version: 1\nimages:\n  app:\n    repositories: [{}]\n    build_args: {{BASE: \"{}\"}}\n    tags: [v1, stable]\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n",
        repos.join(", "),
        stack.base_image
    )
}

fn project(stack: &common::Stack, repos: &[&str], version: &str) -> tempfile::TempDir {
    stack.context(&[
        ("mpbuild.yaml", yaml(stack, repos).as_bytes()),
        ("Dockerfile", DOCKERFILE.as_bytes()),
        ("version", version.as_bytes()),
        (".dockerignore", b".mpbuild-work\n"),
    ])
}

/// `HOST:PORT/PATH` → (HOST:PORT, PATH).
fn split(repo: &str) -> (&str, &str) {
    repo.split_once('/').expect("HOST/PATH")
}

#[test]
fn every_repository_gets_the_same_index_and_its_tags() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let other = stack.start_registry("", None);
    let first = stack.unique_repo("repos");
    let same_registry = stack.unique_repo("repos-mounted");
    let elsewhere = format!(
        "{}/{}",
        other.addr,
        path_of(&stack.unique_repo("repos-far"))
    );
    let dir = project(&stack, &[&first, &same_registry, &elsewhere], "one\n");
    let (out, doc) =
        stack
            .run_in(dir.path())
            .json(&["push", "--format", "json", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let digest = stack.tag_digest(&first, "v1").expect("v1 in the first");
    assert_eq!(doc["images"][0]["digest"], digest.as_str(), "{doc}");
    for repo in [&same_registry, &elsewhere] {
        let (addr, path) = split(repo);
        for tag in ["v1", "stable"] {
            assert_eq!(
                tag_digest_at(addr, path, tag).as_deref(),
                Some(digest.as_str()),
                "{repo}:{tag}"
            );
        }
    }
    // The report names each repository, with what its copy did and the tags moved.
    let copies = doc["images"][0]["copies"].as_array().expect("copies");
    let names: Vec<&str> = copies
        .iter()
        .map(|c| c["repository"].as_str().unwrap())
        .collect();
    assert_eq!(names, [same_registry.as_str(), elsewhere.as_str()], "{doc}");
    for c in copies {
        assert_eq!(c["digest"], digest.as_str(), "{c}");
        let tags: Vec<&str> = c["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["tag"].as_str().unwrap())
            .collect();
        assert_eq!(tags, ["v1", "stable"], "{c}");
    }
    // The first repository's referrers (provenance, the verification record) came
    // along to each.
    let referrers = doc["images"][0]["referrers"].as_array().map_or(0, Vec::len);
    assert!(referrers > 0, "no referrer pushed: {doc}");
    for c in copies {
        assert_eq!(c["referrers_copied"], referrers, "{c}");
    }
    // Within the registry the blobs were mounted; across registries, streamed.
    assert!(copies[0]["blobs_mounted"].as_u64().unwrap() > 0, "{doc}");
    assert_eq!(copies[0]["blobs_copied"], 0, "{doc}");
    assert!(copies[1]["blobs_copied"].as_u64().unwrap() > 0, "{doc}");
    assert_eq!(copies[1]["blobs_mounted"], 0, "{doc}");
    // Each copy was verified like the first: one index verdict per repository.
    let verdicts: Vec<&str> = doc["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["reference"].as_str().unwrap())
        .collect();
    for repo in [&first, &same_registry, &elsewhere] {
        assert!(
            verdicts.iter().any(|r| r.starts_with(&format!("{repo}@"))),
            "no verdict for {repo}: {verdicts:?}"
        );
    }
    // The second registry holds both platforms' manifests and configs.
    let (addr, path) = split(&elsewhere);
    let (code, index) = common::registry_get_json(addr, &format!("/v2/{path}/manifests/v1"));
    assert_eq!(code, 200);
    let platforms: Vec<&serde_json::Value> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["platform"]["os"] == "linux")
        .collect();
    assert_eq!(platforms.len(), 2, "{index}");
    for m in platforms {
        let d = m["digest"].as_str().unwrap();
        let (code, manifest) =
            common::registry_get_json(addr, &format!("/v2/{path}/manifests/{d}"));
        assert_eq!(code, 200, "{d}");
        let config = manifest["config"]["digest"].as_str().unwrap();
        assert!(common::has_blob_at(addr, path, config), "{config}");
    }
}

#[test]
fn a_second_repository_that_refuses_writes_moves_no_tag_in_the_first() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let other = stack.start_registry("", None);
    let proxy = Proxy::start(&other.addr);
    let first = stack.unique_repo("repos-refused");
    let second = format!("{}/{}", proxy.addr, path_of(&stack.unique_repo("repos-ro")));
    // A first push, all writes taken: both repositories get v1 and stable.
    let dir = project(&stack, &[&first, &second], "one\n");
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = stack.tag_digest(&first, "v1").expect("v1");
    let (addr, path) = split(&second);
    assert_eq!(tag_digest_at(addr, path, "v1").as_ref(), Some(&before));

    // Changed contents; the second registry now answers push's check before the build
    // but refuses every write after it (uploads, mounts, manifests).
    proxy
        .always(None, PREFLIGHT, Fault::Pass)
        .always(Some("POST"), "/blobs/uploads/", Fault::status(403))
        .always(Some("PUT"), "/manifests/", Fault::status(403));
    let dir = project(&stack, &[&first, &second], "two\n");
    let (out, doc) =
        stack
            .run_in(dir.path())
            .json(&["push", "--format", "json", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(proxy.faults_applied() > 0, "no write was refused: {t}");
    assert_eq!(doc["failure"]["stage"], "copy", "{doc}");
    let error = doc["failure"]["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("copying image `app`") && error.contains(&format!("to {second}:")),
        "the error names the repository: {error}"
    );
    // The new index was pushed to the first repository, and verified there, but no tag
    // moved to it, in either repository.
    for tag in ["v1", "stable"] {
        assert_eq!(
            stack.tag_digest(&first, tag).as_ref(),
            Some(&before),
            "{first}:{tag} moved"
        );
        assert_eq!(
            tag_digest_at(addr, path, tag).as_ref(),
            Some(&before),
            "{second}:{tag} moved"
        );
    }
    let untouched: Vec<&str> = doc["failure"]["untouched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(
        untouched,
        [
            format!("{first}:v1"),
            format!("{first}:stable"),
            format!("{second}:v1"),
            format!("{second}:stable"),
        ],
        "{doc}"
    );
}
