//! The GitHub Action (action.yml, action/install.sh, action/run.sh), its steps run as
//! the runner runs them: the environment files (GITHUB_OUTPUT, GITHUB_PATH) as temp
//! files, RUNNER_OS / RUNNER_ARCH / RUNNER_TOOL_CACHE / RUNNER_TEMP set.
//!
//! - every input reaches its step, and every flag the run step passes is one mpbuild's
//!   own parser accepts for that command (a renamed flag fails here);
//! - the install step checks the archive's SHA-256 and refuses a wrong one, installs
//!   nothing then, and reuses a checked binary from the tool cache;
//! - on the real stack, `command: push` gives the index digest, the platform digests
//!   and the tags moved as step outputs, equal to what the registry holds, and appends
//!   the job summary to GITHUB_STEP_SUMMARY.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::text;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn action() -> serde_json::Value {
    let yaml = std::fs::read_to_string(repo_root().join("action.yml")).unwrap();
    serde_saphyr::from_str(&yaml).expect("action.yml parses")
}

/// A step of the composite action, by id.
fn step(id: &str) -> serde_json::Value {
    action()["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
        .clone()
}

/// `KEY=VALUE` lines of a GitHub environment file.
fn outputs(file: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn every_input_reaches_a_step_and_the_version_is_the_crates() {
    let a = action();
    assert_eq!(a["runs"]["using"], "composite");
    let inputs: Vec<String> = a["inputs"].as_object().unwrap().keys().cloned().collect();
    let install = step("install")["env"].clone();
    let run = step("run")["env"].clone();
    let script = std::fs::read_to_string(repo_root().join("action/run.sh")).unwrap();
    for input in &inputs {
        let expr = format!("${{{{ inputs.{input} }}}}");
        let var = format!("INPUT_{}", input.to_uppercase().replace('-', "_"));
        let reached = match input.as_str() {
            "version" => install["MPBUILD_VERSION"] == expr.as_str(),
            "sha256" => install["MPBUILD_SHA256"] == expr.as_str(),
            _ => run[&var] == expr.as_str() && script.contains(&var),
        };
        assert!(reached, "input `{input}` reaches no step (as {var})");
    }
    // Each step output the action declares is one run.sh or install.sh writes.
    let install_sh = std::fs::read_to_string(repo_root().join("action/install.sh")).unwrap();
    for (name, o) in a["outputs"].as_object().unwrap() {
        let value = o["value"].as_str().unwrap();
        let written = format!("{name}=");
        let source = if value.contains("steps.install.") {
            &install_sh
        } else {
            &script
        };
        assert!(
            source.contains(&written),
            "output `{name}` is never written"
        );
    }
    // The pinned default is this crate's version: a release updates both.
    assert_eq!(a["inputs"]["version"]["default"], env!("CARGO_PKG_VERSION"));
}

/// Runs run.sh with `inputs` and a recording `mpbuild` first on PATH; the argv it got.
fn recorded_argv(inputs: &[(&str, &str)]) -> Vec<String> {
    let (out, argv) = run_recorded(inputs);
    assert_eq!(out.status.code(), Some(0), "{inputs:?}: {}", text(&out));
    argv
}

/// run.sh's result, and the argv the recording `mpbuild` got (none when not run).
fn run_recorded(inputs: &[(&str, &str)]) -> (Output, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("mpbuild");
    std::fs::write(
        &fake,
        "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$ARGV_FILE\"\necho '{\"include\": []}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let argv = dir.path().join("argv");
    let mut c = Command::new("bash");
    c.arg(repo_root().join("action/run.sh"))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("ARGV_FILE", &argv)
        .env("RUNNER_TEMP", dir.path())
        .env("GITHUB_OUTPUT", dir.path().join("output"));
    for (k, v) in inputs {
        c.env(format!("INPUT_{}", k.to_uppercase().replace('-', "_")), v);
    }
    let out = c.output().unwrap();
    let argv = std::fs::read_to_string(argv)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    (out, argv)
}

#[test]
fn every_flag_the_run_step_passes_is_one_mpbuild_accepts() {
    let all = [
        ("file", "mpbuild.yaml"),
        ("image", "api"),
        ("set", "api.build_args.A=1\n  *.pull=true\n"),
        ("no-cache", "true"),
        ("pull", "true"),
        ("verbose", "true"),
        ("deep", "all"),
        ("builder", "ci"),
        ("progress", "plain"),
        ("digests-dir", "d"),
        ("platform", "linux/arm64"),
        ("paths", "deploy/\n  k8s.yaml\n"),
    ];
    let mut used = std::collections::BTreeSet::new();
    for command in ["push", "leg", "merge", "check", "verify", "plan"] {
        let mut inputs = vec![("command", command)];
        inputs.extend(all.iter().copied());
        let argv = recorded_argv(&inputs);
        // mpbuild's own parser on the same argv: clap reads left to right and stops
        // at the first unknown flag or bad value, else prints the help for `--help`.
        // `--help` before a `--` (after it, it would be a path).
        let mut with_help = argv.clone();
        let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
        with_help.insert(at, "--help".into());
        let out = Command::new(env!("CARGO_BIN_EXE_mpbuild"))
            .args(&with_help)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "command: {command}: mpbuild {argv:?}: {}",
            text(&out)
        );
        used.extend(
            argv.iter()
                .filter(|a| a.starts_with("--"))
                .map(|a| a.split('=').next().unwrap().to_string()),
        );
        let sub = if command == "leg" { "push" } else { command };
        assert!(argv.contains(&sub.to_string()), "{command}: {argv:?}");
    }
    // Every flag input is used by some command.
    for (input, _) in all {
        let flag = match input {
            "set" => "--set".to_string(),
            "paths" => "--".to_string(),
            i => format!("--{i}"),
        };
        assert!(
            used.contains(&flag),
            "input `{input}` passes no {flag}: {used:?}"
        );
    }
    // Set lines become one --set each, trimmed.
    let argv = recorded_argv(&[
        ("command", "check"),
        ("set", "a.b=1\n\n  c.d=2\n"),
        ("paths", "deploy/\n -odd name.yaml\n"),
    ]);
    assert_eq!(
        argv,
        [
            "--set",
            "a.b=1",
            "--set",
            "c.d=2",
            "check",
            "--",
            "deploy/",
            "-odd name.yaml"
        ]
    );
    // check without paths, and a leg without a platform, are refused before mpbuild runs.
    for (inputs, said) in [
        (vec![("command", "check")], "check needs the paths input"),
        (vec![("command", "leg")], "leg needs the platform input"),
    ] {
        let (out, argv) = run_recorded(&inputs);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(text(&out).contains(said), "{}", text(&out));
        assert!(argv.is_empty(), "mpbuild ran: {argv:?}");
    }
}

#[test]
fn a_failed_run_still_gives_its_outputs_and_its_exit_code() {
    // An mpbuild that fails as a bad project file does: exit 2, the error's document in
    // --metadata-file (no images).
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("mpbuild");
    std::fs::write(
        &fake,
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = --metadata-file ] && printf '{\"result\": \"error\", \"error\": \"bad\", \"exit_code\": 2}' > \"$2\"; shift; done\nexit 2\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = Command::new("bash")
        .arg(repo_root().join("action/run.sh"))
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("RUNNER_TEMP", dir.path())
        .env("GITHUB_OUTPUT", dir.path().join("output"))
        .env("INPUT_COMMAND", "merge")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!text(&out).contains("jq:"), "{}", text(&out));
    let o = outputs(&dir.path().join("output"));
    assert_eq!(o["exit-code"], "2");
    assert_eq!(o["result"], "error");
    assert_eq!(o["digest"], "");
    assert_eq!(o["digests"], "{}");
    assert_eq!(o["tags"], "[]");
    assert_eq!(o["platforms"], "[]");
}

/// A release directory as release.yml publishes it: `mpbuild-vV-PLATFORM.tar.gz` (a
/// directory of that name holding `mpbuild`) and its `.sha256`.
fn release(dir: &Path, version: &str, platform: &str) -> String {
    let name = format!("mpbuild-v{version}-{platform}");
    let vdir = dir.join(format!("v{version}"));
    let inner = dir.join("build").join(&name);
    std::fs::create_dir_all(&inner).unwrap();
    std::fs::create_dir_all(&vdir).unwrap();
    let bin = inner.join("mpbuild");
    std::fs::write(&bin, format!("#!/bin/sh\necho \"mpbuild {version}\"\n")).unwrap();
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let archive = vdir.join(format!("{name}.tar.gz"));
    let ok = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.join("build"))
        .arg(&name)
        .status()
        .unwrap();
    assert!(ok.success());
    let out = Command::new("sha256sum").arg(&archive).output().unwrap();
    let sum = String::from_utf8(out.stdout).unwrap();
    let sum = sum.split(' ').next().unwrap().to_string();
    std::fs::write(
        vdir.join(format!("{name}.tar.gz.sha256")),
        format!("{sum}  {name}.tar.gz\n"),
    )
    .unwrap();
    sum
}

struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn install(&self, os: &str, arch: &str, sha256: &str) -> Output {
        let d = self.dir.path();
        Command::new("bash")
            .arg(repo_root().join("action/install.sh"))
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TOOL_CACHE", d.join("toolcache"))
            .env("RUNNER_TEMP", d)
            .env("GITHUB_OUTPUT", d.join("output"))
            .env("GITHUB_PATH", d.join("path"))
            .env("MPBUILD_VERSION", "0.9.1")
            .env("MPBUILD_SHA256", sha256)
            .env(
                "MPBUILD_RELEASES",
                format!("file://{}", d.join("releases").display()),
            )
            .output()
            .unwrap()
    }
}

#[test]
fn the_install_step_checks_the_archive_and_refuses_a_wrong_one() {
    let r = Runner {
        dir: tempfile::tempdir().unwrap(),
    };
    let d = r.dir.path();
    let sum = release(&d.join("releases"), "0.9.1", "linux-arm64");
    let cached = d.join("toolcache/mpbuild/0.9.1/linux-arm64/mpbuild");

    // A wrong checksum asked for: refused, nothing installed, nothing on the PATH.
    let wrong = "0".repeat(64);
    let out = r.install("Linux", "ARM64", &wrong);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&format!("has SHA-256 {sum}, not {wrong}")),
        "{t}"
    );
    assert!(!cached.exists(), "installed despite the wrong checksum");
    assert!(!d.join("path").exists());

    // A checksum file that does not match the archive: refused too.
    let sha_file = d.join("releases/v0.9.1/mpbuild-v0.9.1-linux-arm64.tar.gz.sha256");
    std::fs::write(&sha_file, format!("{wrong}  x\n")).unwrap();
    let out = r.install("Linux", "ARM64", "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!cached.exists());

    // The right checksum: installed, on the PATH, outputs written.
    let out = r.install("Linux", "ARM64", &sum.to_uppercase());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("mpbuild 0.9.1"));
    let o = outputs(&d.join("output"));
    assert_eq!(o["path"], cached.display().to_string());
    assert_eq!(o["version"], "0.9.1");
    let path = std::fs::read_to_string(d.join("path")).unwrap();
    assert_eq!(path.trim(), cached.parent().unwrap().display().to_string());

    // Kept: the next job with the same checksum downloads nothing.
    std::fs::remove_dir_all(d.join("releases")).unwrap();
    let out = r.install("Linux", "ARM64", &sum);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("from the tool cache"), "{}", text(&out));
    // …but another checksum asked for is checked against a download, not the cache.
    let out = r.install("Linux", "ARM64", &wrong);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // No release for Windows: said, not guessed.
    let out = r.install("Windows", "X64", "");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("no mpbuild release for Windows/X64"),
        "{}",
        text(&out)
    );
}

