//! One spelling for mpbuild's own labels (`error:`, as cargo and clap), on the main
//! error paths: an error reaching main's edge, clap's usage errors, a registry error, and
//! a tool's failure, whose own `ERROR:`/`Error:` is quoted under mpbuild's `error:` line
//! (`    | …`), never left where it reads as mpbuild's label. Snapshots of what the user
//! reads; a fake `docker` on PATH for the buildx paths.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;

mod common;

fn project(dir: &Path, registry: &str) {
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.join("mpbuild.yaml"),
        format!("version: 1\nimages:\n  app:\n    repository: {registry}/app\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n"),
    )
    .unwrap();
}

/// A `docker` whose `buildx version` answers and whose other calls run `script`.
fn fake_docker(dir: &Path, script: &str) {
    let p = dir.join("docker");
    std::fs::write(
        &p,
        format!("#!/bin/sh\nif [ \"$1 $2\" = 'buildx version' ]; then echo 'github.com/docker/buildx v0.13.1 abc'; exit 0; fi\n{script}\n"),
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// exit code and stderr, with the registry's address and temp dirs replaced.
fn run(dir: &Path, path: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("mpbuild")
        .unwrap()
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", dir)
        .env("MPBUILD_WORK_DIR", dir.join(".work"))
        .env("MPBUILD_HOST_PLATFORM", "linux/amd64")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr)
        .replace(&common::writable_registry::addr(), "[REGISTRY]")
        .replace(&dir.display().to_string(), "[DIR]");
    format!("exit: {}\n{stderr}", out.status.code().unwrap_or(-1))
}

/// mpbuild's label is `error:`; a tool's own label appears only quoted (`    | `).
fn one_spelling(name: &str, text: &str) {
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("error: ")),
        "{name}: no `error:` line:\n{text}"
    );
    for l in lines.iter().filter(|l| !l.trim_start().starts_with("| ")) {
        let label = l.trim_start().split(':').next().unwrap_or_default();
        assert!(
            !["Error", "ERROR", "Warning", "WARNING"].contains(&label),
            "{name}: `{label}:` outside a quote:\n{text}"
        );
        assert!(
            !l.contains(": ERROR: ") && !l.contains(": Error: "),
            "{name}: a tool's label inside mpbuild's line:\n{text}"
        );
    }
}

#[test]
fn errors_at_mains_edge_from_clap_and_from_a_registry() {
    let dir = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 4] = [
        ("no_project_file", &["plan"]),
        ("clap_unknown_option", &["plan", "--bogus"]),
        ("clap_bad_value", &["push", "--format", "xml"]),
        (
            "registry_unreachable",
            &["verify", "127.0.0.1:1/app:v1", "--platform", "linux/amd64"],
        ),
    ];
    for (name, args) in cases {
        let text = run(dir.path(), empty.path(), args);
        one_spelling(name, &text);
        insta::assert_snapshot!(name, text);
    }
}

#[test]
fn a_tools_own_error_is_quoted_under_mpbuilds() {
    let registry = common::writable_registry::addr();
    let dir = tempfile::tempdir().unwrap();
    project(dir.path(), &registry);
    let bin = tempfile::tempdir().unwrap();
    fake_docker(
        bin.path(),
        "echo 'ERROR: no builder \"nope\" found' >&2; exit 1",
    );
    let text = run(dir.path(), bin.path(), &["push", "--builder", "nope"]);
    one_spelling("buildx_inspect", &text);
    insta::assert_snapshot!("buildx_inspect_refused", text);

    let missing = tempfile::tempdir().unwrap();
    let p = missing.path().join("docker");
    std::fs::write(
        &p,
        "#!/bin/sh\necho \"docker: 'buildx' is not a docker command.\" >&2\necho \"See 'docker --help'\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = run(dir.path(), missing.path(), &["push"]);
    one_spelling("buildx_missing", &text);
    insta::assert_snapshot!("buildx_missing", text);
}
