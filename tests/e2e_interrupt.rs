//! Ctrl-C (SIGINT) and SIGTERM while a command waits on a stalled registry (the fault
//! proxy answers nothing for 30 s): `verify`, `check`, `mirror`, `push` (during its
//! upload, and while buildx runs) and `merge` each exit 130 at the signal, by
//! themselves (before mpbuild's 1.5 s grace period would end them), move no tag
//! (read back from the registry; the proxy saw no tag written) and say which tags
//! stayed where they were. Every wait is for an event (the stall reached, a line
//! printed, the exit), each with a deadline.

mod common;

use std::path::Path;
use std::time::Duration;

use common::Stack;
use common::fault::{Fault, Proxy};
use common::running::{Ended, Running};

/// Longer than any test waits, shorter than the default request deadline (60 s): a
/// command that ignores the signal runs until the stall ends, as the issue measured.
const STALL: Duration = Duration::from_secs(30);
/// From the signal to the exit: a guard against waiting out the stall (30 s), not a
/// speed. mpbuild itself bounds its stop (`cancel::GRACE`, 1.5 s, then it exits
/// saying "still stopping"), and what each test asserts it printed tells a command
/// that stopped by itself from one the grace period ended; the figure line below
/// gives the time. A 2 s bound left a loaded runner half a second past the grace.
const STOPPED_WITHIN: Duration = Duration::from_secs(10);
/// To get as far as the stall (a build first, for push).
const TO_THE_STALL: Duration = Duration::from_secs(240);

/// Waits until the proxy stalls one more request than `before`, sends `signal`, and
/// waits for the exit.
fn interrupt(mut run: Running, proxy: &Proxy, before: usize, signal: &str, what: &str) -> Ended {
    assert!(
        proxy.wait_for_faults(before + 1, TO_THE_STALL),
        "{what} never reached the stall: {}",
        run.stderr()
    );
    run.signal(signal);
    let end = run.finish(STOPPED_WITHIN);
    // The figure for the closing note (visible with --nocapture).
    eprintln!(
        "figure: {what}, SIG{signal}: exit {:?} (signal {:?}) {:.3} s after the signal",
        end.code,
        end.signal,
        end.since_last.as_secs_f64()
    );
    end
}

fn assert_stopped(end: &Ended, signal: &str, what: &str) {
    assert_eq!(
        (end.code, end.signal),
        (Some(130), None),
        "{what} after SIG{signal}: {}",
        end.text
    );
    assert!(
        end.in_time,
        "{what} exited {:.1} s after SIG{signal} (limit {STOPPED_WITHIN:?}): {}",
        end.since_last.as_secs_f64(),
        end.text
    );
    assert!(
        !end.text.contains("failed after") && !end.text.contains("failed:"),
        "{what} reported the interrupt as a failure: {}",
        end.text
    );
    assert!(
        !end.text.contains("still stopping"),
        "{what} did not stop by itself: the grace period ended it: {}",
        end.text
    );
}

/// No tag was written through the proxy (manifests went by digest, if at all).
fn assert_no_tag_written(proxy: &Proxy, tag: &str) {
    let written: Vec<String> = proxy
        .requests()
        .iter()
        .filter(|r| r.method == "PUT" && r.path.ends_with(&format!("/manifests/{tag}")))
        .map(|r| r.path.clone())
        .collect();
    assert!(written.is_empty(), "tags written: {written:?}");
}

/// REGISTRY/e2e/NAME-… → (the repository through the proxy, its path).
fn via_proxy(stack: &Stack, proxy: &Proxy, name: &str) -> (String, String) {
    let repo = stack.unique_repo(name);
    let path = repo.split_once('/').unwrap().1.to_string();
    (format!("{}/{path}", proxy.addr), path)
}

fn project(stack: &Stack, yaml: &str, dockerfile: &str) -> tempfile::TempDir {
    let marker = format!("{yaml}{}", std::process::id());
    stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", dockerfile.as_bytes()),
        ("marker", marker.as_bytes()),
    ])
}

fn mpbuild_in(stack: &Stack, dir: &Path, work: &str, args: &[&str]) -> std::process::Command {
    let mut c = stack.mpbuild();
    c.current_dir(dir)
        .env("MPBUILD_WORK_DIR", dir.join(work))
        .args(args);
    c
}

