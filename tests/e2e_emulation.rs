//! Where build time goes, on the real stack: an image whose arm64 build runs a
//! CPU-heavy `RUN` under QEMU on this x86-64 machine. The report attributes nearly all
//! of the arm64 time to that step, names its Dockerfile line and says it ran emulated;
//! the amd64 row says native; `plan` named the step as emulated before the build, and
//! its time after. On a builder whose arm64 node is configured for arm64 (a BuildKit
//! daemon of its own), the same step is native.

mod common;

use common::{Stack, text};
use serde_json::Value;

/// The Dockerfile's heavy step, on line 3: hashing 100 MB with busybox's sha256sum
/// (about 2.5 s natively here, 8 s under QEMU). `ID` and the time make the step new to
/// every cache (a process id, in repository names, comes back between runs). They come
/// last: reports clip a step's text (120 characters in documents, 60 in text), and
/// the hashing must stay in what is left, however long the repository's name (pid
/// digits, the registry's address: a name 9 characters longer cut `sha256sum` off).
fn dockerfile(id: &str) -> String {
    let id = format!(
        "{id}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    format!(
        "ARG BASE\nFROM ${{BASE}}\nRUN head -c 100000000 /dev/zero | sha256sum > /digest && echo {id} > /id\nCMD [\"cat\", \"/digest\"]\n"
    )
}

fn project(stack: &Stack, repo: &str, builder: &str) -> tempfile::TempDir {
    let yaml = format!(
        "version: 1\n{builder}images:\n  app:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{base}\"}}\n    targets: [{{service: apprunner}}, {{service: ecs-fargate, arch: ARM64}}]\n",
        base = stack.base_image
    );
    stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", dockerfile(repo).as_bytes()),
    ])
}

