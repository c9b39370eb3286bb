//! Issue 24's README promises about JSON documents, without the stack: every command's
//! document starts `schema_version`, `command`, `result`, `exit_code` (in that order,
//! the exit code the process's), and `push`/`merge` write `--metadata-file` on a
//! config error (exit 2) too.

use std::path::Path;
use std::process::Output;

mod common;

use common::cli::mpbuild_own_dirs as mpbuild;

fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("mpbuild.yaml"), yaml).unwrap();
    dir
}

const APP: &str = "version: 1\nimages:\n  app:\n    repository: 127.0.0.1:1/app\n    tags: [latest]\n    targets: [{service: apprunner}, {service: ecs-fargate, arch: arm64}]\n";

/// A project whose tag names a variable nobody set: a config error (exit 2).
const UNSET: &str = "version: 1\nimages:\n  app:\n    repository: 127.0.0.1:1/app\n    tags: [\"${MPBUILD_TEST_NEVER_SET}\"]\n    targets: [{service: apprunner}]\n";

/// The document's top-level keys in the order printed (a pretty document's lines that
/// open a key at depth one).
fn top_keys(doc: &str) -> Vec<String> {
    doc.lines()
        .filter_map(|l| l.strip_prefix("  \""))
        .filter_map(|l| l.split_once('"').map(|(k, _)| k.to_string()))
        .collect()
}

/// Checks the head of `out`'s document: the four keys first, `command`, and the
/// process's exit code in `exit_code`.
fn assert_head(out: &Output, command: &str, args: &[&str]) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let keys = top_keys(&stdout);
    assert_eq!(
        keys.iter().take(4).collect::<Vec<_>>(),
        ["schema_version", "command", "result", "exit_code"],
        "{args:?}: {stdout}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one document ({e}): {stdout}"));
    assert_eq!(v["schema_version"], 1, "{args:?}: {v}");
    assert_eq!(v["command"], command, "{args:?}: {v}");
    assert_eq!(
        v["exit_code"].as_i64(),
        out.status.code().map(i64::from),
        "{args:?}: {v}"
    );
    let result = v["result"].as_str().unwrap_or_default();
    assert!(["ok", "failed", "error"].contains(&result), "{args:?}: {v}");
    assert_eq!(result == "ok", out.status.success(), "{args:?}: {v}");
    v
}

#[test]
fn every_document_starts_with_schema_version_command_result_exit_code() {
    let dir = project(APP);
    let broken = project(UNSET);
    let empty = tempfile::tempdir().unwrap();
    let json = ["--format", "json"];
    let runs: Vec<(&Path, &str, Vec<&str>)> = vec![
        (dir.path(), "plan", vec!["plan"]),
        (dir.path(), "targets", vec!["targets"]),
        (dir.path(), "build", vec!["build", "--dry-run"]),
        (dir.path(), "version", vec!["version"]),
        // No docker on its PATH: doctor fails (exit 1) and prints its document.
        (dir.path(), "doctor", vec!["doctor"]),
        // Documents of runs that failed before they had a report (exit 4, 2).
        (
            dir.path(),
            "verify",
            vec![
                "verify",
                "127.0.0.1:1/app:latest",
                "--platform",
                "linux/amd64",
            ],
        ),
        (
            dir.path(),
            "mirror",
            vec![
                "mirror",
                "127.0.0.1:1/app:latest",
                "127.0.0.1:1/copy:latest",
                "--all",
            ],
        ),
        (broken.path(), "push", vec!["push"]),
        (broken.path(), "merge", vec!["merge", "--digests-dir", "d"]),
    ];
    for (cwd, command, mut args) in runs {
        args.extend(json);
        let mut cmd = mpbuild(cwd);
        if command == "doctor" {
            cmd.env("PATH", empty.path());
        }
        let out = cmd.args(&args).output().unwrap();
        assert_head(&out, command, &args);
    }
}

#[test]
fn push_and_merge_write_the_metadata_file_on_a_config_error_too() {
    let dir = project(UNSET);
    for args in [
        vec!["push", "--metadata-file", "meta.json"],
        vec![
            "merge",
            "--digests-dir",
            "d",
            "--metadata-file",
            "meta.json",
        ],
    ] {
        let file = dir.path().join("meta.json");
        let _ = std::fs::remove_file(&file);
        let out = mpbuild(dir.path()).args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        // Text on the terminal, the document in the file.
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{args:?}");
        let doc = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{args:?}: no metadata file ({e}): {stderr}"));
        assert_eq!(
            top_keys(&doc).iter().take(4).collect::<Vec<_>>(),
            ["schema_version", "command", "result", "exit_code"],
            "{doc}"
        );
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["command"], args[0], "{v}");
        assert_eq!(v["result"], "error", "{v}");
        assert_eq!(v["exit_code"], 2, "{v}");
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .contains("MPBUILD_TEST_NEVER_SET"),
            "{v}"
        );
    }
}

/// README's commands table names every option of every command (it left out
/// `verify --image`, which the examples' Makefile uses): each subcommand's long
/// options, globals aside, appear in the first cell of a row for that command.
#[test]
fn the_commands_table_names_every_option() {
    use clap::CommandFactory;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## Commands\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Commands section");
    // Options several commands share are named once, in the paragraph after the table:
    // a sentence there naming the option and `COMMAND` counts.
    let shared: Vec<&str> = section
        .split("Global options:")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .unwrap_or_default()
        .split(". ")
        .collect();
    // The command cells: the first backticked cell of each row that starts `mpbuild`.
    let cells: Vec<&str> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `mpbuild "))
        .filter_map(|l| l.split(" | ").next())
        .collect();
    let mut missing = Vec::new();
    let cli = mpbuild::cli::Cli::command();
    for sub in cli.get_subcommands() {
        let name = sub.get_name();
        let rows: Vec<&&str> = cells
            .iter()
            .filter(|c| c.starts_with(name) && c[name.len()..].starts_with([' ', '`']))
            .collect();
        assert!(!rows.is_empty(), "no row for `mpbuild {name}`");
        let nested: Vec<&clap::Command> =
            std::iter::once(sub).chain(sub.get_subcommands()).collect();
        for c in nested {
            for arg in c.get_arguments() {
                let Some(long) = arg.get_long() else { continue };
                if arg.is_global_set() || arg.is_hide_set() || long == "help" {
                    continue;
                }
                let flag = format!("--{long}");
                let named = rows.iter().any(|r| {
                    r.match_indices(&flag).any(|(i, _)| {
                        !r[i + flag.len()..]
                            .starts_with(|ch: char| ch.is_ascii_alphanumeric() || ch == '-')
                    })
                });
                let named = named
                    || shared
                        .iter()
                        .any(|s| s.contains(&flag) && s.contains(&format!("`{name}`")));
                if !named {
                    missing.push(format!("mpbuild {} {flag}", c.get_name()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in README's commands table: {missing:?}"
    );
}
