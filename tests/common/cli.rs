//! The CLI tests' way to run mpbuild without the stack: the built binary in a directory
//! of the test's with a fixed environment, what it printed as one text, a temp project,
//! and the documents they read (JSON on stdout, YAML, the project file's schema).

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The repository's root (examples, schema, README).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `mpbuild` with a fixed environment: an Apple Silicon host, a fixed GIT_SHA and work dir.
pub fn mpbuild(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mpbuild").unwrap();
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MPBUILD_HOST_PLATFORM", "linux/arm64")
        .env("MPBUILD_WORK_DIR", "/WORK")
        .env("GIT_SHA", "abc1234");
    cmd
}

/// `mpbuild` as above, with the Docker config and work directory inside `dir` and
/// registry requests given 5 s: for runs whose credentials or leftovers must be the
/// test's own, and whose unreachable registries must fail fast.
pub fn mpbuild_own_dirs(dir: &Path) -> Command {
    let mut cmd = mpbuild(dir);
    cmd.env("DOCKER_CONFIG", dir.join(".docker"))
        .env("MPBUILD_WORK_DIR", dir.join(".work"))
        .env("MPBUILD_REQUEST_TIMEOUT", "5");
    cmd
}

/// The exit code, stdout and stderr as one text (what the snapshots hold).
pub fn text(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `mpbuild ARGS` in `dir` as [`text`], the printed `cd PROJECT_DIR &&` as `cd [DIR] &&`.
pub fn run(dir: &Path, args: &[&str]) -> String {
    let out = mpbuild(dir).args(args).output().unwrap();
    // The printed commands start with `cd PROJECT_DIR &&`, an absolute path.
    let canonical = std::fs::canonicalize(dir).unwrap().display().to_string();
    text(&out).replace(&format!("cd {canonical} &&"), "cd [DIR] &&")
}

/// The stdout of `mpbuild ARGS` in `dir`, which must succeed.
pub fn stdout(dir: &Path, args: &[&str]) -> String {
    let out = mpbuild(dir).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// A temp project with a Dockerfile and the given mpbuild.yaml.
pub fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("mpbuild.yaml"), yaml).unwrap();
    dir
}

/// The example project: one image for App Runner, Fargate on arm64, Lambda (a
/// tag of its own), the local machine and a 32-bit Arm board (the plan unit tests read
/// the same file).
pub const APP: &str = include_str!("../fixtures/project/issue-example.yaml");

/// stdout as the one JSON document it must be.
pub fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", text(out)))
}

pub fn yaml_to_json(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap()
}

/// The committed JSON Schema of the project file.
pub fn schema_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schema/mpbuild.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema")
}
