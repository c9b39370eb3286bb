//! A declared two-node builder on two real BuildKit daemons (one per platform, the
//! `remote` driver): `builder up` is idempotent, a push with RUN steps builds each
//! platform on its own node, and a node that dies mid-build moves no tag.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Stack, text};

/// The base image's layer digest for `arch`.
fn base_layer(stack: &Stack, arch: &str) -> String {
    stack.base_parts(arch).2[0].clone()
}

/// Whether a daemon's content store holds a blob.
fn has_blob(root: &Path, digest: &str) -> bool {
    let hex = digest.trim_start_matches("sha256:");
    common::files_named(root, hex)
        .iter()
        .any(|p| p.ends_with(format!("blobs/sha256/{hex}")))
}

#[test]
fn two_native_nodes_build_their_own_platforms() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("native");
    let name = format!("e2e-native-{}", std::process::id());
    let Some(nodes) = stack.two_nodes(&name) else {
        return;
    };
    let common::TwoNodes {
        x86,
        arm,
        docker_config: cfg,
        yaml: builder,
        dir: _dir,
    } = nodes;
    let yaml = format!(
        "version: 1\n{builder}images:\n  app:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{base}\"}}\n    targets: [{{service: apprunner}}, {{service: ecs-fargate, arch: ARM64}}]\n",
        base = stack.base_image
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", format!("ARG BASE\nFROM ${{BASE}}\nRUN echo {repo}; uname -m > /arch\nCMD [\"cat\", \"/arch\"]\n").as_bytes()),
    ]);

    // The plan says which node builds which platform.
    let out = stack
        .run_in(dir.path())
        .docker_config(&cfg)
        .output(&["plan"]);
    let t = text(&out);
    assert!(
        t.contains(&format!("linux/amd64    native on node {name}0"))
            && t.contains(&format!("linux/arm64    native on node {name}1")),
        "{t}"
    );

    // builder up, twice: the second run changes nothing.
    let out = stack
        .run_in(dir.path())
        .docker_config(&cfg)
        .output(&["builder", "up"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains(&format!("create builder {name}")) && t.contains(&format!("add node {name}1")),
        "{t}"
    );
    let out = stack
        .run_in(dir.path())
        .docker_config(&cfg)
        .output(&["builder", "up"]);
    assert!(text(&out).contains("nothing to change"), "{}", text(&out));
    let out = stack
        .run_in(dir.path())
        .docker_config(&cfg)
        .output(&["builder", "status"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert_eq!(t.matches("answers").count(), 2, "{t}");

    // A push with RUN steps: each node builds its own platform.
    let out = stack
        .run_in(dir.path())
        .docker_config(&cfg)
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("driver remote): pushes by digest"), "{t}");
    let (amd, armd) = (base_layer(&stack, "amd64"), base_layer(&stack, "arm64"));
    assert!(
        has_blob(&x86.root, &amd) && !has_blob(&x86.root, &armd),
        "the x86 node built amd64 only"
    );
    assert!(
        has_blob(&arm.root, &armd) && !has_blob(&arm.root, &amd),
        "the arm node built arm64 only"
    );
    let before = stack.tag_digest(&repo, "latest").expect("latest");

    // The arm64 node dies in the middle of a build: a clear error, no tag moved.
    // Each platform's step carries E2E_STEP=ID-ARCH: the test waits for the arm64 one
    // to run (on the arm64 node) before it stops that node.
    let id = common::path_of(&repo).replace('/', "-");
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!(
            "ARG BASE\nFROM ${{BASE}}\nARG TARGETARCH\nENV E2E_STEP={id}-${{TARGETARCH}}\nRUN echo {repo}-2; sleep 30\n"
        ),
    )
    .unwrap();
    let child =
        stack
            .run_in(dir.path())
            .docker_config(&cfg)
            .spawn(&["push", "--progress", "plain"]);
    common::wait_until(Duration::from_secs(120), "the arm64 step to run", || {
        !common::processes_with_env(&format!("E2E_STEP={id}-arm64")).is_empty()
    });
    drop(arm);
    let out = child.wait_with_output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("failed") && t.contains("no tag moved"), "{t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), Some(before));
    let out = stack
        .run_in(dir.path())
        .docker_config(&cfg)
        .output(&["builder", "status"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = stack
        .run_in(dir.path())
        .docker_config(&cfg)
        .output(&["builder", "rm"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
