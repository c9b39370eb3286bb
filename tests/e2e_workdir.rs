//! Work directories on the real stack: two pushes of one project at once, each in a
//! run directory of its own, both succeed; what they leave behind.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Stack, text};

fn push(stack: &Stack, dir: &Path, cache: &Path) -> std::process::Child {
    stack
        .mpbuild()
        .current_dir(dir)
        .env("XDG_CACHE_HOME", cache)
        .env_remove("MPBUILD_WORK_DIR")
        .args(["push", "--rebuild", "--progress", "plain"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn two_pushes_of_one_project_at_once_both_succeed() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("concurrent");
    let yaml = format!(
        "version: 1\nimages:\n  web:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{}\"}}\n    targets: [{{service: apprunner}}, {{service: apple-silicon}}]\n",
        stack.base_image
    );
    // A few MiB per platform, so both exports are writing their layouts at once.
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        (
            "Dockerfile",
            format!("ARG BASE\nFROM ${{BASE}}\nRUN head -c 4000000 /dev/urandom > /blob && echo {repo} > /id\n").as_bytes(),
        ),
    ]);
    let cache = tempfile::tempdir().unwrap();
    // Twice: a shared directory broke 5 runs in 6 (a rename in one run's OCI export
    // after the other removed the layout's directory).
    for round in 0..2 {
        let a = push(&stack, dir.path(), cache.path());
        let b = push(&stack, dir.path(), cache.path());
        let outs: Vec<Output> = [a, b]
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        for (i, out) in outs.iter().enumerate() {
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}, push {i}: {}",
                text(out)
            );
        }
    }
    assert!(stack.tag_digest(&repo, "latest").is_some());
    // What is left: the hash cache and the tag, no run's directory.
    let base = cache.path().join("mpbuild");
    let work: Vec<_> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("CACHEDIR.TAG").exists())
        .collect();
    assert_eq!(work.len(), 1, "{work:?}");
    assert_eq!(std::fs::read_dir(work[0].join("runs")).unwrap().count(), 0);
    assert!(work[0].join("inputs-hash-cache.tsv").exists());
}
