//! The CI examples (examples/ci/*.yml) and the reusable workflow, read as the runner
//! reads them.

mod common;

use std::path::{Path, PathBuf};

use common::ci_runner::Runner;

use serde_json::Value;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every GitHub workflow that runs mpbuild.
const GITHUB: &[&str] = &[
    "examples/ci/github-actions.yml",
    "examples/ci/github-actions-matrix.yml",
    "examples/ci/github-actions-signed.yml",
    ".github/workflows/mpbuild.yml",
];

fn is_ours(step: &Value) -> bool {
    step["uses"]
        .as_str()
        .is_some_and(|u| u.starts_with("acme/mpbuild@"))
}

/// mpbuild comes from the action (the release binary, its SHA-256 checked), never from
/// `cargo install`; every other action is pinned by commit; a job whose mpbuild runs
/// every platform on one runner (push, or merge: it smoke-runs every platform) sets up
/// QEMU before it.
#[test]
fn github_jobs_install_mpbuild_through_the_action_and_set_up_qemu_where_it_runs_platforms() {
    let mut merges = 0;
    for path in GITHUB {
        let wf = yaml(path);
        for (job, j) in wf["jobs"].as_object().unwrap() {
            let steps = j["steps"].as_array().unwrap();
            let mut installed = false;
            let mut qemu = false;
            for s in steps {
                let name = format!("{path}: job {job}: step {}", s["name"]);
                if let Some(run) = s["run"].as_str() {
                    assert!(!run.contains("cargo install"), "{name}: cargo install");
                    let calls = run.lines().any(|l| l.trim_start().starts_with("mpbuild "));
                    assert!(!calls || installed, "{name}: mpbuild before the action");
                }
                let Some(uses) = s["uses"].as_str() else {
                    continue;
                };
                assert!(!uses.contains("rust-toolchain"), "{name}: a Rust toolchain");
                if is_ours(s) {
                    installed = true;
                    let command = s["with"]["command"].as_str().unwrap_or("push");
                    if command == "merge" {
                        merges += 1;
                    }
                    if command == "merge" || command == "push" {
                        assert!(qemu, "{name}: {command} without QEMU set up before it");
                    }
                    continue;
                }
                let (action, pin) = uses.split_once('@').unwrap();
                assert!(
                    pin.len() == 40 && pin.chars().all(|c| c.is_ascii_hexdigit()),
                    "{name}: {uses} is not pinned by commit"
                );
                if action == "docker/setup-qemu-action" && s.get("if").is_none() {
                    qemu = true;
                }
            }
        }
    }
    assert_eq!(
        merges, 2,
        "the matrix example's and the reusable workflow's merge"
    );
}

// The examples run on the real stack, step by step (tests/common/ci_runner.rs): each
// example's shell steps in order with the CI's variables and files, the checkout a
// one-image project (two platforms, `smoke:`) pushing to the stack's registry.

/// The commit the CI builds.
const SHA: &str = "c0ffee1";

/// The checkout: `app` for Fargate on both CPUs, `smoke:` on each, tags v1 and the
/// commit; `head` goes before `images:` (e.g. `sign:`). GitLab's template at
/// .gitlab/mpbuild.yml, where examples/ci/gitlab-ci.yml includes it from.
fn checkout(stack: &common::Stack, repository: &str, head: &str) -> tempfile::TempDir {
    let yaml = format!(
        "version: 1\n{head}images:\n  app:\n    repository: {repository}\n    build_args: {{BASE: \"{base}\"}}\n    tags: [v1, \"${{GIT_SHA}}\"]\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n    smoke: {{run: [cat, /x], expect: \"^examples$\"}}\n",
        base = stack.base_image
    );
    let template = std::fs::read(repo().join("examples/ci/gitlab-mpbuild.yml")).unwrap();
    stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", b"ARG BASE\nFROM ${BASE}\nCOPY x /x\n"),
        ("x", b"examples\n"),
        (".dockerignore", b"digests\n.gitlab\n"),
        (".gitlab/mpbuild.yml", &template),
    ])
}

fn runner<'a>(stack: &'a common::Stack, dir: &Path) -> Runner<'a> {
    let mut r = Runner::new(stack, dir);
    r.env.insert("GITHUB_SHA".into(), SHA.into());
    r.env.insert("GITHUB_RUN_ID".into(), "7".into());
    r
}

fn skipped<'a>(r: &'a Runner) -> Vec<&'a str> {
    r.skipped.iter().map(String::as_str).collect()
}

/// `v1` and the commit's tag point at one index holding both platforms.
fn tagged_index(stack: &common::Stack, repo: &str) -> String {
    let index = stack.tag_digest(repo, "v1").expect("v1 moved");
    assert_eq!(stack.tag_digest(repo, SHA).as_ref(), Some(&index));
    let m = stack.manifest(repo, &index);
    let archs: Vec<&str> = m["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["platform"]["architecture"].as_str())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"], "{m}");
    index
}

