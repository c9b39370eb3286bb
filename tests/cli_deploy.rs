//! `mpbuild plan` over deployment files (`from:`): snapshots of what the user reads.

mod common;

use std::path::Path;

use common::cli::{mpbuild, repo};

/// A temp project whose `fixtures/` is tests/fixtures/deploy.
fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("mpbuild.yaml"), yaml).unwrap();
    std::os::unix::fs::symlink(
        repo().join("tests/fixtures/deploy"),
        dir.path().join("fixtures"),
    )
    .unwrap();
    dir
}

fn plan(dir: &Path) -> String {
    let out = mpbuild(dir).arg("plan").output().unwrap();
    // Only the targets and platforms: the command is covered by tests/cli_plan.rs.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let head: String = stdout
        .lines()
        .take_while(|l| !l.starts_with("  command"))
        .map(|l| format!("{l}\n"))
        .collect();
    format!(
        "exit: {}\n--- stdout\n{head}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn image(targets: &str) -> String {
    format!(
        "version: 1\nimages:\n  app:\n    repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n    tags: [latest]\n    targets:\n{targets}"
    )
}

#[test]
fn each_kind_of_file() {
    let cases = [
        (
            "ecs_registered",
            image("      - from: fixtures/ecs/taskdef-registered.json\n"),
        ),
        (
            "ecs_defaults",
            image("      - from: fixtures/ecs/taskdef-register.json\n"),
        ),
        ("cdk", image("      - from: fixtures/cdk/template.json\n")),
        (
            "sam_lambda",
            image(
                "      - from: fixtures/sam/template.yaml\n        resource: ThumbnailFunction\n        tag: \"${GIT_SHA}-thumbs\"\n",
            ),
        ),
        (
            "k8s_dir",
            image("      - from: fixtures/k8s/\n").replace(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
                "ghcr.io/acme/api",
            ),
        ),
        (
            "k8s_unconstrained",
            format!(
                "cluster_archs: [amd64, arm64]\n{}",
                image("      - from: fixtures/k8s-unconstrained\n")
            )
            .replace(
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
                "ghcr.io/acme/worker",
            ),
        ),
        (
            // A redis Deployment with an amd64 nodeSelector beside the app: ignored.
            "k8s_mixed",
            image("      - from: fixtures/k8s-mixed/\n"),
        ),
        (
            "compose",
            image("      - from: fixtures/compose/compose.yaml\n"),
        ),
        (
            "compose_resource",
            image("      - from: fixtures/compose/compose.yaml\n        resource: sidecar\n"),
        ),
        (
            "copilot",
            image(
                "      - from: fixtures/copilot/api/manifest.yml\n      - from: fixtures/copilot/worker/manifest.yml\n",
            ),
        ),
    ];
    for (name, yaml) in cases {
        let dir = project(&yaml);
        let out = plan(dir.path());
        assert!(out.starts_with("exit: 0"), "{name}: {out}");
        insta::assert_snapshot!(format!("from_{name}"), out);
    }
}

#[test]
fn errors_name_the_file_line_and_what_to_add() {
    let cases = [
        (
            "k8s_without_cluster_archs",
            image("      - from: fixtures/k8s-unconstrained/\n"),
        ),
        (
            "lambda_without_tag",
            image(
                "      - from: fixtures/sam/template.yaml\n        resource: ThumbnailFunction\n",
            ),
        ),
        (
            "several_lambdas_one_tag",
            image("      - from: fixtures/sam/template.yaml\n        tag: x\n"),
        ),
        (
            "no_such_resource",
            image(
                "      - from: fixtures/sam/template.yaml\n        resource: Nope\n        tag: x\n",
            ),
        ),
        ("missing_file", image("      - from: deploy/nope.json\n")),
        (
            "from_and_service",
            image("      - from: fixtures/ecs/taskdef-register.json\n        service: apprunner\n"),
        ),
        (
            "no_workload",
            image("      - from: fixtures/k8s/config.yaml\n"),
        ),
        (
            "compose_no_service_runs_the_image",
            image("      - from: fixtures/compose/compose.yaml\n")
                .replace("amazonaws.com/app", "amazonaws.com/other"),
        ),
        (
            "copilot_rdws_on_arm64",
            image("      - from: fixtures/copilot-arm-rdws/manifest.yml\n"),
        ),
    ];
    for (name, yaml) in cases {
        let dir = project(&yaml);
        let out = plan(dir.path());
        assert!(out.starts_with("exit: 2"), "{name}: {out}");
        insta::assert_snapshot!(format!("from_error_{name}"), out);
    }
}

#[test]
fn the_example() {
    let out = plan(&repo().join("examples/deployfiles"));
    assert!(out.starts_with("exit: 0"), "{out}");
    insta::assert_snapshot!(out);
}

/// A compose service's `platform:` is a compose target, not a `platform:` target of
/// mpbuild.yaml: named so in plan (text and JSON), doctor's reasons and build's note, whose
/// hint is a `--platform` that works (`--target compose` is no service).
#[test]
fn a_compose_target_is_named_compose() {
    let dir = project(&image("      - from: fixtures/compose/compose.yaml\n"));
    let out = mpbuild(dir.path())
        .args(["plan", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let target = &v["images"][0]["targets"][0];
    assert_eq!(target["service"], "compose", "{v}");
    assert_eq!(target["source"], "fixtures/compose/compose.yaml:5", "{v}");
    // The host (linux/arm64) is not what compose asks for (linux/amd64).
    let out = mpbuild(dir.path())
        .args(["build", "--dry-run"])
        .output()
        .unwrap();
    let note = String::from_utf8_lossy(&out.stderr);
    let note = note
        .lines()
        .find(|l| l.starts_with("note: "))
        .unwrap_or_default();
    insta::assert_snapshot!(note, @"note: you are on linux/arm64; image `app` is not for it (compose runs linux/amd64) — test with `--platform linux/amd64` to run it emulated");
    let hinted = mpbuild(dir.path())
        .args(["build", "--dry-run", "--platform", "linux/amd64"])
        .output()
        .unwrap();
    assert!(hinted.status.success(), "{hinted:?}");
}
