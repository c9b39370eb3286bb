//! `mpbuild check` where no registry is needed: usage and file errors (exit 2), values
//! only another tool fills in and values that are no reference (exit 1), the JSON
//! document's conventions, standard input, a project's `cluster_archs:`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use assert_cmd::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `mpbuild ARGS` in `dir` with a clean environment (no project above it).
fn check_in(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("mpbuild")
        .unwrap()
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MPBUILD_HOST_PLATFORM", "linux/amd64")
        .arg("check")
        .args(args)
        .output()
        .unwrap()
}

/// `mpbuild check ARGS` from the repository's fixtures directory.
fn check(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = repo().join("tests/fixtures");
    std::os::unix::fs::symlink(&fixtures, dir.path().join("fixtures")).unwrap();
    check_in(dir.path(), args)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn usage_and_unreadable_files_exit_2() {
    let out = check(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("<FILE|DIR|->"), "{}", text(&out));

    let out = check(&["fixtures/nope.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).starts_with("error: cannot read fixtures/nope.yaml: "),
        "{}",
        text(&out)
    );

    let out = check(&["fixtures/deploy/k8s/config.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .starts_with("error: fixtures/deploy/k8s/config.yaml: no container workload found"),
        "{}",
        text(&out)
    );

    let out = check(&["fixtures/corpus/kubernetes/duplicate-key-etcd-controller.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).starts_with("error: fixtures/corpus/kubernetes/duplicate-key-etcd-controller.yaml:14:3: not valid YAML or JSON: the key `selector` appears twice in one mapping"),
        "{}",
        text(&out)
    );

    // A Kubernetes workload without an architecture constraint needs the cluster's.
    let out = check(&["fixtures/deploy/k8s-unconstrained"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out)
            .contains("worker.yaml:1: StatefulSet/worker has no kubernetes.io/arch constraint")
            && text(&out).contains("`--cluster-archs amd64,arm64`"),
        "{}",
        text(&out)
    );
    let out = check(&[
        "fixtures/deploy/k8s-unconstrained",
        "--cluster-archs",
        "amd64,armv9x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("--cluster-archs armv9x: "),
        "{}",
        text(&out)
    );
}

#[test]
fn values_another_tool_fills_in_are_reported_never_passed() {
    // Both functions' ImageUri are !Sub: nothing to read from a registry.
    let out = check(&["fixtures/deploy/sam/template.yaml"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    insta::assert_snapshot!(t);
    let out = check(&["fixtures/deploy/sam/template.yaml", "--allow-unresolved"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("checked 2 reference(s) in 1 file(s) (0 distinct, 0 image(s) read): 0 verified, 2 unresolved (allowed)"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_value_that_is_no_reference_fails() {
    // SAM's translator input: `ImageUri: s3://bucket/key`.
    let out = check(&[
        "fixtures/corpus/sam/function_with_ignore_globals.yaml",
        "--allow-unresolved",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.starts_with("FAIL  fixtures/corpus/sam/function_with_ignore_globals.yaml:20  ImageFunction (function)\n      s3://bucket/key\n      not an image reference: a repository has no scheme"),
        "{t}"
    );
}

#[test]
fn json_document_conventions() {
    let out = check(&["fixtures/deploy/sam/template.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("{\n  \"schema_version\": 1,\n  \"command\": \"check\",\n  \"result\": \"failed\",\n  \"exit_code\": 1,"),
        "{stdout}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let r = &doc["references"][0];
    assert_eq!(r["at"], "fixtures/deploy/sam/template.yaml:22");
    assert_eq!(r["status"], "unresolved");
    assert_eq!(r["resource"], "ThumbnailFunction");
    assert_eq!(r["platforms"], serde_json::json!(["linux/arm64"]));
    assert_eq!(r["platforms_from"], "fixtures/deploy/sam/template.yaml:14");
    assert_eq!(doc["summary"]["unresolved"], 2);
    // A run that fails before it has a report still prints a document.
    let out = check(&["fixtures/nope.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (
            &doc["schema_version"],
            &doc["command"],
            &doc["result"],
            &doc["exit_code"]
        ),
        (
            &serde_json::json!(1),
            &serde_json::json!("check"),
            &serde_json::json!("error"),
            &serde_json::json!(2)
        )
    );
}

#[test]
fn standard_input() {
    let run = |input: &str, args: &[&str]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mpbuild"))
            .env("MPBUILD_HOST_PLATFORM", "linux/amd64")
            .current_dir(std::env::temp_dir())
            .arg("check")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = run("apiVersion: v1\nkind: ConfigMap\n", &["-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).starts_with("error: standard input: no container workload found"),
        "{}",
        text(&out)
    );
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  nodeSelector: {kubernetes.io/arch: arm64}\n  containers:\n  - name: c\n    image: \"{{ .Values.image }}\"\n";
    let out = run(pod, &["-"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.starts_with("UNRESOLVED -:8  Pod/p (c)\n"), "{t}");
    let out = run(pod, &["-", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("`-` (standard input) is named twice"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_project_file_gives_the_cluster_archs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("k8s")).unwrap();
    std::fs::write(
        dir.path().join("k8s/worker.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w}\nspec:\n  template:\n    spec:\n      containers:\n      - name: w\n        image: ${IMAGE}\n",
    )
    .unwrap();
    // Without cluster_archs: a usage error asking for them.
    let out = check_in(dir.path(), &["k8s", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        "version: 1\ncluster_archs: [amd64, arm64]\nimages:\n  app:\n    repository: r.example.com/app\n    tags: [\"${GIT_SHA}\"]\n    targets:\n      - service: eks\n        arch: [amd64, arm64]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    // With them (and an unset ${GIT_SHA}, which is not check's business): read.
    let out = check_in(dir.path(), &["k8s", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["references"][0]["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(doc["references"][0]["status"], "unresolved");
}
