//! `--format json` without the stack: every document carries `schema_version`, `build
//! --dry-run`'s document, a document for a registry failure and a usage error, and
//! `builder status` with a fake docker.

mod common;

use std::path::Path;

use common::cli::{APP, json_of, mpbuild, project, text};

#[test]
fn every_json_document_carries_schema_version_1() {
    let dir = project(APP);
    let empty = tempfile::tempdir().unwrap();
    let runs: &[(&Path, &[&str])] = &[
        (dir.path(), &["plan", "--format", "json"]),
        (dir.path(), &["targets", "--format", "json"]),
        (dir.path(), &["build", "--dry-run", "--format", "json"]),
        // No docker on this PATH: doctor fails, and still prints its document.
        (dir.path(), &["doctor", "--format", "json"]),
    ];
    for (cwd, args) in runs {
        let mut cmd = mpbuild(cwd);
        if args[0] == "doctor" {
            cmd.env("PATH", empty.path());
        }
        let out = cmd.args(*args).output().unwrap();
        let v = json_of(&out);
        assert_eq!(v["schema_version"], 1, "{args:?}: {v}");
    }
}

#[test]
fn build_dry_run_as_json() {
    let dir = project(APP);
    let out = mpbuild(dir.path())
        .args([
            "build",
            "--dry-run",
            "--format",
            "json",
            "--target",
            "ecs-fargate:arm64",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let v = json_of(&out);
    assert_eq!(v["command"], "build");
    assert_eq!(v["dry_run"], true);
    let img = &v["images"][0];
    assert_eq!(img["name"], "api");
    assert_eq!(img["platforms"], serde_json::json!(["linux/arm64"]));
    assert!(
        img["argv"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--load")
    );
    // Issue 24, bug 4: a local name, never the deploy repository's tags.
    assert_eq!(
        img["loaded_as"],
        serde_json::json!(["localhost/api:linux-arm64"])
    );
    let argv: Vec<&str> = img["argv"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(
        argv.windows(2)
            .any(|w| w == ["--tag", "localhost/api:linux-arm64"]),
        "{argv:?}"
    );
    assert!(
        !argv.iter().any(|a| a.contains("amazonaws.com")),
        "no deploy tag: {argv:?}"
    );
}

#[test]
fn a_registry_failure_still_prints_a_json_document() {
    // Nothing listens on port 1: connection refused, retried, then exit 4.
    let dir = tempfile::tempdir().unwrap();
    let cases: &[&[&str]] = &[
        &[
            "verify",
            "127.0.0.1:1/app:latest",
            "--platform",
            "linux/amd64",
            "--format",
            "json",
        ],
        &[
            "mirror",
            "127.0.0.1:1/app:latest",
            "127.0.0.1:1/copy:latest",
            "--all",
            "--format",
            "json",
        ],
    ];
    for args in cases {
        let out = mpbuild(dir.path()).args(*args).output().unwrap();
        assert_eq!(out.status.code(), Some(4), "{args:?}: {}", text(&out));
        let v = json_of(&out);
        assert_eq!(v["schema_version"], 1, "{v}");
        assert_eq!(v["command"], args[0], "{v}");
        assert_eq!(v["result"], "error", "{v}");
        assert_eq!(v["exit_code"], 4, "{v}");
        assert!(v["error"].as_str().unwrap().contains("127.0.0.1:1"), "{v}");
        // The person still reads the error on stderr.
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("error:"),
            "{}",
            text(&out)
        );
    }
    // A usage error with --format json is a document too (exit 2).
    let out = mpbuild(dir.path())
        .args(["mirror", "a/b:c", "d/e:f", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(json_of(&out)["exit_code"], 2);
}

#[test]
fn builder_status_as_json_with_a_fake_docker() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project(&APP.replace(
        "images:",
        "builder:\n  name: native\n  nodes:\n    - platforms: [linux/amd64, linux/arm/v7]\n      endpoint: tcp://x86:1234\n    - platforms: [linux/arm64]\n      endpoint: tcp://arm:1234\nimages:",
    ));
    let bin = tempfile::tempdir().unwrap();
    let docker = bin.path().join("docker");
    std::fs::write(
        &docker,
        "#!/bin/sh\ncase \"$2\" in\n  version) echo 'github.com/docker/buildx v0.13.1 abc';;\n  inspect) printf 'Name: native\\nDriver: remote\\n\\nNodes:\\nName: native0\\nEndpoint: tcp://x86:1234\\nStatus: running\\n\\nName: native1\\nEndpoint: tcp://arm:1234\\nStatus: inactive\\n';;\nesac\n",
    )
    .unwrap();
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = mpbuild(dir.path())
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .args(["builder", "status", "--format", "json"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(3), "{v}");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["builder"], "native");
    assert_eq!(v["driver"], "remote");
    assert_eq!(v["ok"], false);
    let nodes = v["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2, "{v}");
    assert_eq!(
        nodes[0]["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm/v7"])
    );
    assert_eq!(nodes[0]["answers"], true, "{v}");
    assert_eq!(nodes[1]["answers"], false, "{v}");
}
