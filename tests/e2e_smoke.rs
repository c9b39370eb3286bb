//! The smoke run on the real stack: the image's own command, run in the pushed digest on
//! every platform (arm64 through QEMU, or on its own node), before any tag moves.

mod common;

use std::time::{Duration, Instant};

use common::{Stack, json, text};

/// The smoke entry of `platform` in a JSON report.
fn smoke_of<'a>(doc: &'a serde_json::Value, platform: &str) -> &'a serde_json::Value {
    doc["smoke"]
        .as_array()
        .unwrap_or_else(|| panic!("no smoke in {doc}"))
        .iter()
        .find(|s| s["platform"] == platform)
        .unwrap_or_else(|| panic!("no smoke for {platform} in {doc}"))
}

/// An image for App Runner (amd64) and Apple Silicon laptops (arm64) with `smoke`.
fn project(stack: &Stack, repo: &str, smoke: &str, dockerfile: &str) -> tempfile::TempDir {
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{}\"}}\n    targets: [{{service: apprunner}}, {{service: apple-silicon}}]\n    smoke: {smoke}\n",
        stack.base_image
    );
    stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", dockerfile.as_bytes()),
    ])
}

const FIXED: &str = "ARG BASE\nFROM ${BASE}\nRUN echo hi > /msg\n";
const ARM64_BROKEN: &str = "ARG BASE\nFROM ${BASE}\nARG TARGETARCH\nRUN if [ \"$TARGETARCH\" = amd64 ]; then echo hi-2 > /msg; fi\n";
const FIXED_AGAIN: &str = "ARG BASE\nFROM ${BASE}\nRUN echo hi-3 > /msg\n";

#[test]
fn a_command_failing_on_arm64_only_moves_no_tag_and_the_fix_does() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("smoke-arm64");
    let dir = project(&stack, &repo, "[cat, /msg]", FIXED);

    // Passes on both platforms: the tag moves.
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("ok    linux/amd64  exit 0"), "{t}");
    assert!(t.contains("ok    linux/arm64  exit 0"), "{t}");
    assert!(t.contains("emulated on node default"), "{t}");
    assert!(t.contains(" · smoke "), "the time line has the smoke: {t}");
    let first = stack.tag_digest(&repo, "latest").expect("latest moved");

    // The arm64 variant lacks /msg: the smoke fails there only, latest stays.
    std::fs::write(dir.path().join("Dockerfile"), ARM64_BROKEN).unwrap();
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain", "--format", "json"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let doc = json(&out);
    assert_eq!(doc["failure"]["stage"], "smoke", "{doc}");
    let amd = smoke_of(&doc, "linux/amd64");
    assert_eq!(amd["ok"], true, "{amd}");
    assert_eq!(amd["exit_code"], 0, "{amd}");
    assert_eq!(amd["native"], true, "{amd}");
    assert_eq!(amd["output_tail"], "hi-2", "{amd}");
    let arm = smoke_of(&doc, "linux/arm64");
    assert_eq!(arm["ok"], false, "{arm}");
    assert_eq!(arm["exit_code"], 1, "{arm}");
    assert_eq!(arm["native"], false, "{arm}");
    assert_eq!(arm["node"], "default", "{arm}");
    assert!(
        arm["output_tail"].as_str().unwrap().contains("/msg"),
        "{arm}"
    );
    assert!(arm["duration_s"].as_f64().unwrap() > 0.0, "{arm}");
    assert!(
        t.contains("the smoke run failed: no tag moved"),
        "the untouched tags are named: {t}"
    );
    assert_eq!(stack.tag_digest(&repo, "latest"), Some(first.clone()));

    // Fixed: both pass and the tag moves to the new digest.
    std::fs::write(dir.path().join("Dockerfile"), FIXED_AGAIN).unwrap();
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = json(&out);
    for p in ["linux/amd64", "linux/arm64"] {
        assert_eq!(smoke_of(&doc, p)["ok"], true, "{doc}");
        assert_eq!(smoke_of(&doc, p)["output_tail"], "hi-3", "{doc}");
    }
    let now = stack.tag_digest(&repo, "latest").expect("latest");
    assert_ne!(now, first);
    assert_eq!(doc["images"][0]["digest"], now.as_str());
}

