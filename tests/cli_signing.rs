//! Signing's paths that need no registry: what `plan` and `push --dry-run` say will be
//! signed and with what, and the gate's usage errors.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;

fn project(sign: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        format!(
            "version: 1\n{sign}images:\n  app:\n    repository: 127.0.0.1:1/app\n    tags: [latest]\n    targets:\n      - service: apprunner\n      - service: lambda\n        arch: arm64\n        tag: v1-lambda\n"
        ),
    )
    .unwrap();
    dir
}

fn mpbuild(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("mpbuild")
        .unwrap()
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/nonexistent")
        .env("HOME", dir)
        .env("MPBUILD_WORK_DIR", dir.join(".work"))
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn plan_and_dry_run_show_what_would_be_signed_with_which_key() {
    let dir = project("sign: {key: cosign.key, password_env: RELEASE_KEY_PW}\n");
    let out = mpbuild(dir.path(), &["plan"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("  sign          the index, linux/amd64, linux/arm64, tag v1-lambda's manifest before a tag moves, with key ./cosign.key (password from $RELEASE_KEY_PW; no transparency log) (and the verification record attested on each)\n"),
        "{t}"
    );
    let out = mpbuild(dir.path(), &["plan", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["images"][0]["sign"],
        serde_json::json!({"kind": "key", "path": "./cosign.key", "password_env": "RELEASE_KEY_PW"})
    );
    let out = mpbuild(dir.path(), &["push", "--dry-run"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("# sign 127.0.0.1:1/app: the index, linux/amd64, linux/arm64, tag v1-lambda's manifest before a tag moves, with key ./cosign.key"),
        "{t}"
    );
    // Unsigned: nothing said.
    let dir = project("");
    let t = text(&mpbuild(dir.path(), &["plan"]));
    assert!(!t.contains("  sign "), "{t}");
}

#[test]
fn the_gate_refuses_a_key_file_that_is_not_there_and_half_a_keyless_identity() {
    let dir = project("");
    let out = mpbuild(
        dir.path(),
        &[
            "verify",
            "127.0.0.1:1/app:latest",
            "--platform",
            "linux/amd64",
            "--signed-by",
            "missing.pub",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("--signed-by missing.pub: no such file"), "{t}");
    let out = mpbuild(
        dir.path(),
        &[
            "verify",
            "127.0.0.1:1/app:latest",
            "--platform",
            "linux/amd64",
            "--certificate-identity",
            "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("--certificate-oidc-issuer"), "{t}");
    // A key file but no platform to require it on.
    std::fs::write(dir.path().join("cosign.pub"), "x").unwrap();
    let out = mpbuild(
        dir.path(),
        &[
            "verify",
            "127.0.0.1:1/app:latest",
            "--require-record",
            "--signed-by",
            "cosign.pub",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("--signed-by needs --target or --platform"),
        "{t}"
    );
    // cosign missing from PATH: exit 3 saying how to install it.
    let out = mpbuild(
        dir.path(),
        &[
            "verify",
            "127.0.0.1:1/app:latest",
            "--platform",
            "linux/amd64",
            "--signed-by",
            "cosign.pub",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("cosign is not on PATH"), "{t}");
    assert!(t.contains("apt-get install cosign"), "{t}");
}
