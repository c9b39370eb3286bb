//! Tags and labels from git on the real stack: a temp repository checked out at its
//! `v1.2.3` tag gives `1.2.3`, `1.2` and `1`; its default branch gives the branch tag
//! and `latest`; another branch gives its branch tag and leaves `latest` where it was;
//! the OCI labels git fills land in every platform's config, read back from the
//! registry.

mod common;

use std::path::Path;

use common::text;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "e2e")
        .env("GIT_AUTHOR_EMAIL", "e2e@example.com")
        .env("GIT_COMMITTER_NAME", "e2e")
        .env("GIT_COMMITTER_EMAIL", "e2e@example.com")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `mpbuild push` in `dir` with no CI's variables: git alone says what is built.
fn push(stack: &common::Stack, dir: &Path) -> String {
    let mut run = stack.run_in(dir);
    for v in ["GITHUB_ACTIONS", "GITLAB_CI"] {
        run = run.env(v, "");
    }
    let out = run.output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    t
}

#[test]
fn tags_and_labels_from_git() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("gittags");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    build_args: {{BASE: \"{base}\"}}\n    git_metadata: labels\n    tags:\n      - \"{{{{semver}}}}\"\n      - \"{{{{major}}}}.{{{{minor}}}}\"\n      - \"{{{{major}}}}\"\n      - \"{{{{branch}}}}\"\n      - \"sha-{{{{short_sha}}}}\"\n      - {{tag: latest, when: default_branch}}\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n",
        base = stack.base_image
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        (
            "Dockerfile",
            b"ARG BASE\nFROM ${BASE}\nCOPY version /version\n",
        ),
        ("version", b"one\n"),
        (".dockerignore", b".mpbuild-work\n"),
    ]);
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    git(
        d,
        &[
            "add",
            "mpbuild.yaml",
            "Dockerfile",
            "version",
            ".dockerignore",
        ],
    );
    git(d, &["commit", "-q", "-m", "one"]);
    git(d, &["tag", "v1.2.3"]);
    // origin's HEAD names the default branch, as a clone has it.
    git(
        d,
        &[
            "remote",
            "add",
            "origin",
            "https://ci-token@example.com/acme/app.git",
        ],
    );
    git(d, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(
        d,
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
        ],
    );
    let first = git(d, &["rev-parse", "HEAD"]);

    // 1. The tag, checked out as CI checks out a tag (detached HEAD).
    git(d, &["checkout", "-q", "v1.2.3"]);
    push(&stack, d);
    let released = stack.tag_digest(&repo, "1.2.3").expect("1.2.3");
    for t in ["1.2", "1", &format!("sha-{}", &first[..7])] {
        assert_eq!(stack.tag_digest(&repo, t).as_ref(), Some(&released), "{t}");
    }
    assert_eq!(
        stack.tag_digest(&repo, "latest"),
        None,
        "latest on a tag build"
    );
    assert_eq!(
        stack.tag_digest(&repo, "main"),
        None,
        "a branch tag on a tag build"
    );
    // git's OCI labels, in each platform's config, read from the registry.
    let index = stack.manifest(&repo, &released);
    let platforms: Vec<&serde_json::Value> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["platform"]["os"] == "linux")
        .collect();
    assert_eq!(platforms.len(), 2, "{index}");
    for m in platforms {
        let manifest = stack.manifest(&repo, m["digest"].as_str().unwrap());
        let config = manifest["config"]["digest"].as_str().unwrap();
        let (_, body) =
            stack.registry_get(&format!("/v2/{}/blobs/{config}", common::path_of(&repo)));
        let labels =
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["config"]["Labels"].clone();
        let arch = &m["platform"]["architecture"];
        assert_eq!(
            labels["org.opencontainers.image.revision"],
            first.as_str(),
            "{arch}: {labels}"
        );
        assert_eq!(
            labels["org.opencontainers.image.version"], "1.2.3",
            "{arch}: {labels}"
        );
        // The remote's address, without the credential in it.
        assert_eq!(
            labels["org.opencontainers.image.source"], "https://example.com/acme/app",
            "{arch}: {labels}"
        );
        assert!(
            labels["org.opencontainers.image.created"]
                .as_str()
                .is_some_and(|c| c.starts_with("20")),
            "{labels}"
        );
    }

    // 2. The default branch: its branch tag, and latest.
    git(d, &["checkout", "-q", "main"]);
    std::fs::write(d.join("version"), "two\n").unwrap();
    git(d, &["commit", "-q", "-am", "two"]);
    push(&stack, d);
    let on_main = stack.tag_digest(&repo, "main").expect("main");
    assert_ne!(on_main, released);
    assert_eq!(stack.tag_digest(&repo, "latest").as_ref(), Some(&on_main));

    // 3. Another branch: its branch tag; latest and the version tags stay.
    git(d, &["checkout", "-q", "-b", "feature/login"]);
    std::fs::write(d.join("version"), "three\n").unwrap();
    git(d, &["commit", "-q", "-am", "three"]);
    push(&stack, d);
    let on_feature = stack
        .tag_digest(&repo, "feature-login")
        .expect("feature-login");
    assert_ne!(on_feature, on_main);
    assert_eq!(
        stack.tag_digest(&repo, "latest").as_ref(),
        Some(&on_main),
        "latest moved on a branch"
    );
    assert_eq!(stack.tag_digest(&repo, "1.2.3").as_ref(), Some(&released));
}