#[test]
fn verify_waiting_on_a_stalled_registry_stops_at_sigint_and_sigterm() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    proxy.always(Some("GET"), "/manifests/", Fault::Stall(STALL));
    let reference = format!("{}/{}@{}", proxy.addr, stack.base_repo, stack.base_digest);
    for signal in ["INT", "TERM"] {
        let before = proxy.faults_applied();
        let mut cmd = stack.mpbuild();
        cmd.args(["verify", &reference, "--platform", "linux/amd64"]);
        let end = interrupt(Running::start(&mut cmd), &proxy, before, signal, "verify");
        assert_stopped(&end, signal, "verify");
        // It names what it was waiting for.
        assert!(
            end.text.contains(&format!(
                "interrupted while waiting for {} (GET http://{}/v2/{}/manifests/{})",
                proxy.addr, proxy.addr, stack.base_repo, stack.base_digest
            )),
            "{}",
            end.text
        );
    }
    assert!(
        proxy.requests().iter().all(|r| r.method == "GET"),
        "verify wrote: {:?}",
        proxy.requests()
    );
}

#[test]
fn mirror_stalled_in_a_blob_upload_stops_at_sigint_and_sigterm_and_moves_no_tag() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    proxy.always(Some("PUT"), "/blobs/uploads/", Fault::Stall(STALL));
    let source = format!(
        "{}/{}@{}",
        stack.registry, stack.base_repo, stack.base_digest
    );
    for signal in ["INT", "TERM"] {
        let (dest, path) = via_proxy(&stack, &proxy, "interrupt-mirror");
        let before = proxy.faults_applied();
        let mut cmd = stack.mpbuild();
        cmd.args([
            "mirror",
            &source,
            &format!("{dest}:v1"),
            "--platform",
            "linux/amd64",
            "--progress",
            "plain",
        ]);
        let end = interrupt(Running::start(&mut cmd), &proxy, before, signal, "mirror");
        assert_stopped(&end, signal, "mirror");
        assert!(
            end.text.contains(&format!(
                "interrupted: no tag moved; {dest}:v1 stays where it was"
            )),
            "{}",
            end.text
        );
        assert_eq!(
            stack.tag_digest(&format!("{}/{path}", stack.registry), "v1"),
            None
        );
    }
    assert_no_tag_written(&proxy, "v1");
}

#[test]
fn push_stalled_in_its_upload_stops_at_sigint_and_sigterm_and_moves_no_tag() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    let (repo, path) = via_proxy(&stack, &proxy, "interrupt-push");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest, v1]\n    targets: [{{service: apprunner}}]\n"
    );
    let dir = project(
        &stack,
        &yaml,
        &format!("FROM {}\nCOPY marker /marker\n", stack.base_image),
    );
    // The docker driver exports a layout that mpbuild uploads: the upload stalls (not
    // the registry check before the build).
    proxy
        .always(None, common::fault::PREFLIGHT, Fault::Pass)
        .always(Some("PUT"), "/blobs/uploads/", Fault::Stall(STALL));
    for signal in ["INT", "TERM"] {
        let before = proxy.faults_applied();
        let cmd = &mut mpbuild_in(&stack, dir.path(), ".w", &["push", "--progress", "plain"]);
        let end = interrupt(Running::start(cmd), &proxy, before, signal, "push (upload)");
        assert_stopped(&end, signal, "push");
        assert!(
            end.text.contains(&format!(
                "interrupted: no tag moved; {repo}:latest, {repo}:v1 stay where they were"
            )),
            "{}",
            end.text
        );
        let real = format!("{}/{path}", stack.registry);
        assert_eq!(stack.tag_digest(&real, "latest"), None);
        assert_eq!(stack.tag_digest(&real, "v1"), None);
    }
    assert_no_tag_written(&proxy, "latest");
    assert_no_tag_written(&proxy, "v1");
}

#[test]
fn push_stops_buildx_at_sigterm_and_says_interrupted() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("interrupt-buildx");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n"
    );
    let dir = project(
        &stack,
        &yaml,
        &format!(
            "FROM {}\nCOPY marker /marker\nRUN sleep 60\n",
            stack.base_image
        ),
    );
    let cmd = &mut mpbuild_in(&stack, dir.path(), ".w", &["push", "--progress", "plain"]);
    let mut run = Running::start(cmd);
    // The RUN step has started (plain progress names each step as it starts).
    assert!(
        run.wait_for("RUN sleep 60", TO_THE_STALL),
        "{}",
        run.stderr()
    );
    // SIGTERM, as CI sends it: it reaches mpbuild only, not buildx.
    run.signal("TERM");
    let end = run.finish(STOPPED_WITHIN);
    eprintln!(
        "figure: push (buildx), SIGTERM: exit {:?} {:.3} s after the signal",
        end.code,
        end.since_last.as_secs_f64()
    );
    assert_stopped(&end, "TERM", "push (buildx)");
    assert!(end.text.contains("[app] interrupted: "), "{}", end.text);
    assert!(
        end.text.contains(&format!(
            "interrupted: no tag moved; {repo}:latest stays where it was"
        )),
        "{}",
        end.text
    );
    assert_eq!(stack.tag_digest(&repo, "latest"), None);
}