#[test]
fn push_through_the_action_gives_its_digests_as_step_outputs() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("action");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    build_args: {{BASE: \"{base}\"}}\n    tags: [v1, \"${{GIT_SHA}}\"]\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n",
        base = stack.base_image
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", b"ARG BASE\nFROM ${BASE}\nCOPY x /x\n"),
        ("x", b"action\n"),
        (".dockerignore", b".mpbuild-work\n"),
    ]);
    let d = dir.path();
    let tmp = tempfile::tempdir().unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_mpbuild")).parent().unwrap();
    let output = tmp.path().join("output");
    let mut c = Command::new("bash");
    c.arg(repo_root().join("action/run.sh"));
    stack.apply_env(&mut c);
    c.env("PATH", format!("{}:{}", bin_dir.display(), stack.path))
        .env("MPBUILD_WORK_DIR", d.join(".mpbuild-work"))
        .env("GIT_SHA", "a1b2c3")
        .env("RUNNER_TEMP", tmp.path())
        .env("GITHUB_OUTPUT", &output)
        .env("INPUT_COMMAND", "push")
        .env("INPUT_WORKING_DIRECTORY", d)
        .env("GITHUB_STEP_SUMMARY", tmp.path().join("summary.md"));
    std::fs::write(tmp.path().join("summary.md"), "an earlier step's summary\n").unwrap();
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = outputs(&output);
    let index = stack.tag_digest(&repo, "v1").expect("v1 moved");
    // The job summary: appended after the earlier step's, one row per platform, the
    // tags on the first.
    let summary = std::fs::read_to_string(tmp.path().join("summary.md")).unwrap();
    assert!(
        summary.starts_with("an earlier step's summary\n### mpbuild push: ok\n"),
        "{summary}"
    );
    let rows: Vec<&str> = summary
        .lines()
        .filter(|l| l.starts_with("| app |"))
        .collect();
    assert_eq!(rows.len(), 2, "{summary}");
    assert!(
        rows[0].starts_with("| app | linux/amd64 | `sha256:"),
        "{summary}"
    );
    assert!(rows[0].ends_with("| `v1`<br>`a1b2c3` |"), "{summary}");
    assert_eq!(o["exit-code"], "0");
    assert_eq!(o["result"], "ok");
    assert_eq!(o["digest"], index);
    let digests: serde_json::Value = serde_json::from_str(&o["digests"]).unwrap();
    assert_eq!(digests["app"], format!("{repo}@{index}"));
    let tags: Vec<String> = serde_json::from_str(&o["tags"]).unwrap();
    assert_eq!(tags, [format!("{repo}:v1"), format!("{repo}:a1b2c3")]);
    // The platform digests are the index's.
    let manifest = stack.manifest(&repo, &index);
    let platforms: Vec<serde_json::Value> = serde_json::from_str(&o["platforms"]).unwrap();
    assert_eq!(platforms.len(), 2, "{platforms:?}");
    for p in &platforms {
        assert!(
            manifest["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["digest"] == p["digest"]),
            "{p} not in {manifest}"
        );
    }
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&o["metadata"]).unwrap()).unwrap();
    assert_eq!(doc["images"][0]["digest"], index.as_str());
}

