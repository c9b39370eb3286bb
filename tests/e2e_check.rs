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

/// The story behind mpbuild: a multi-platform tag verified, then overwritten by a
/// single-platform push of the same tag, caught by `check` at deploy time; `mpbuild
/// push` puts it right, `--pin` writes the digest, and a later overwrite no longer
/// reaches the pinned file.
#[test]
fn an_overwritten_tag_is_caught_at_deploy_time_and_a_pinned_file_is_out_of_its_reach() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("story");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("mpbuild.yaml"),
        format!(
            "version: 1\ncluster_archs: [amd64, arm64]   # the cluster's node pools\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets:\n      - from: k8s/\n"
        ),
    )
    .unwrap();
    std::fs::write(p.join("Dockerfile"), "FROM scratch\nCOPY hello /hello\n").unwrap();
    std::fs::write(p.join("hello"), "v1\n").unwrap();
    std::fs::create_dir(p.join("k8s")).unwrap();
    let manifest = format!(
        "# The API. No nodeSelector: it runs on both node pools.\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api   # keep in sync with the Service\nspec:\n  template:\n    spec:\n      containers:\n        - name: api\n          image: \"{repo}:latest\"   # moved by CI\n          ports: [{{containerPort: 8080}}]\n      initContainers:\n        - {{name: migrate, image: {repo}:base}}\n"
    );
    let file = p.join("k8s/app.yaml");
    std::fs::write(&file, &manifest).unwrap();
    let check = |args: &[&str]| stack.run_in(p).output(&[&["check", "k8s/"], args].concat());
    // A tag nobody moves, for the init container.
    build(
        &stack,
        &repo,
        "linux/amd64,linux/arm64",
        &["--provenance=false"],
        &["base"],
    );
    let base = stack.tag_digest(&repo, "base").unwrap();

    // 1. Pushed and verified by mpbuild: both platforms.
    let out = stack.run_in(p).output(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // 2. Someone pushes the same tag from one machine: only linux/arm64 now.
    let overwrite = |content: &str| {
        let ctx = stack.context(&[
            ("Dockerfile", b"FROM scratch\nCOPY hello /hello\n"),
            ("hello", content.as_bytes()),
        ]);
        let mut cmd = stack.docker();
        cmd.args([
            "buildx",
            "build",
            "--progress=quiet",
            "--platform",
            "linux/arm64",
            "--provenance=false",
        ])
        .args(["-t", &format!("{repo}:latest"), "--push"])
        .arg(ctx.path());
        stack.ok(&mut cmd);
    };
    overwrite("laptop\n");
    let out = check(&[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.starts_with("FAIL  k8s/app.yaml:11  Deployment/api (api)\n"),
        "{t}"
    );
    assert!(
        t.contains("linux/amd64 is missing: no kubernetes.io/arch constraint, so the pod may land on a node of any of the cluster's architectures (k8s/app.yaml:2)"),
        "{t}"
    );
    // Nothing is pinned while a reference fails (not even the init container's, which
    // passes).
    let out = check(&["--pin"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), manifest);

    // 3. mpbuild push moves the tag back to a verified index; check passes; --pin
    //    writes the digest it verified, and nothing else.
    let out = stack.run_in(p).output(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let digest = stack.tag_digest(&repo, "latest").unwrap();
    let (out, doc) = stack
        .run_in(p)
        .json(&["check", "k8s/", "--pin", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let pinned = manifest
        .replace(
            &format!("\"{repo}:latest\""),
            &format!("\"{repo}:latest@{digest}\""),
        )
        .replace(
            &format!("image: {repo}:base}}"),
            &format!("image: {repo}:base@{base}}}"),
        );
    assert_ne!(pinned, manifest);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), pinned);
    assert_eq!(doc["pin"]["pinned"][0]["at"], "k8s/app.yaml:11");
    assert_eq!(
        doc["pin"]["pinned"][0]["to"],
        format!("{repo}:latest@{digest}")
    );
    assert_eq!(doc["pin"]["pinned"][1]["at"], "k8s/app.yaml:14");
    // A second --pin is a no-op.
    let out = check(&["--pin"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("nothing to pin: every reference already names its digest"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), pinned);

    // 4. The tag is overwritten again: the pinned file still runs what was checked.
    overwrite("laptop again\n");
    assert_ne!(stack.tag_digest(&repo, "latest").unwrap(), digest);
    let (out, doc) = stack.run_in(p).json(&["check", "k8s/", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(doc["references"][0]["digest"], digest.as_str());
    // …while the file as it was before --pin would fail.
    std::fs::write(&file, &manifest).unwrap();
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Standard input has no file to pin.
    let out = stack.run_in(p).output(&["check", "-", "--pin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--pin rewrites files; standard input has none"),
        "{}",
        text(&out)
    );
}

/// `--deep` reaches into the layers: an image labelled linux/arm64 whose entrypoint is
/// an x86-64 binary (the `FROM --platform=$BUILDPLATFORM` mistake) passes the platform
/// check and fails the deep one, at the reference's line.
#[test]
fn deep_finds_a_binary_for_another_cpu_under_the_right_label() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("check-deep");
    let busybox = std::fs::read(stack.busybox("amd64")).unwrap();
    let ctx = stack.context(&[
        ("busybox", &busybox),
        (
            "Dockerfile",
            b"FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\"]\nCMD [\"true\"]\n",
        ),
    ]);
    let mut cmd = stack.docker();
    cmd.args([
        "buildx",
        "build",
        "--progress=quiet",
        "--platform",
        "linux/arm64",
        "--provenance=false",
    ])
    .args(["-t", &format!("{repo}:v1"), "--push"])
    .arg(ctx.path());
    stack.ok(&mut cmd);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  nodeSelector: {{kubernetes.io/arch: arm64}}\n  containers:\n  - name: app\n    image: {repo}:v1\n"),
    )
    .unwrap();
    let out = stack
        .runner()
        .dir(dir.path())
        .output(&["check", "pod.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = stack
        .runner()
        .dir(dir.path())
        .output(&["check", "pod.yaml", "--deep"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.starts_with("FAIL  pod.yaml:8  Pod/p (app)\n"), "{t}");
    assert!(t.contains("linux/arm64: ") && t.contains("x86-64"), "{t}");
}
