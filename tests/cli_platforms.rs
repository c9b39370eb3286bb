//! Platforms are validated wherever they enter — mpbuild.yaml, deployment files read
//! through `from:`, flags — with an error naming where (file:line:col, or the flag) and
//! what is valid, exit 2: a comma (`linux/amd64/v2,riscv64` would be one platform in
//! the plan and two in buildx), a space or a control character in a part, an OS no
//! container image has (`darwin/arm64`), an unknown variant.

use std::path::Path;

use assert_cmd::Command;

fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::cargo_bin("mpbuild")
        .unwrap()
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DOCKER_CONFIG", dir)
        .env("MPBUILD_REQUEST_TIMEOUT", "5")
        .args(args)
        .output()
        .unwrap();
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn image(targets: &str) -> String {
    format!(
        "version: 1\ncluster_archs: [amd64]\nimages:\n  app:\n    repository: r.invalid/app\n    tags: [latest]\n    targets:\n{targets}"
    )
}

#[test]
fn platforms_in_files_are_refused_where_they_are_written() {
    let compose = "services:\n  web:\n    image: r.invalid/app:latest\n    platform: linux/amd64/v2,riscv64\n";
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  nodeSelector:\n    kubernetes.io/os: darwin\n  containers:\n    - name: web\n      image: r.invalid/app:latest\n";
    let cases = [
        (
            "comma_in_a_target",
            image("      - platform: \"linux/amd64/v2,riscv64\"\n"),
        ),
        ("darwin_target", image("      - platform: darwin/arm64\n")),
        (
            "space_in_a_target",
            image("      - platform: \"linux/arm 64\"\n"),
        ),
        (
            "unknown_amd64_variant",
            image("      - platform: linux/amd64/v9\n"),
        ),
        ("comma_in_compose", image("      - from: compose.yaml\n")),
        ("darwin_in_kubernetes", image("      - from: pod.yaml\n")),
    ];
    for (name, yaml) in cases {
        let dir = project(&[
            ("mpbuild.yaml", &yaml),
            ("compose.yaml", compose),
            ("pod.yaml", pod),
        ]);
        let out = run(dir.path(), &["plan"]);
        assert!(out.starts_with("exit: 2\n"), "{name}: {out}");
        insta::assert_snapshot!(format!("platform_error_{name}"), out);
    }
}

#[test]
fn platforms_in_flags_are_refused_naming_the_flag() {
    let dir = project(&[("mpbuild.yaml", &image("      - platform: linux/amd64\n"))]);
    let cases: [(&str, &[&str]); 6] = [
        (
            "verify",
            &[
                "verify",
                "r.invalid/app:1",
                "--platform",
                "linux/amd64,linux/arm64",
            ],
        ),
        ("build", &["build", "--platform", "darwin/arm64"]),
        (
            "push_leg",
            &["push", "--platform", "darwin/arm64", "--digests-dir", "d"],
        ),
        (
            "mirror",
            &[
                "mirror",
                "r.invalid/a:1",
                "r.invalid/b:1",
                "--platform",
                "linux/amd64/v2,riscv64",
            ],
        ),
        (
            "smoke",
            &[
                "smoke",
                "r.invalid/a:1",
                "--platform",
                "linux/arm64\x1b[2K",
                "--",
                "true",
            ],
        ),
        (
            "verify_macos",
            &["verify", "r.invalid/app:1", "--platform", "macos/arm64"],
        ),
    ];
    for (name, args) in cases {
        let out = run(dir.path(), args);
        assert!(out.starts_with("exit: 2\n"), "{name}: {out}");
        assert!(out.contains("--platform "), "{name}: {out}");
        assert!(!out.contains('\x1b'), "{name}: {out}");
        insta::assert_snapshot!(format!("platform_flag_{name}"), out);
    }
}
