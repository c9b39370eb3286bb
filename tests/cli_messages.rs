//! What a new user reads when something is off (issue 24), run without the stack and
//! snapshot-tested: each message says what went wrong, where, and what to do, and
//! stdout carries only a result (nothing, or the JSON document, when a run fails).

use std::path::Path;
use std::process::Output;

mod common;

use common::cli::mpbuild_own_dirs as mpbuild;

/// Exit code, stdout and stderr, the temp dir's path replaced by `[DIR]`.
fn shown(dir: &Path, out: &Output) -> String {
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let canonical = std::fs::canonicalize(dir).unwrap();
    text.replace(&canonical.display().to_string(), "[DIR]")
        .replace(&dir.display().to_string(), "[DIR]")
}

fn run(dir: &Path, args: &[&str]) -> (Output, String) {
    let out = mpbuild(dir).args(args).output().unwrap();
    let t = shown(dir, &out);
    (out, t)
}

fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("mpbuild.yaml"), yaml).unwrap();
    dir
}

const TWO_PLATFORMS: &str = "version: 1\nimages:\n  app:\n    repository: registry.invalid/app\n    tags: [latest]\n    targets: [{service: apprunner}, {service: apple-silicon}]\n";

/// A merge from a directory holding no record names every platform missing, each with
/// the leg that builds it (was: only the last, linux/arm64), and prints nothing on
/// stdout.
#[test]
fn merge_from_an_empty_directory_names_every_platform() {
    let dir = project(TWO_PLATFORMS);
    std::fs::create_dir(dir.path().join("digests")).unwrap();
    let (out, t) = run(dir.path(), &["merge", "--digests-dir", "digests"]);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(out.stdout.is_empty(), "{t}");
    insta::assert_snapshot!(t);
}

/// README: smoke shows "the output's last 20 lines" — for a passing platform too (it
/// showed only the last line).
#[test]
fn smoke_shows_the_output_tail_of_passing_platforms_too() {
    use mpbuild::pipeline::smoke::SmokeResult;
    let result = |platform: &str, ok: bool, tail: &str| SmokeResult {
        image: "app".into(),
        reference: "r.example/app@sha256:5fd8".into(),
        platform: platform.into(),
        ok,
        exit_code: Some(if ok { 0 } else { 1 }),
        duration_s: 1.0,
        native: ok,
        node: "default".into(),
        output_tail: tail.into(),
        reason: (!ok).then(|| "exit code 1".into()),
        command: vec!["sh".into(), "-c".into(), "./selftest".into()],
    };
    let text = mpbuild::pipeline::report::text::render_smoke(&[
        result(
            "linux/amd64",
            true,
            "checking config\nchecking db\nall good\n",
        ),
        result("linux/arm64", false, "checking config\nsegfault\n"),
    ]);
    insta::assert_snapshot!(text);
}

/// An unknown service says "`mpbuild targets` lists the services": `targets` then works
/// in that same broken project (it exited 2), warning about the file, and `--short`
/// lists one line per service (name, platforms, title) instead of 338 lines.
#[test]
fn targets_lists_the_catalog_in_a_broken_project_and_short_is_one_line_each() {
    let dir = project(&TWO_PLATFORMS.replace("apple-silicon", "gcr"));
    let (out, t) = run(dir.path(), &["plan"]);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("`mpbuild targets` lists the services"), "{t}");
    let (out, t) = run(dir.path(), &["targets", "--short"]);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let names = mpbuild::catalog::Catalog::builtin();
    let names = names.names();
    assert_eq!(stdout.lines().count(), names.len(), "{stdout}");
    for (line, name) in stdout.lines().zip(&names) {
        assert!(line.starts_with(&format!("{name} ")), "{line}");
    }
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["apprunner", "linux/amd64", "AWS", "App", "Runner"]),
        "{stdout}"
    );
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stderr));
}

/// A cloud's own name or registry (`gcr`, `gcp`) names that cloud's services, not the
/// closest spelling (`ecs-fargate`); in the project file, `targets` and `init`.
#[test]
fn a_clouds_name_suggests_its_services() {
    let dir = project(&TWO_PLATFORMS.replace("apple-silicon", "gcp"));
    let (_, plan) = run(dir.path(), &["plan"]);
    let (_, targets) = run(dir.path(), &["targets", "gcr"]);
    let empty = tempfile::tempdir().unwrap();
    let (_, init) = run(empty.path(), &["init", "--service", "azure"]);
    insta::assert_snapshot!(format!("{plan}\n{targets}\n{init}"));
}

/// Small ones of issue 24: `init --repository` does not ask to edit `repository:`;
/// `builder status` without a declared builder is no error (exit 0, says what push
/// uses); `smoke REF cat /msg` says the command goes after `--`.
#[test]
fn init_builder_status_and_smoke_say_what_is_next() {
    let empty = tempfile::tempdir().unwrap();
    let (out, init) = run(
        empty.path(),
        &[
            "init",
            "--service",
            "lambda",
            "--repository",
            "r.example/app",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{init}");
    let dir = project(TWO_PLATFORMS);
    let (out, status) = run(dir.path(), &["builder", "status"]);
    assert_eq!(out.status.code(), Some(0), "{status}");
    let (out, json) = run(dir.path(), &["builder", "status", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{json}");
    let (out, smoke) = run(
        dir.path(),
        &["smoke", "r.example/app:latest", "cat", "/msg"],
    );
    assert_eq!(out.status.code(), Some(2), "{smoke}");
    insta::assert_snapshot!(format!("{init}\n{status}\n{json}\n{smoke}"));
}
