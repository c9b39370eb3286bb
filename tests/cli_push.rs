//! `mpbuild push` error paths with a fake `docker` on PATH (argv and messages only; the
//! real pushes are in e2e_push.rs).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;

mod common;

/// A project whose repository is on a registry that takes every write (push checks
/// the destination before it builds): its address is `registry()`'s.
fn project() -> tempfile::TempDir {
    project_at(&registry())
}

use common::writable_registry::addr as registry;

fn project_at(registry: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        format!("version: 1\nimages:\n  app:\n    repository: {registry}/app\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n"),
    )
    .unwrap();
    dir
}

fn fake_docker(dir: &Path, script: &str) {
    let p = dir.join("docker");
    std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn push(project: &Path, path: &Path) -> (i32, String) {
    let out = Command::cargo_bin("mpbuild")
        .unwrap()
        .current_dir(project)
        .env_clear()
        .env("PATH", path)
        .env("HOME", project)
        .args(["push", "--progress", "plain"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn no_docker_on_path_is_exit_3_with_how_to_install() {
    let p = project();
    let empty = tempfile::tempdir().unwrap();
    let (code, text) = push(p.path(), empty.path());
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("`docker` is not on PATH")
            && text.contains("apt-get install docker.io docker-buildx"),
        "{text}"
    );
}

#[test]
fn no_buildx_is_exit_3() {
    let p = project();
    let bin = tempfile::tempdir().unwrap();
    fake_docker(
        bin.path(),
        "echo \"docker: 'buildx' is not a docker command.\" >&2; exit 1",
    );
    let (code, text) = push(p.path(), bin.path());
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("the buildx plugin is missing"), "{text}");
}

#[test]
fn a_failing_build_shows_the_step_and_log_and_moves_nothing() {
    let p = project();
    let bin = tempfile::tempdir().unwrap();
    let fixture = format!(
        "{}/tests/fixtures/buildx/failing-run.rawjson",
        env!("CARGO_MANIFEST_DIR")
    );
    fake_docker(
        bin.path(),
        &format!(
            "case \"$2\" in\n  version) echo 'github.com/docker/buildx v0.13.1 abc';;\n  inspect) printf 'Name: default\\nDriver: docker\\n';;\n  build) echo \"$@\" > \"{argv}\"; cat \"{fixture}\" >&2; exit 1;;\nesac",
            argv = bin.path().join("argv").display()
        ),
    );
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let (code, text) = push(p.path(), Path::new(&path));
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("build of image `app` failed at step `[linux/"),
        "{text}"
    );
    assert!(text.contains("| /bin/sh: can't open"), "{text}");
    assert!(
        text.contains(&format!(
            "no tag moved; {}/app:latest stays where it was",
            registry()
        )),
        "{text}"
    );
    let argv = std::fs::read_to_string(bin.path().join("argv")).unwrap();
    assert!(
        argv.starts_with("buildx build --platform linux/amd64 --file Dockerfile"),
        "{argv}"
    );
    assert!(argv.contains("--output type=oci,tar=false,dest="), "{argv}");
}

/// A `docker` that is a script is run as such, even with a buildx plugin binary where
/// docker looks for one: the plugin is started directly only for the real Docker CLI.
#[test]
fn a_docker_script_is_never_bypassed_for_its_plugin() {
    let p = project();
    let bin = tempfile::tempdir().unwrap();
    fake_docker(
        bin.path(),
        &format!(
            "echo \"$@\" >> \"{log}\"\ncase \"$2\" in\n  version) echo 'github.com/docker/buildx v0.13.1 abc';;\n  inspect) printf 'Name: default\\nDriver: docker\\n';;\n  build) exit 7;;\nesac",
            log = bin.path().join("calls").display()
        ),
    );
    // An ELF where docker looks for its plugins ($HOME/.docker/cli-plugins): if it
    // were started instead of the script, the build would fail without a call logged.
    let plugins = p.path().join(".docker/cli-plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy("/bin/false", plugins.join("docker-buildx")).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let (code, text) = push(p.path(), Path::new(&path));
    assert_eq!(code, 3, "{text}");
    let calls = std::fs::read_to_string(bin.path().join("calls")).unwrap();
    assert!(
        calls.lines().any(|l| l.starts_with("buildx build ")),
        "{calls}"
    );
}

/// A docker whose build fails at a step (the fixture's rawjson), for the output modes.
fn failing_docker(bin: &Path) {
    let fixture = format!(
        "{}/tests/fixtures/buildx/failing-run.rawjson",
        env!("CARGO_MANIFEST_DIR")
    );
    fake_docker(
        bin,
        &format!(
            "case \"$2\" in\n  version) echo 'github.com/docker/buildx v0.13.1 abc';;\n  inspect) printf 'Name: default\\nDriver: docker\\n';;\n  build) cat \"{fixture}\" >&2; exit 1;;\nesac"
        ),
    );
}

fn run_with(project: &Path, bin: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("mpbuild")
        .unwrap()
        .current_dir(project)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", project)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn quiet_prints_errors_only() {
    let p = project();
    let bin = tempfile::tempdir().unwrap();
    failing_docker(bin.path());
    // The default (plain lines off a terminal): progress lines.
    let (code, _, stderr) = run_with(p.path(), bin.path(), &["push"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("[app] "), "{stderr}");
    // -q: the error and what it left untouched, nothing else.
    let (code, stdout, stderr) = run_with(p.path(), bin.path(), &["-q", "push"]);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(stdout, "");
    assert!(!stderr.contains("[app] "), "{stderr}");
    assert!(!stderr.contains("builder `default`"), "{stderr}");
    assert!(
        stderr.contains("error: build of image `app` failed"),
        "{stderr}"
    );
    assert!(stderr.contains("no tag moved"), "{stderr}");
    // --progress quiet: no progress either.
    let (_, _, stderr) = run_with(p.path(), bin.path(), &["push", "--progress", "quiet"]);
    assert!(!stderr.contains("[app] "), "{stderr}");
    assert!(
        stderr.contains("error: build of image `app` failed"),
        "{stderr}"
    );
    // -q with --format json: the document is still printed.
    let (_, stdout, _) = run_with(p.path(), bin.path(), &["-q", "push", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["exit_code"], 3);
    // --color never: plain lines, no escape codes; always: a coloured label.
    let (_, _, stderr) = run_with(p.path(), bin.path(), &["--color", "never", "push"]);
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    let (_, _, stderr) = run_with(p.path(), bin.path(), &["--color", "always", "push"]);
    assert!(
        stderr.contains("\u{1b}[1;31merror\u{1b}[0m: build of image"),
        "{stderr}"
    );
}

#[test]
fn quiet_doctor_shows_only_failures() {
    let p = project();
    let empty = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_with(p.path(), empty.path(), &["doctor", "-q"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.starts_with("FAIL  docker CLI"), "{stderr}");
    assert!(!stderr.contains("ok  "), "{stderr}");
}

#[test]
fn color_in_help_follows_the_flag() {
    let p = project();
    let empty = tempfile::tempdir().unwrap();
    let (_, always, _) = run_with(p.path(), empty.path(), &["--color", "always", "--help"]);
    assert!(always.contains('\u{1b}'), "{always}");
    let (_, never, _) = run_with(p.path(), empty.path(), &["--color=never", "push", "--help"]);
    assert!(!never.contains('\u{1b}'), "{never}");
    let (_, auto, _) = run_with(p.path(), empty.path(), &["--help"]);
    assert!(!auto.contains('\u{1b}'), "not a terminal: {auto}");
}

/// Issue 24, bug 2: a destination where nothing listens stops the push before buildx
/// is started, in about a second, with exit 4 and the request that failed.
#[test]
fn an_unreachable_registry_stops_the_push_before_the_build() {
    let p = project_at("127.0.0.1:1");
    let bin = tempfile::tempdir().unwrap();
    fake_docker(
        bin.path(),
        &format!(
            "echo \"$@\" >> \"{log}\"\ncase \"$2\" in\n  version) echo 'github.com/docker/buildx v0.13.1 abc';;\n  inspect) printf 'Name: default\\nDriver: docker\\n';;\n  build) exit 1;;\nesac",
            log = bin.path().join("calls").display()
        ),
    );
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = run_with(p.path(), bin.path(), &["push", "--format", "json"]);
    let took = started.elapsed();
    assert_eq!(code, 4, "{stderr}");
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    let calls = std::fs::read_to_string(bin.path().join("calls")).unwrap_or_default();
    assert!(!calls.contains("buildx build"), "buildx built: {calls}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(doc["failure"]["stage"], "preflight", "{doc}");
    assert_eq!(doc["exit_code"], 4, "{doc}");
    assert!(
        stderr.contains("POST http://127.0.0.1:1/v2/app/blobs/uploads/")
            && stderr.contains("is 127.0.0.1:1 reachable from here?"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no tag moved; 127.0.0.1:1/app:latest stays where it was"),
        "{stderr}"
    );
}

/// `repositories:`: the dry run shows the copy to each other repository, its
/// verification there, and every tag that would move in each repository.
#[test]
fn dry_run_lists_every_repository_and_the_tags_that_would_move_there() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        "version: 1\nimages:\n  app:\n    repositories:\n      - 127.0.0.1:1/app\n      - 127.0.0.1:1/mirror/app\n      - ghcr.io/acme/app\n    tags: [latest, v1]\n    targets:\n      - service: apprunner\n      - service: lambda\n        arch: arm64\n        tag: v1-lambda\n",
    )
    .unwrap();
    let out = Command::cargo_bin("mpbuild")
        .unwrap()
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", "/nonexistent")
        .env("HOME", dir.path())
        .env("MPBUILD_WORK_DIR", dir.path().join(".work"))
        .args(["push", "--dry-run"])
        .output()
        .unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{t}");
    insta::assert_snapshot!(t.replace(&dir.path().display().to_string(), "[TMP]"));
}
