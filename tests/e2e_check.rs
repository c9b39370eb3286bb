//! `mpbuild check` on the real stack: a repository's deployment files of six kinds
//! (tests/fixtures/check) with seeded mistakes, images built by real buildx and pushed
//! to the real registry.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use common::{Stack, text};

/// Builds a `FROM scratch` image for `platforms` and pushes it under every tag.
fn build(stack: &Stack, repo: &str, platforms: &str, flags: &[&str], tags: &[&str]) {
    let ctx = stack.context(&[("Dockerfile", b"FROM scratch\nCOPY Dockerfile /x\n")]);
    let mut cmd = stack.docker();
    cmd.args([
        "buildx",
        "build",
        "--progress=quiet",
        "--platform",
        platforms,
        "--push",
    ])
    .args(flags);
    for t in tags {
        cmd.args(["-t", &format!("{repo}:{t}")]);
    }
    cmd.arg(ctx.path());
    stack.ok(&mut cmd);
}

/// The fixture repository's images: what each tag of tests/fixtures/check/README.md holds.
fn push_fixture_images(stack: &Stack, repo: &str) {
    let amd = [
        "seeded-ecs",
        "seeded-k8s-arm",
        "seeded-k8s-any",
        "seeded-compose",
        "ok-k8s-amd",
        "ok-compose",
    ];
    build(stack, repo, "linux/amd64", &["--provenance=false"], &amd);
    build(
        stack,
        repo,
        "linux/arm64",
        &["--provenance=false"],
        &["seeded-apprunner", "ok-lambda"],
    );
    let multi = [
        "seeded-lambda",
        "ok-ecs-sidecar",
        "ok-k8s-init",
        "ok-k8s-any",
        "ok-apprunner",
    ];
    build(
        stack,
        repo,
        "linux/amd64,linux/arm64",
        &["--provenance=mode=min"],
        &multi,
    );
}

/// tests/fixtures/check with `@REPO@` replaced, in a temp dir.
fn fixture_repo(repo: &str) -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/check");
    let dir = tempfile::tempdir().unwrap();
    for sub in ["ecs", "k8s", "sam", "compose", "cfn"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap().replace("@REPO@", repo);
            std::fs::write(dir.path().join(sub).join(p.file_name().unwrap()), text).unwrap();
        }
    }
    dir
}

/// `FILE:LINE` → tag of every reference the fixture writes.
fn written(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for sub in ["ecs", "k8s", "sam", "compose", "cfn"] {
        for e in std::fs::read_dir(dir.join(sub)).unwrap() {
            let p = e.unwrap().path();
            let name = format!("{sub}/{}", p.file_name().unwrap().to_string_lossy());
            for (i, line) in std::fs::read_to_string(&p).unwrap().lines().enumerate() {
                if let Some(tag) = ["seeded-", "ok-"].iter().find_map(|k| {
                    line.find(&format!(":{k}")).map(|at| {
                        line[at + 1..]
                            .split(|c: char| c == '"' || c == '\'' || c.is_whitespace())
                            .next()
                            .unwrap()
                            .to_string()
                    })
                }) {
                    out.insert(format!("{name}:{}", i + 1), tag);
                }
            }
        }
    }
    out
}