#[test]
fn the_github_push_example_runs_on_the_real_stack() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("example-push");
    let dir = checkout(&stack, &repo, "");
    let mut r = runner(&stack, dir.path());
    r.github_workflow(&yaml("examples/ci/github-actions.yml"), &[], |_, _| {});
    assert_eq!(
        skipped(&r),
        [
            "push: actions/checkout — the job's workspace is a fresh copy of the project",
            "push: docker/setup-qemu-action — the stack registered QEMU (binfmt_misc)",
            "push: docker/setup-buildx-action — the stack's buildx builder",
            "push: aws-actions/configure-aws-credentials — the stack's registry takes pushes without a login",
            "push: aws-actions/amazon-ecr-login — the stack's registry takes pushes without a login",
            "push: acme/mpbuild install — the built mpbuild is put on PATH",
        ]
    );
    let index = tagged_index(&stack, &repo);
    // The last step prints the action's `digests` output: the index just tagged.
    let (step, code, printed) = r.ran.last().unwrap();
    assert_eq!((step.as_str(), *code), ("push: The index to deploy", 0));
    assert_eq!(printed.trim(), format!("{{\"app\":\"{repo}@{index}\"}}"));
    // The job summary: one row per platform, smoke passed on each.
    assert!(
        r.summary.starts_with("### mpbuild push: ok\n"),
        "{}",
        r.summary
    );
    let rows = r
        .summary
        .lines()
        .filter(|l| l.starts_with("| app |"))
        .count();
    assert_eq!(rows, 2, "{}", r.summary);
}

#[test]
fn the_github_matrix_example_runs_on_the_real_stack() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("example-matrix");
    let dir = checkout(&stack, &repo, "");
    let mut r = runner(&stack, dir.path());
    let mut legs = Vec::new();
    let outputs = r.github_workflow(
        &yaml("examples/ci/github-actions-matrix.yml"),
        &[],
        |job, matrix| {
            if job == "leg" {
                legs.push(matrix["platform"].clone());
                assert_eq!(stack.tag_digest(&repo, "v1"), None, "a leg moved a tag");
            }
        },
    );
    // The matrix came from plan (the action's `matrix` output): one leg per platform.
    assert_eq!(legs, ["linux/amd64", "linux/arm64"]);
    let matrix: Value = serde_json::from_str(&outputs["plan"]["matrix"]).unwrap();
    assert_eq!(matrix["include"][1]["runner"], "ubuntu-24.04-arm");
    let login = "the stack's registry takes pushes without a login";
    let mut want = vec![
        "plan: actions/checkout — the job's workspace is a fresh copy of the project".to_string(),
        "plan: acme/mpbuild install — the built mpbuild is put on PATH".to_string(),
    ];
    for p in ["linux/amd64", "linux/arm64"] {
        want.extend([
            format!(
                "leg ({p}): actions/checkout — the job's workspace is a fresh copy of the project"
            ),
            // Both have a native runner: no QEMU.
            format!("leg ({p}): docker/setup-qemu-action — its `if:` is false"),
            format!("leg ({p}): docker/setup-buildx-action — the stack's buildx builder"),
            format!("leg ({p}): aws-actions/configure-aws-credentials — {login}"),
            format!("leg ({p}): aws-actions/amazon-ecr-login — {login}"),
            format!("leg ({p}): acme/mpbuild install — the built mpbuild is put on PATH"),
        ]);
    }
    want.extend([
        "merge: actions/checkout — the job's workspace is a fresh copy of the project".to_string(),
        "merge: docker/setup-qemu-action — the stack registered QEMU (binfmt_misc)".to_string(),
        format!("merge: aws-actions/configure-aws-credentials — {login}"),
        format!("merge: aws-actions/amazon-ecr-login — {login}"),
        "merge: acme/mpbuild install — the built mpbuild is put on PATH".to_string(),
    ]);
    assert_eq!(skipped(&r), want);
    let index = tagged_index(&stack, &repo);
    // merge's document, uploaded as the `merged` artifact: the index, smoke run on both.
    let merged = r.artifacts_named("merged");
    assert_eq!(merged, ["merged"]);
    let file = std::fs::read_dir(r.artifacts().join("merged"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(doc["result"], "ok");
    assert_eq!(doc["images"][0]["digest"], index.as_str());
    // Each leg's records went up as its own artifact and came down into one digests/.
    assert_eq!(
        r.artifacts_named("digests-"),
        ["digests-linux-amd64", "digests-linux-arm64"]
    );
}

#[test]
fn the_github_signed_example_runs_on_the_real_stack() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("example-signed");
    let dir = checkout(
        &stack,
        &repo,
        "sign:\n  key: cosign.key\n  password_env: COSIGN_PASSWORD\n",
    );
    // The key pair, outside the checkout: the private key reaches the job as a secret.
    let keys = tempfile::tempdir().unwrap();
    let cosign = |args: &[&str]| {
        let mut c = std::process::Command::new("cosign");
        stack.apply_env(&mut c);
        c.current_dir(keys.path())
            .env("COSIGN_PASSWORD", "pw-example")
            .args(args)
            .output()
            .unwrap()
    };
    let out = cosign(&["generate-key-pair", "--output-key-prefix", "release"]);
    assert!(out.status.success(), "{}", common::text(&out));
    let mut r = runner(&stack, dir.path());
    let key = std::fs::read_to_string(keys.path().join("release.key")).unwrap();
    r.secrets.insert("COSIGN_KEY".into(), key);
    r.secrets
        .insert("COSIGN_PASSWORD".into(), "pw-example".into());
    r.github_workflow(
        &yaml("examples/ci/github-actions-signed.yml"),
        &[],
        |_, _| {},
    );
    let login = "the stack's registry takes pushes without a login";
    assert_eq!(
        skipped(&r),
        [
            "release: actions/checkout — the job's workspace is a fresh copy of the project",
            "release: docker/setup-qemu-action — the stack registered QEMU (binfmt_misc)",
            "release: docker/setup-buildx-action — the stack's buildx builder",
            "release: sigstore/cosign-installer — the stack's cosign is on PATH",
            &format!("release: aws-actions/configure-aws-credentials — {login}"),
            &format!("release: aws-actions/amazon-ecr-login — {login}"),
            "release: acme/mpbuild install — the built mpbuild is put on PATH",
        ]
    );
    let index = tagged_index(&stack, &repo);
    // Signed with the secret's key: the real cosign verifies the index with its public key.
    let reference = format!("{repo}@{index}");
    let out = cosign(&[
        "verify",
        "--key",
        "release.pub",
        "--insecure-ignore-tlog=true",
        &reference,
    ]);
    assert!(out.status.success(), "{}", common::text(&out));
    // The key was written for the push and removed after it.
    let steps: Vec<&str> = r.ran.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(
        steps,
        [
            "release: Write the signing key (key-file signing only)",
            "release: Push, sign, tag (run)",
            "release: Remove the key",
        ]
    );
    assert!(!r.workspaces[0].join("cosign.key").exists());
}

