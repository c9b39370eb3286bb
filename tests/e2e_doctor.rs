//! `mpbuild doctor` on the real stack: arm64 buildability with emulation on and off,
//! and a daemon that cannot be reached.

mod common;

use std::process::Output;

use common::Stack;

/// `mpbuild doctor --format json` in `dir`, against `docker_host` when given.
fn doctor(stack: &Stack, dir: &std::path::Path, docker_host: Option<&str>) -> Output {
    let mut run = stack.runner().dir(dir);
    if let Some(h) = docker_host {
        run = run.env("DOCKER_HOST", h);
    }
    run.output(&["doctor", "--format", "json"])
}

fn finding(out: &Output, check: &str) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stdout)));
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .cloned()
        .unwrap_or_else(|| panic!("no `{check}` in {v}"))
}

fn project(stack: &Stack) -> tempfile::TempDir {
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {}/doctor/app\n    tags: [latest]\n    targets: [{{service: apprunner}}, {{service: ecs-fargate, arch: ARM64}}]\n",
        stack.registry
    );
    stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", b"FROM scratch\n"),
    ])
}

#[test]
fn arm64_buildability_follows_emulation() {
    let Some(stack) = common::stack() else { return };
    let dir = project(&stack);
    {
        let _on = stack.emulation_shared();
        let out = doctor(&stack, dir.path(), None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        // The stack's buildx plugin answers on its own as `docker buildx` does.
        let b = finding(&out, "buildx");
        assert_eq!(b["status"], "ok");
        assert!(
            b["detail"]
                .as_str()
                .unwrap()
                .contains("cli-plugins/docker-buildx directly"),
            "{b}"
        );
        let f = finding(&out, "platform linux/arm64");
        assert_eq!(f["status"], "ok");
        assert!(f["detail"].as_str().unwrap().starts_with("emulated"), "{f}");
        assert_eq!(finding(&out, "platform linux/amd64")["status"], "ok");
        assert_eq!(finding(&out, "image store")["status"], "ok");
    }
    let _off = stack.emulation_off();
    let out = doctor(&stack, dir.path(), None);
    assert_eq!(out.status.code(), Some(1));
    let f = finding(&out, "platform linux/arm64");
    assert_eq!(f["status"], "fail", "{f}");
    assert!(f["fix"].as_str().unwrap().contains("binfmt"), "{f}");
}

#[test]
fn an_unreachable_daemon_is_reported() {
    let Some(stack) = common::stack() else { return };
    let dir = project(&stack);
    let out = doctor(&stack, dir.path(), Some("unix:///nonexistent/docker.sock"));
    assert_eq!(out.status.code(), Some(1));
    let f = finding(&out, "Docker daemon");
    assert_eq!(f["status"], "fail");
    assert!(
        f["detail"].as_str().unwrap().contains("not reachable"),
        "{f}"
    );
}

/// Issue 24, bug 2: a destination registry where nothing listens is a failing check
/// (it was "ok credentials … anonymous" and "0 failing"); the stack's registry answers.
#[test]
fn an_unreachable_registry_is_a_failing_check() {
    let Some(stack) = common::stack() else { return };
    let port = common::CLOSED_ADDR.rsplit_once(':').unwrap().1;
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: 127.0.0.1:{port}/doctor/app\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n  ok:\n    repository: {}/doctor/ok\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n",
        stack.registry
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", b"FROM scratch\n"),
    ]);
    let out = doctor(&stack, dir.path(), None);
    assert_eq!(out.status.code(), Some(1));
    let f = finding(&out, &format!("registry 127.0.0.1:{port}"));
    assert_eq!(f["status"], "fail", "{f}");
    assert!(
        f["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("GET http://127.0.0.1:{port}/v2/")),
        "{f}"
    );
    assert!(f["fix"].as_str().unwrap().contains("reachable"), "{f}");
    let ok = finding(&out, &format!("registry {}", stack.registry));
    assert_eq!(ok["status"], "ok", "{ok}");
}