/// The reusable workflow (.github/workflows/mpbuild.yml): plan → leg (the matrix) →
/// merge → check, each job's mpbuild step this repository's action with inputs it has.
#[test]
fn the_reusable_workflow_chains_plan_legs_merge_check_through_the_action() {
    let yaml = std::fs::read_to_string(repo_root().join(".github/workflows/mpbuild.yml")).unwrap();
    let wf: serde_json::Value = serde_saphyr::from_str(&yaml).unwrap();
    assert!(wf["on"]["workflow_call"].is_object(), "not reusable");
    let inputs = action()["inputs"].clone();
    let jobs = wf["jobs"].as_object().unwrap();
    let needs = |j: &str| jobs[j]["needs"].as_str().map(str::to_string);
    assert_eq!(needs("leg").as_deref(), Some("plan"));
    assert_eq!(needs("merge").as_deref(), Some("leg"));
    assert_eq!(needs("check").as_deref(), Some("merge"));
    assert_eq!(
        jobs["leg"]["strategy"]["matrix"],
        "${{ fromJSON(needs.plan.outputs.matrix) }}"
    );
    for (job, command) in [
        ("plan", "plan"),
        ("leg", "leg"),
        ("merge", "merge"),
        ("check", "check"),
    ] {
        let steps = jobs[job]["steps"].as_array().unwrap();
        let ours: Vec<&serde_json::Value> = steps
            .iter()
            .filter(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("acme/mpbuild@"))
            })
            .collect();
        assert_eq!(ours.len(), 1, "{job}: one mpbuild step");
        assert_eq!(ours[0]["with"]["command"], command, "{job}");
        if command == "check" {
            assert_eq!(ours[0]["with"]["paths"], "${{ inputs.check-paths }}");
            assert_eq!(jobs[job]["if"], "${{ inputs.check-paths != '' }}");
        }
        for key in ours[0]["with"].as_object().unwrap().keys() {
            assert!(
                inputs.get(key).is_some(),
                "{job}: `{key}` is not an input of action.yml"
            );
        }
    }
}

