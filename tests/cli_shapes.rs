//! Arguments and files of the wrong shape: a context that reads as a buildx option, a
//! smoke `--env` key that would write a line into the generated Dockerfile, `init`
//! through a dangling link, a tag that is `plan`'s placeholder, a NUL or a `!!binary`
//! value in mpbuild.yaml, merge records with a bad platform or digest. Each is exit 2
//! naming where; nothing runs.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mpbuild(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mpbuild"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .args(args);
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    mpbuild(dir, args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A project whose one image `app` has `extra` (YAML lines, indented 4) added.
fn project(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        format!(
            "version: 1\nimages:\n  app:\n    repository: 127.0.0.1:9/app\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n{extra}"
        ),
    )
    .unwrap();
    dir
}

fn assert_refused(out: &Output, first_line: &str, at: &str) {
    let t = text(out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    let mut lines = t.lines();
    assert_eq!(lines.next(), Some(first_line), "{t}");
    assert_eq!(lines.next(), Some(at), "{t}");
}

#[test]
fn a_context_that_reads_as_an_option_is_refused_at_its_line() {
    let dir = project("    context: --output=type=local,dest=out\n");
    std::fs::create_dir(dir.path().join("--output=type=local,dest=out")).unwrap();
    for cmd in ["plan", "push"] {
        assert_refused(
            &run(dir.path(), &[cmd]),
            "error: image `app`: build context `--output=type=local,dest=out` starts with `-`, which buildx would read as an option",
            " --> mpbuild.yaml:7:14",
        );
    }
    let dir = project("    dockerfile: \"-\"\n");
    assert_refused(
        &run(dir.path(), &["plan"]),
        "error: image `app`: Dockerfile `-` starts with `-`, which buildx would read as an option",
        " --> mpbuild.yaml:7:17",
    );
}

#[test]
fn the_context_is_passed_after_the_end_of_options() {
    // Written as `./…`, the directory is a context like any other, and buildx gets it
    // after `--` (so no spelling of it can be an option).
    let dir = project("    context: ./--output=type=local,dest=out\n");
    // A destination that takes writes: push checks it before it builds.
    let yaml = dir.path().join("mpbuild.yaml");
    let written = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(
        &yaml,
        written.replace("127.0.0.1:9", &common::writable_registry::addr()),
    )
    .unwrap();
    let ctx = dir.path().join("--output=type=local,dest=out");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM scratch\n").unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let argv = dir.path().join("argv");
    std::fs::write(
        bin.join("docker"),
        format!(
            "#!/bin/sh\ncase \"$2\" in\n  version) echo 'github.com/docker/buildx v0.13.1 abc';;\n  inspect) printf 'Name: default\\nDriver: docker\\n';;\n  build) printf '%s\\n' \"$@\" > \"{}\"; exit 1;;\nesac\n",
            argv.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("docker"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = mpbuild(dir.path(), &["push", "--progress", "plain"])
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let args: Vec<String> = std::fs::read_to_string(&argv)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        args[args.len() - 2..],
        ["--", "./--output=type=local,dest=out"],
        "{args:?}"
    );
}

#[test]
fn a_smoke_env_key_must_be_a_variable_name() {
    let dir = tempfile::tempdir().unwrap();
    let reference = format!("127.0.0.1:9/app@sha256:{}", "a".repeat(64));
    for (kv, shown) in [
        (
            "A\nRUN touch /pwned\nENV B=1",
            "A\\nRUN touch /pwned\\nENV B",
        ),
        ("1X=1", "1X"),
        ("MPBUILD_SMOKE_NONCE=1", "MPBUILD_SMOKE_NONCE"),
    ] {
        let out = run(
            dir.path(),
            &["smoke", &reference, "--env", kv, "--", "true"],
        );
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(
            t.starts_with(&format!(
                "error: --env `{}`: `{shown}` is not a variable name",
                kv.escape_debug()
            )),
            "{t}"
        );
    }
}

#[test]
fn init_never_writes_through_a_dangling_link() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("project");
    std::fs::create_dir(&project).unwrap();
    let outside = dir.path().join("outside.yaml");
    std::os::unix::fs::symlink(&outside, project.join("mpbuild.yaml")).unwrap();
    let out = run(&project, &["init", "--service", "apprunner"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.starts_with(&format!(
            "error: mpbuild.yaml is a symlink (to {}); mpbuild init never writes through a link",
            outside.display()
        )),
        "{t}"
    );
    assert!(!outside.exists(), "written outside the project");
}

#[test]
fn plans_placeholder_is_no_tag() {
    let dir = project("");
    let yaml = std::fs::read_to_string(dir.path().join("mpbuild.yaml"))
        .unwrap()
        .replace("tags: [latest]", "tags: [\"<GIT_SHA unset>\"]");
    std::fs::write(dir.path().join("mpbuild.yaml"), yaml).unwrap();
    let out = run(dir.path(), &["push", "--dry-run"]);
    assert_refused(
        &out,
        "error: `<GIT_SHA unset>` is not a valid tag",
        " --> mpbuild.yaml:5:12",
    );
    assert!(
        text(&out).contains("= help: `<GIT_SHA unset>` is how `mpbuild plan` shows an unset `${GIT_SHA}`: write `${GIT_SHA}` and set GIT_SHA"),
        "{}",
        text(&out)
    );
    // A variable holding it is no tag either.
    let dir = project("");
    let yaml = std::fs::read_to_string(dir.path().join("mpbuild.yaml"))
        .unwrap()
        .replace("tags: [latest]", "tags: [\"${GIT_SHA}\"]");
    std::fs::write(dir.path().join("mpbuild.yaml"), yaml).unwrap();
    let out = mpbuild(dir.path(), &["push", "--dry-run"])
        .env("GIT_SHA", "<GIT_SHA unset>")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn a_nul_in_a_build_argument_is_refused_at_its_place() {
    let dir = project("    build_args: {BASE: \"alpine\\0--evil\"}\n");
    assert_refused(
        &run(dir.path(), &["plan"]),
        "error: `alpine\\0--evil` holds a NUL character",
        " --> mpbuild.yaml:7:24",
    );
}

#[test]
fn tagged_values_are_refused_at_their_place() {
    for (value, tag, col) in [
        ("!!binary MTI3LjAuMC4xOjUwMDAvYQ==", "!!binary", 26),
        ("!Ref Repo", "!Ref", 22),
    ] {
        let dir = project("");
        let yaml = std::fs::read_to_string(dir.path().join("mpbuild.yaml"))
            .unwrap()
            .replace(
                "repository: 127.0.0.1:9/app",
                &format!("repository: {value}"),
            );
        std::fs::write(dir.path().join("mpbuild.yaml"), yaml).unwrap();
        assert_refused(
            &run(dir.path(), &["plan"]),
            &format!(
                "error: the YAML tag `{tag}` is not taken here: mpbuild.yaml holds plain values"
            ),
            &format!(" --> mpbuild.yaml:4:{col}"),
        );
    }
}

fn record(platform: &str, leg_digest: &str) -> serde_json::Value {
    serde_json::json!({
        "schema_version": 1,
        "image": "app",
        "repository": "127.0.0.1:9/app",
        "platform": platform,
        "digest": format!("sha256:{}", "a".repeat(64)),
        "media_type": "application/vnd.oci.image.manifest.v1+json",
        "leg_digest": leg_digest,
        "fingerprint": format!("sha256:{}", "c".repeat(64)),
        "source_commit": null,
        "builder": "default (docker)",
        "time": "2026-11-28T01:25:39Z",
    })
}

#[test]
fn merge_records_with_a_bad_platform_or_digest_are_refused_naming_file_and_field() {
    let good_digest = format!("sha256:{}", "b".repeat(64));
    for (rec, field) in [
        (record("linux/amd64/v8/x", &good_digest), "platform"),
        (record("linux/amd64", "latest"), "leg_digest"),
    ] {
        let dir = project("");
        let legs = dir.path().join("legs");
        std::fs::create_dir(&legs).unwrap();
        let file: PathBuf = legs.join("app@linux-amd64.json");
        std::fs::write(&file, rec.to_string()).unwrap();
        let out = run(dir.path(), &["merge", "--digests-dir", "legs"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{t}");
        assert!(
            t.starts_with(&format!(
                "error: legs/app@linux-amd64.json: field `{field}`: "
            )),
            "{t}"
        );
    }
}