#[test]
fn every_seeded_mistake_is_found_at_its_line_and_no_correct_reference_is_reported() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("check-fixture");
    push_fixture_images(&stack, &repo);
    let dir = fixture_repo(&repo);
    let expected = written(dir.path());
    assert_eq!(expected.len(), 13, "{expected:?}");

    let (out, doc) = stack.runner().dir(dir.path()).json(&[
        "check",
        ".",
        "--cluster-archs",
        "amd64,arm64",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "check");
    assert_eq!(
        (doc["result"].as_str(), doc["exit_code"].as_i64()),
        (Some("failed"), Some(1))
    );
    let refs = doc["references"].as_array().unwrap();
    let got: BTreeMap<String, (String, String)> = refs
        .iter()
        .map(|r| {
            (
                r["at"].as_str().unwrap().to_string(),
                (
                    r["status"].as_str().unwrap().to_string(),
                    r["problems"].to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "every reference, at its line: {}",
        text(&out)
    );
    for (at, tag) in &expected {
        let (status, problems) = &got[at];
        let want = if tag.starts_with("seeded-") {
            "failed"
        } else {
            "ok"
        };
        assert_eq!(status, want, "{at} ({tag}): {problems}");
    }
    // What each mistake is.
    let problem = |tag: &str| {
        let at = expected.iter().find(|(_, t)| *t == tag).unwrap().0;
        got[at].1.clone()
    };
    for (tag, says) in [
        (
            "seeded-ecs",
            "linux/arm64 is missing: its workload runs there (ecs/taskdef.json:4)",
        ),
        (
            "seeded-k8s-arm",
            "linux/arm64 is missing: its workload runs there (k8s/api.yaml:17)",
        ),
        (
            "seeded-k8s-any",
            "linux/arm64 is missing: no kubernetes.io/arch constraint, so the pod may land on a node of any of the cluster's architectures (k8s/worker.yaml:2)",
        ),
        (
            "seeded-lambda",
            "it is an image index, but its target needs a plain single-platform image manifest",
        ),
        (
            "seeded-compose",
            "linux/arm64 is missing: its workload runs there (compose/compose.yaml:4)",
        ),
        (
            "seeded-apprunner",
            "linux/amd64 is missing: apprunner has no architecture field and runs linux/amd64 (cfn/apprunner.yaml:3)",
        ),
    ] {
        assert!(problem(tag).contains(says), "{tag}: {}", problem(tag));
    }
    // 13 tags resolved, but three images read: one per build.
    assert_eq!(
        (doc["distinct"].as_u64(), doc["images"].as_u64()),
        (Some(13), Some(3)),
        "{doc}"
    );
    // The compose service built from source is listed, not checked.
    assert!(
        doc["skipped"]
            .to_string()
            .contains("compose builds it from source"),
        "{doc}"
    );

    // The text report names each finding FILE:LINE first.
    let out =
        stack
            .runner()
            .dir(dir.path())
            .output(&["check", ".", "--cluster-archs", "amd64,arm64"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    for (at, tag) in &expected {
        let mark = if tag.starts_with("seeded-") {
            "FAIL "
        } else {
            "ok   "
        };
        assert!(
            t.contains(&format!("\n{mark} {at}  ")) || t.starts_with(&format!("{mark} {at}  ")),
            "{at}: {t}"
        );
    }
    assert!(t.contains("checked 13 reference(s) in 6 file(s) (13 distinct, 3 image(s) read): 7 verified, 6 failed"), "{t}");
}

#[test]
fn cluster_state_on_standard_input() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("check-stdin");
    build(
        &stack,
        &repo,
        "linux/amd64",
        &["--provenance=false"],
        &["v1"],
    );
    // What `kubectl get deploy -A -o yaml` prints: a List.
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {{name: a, namespace: prod}}\n  spec:\n    template:\n      spec:\n        containers:\n        - name: a\n          image: {repo}:v1\n- apiVersion: apps/v1\n  kind: Deployment\n  metadata: {{name: b, namespace: prod}}\n  spec:\n    template:\n      spec:\n        nodeSelector: {{kubernetes.io/arch: amd64}}\n        containers:\n        - name: b\n          image: {repo}:v1\n"
    );
    let run = |archs: &str| {
        let mut cmd = stack.mpbuild();
        let mut child = cmd
            .args(["check", "-", "--cluster-archs", archs])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(list.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("amd64");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run("amd64,arm64");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    // Deployment a may land on an arm64 node; b is pinned to amd64.
    assert!(t.contains("FAIL  -:12  Deployment/a (a)"), "{t}");
    assert!(t.contains("ok    -:22  Deployment/b (b)"), "{t}");
    assert!(
        t.contains("linux/arm64 is missing: no kubernetes.io/arch constraint"),
        "{t}"
    );
}