/// The reusable workflow run job by job on the real stack (tests/common/ci_github.rs,
/// the runner tests/ci_examples.rs runs the examples with): plan's matrix output, one leg
/// per entry on its own workspace (no tag moves), merge from the downloaded artifacts,
/// the check job skipped by its `if:` without check-paths.
#[test]
fn the_workflows_steps_in_order_on_the_real_stack() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("workflow");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    build_args: {{BASE: \"{base}\"}}\n    tags: [\"${{GIT_SHA}}\"]\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n",
        base = stack.base_image
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", b"ARG BASE\nFROM ${BASE}\nCOPY x /x\n"),
        ("x", b"workflow\n"),
        (".dockerignore", b"digests\n"),
    ]);
    let mut r = common::ci_runner::Runner::new(&stack, dir.path());
    // The caller's GIT_SHA (the workflow sets none).
    r.env.insert("GIT_SHA".into(), "w1".into());
    let text = std::fs::read_to_string(repo_root().join(".github/workflows/mpbuild.yml")).unwrap();
    let wf: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let mut legs = Vec::new();
    let outputs = r.github_workflow(&wf, &[], |job, matrix| {
        if job == "leg" {
            legs.push(matrix["platform"].clone());
            assert_eq!(stack.tag_digest(&repo, "w1"), None, "a leg moved a tag");
        }
    });
    assert_eq!(legs, ["linux/amd64", "linux/arm64"]);
    let index = stack.tag_digest(&repo, "w1").expect("merge moved w1");
    let digests: serde_json::Value = serde_json::from_str(&outputs["merge"]["digests"]).unwrap();
    assert_eq!(digests["app"], format!("{repo}@{index}"));
    assert_eq!(outputs["merge"]["tags"], format!("[\"{repo}:w1\"]"));
    assert!(
        r.skipped
            .contains(&"check: the job — its `if:` is false".to_string()),
        "{:?}",
        r.skipped
    );
    // The merge downloaded both legs' records.
    assert_eq!(
        r.artifacts_named("mpbuild-digests-"),
        ["mpbuild-digests-linux-amd64", "mpbuild-digests-linux-arm64"]
    );
}