/// Issue 24, bug 3: a `smoke:` changed so that it fails, on an image whose inputs did
/// not change, is run on the reused digest: exit 1, the new tag does not move; fixed,
/// the next push moves it, still without a build.
#[test]
fn a_changed_smoke_runs_on_an_unchanged_image() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("smoke-reused");
    let yaml = |smoke: &str| {
        format!(
            "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest, \"${{GIT_SHA}}\"]\n    build_args: {{BASE: \"{}\"}}\n    targets: [{{service: apprunner}}]\n    smoke: {smoke}\n",
            stack.base_image
        )
    };
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml("[cat, /msg]").as_bytes()),
        ("Dockerfile", FIXED.as_bytes()),
        // The project file is no input of the build (else changing it rebuilds).
        (".dockerignore", b".mpbuild-work\nmpbuild.yaml\n"),
    ]);
    let push = |sha: &str| {
        stack.run_in(dir.path()).git_sha(sha).json(&[
            "push",
            "--progress",
            "plain",
            "--format",
            "json",
        ])
    };
    let (out, doc) = push("s1");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(doc["images"][0]["built"], true, "{doc}");

    // Only `smoke:` changed: no build, but the new command runs on the reused digest.
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        yaml("[cat, /nothing-here]"),
    )
    .unwrap();
    let (out, doc) = push("s2");
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert_eq!(doc["failure"]["stage"], "smoke", "{doc}");
    assert_eq!(doc["unchanged"][0]["image"], "app", "not rebuilt: {doc}");
    let amd = smoke_of(&doc, "linux/amd64");
    assert_eq!(amd["ok"], false, "{amd}");
    assert_eq!(
        stack.tag_digest(&repo, "s2"),
        None,
        "the new tag did not move: {t}"
    );

    // Fixed again: still no build, the smoke passes, the tag moves.
    std::fs::write(dir.path().join("mpbuild.yaml"), yaml("[cat, /msg]")).unwrap();
    let (out, doc) = push("s3");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(doc["images"][0]["built"], false, "{doc}");
    assert_eq!(smoke_of(&doc, "linux/amd64")["output_tail"], "hi", "{doc}");
    assert_eq!(stack.tag_digest(&repo, "s3"), stack.tag_digest(&repo, "s1"));
}

#[test]
fn a_hanging_command_is_stopped_at_its_timeout() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("smoke-hang");
    let marker = format!("SMOKE_ID=hang-{}", std::process::id());
    let smoke = format!(
        "{{run: [sleep, \"600\"], timeout: 5, env: {{SMOKE_ID: \"{}\"}}, platforms: [linux/arm64]}}",
        marker.trim_start_matches("SMOKE_ID=")
    );
    let dir = project(&stack, &repo, &smoke, FIXED);
    let started = Instant::now();
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("FAIL  linux/arm64  no exit") && t.contains("timed out after 5s"),
        "{t}"
    );
    assert!(
        !t.contains("linux/amd64  exit"),
        "only arm64 is smoked: {t}"
    );
    // A guard, not a speed: the command sleeps 600 s, so a run that ends well before
    // that was cut by the timeout. The push around it (a build of two platforms, one
    // emulated, then verify) is what grows with load; the bound was 120 s.
    assert!(started.elapsed() < Duration::from_secs(300), "{t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), None);
    // The command itself was stopped, not left running in the builder (and the scan
    // that says so does see processes).
    common::assert_env_scan_finds_processes();
    common::wait_until(
        Duration::from_secs(15),
        "the smoke command to end after its timeout",
        || common::processes_with_env(&marker).is_empty(),
    );
}

#[test]
fn output_not_matching_expect_fails() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("smoke-expect");
    let dir = project(
        &stack,
        &repo,
        "{run: [cat, /msg], expect: '^bye$', platforms: [linux/amd64]}",
        FIXED,
    );
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("FAIL  linux/amd64  exit 0") && t.contains("output did not match /^bye$/"),
        "{t}"
    );
    assert!(t.contains("        | hi"), "the output is shown: {t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), None);
}

