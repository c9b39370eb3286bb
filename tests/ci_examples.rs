//! The CI examples (examples/ci/*.yml) and the reusable workflow, read as the runner
//! reads them.

use std::path::PathBuf;

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