#[test]
fn the_gitlab_example_runs_on_the_real_stack() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repository = stack.unique_repo("example-gitlab");
    let dir = checkout(&stack, &repository, "");
    let mut r = runner(&stack, dir.path());
    r.env.insert("CI_COMMIT_SHA".into(), SHA.into());
    for k in ["REGISTRY_USER", "REGISTRY_PASSWORD", "REGISTRY_HOST"] {
        r.secrets.insert(k.into(), String::new());
    }
    let text = std::fs::read_to_string(repo().join("examples/ci/gitlab-ci.yml")).unwrap();
    r.gitlab_pipeline(&text, &Default::default());
    let before =
        "before_script — the release install, builder and login: the built mpbuild on PATH";
    assert_eq!(
        skipped(&r),
        [
            format!("plan: {before}"),
            format!("leg linux-amd64: {before}"),
            format!("leg linux-arm64: {before}"),
            format!("merge: {before}"),
            // merge smoke-runs both platforms: QEMU first.
            "merge: QEMU registration — the stack registered QEMU".to_string(),
        ]
    );
    let steps: Vec<(&str, i32)> = r.ran.iter().map(|(s, c, _)| (s.as_str(), *c)).collect();
    assert_eq!(
        steps,
        [
            ("plan: before_script (sh -n)", 0),
            ("plan: script", 0),
            ("leg linux-amd64: before_script (sh -n)", 0),
            ("leg linux-amd64: script", 0),
            ("leg linux-arm64: before_script (sh -n)", 0),
            ("leg linux-arm64: script", 0),
            ("merge: before_script (sh -n)", 0),
            ("merge: script", 0),
        ]
    );
    let index = tagged_index(&stack, &repository);
    let merged = r.artifacts().join("merge/merged.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(merged).unwrap()).unwrap();
    assert_eq!(doc["result"], "ok");
    assert_eq!(doc["images"][0]["digest"], index.as_str());
}

/// Every file in examples/ci/ is run by a test here: an example added without one fails.
#[test]
fn every_example_is_run_by_a_test() {
    let source = std::fs::read_to_string(repo().join("tests/ci_examples.rs")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(repo().join("examples/ci"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    for name in names {
        let path = format!("examples/ci/{name}");
        // A test reads it to run it: `yaml("examples/ci/…")` or `repo().join("…")`.
        let read = [format!("yaml(\"{path}\")"), format!(".join(\"{path}\")")];
        assert!(
            read.iter().any(|r| source.contains(r.as_str())),
            "{path}: no test runs it"
        );
    }
}