#[test]
fn a_second_smoke_of_the_same_digest_runs_again() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let run = || {
        let out = stack.run(&[
            "smoke",
            &stack.base_image,
            "--platform",
            "linux/arm64",
            "--expect",
            "^[0-9a-f-]{36}$",
            "--format",
            "json",
            "--",
            "cat",
            "/proc/sys/kernel/random/uuid",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let doc = json(&out);
        assert_eq!(doc["result"], "ok", "{doc}");
        smoke_of(&doc, "linux/arm64")["output_tail"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (a, b) = (run(), run());
    assert_eq!(a.len(), 36, "{a}");
    assert_ne!(a, b, "the second run printed a new uuid: it ran again");
}

#[test]
fn smoke_command_exit_codes() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let smoke = |args: &[&str]| {
        let mut a = vec!["smoke", stack.base_image.as_str()];
        a.extend_from_slice(args);
        stack.run(&a)
    };
    let out = smoke(&["--platform", "linux/arm64", "--", "uname", "-m"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("emulated on node default") && t.contains("| aarch64"),
        "{t}"
    );
    let out = smoke(&["--platform", "linux/amd64", "--", "false"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("exit code 1"), "{t}");
    // Issue 24: a command the image lacks never ran: no exit code, and said so (it
    // was reported as "exit 1").
    let out = smoke(&[
        "--platform",
        "linux/amd64",
        "--format",
        "json",
        "--",
        "no-such-cmd",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = smoke_of(&doc, "linux/amd64");
    assert_eq!(r["exit_code"], serde_json::Value::Null, "{r}");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .starts_with("`no-such-cmd` is not in the image"),
        "{r}"
    );
    let out = smoke(&["--platform", "linux/s390x", "--", "true"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = smoke(&["--expect", "(", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn ctrl_c_during_the_smoke_moves_no_tag_and_exits_130() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("smoke-int");
    // The smoke command carries a variable of its own: the test sees it run, and end.
    let id = format!("int-{}", common::path_of(&repo).replace('/', "-"));
    let marker = format!("SMOKE_ID={id}");
    let dir = project(
        &stack,
        &repo,
        &format!(
            "{{run: [sleep, \"600\"], env: {{SMOKE_ID: \"{id}\"}}, platforms: [linux/amd64]}}"
        ),
        FIXED,
    );
    let mut child = stack
        .run_in(dir.path())
        .spawn(&["push", "--progress", "plain"]);
    // Wait until the smoke run has started (the build and verify come first).
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("[app] smoke linux/amd64: `sleep 600`") {
                let _ = tx.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(120))
        .expect("the smoke run started");
    // …and its command is running in the builder.
    common::wait_until(Duration::from_secs(60), "the smoke command to run", || {
        !common::processes_with_env(&marker).is_empty()
    });
    common::interrupt(&child);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        reader.join().unwrap()
    );
    // The command was stopped with mpbuild, not left running in the builder.
    common::wait_until(
        Duration::from_secs(15),
        "the smoke command to end after Ctrl-C",
        || common::processes_with_env(&marker).is_empty(),
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "stopped promptly: {t}"
    );
    assert_eq!(out.status.code(), Some(130), "{t}");
    assert!(t.contains("interrupted: no tag moved"), "{t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), None);
}

#[test]
fn on_a_two_node_builder_arm64_runs_on_the_arm64_node() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("smoke-nodes");
    let name = format!("e2e-smoke-{}", std::process::id());
    let Some(nodes) = stack.two_nodes(&name) else {
        return;
    };
    let cfg = &nodes.docker_config;
    // The command leaves a mark in the filesystem of the node that runs it, named after
    // the CPU it ran on: only the node that ran it has it in its own state directory.
    let yaml = format!(
        "version: 1\n{builder}images:\n  app:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{base}\"}}\n    targets: [{{service: apprunner}}, {{service: ecs-fargate, arch: ARM64}}]\n    smoke: [sh, -c, \"uname -m; touch /smoke-ran-on-$(uname -m)\"]\n",
        builder = nodes.yaml,
        base = stack.base_image
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        (
            "Dockerfile",
            b"ARG BASE\nFROM ${BASE}\nRUN echo smoke-nodes\n",
        ),
    ]);
    let run = |args: &[&str]| stack.run_in(dir.path()).docker_config(cfg).output(args);
    let out = run(&["builder", "up"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&["push", "--progress", "plain", "--format", "json"]);
    let _ = run(&["builder", "rm"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let doc = json(&out);
    let arm64 = smoke_of(&doc, "linux/arm64");
    assert_eq!(arm64["node"], format!("{name}1"), "{arm64}");
    assert_eq!(arm64["native"], true, "{arm64}");
    assert_eq!(arm64["output_tail"], "aarch64", "{arm64}");
    let amd64 = smoke_of(&doc, "linux/amd64");
    assert_eq!(amd64["node"], format!("{name}0"), "{amd64}");
    assert_eq!(amd64["output_tail"], "x86_64", "{amd64}");
    assert!(
        t.lines()
            .any(|l| l.starts_with("[app] smoke linux/arm64: `")
                && l.ends_with(&format!("on node {name}1 (native)"))),
        "{t}"
    );
    assert!(stack.tag_digest(&repo, "latest").is_some());
    // Where each command really ran: its mark is in that node's state and not the other's.
    let (x86, arm) = (&nodes.x86.root, &nodes.arm.root);
    assert!(
        common::has_file_named(arm, "smoke-ran-on-aarch64")
            && !common::has_file_named(x86, "smoke-ran-on-aarch64"),
        "the arm64 command did not run on the arm64 node"
    );
    assert!(
        common::has_file_named(x86, "smoke-ran-on-x86_64")
            && !common::has_file_named(arm, "smoke-ran-on-x86_64"),
        "the amd64 command did not run on the amd64 node"
    );
}
