//! `mpbuild push` error paths with a fake `docker` on PATH (argv and messages only; the
//! real pushes are in e2e_push.rs).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use assert_cmd::Command;

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        "version: 1\nimages:\n  app:\n    repository: 127.0.0.1:1/app\n    tags: [latest]\n    targets: [{service: apprunner}]\n",
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
        text.contains("no tag moved; 127.0.0.1:1/app:latest stay where they were"),
        "{text}"
    );
    let argv = std::fs::read_to_string(bin.path().join("argv")).unwrap();
    assert!(
        argv.starts_with("buildx build --platform linux/amd64 --file Dockerfile"),
        "{argv}"
    );
    assert!(argv.contains("--output type=oci,tar=false,dest="), "{argv}");
}