/// The `timing` row of `platform` in a push document.
fn row<'a>(doc: &'a Value, platform: &str) -> &'a Value {
    doc["images"][0]["timing"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["platform"] == platform))
        .unwrap_or_else(|| panic!("no timing for {platform}: {doc:#}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

#[test]
fn the_emulated_step_is_named_with_its_line() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("emulated");
    let dir = project(&stack, &repo, "");

    // Before the build, `plan` names the step that will run under emulation, for arm64
    // only, with the remedies; nothing was measured yet.
    let (out, plan) = stack.run_in(dir.path()).json(&["plan", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let forecast = &plan["emulation"][0];
    let platform = |p: &str| {
        forecast["platforms"]
            .as_array()
            .and_then(|v| v.iter().find(|x| x["platform"] == p))
            .unwrap_or_else(|| panic!("{p}: {forecast:#}"))
            .clone()
    };
    assert_eq!(
        platform("linux/amd64")["emulated"],
        serde_json::json!([]),
        "{forecast:#}"
    );
    let named = &platform("linux/arm64")["emulated"];
    assert_eq!(named.as_array().map(Vec::len), Some(1), "{forecast:#}");
    assert_eq!(named[0]["at"], "Dockerfile:3", "{forecast:#}");
    assert!(named[0].get("last_s").is_none(), "{forecast:#}");
    let kinds: Vec<&str> = forecast["remedies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        vec!["native-node", "build-platform-stage"],
        "{forecast:#}"
    );
    let out = stack.run_in(dir.path()).output(&["plan"]);
    let t = text(&out);
    assert!(
        t.contains(
            "linux/arm64  1 RUN step(s) emulated:\n      Dockerfile:3  RUN head -c 100000000 /dev/zero | sha256sum"
        ),
        "{t}"
    );

    let (out, doc) =
        stack
            .run_in(dir.path())
            .json(&["push", "--format", "json", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let arm = row(&doc, "linux/arm64");
    let slow = &arm["slowest"][0];
    assert_eq!(slow["at"], "Dockerfile:3", "{arm:#}");
    assert_eq!(slow["emulated"], true, "{arm:#}");
    assert!(
        slow["step"].as_str().unwrap().contains("sha256sum"),
        "{arm:#}"
    );
    // The other step is cached: the hashing step is where the arm64 time went. (A share,
    // not a speed: the two platforms build at once on a loaded runner, so how much slower
    // QEMU is than native varies run to run and is not asserted; a CI run at 1.8x failed a
    // 2x bound.)
    let share = f(&slow["seconds"]) / f(&arm["total_s"]);
    assert!(
        share >= 0.5,
        "{share:.3} of the arm64 time in the step: {arm:#}"
    );
    assert!(f(&arm["emulated_s"]) >= f(&slow["seconds"]), "{arm:#}");

    let amd = row(&doc, "linux/amd64");
    assert_eq!(amd["slowest"][0]["at"], "Dockerfile:3", "{amd:#}");
    assert_eq!(amd["slowest"][0]["emulated"], false, "{amd:#}");
    assert_eq!(f(&amd["emulated_s"]), 0.0, "{amd:#}");
    assert!(
        f(&amd["native_s"]) >= f(&amd["slowest"][0]["seconds"]),
        "{amd:#}"
    );

    // After it, `plan` says what the step cost the last time.
    let (_, plan) = stack.run_in(dir.path()).json(&["plan", "--format", "json"]);
    let after = plan["emulation"][0]["platforms"]
        .as_array()
        .and_then(|v| v.iter().find(|x| x["platform"] == "linux/arm64"))
        .map(|p| p["emulated"][0]["last_s"].clone())
        .unwrap_or_default();
    assert_eq!(f(&after), f(&slow["seconds"]), "{plan:#}");
}

/// A leg (arm64 alone, as on a runner of its own): its text report has the platform's
/// line, and its record carries the same figures for the merge job to chart.
#[test]
fn a_leg_reports_and_records_its_platform() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("emulated-leg");
    let dir = project(&stack, &repo, "");
    let legs = dir.path().join("legs");
    let out = stack.run_in(dir.path()).output(&[
        "push",
        "--platform",
        "linux/arm64",
        "--digests-dir",
        legs.to_str().unwrap(),
        "--progress",
        "plain",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let line = t
        .lines()
        .find(|l| l.trim_start().starts_with("build      linux/arm64  "))
        .unwrap_or_else(|| panic!("no build line for linux/arm64:\n{t}"));
    // `linux/arm64  9.1s, 8.6s emulated · 0/2 cached · slowest RUN … (Dockerfile:3) 8.4s emulated`
    assert!(line.contains("s emulated · "), "{line}");
    let step = line
        .split(" (Dockerfile:3) ")
        .nth(1)
        .unwrap_or_else(|| panic!("no step at Dockerfile:3: {line}"));
    assert!(step.contains("s emulated"), "{line}");
    let record: Value = serde_json::from_slice(
        &std::fs::read(legs.join("app@linux-arm64.json")).expect("the leg's record"),
    )
    .unwrap();
    let timing = &record["timing"];
    assert_eq!(timing["platform"], "linux/arm64", "{record:#}");
    assert_eq!(timing["slowest"][0]["at"], "Dockerfile:3", "{record:#}");
    assert_eq!(timing["slowest"][0]["emulated"], true, "{record:#}");
    // One platform alone: the whole buildx run counts (never less than the step), and
    // the emulated step is the larger part of it. Not a tighter share: the run's own
    // start, session and export grow with the machine's load (0.767 once at load 7).
    let share = f(&timing["slowest"][0]["seconds"]) / f(&timing["total_s"]);
    assert!((0.5..=1.0).contains(&share), "{share:.3}: {record:#}");
}

#[test]
fn a_native_arm64_node_runs_the_step_natively() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("emulation-native");
    let name = format!("e2e-emu-{}", std::process::id());
    let Some(nodes) = stack.two_nodes(&name) else {
        return;
    };
    let dir = project(&stack, &repo, &nodes.yaml);
    let cfg = &nodes.docker_config;
    let out = stack
        .run_in(dir.path())
        .docker_config(cfg)
        .output(&["builder", "up"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (out, doc) = stack.run_in(dir.path()).docker_config(cfg).json(&[
        "push",
        "--format",
        "json",
        "--progress",
        "plain",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let arm = row(&doc, "linux/arm64");
    assert_eq!(arm["node"], format!("{name}1"), "{arm:#}");
    assert_eq!(arm["slowest"][0]["at"], "Dockerfile:3", "{arm:#}");
    assert_eq!(arm["slowest"][0]["emulated"], false, "{arm:#}");
    assert_eq!(f(&arm["emulated_s"]), 0.0, "{arm:#}");
    assert_eq!(row(&doc, "linux/amd64")["node"], format!("{name}0"));
    let out = stack
        .run_in(dir.path())
        .docker_config(cfg)
        .output(&["builder", "rm"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}
