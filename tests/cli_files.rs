//! Hostile files named by `-f` and `from:`: devices, FIFOs, oversized files and symlink
//! loops. Each must be refused at once with a config error (exit 2) naming the file,
//! never read without bound or waited on. The built binary, no Docker.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// Far above what a refusal takes, far below a hang or a read of /dev/zero.
const QUICK: Duration = Duration::from_secs(5);

/// `common::cli::mpbuild` with a hang killed, so a regression fails instead of blocking
/// the suite.
fn mpbuild(dir: &Path) -> Command {
    let mut cmd = common::cli::mpbuild(dir);
    cmd.timeout(Duration::from_secs(20));
    cmd
}

/// Runs `mpbuild ARGS` in `dir`; asserts exit 2 within [`QUICK`] and returns stderr.
fn refused(dir: &Path, args: &[&str]) -> String {
    let start = Instant::now();
    let out: Output = mpbuild(dir).args(args).output().unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "mpbuild {args:?} should exit 2 (after {took:?}); stderr:\n{stderr}"
    );
    assert!(
        took < QUICK,
        "mpbuild {args:?} took {took:?}; stderr:\n{stderr}"
    );
    stderr
}

fn mkfifo(path: &Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo");
    assert!(st.success(), "mkfifo {}", path.display());
}

const FROM_DEPLOY: &str = "version: 1\nimages:\n  app:\n    repository: 123456789012.dkr.ecr.us-east-1.amazonaws.com/app\n    tags: [latest]\n    targets:\n      - from: deploy\n";

const TASK: &str = r#"{"family": "app", "requiresCompatibilities": ["FARGATE"], "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"}, "containerDefinitions": [{"name": "app", "image": "app"}]}"#;

/// A project whose only target is `from: deploy` (a directory holding one ECS task).
fn from_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("mpbuild.yaml"), FROM_DEPLOY).unwrap();
    std::fs::create_dir_all(dir.path().join("deploy/ecs")).unwrap();
    std::fs::write(dir.path().join("deploy/ecs/task.json"), TASK).unwrap();
    dir
}

#[test]
fn project_file_dev_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = refused(dir.path(), &["-f", "/dev/zero", "plan"]);
    assert!(
        err.contains("cannot read /dev/zero: a character device, not a regular file"),
        "{err}"
    );
}

#[test]
fn project_file_fifo_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("mpbuild.yaml"));
    let err = refused(dir.path(), &["-f", "mpbuild.yaml", "plan"]);
    assert!(
        err.contains("cannot read mpbuild.yaml: a FIFO (named pipe), not a regular file"),
        "{err}"
    );
}

#[test]
fn project_file_over_8_mib_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    let mut text = String::from("version: 1\n");
    text.push_str(&"#".repeat(8 * 1024 * 1024));
    std::fs::write(&big, text).unwrap();
    let err = refused(dir.path(), &["-f", "big.yaml", "plan"]);
    assert!(
        err.contains("cannot read big.yaml: 8.0 MiB, more than the 8.0 MiB mpbuild reads"),
        "{err}"
    );
}

#[test]
fn project_file_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = refused(dir.path(), &["-f", ".", "plan"]);
    assert!(
        err.contains("cannot read .: a directory, not a regular file"),
        "{err}"
    );
}

#[test]
fn from_directory_reads_its_files() {
    // The baseline the cases below break: the same project plans.
    let dir = from_project();
    let out = mpbuild(dir.path()).arg("plan").output().unwrap();
    let all =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(all.matches("deploy/ecs/task.json").count(), 1, "{all}");
}

#[test]
fn from_directory_symlink_loop_is_refused() {
    let dir = from_project();
    std::os::unix::fs::symlink("..", dir.path().join("deploy/ecs/loop")).unwrap();
    let err = refused(dir.path(), &["plan"]);
    assert!(
        err.contains("deploy/ecs/loop is a symlink to a directory, which mpbuild does not follow"),
        "{err}"
    );
    assert!(
        err.contains("mpbuild.yaml:7"),
        "names the from: line: {err}"
    );
}

#[test]
fn from_fifo_is_refused() {
    let dir = from_project();
    mkfifo(&dir.path().join("deploy/ecs/service.yaml"));
    let err = refused(dir.path(), &["plan"]);
    assert!(
        err.contains(
            "cannot read deploy/ecs/service.yaml: a FIFO (named pipe), not a regular file"
        ),
        "{err}"
    );
}

#[test]
fn from_symlink_to_dev_zero_is_refused() {
    let dir = from_project();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("deploy/zero.yaml")).unwrap();
    let err = refused(dir.path(), &["plan"]);
    assert!(
        err.contains("cannot read deploy/zero.yaml: a character device, not a regular file"),
        "{err}"
    );
}

#[test]
fn from_file_over_8_mib_is_refused() {
    let dir = from_project();
    let mut text = String::from(TASK);
    text.push_str(&" ".repeat(8 * 1024 * 1024));
    std::fs::write(dir.path().join("deploy/ecs/task.json"), text).unwrap();
    let err = refused(dir.path(), &["plan"]);
    assert!(
        err.contains("cannot read deploy/ecs/task.json: 8.0 MiB, more than the 8.0 MiB"),
        "{err}"
    );
}