#[test]
fn merge_stalled_pushing_its_index_stops_at_sigint_and_sigterm_and_moves_no_tag() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    let (repo, path) = via_proxy(&stack, &proxy, "interrupt-merge");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n"
    );
    let dir = project(
        &stack,
        &yaml,
        &format!("FROM {}\nCOPY marker /marker\n", stack.base_image),
    );
    let digests = dir.path().join("digests");
    let d = digests.to_str().unwrap();
    for platform in ["linux/amd64", "linux/arm64"] {
        let work = format!(".w-{}", platform.replace('/', "-"));
        let args = [
            "push",
            "--platform",
            platform,
            "--digests-dir",
            d,
            "--progress",
            "plain",
        ];
        let out = mpbuild_in(&stack, dir.path(), &work, &args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    }
    // The merged index goes in by digest first: that PUT stalls.
    proxy.always(Some("PUT"), "/manifests/", Fault::Stall(STALL));
    for signal in ["INT", "TERM"] {
        let before = proxy.faults_applied();
        let cmd = &mut mpbuild_in(
            &stack,
            dir.path(),
            ".w-merge",
            &["merge", "--digests-dir", d, "--progress", "plain"],
        );
        let end = interrupt(Running::start(cmd), &proxy, before, signal, "merge");
        assert_stopped(&end, signal, "merge");
        assert!(
            end.text.contains(&format!(
                "interrupted: no tag moved; {repo}:latest stays where it was"
            )),
            "{}",
            end.text
        );
        assert_eq!(
            stack.tag_digest(&format!("{}/{path}", stack.registry), "latest"),
            None
        );
    }
    assert_no_tag_written(&proxy, "latest");
}

#[test]
fn check_waiting_on_a_stalled_registry_stops_at_sigint() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    proxy.always(Some("GET"), "/manifests/", Fault::Stall(STALL));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("deploy.yaml");
    std::fs::write(
        &file,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      nodeSelector: {{kubernetes.io/arch: amd64}}\n      containers:\n        - name: web\n          image: {}/{}@{}\n",
            proxy.addr, stack.base_repo, stack.base_digest
        ),
    )
    .unwrap();
    let mut cmd = stack.mpbuild();
    cmd.current_dir(dir.path()).args(["check", "deploy.yaml"]);
    let end = interrupt(Running::start(&mut cmd), &proxy, 0, "INT", "check");
    assert_stopped(&end, "INT", "check");
    // No report of references the signal cut short, as if the registry had failed.
    assert!(
        end.text.contains("error: interrupted") && !end.text.contains("registry error"),
        "{}",
        end.text
    );
}

#[test]
fn push_interrupted_while_a_tag_is_written_says_which_moved_which_may_have_and_which_did_not() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    let (repo, path) = via_proxy(&stack, &proxy, "interrupt-promote");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [first, second, third]\n    targets: [{{service: apprunner}}]\n"
    );
    let dir = project(
        &stack,
        &yaml,
        &format!("FROM {}\nCOPY marker /marker\n", stack.base_image),
    );
    // The second tag's write stalls: the first has moved by then, the third has not.
    proxy.always(Some("PUT"), "/manifests/second", Fault::Stall(STALL));
    let cmd = &mut mpbuild_in(&stack, dir.path(), ".w", &["push", "--progress", "plain"]);
    let end = interrupt(Running::start(cmd), &proxy, 0, "INT", "push (promote)");
    assert_stopped(&end, "INT", "push (promote)");
    let real = format!("{}/{path}", stack.registry);
    assert!(stack.tag_digest(&real, "first").is_some(), "{}", end.text);
    assert_eq!(stack.tag_digest(&real, "second"), None);
    assert_eq!(stack.tag_digest(&real, "third"), None);
    assert!(
        end.text.contains(&format!(
            "interrupted: these tags did not move: {repo}:third\n"
        )),
        "{}",
        end.text
    );
    assert!(
        end.text.contains(&format!(
            "{repo}:second may have moved: its write was under way when the signal came"
        )),
        "{}",
        end.text
    );
    assert_no_tag_written(&proxy, "third");
}
