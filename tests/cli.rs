//! CLI tests: the built binary, run in temp dirs, with snapshots of what the user reads.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `mpbuild` with a fixed environment: an Apple Silicon host, a fixed GIT_SHA and work dir.
fn mpbuild(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mpbuild").unwrap();
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MPBUILD_HOST_PLATFORM", "linux/arm64")
        .env("MPBUILD_WORK_DIR", "/WORK")
        .env("GIT_SHA", "abc1234");
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(dir: &Path, args: &[&str]) -> String {
    let out = mpbuild(dir).args(args).output().unwrap();
    text(&out)
}

/// A temp project with a Dockerfile and the given mpbuild.yaml.
fn project(yaml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(dir.path().join("mpbuild.yaml"), yaml).unwrap();
    dir
}

const APP: &str = r#"version: 1
images:
  api:
    repository: 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api
    tags: [latest, "${GIT_SHA}"]
    build_args: {RUST_VERSION: "1.83"}
    targets:
      - service: apprunner
      - service: ecs-fargate
        arch: arm64
      - service: lambda
        arch: arm64
        tag: "${GIT_SHA}-lambda"
      - service: local
      - platform: linux/arm/v7
"#;

#[test]
fn help_lists_commands_and_exit_codes() {
    insta::assert_snapshot!(run(&repo(), &["--help"]));
}

#[test]
fn example_plans() {
    for example in [
        "hello",
        "ecs",
        "lambda",
        "raspberry-pi",
        "monorepo",
        "native-builders",
    ] {
        let dir = repo().join("examples").join(example);
        insta::assert_snapshot!(format!("plan_{example}"), run(&dir, &["plan"]));
    }
}

#[test]
fn example_plan_json_for_the_monorepo() {
    let dir = repo().join("examples/monorepo");
    let out = mpbuild(&dir)
        .args(["plan", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    insta::assert_json_snapshot!(v);
}

#[test]
fn plan_of_the_issue_example() {
    let dir = project(APP);
    insta::assert_snapshot!(run(dir.path(), &["plan"]));
    let out = mpbuild(dir.path())
        .args(["plan", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let img = &v["images"][0];
    assert_eq!(
        img["platforms"],
        serde_json::json!(["linux/amd64", "linux/arm64", "linux/arm/v7"])
    );
    assert_eq!(img["targets"][2]["manifest"], "single");
    assert_eq!(img["targets"][2]["tag"], "abc1234-lambda");
    assert_eq!(img["targets"][0]["manifest"], "index");
    assert!(
        img["command"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--platform")
    );
}

#[test]
fn plan_for_push_by_digest_builders() {
    let dir = project(APP);
    insta::assert_snapshot!(run(
        dir.path(),
        &["plan", "--driver", "push-by-digest", "--builder", "ci"]
    ));
}

#[test]
fn plan_selects_images_and_refuses_unknown_ones() {
    let dir = repo().join("examples/monorepo");
    let out = run(&dir, &["plan", "--image", "web"]);
    assert!(out.contains("image web"), "{out}");
    assert!(!out.contains("image api"), "{out}");
    insta::assert_snapshot!(run(&dir, &["plan", "--image", "nope"]));
}

#[test]
fn plan_from_a_subdirectory_finds_the_file() {
    let dir = project(APP);
    let sub = dir.path().join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let out = run(&sub, &["plan"]);
    assert!(out.starts_with("exit: 0"), "{out}");
}

#[test]
fn config_errors() {
    let cases: &[(&str, String)] = &[
        ("unknown_service", APP.replace("service: ecs-fargate", "service: ecs-fargte")),
        ("unknown_key", APP.replace("    tags:", "    tagz:")),
        ("apprunner_arm64", APP.replace("      - service: apprunner\n", "      - service: apprunner\n        arch: arm64\n")),
        ("unset_variable", APP.replace("${GIT_SHA}-lambda", "${BUILD_NUMBER}-lambda")),
        ("lambda_without_tag", APP.replace("        tag: \"${GIT_SHA}-lambda\"\n", "")),
        ("bad_platform", APP.replace("linux/arm/v7", "linux/armv7")),
        ("bad_arch", APP.replace("arch: arm64\n      - service: lambda", "arch: sparc\n      - service: lambda")),
        ("wrong_version", APP.replace("version: 1", "version: 2")),
        ("yaml_syntax", APP.replace("tags: [latest,", "tags: [latest")),
        ("no_targets", "version: 1\nimages:\n  api:\n    repository: r.example.com/api\n    tags: [x]\n    targets: []\n".to_string()),
        ("repository_with_tag", APP.replace("amazonaws.com/api", "amazonaws.com/api:v1")),
        ("builder_without_a_node_for_a_platform", APP.replace("images:", "builder:\n  name: native\n  nodes:\n    - platforms: [linux/amd64]\n      endpoint: tcp://x86:1234\n    - platforms: [linux/arm64]\n      endpoint: tcp://arm:1234\nimages:")),
        ("builder_mixing_drivers", APP.replace("images:", "builder:\n  name: mixed\n  nodes:\n    - platforms: [linux/amd64]\n      endpoint: tcp://x86:1234\n    - platforms: [linux/arm64]\n      driver: kubernetes\nimages:")),
    ];
    for (name, yaml) in cases {
        let dir = project(yaml);
        let out = run(dir.path(), &["plan"]);
        assert!(out.starts_with("exit: 2\n"), "{name}: {out}");
        insta::assert_snapshot!(format!("config_error_{name}"), out);
    }
}

#[test]
fn no_project_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["plan"]);
    let out = out.replace(&dir.path().display().to_string(), "[TMP]");
    insta::assert_snapshot!(out);
    let out = run(dir.path(), &["plan", "-f", "missing.yaml"]);
    assert!(out.starts_with("exit: 2\n"), "{out}");
    assert!(out.contains("cannot read missing.yaml"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["plan", "--format", "yaml"][..],
        &["frobnicate"][..],
        &["plan", "--bogus"][..],
    ] {
        let out = run(dir.path(), args);
        assert!(out.starts_with("exit: 2\n"), "{args:?}: {out}");
    }
}

#[test]
fn targets_catalog() {
    let dir = tempfile::tempdir().unwrap();
    insta::assert_snapshot!(run(dir.path(), &["targets"]));
    insta::assert_snapshot!(run(dir.path(), &["targets", "lamda"]));
    let out = mpbuild(dir.path())
        .args(["targets", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let services = v["services"].as_array().unwrap();
    assert!(services.len() >= 18);
    let apprunner = services.iter().find(|s| s["name"] == "apprunner").unwrap();
    assert_eq!(apprunner["platforms"], serde_json::json!(["linux/amd64"]));
    assert_eq!(apprunner["confirmed"]["manifest"], false);
    for s in services {
        assert!(!s["sources"].as_array().unwrap().is_empty(), "{s}");
    }
}

#[test]
fn targets_include_the_projects_own_services() {
    let dir = project(
        "version: 1\nservices:\n  edge-box:\n    title: Edge box\n    platforms: [linux/arm64]\n    sources: [https://example.com/edge]\nimages:\n  a:\n    repository: r.example.com/a\n    tags: [x]\n    targets: [{service: edge-box}]\n",
    );
    let out = run(dir.path(), &["targets", "edge-box"]);
    insta::assert_snapshot!(out);
}

#[test]
fn init_writes_a_valid_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let out = run(
        dir.path(),
        &[
            "init",
            "--service",
            "apprunner",
            "--service",
            "lambda:arm64",
            "--service",
            "apple-silicon",
            "--repository",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/api",
            "--name",
            "api",
        ],
    );
    assert!(out.starts_with("exit: 0"), "{out}");
    let written = std::fs::read_to_string(dir.path().join("mpbuild.yaml")).unwrap();
    insta::assert_snapshot!(written);
    let plan = run(dir.path(), &["plan"]);
    assert!(plan.starts_with("exit: 0"), "{plan}");
    assert!(plan.contains("linux/amd64, linux/arm64"), "{plan}");
    let again = run(dir.path(), &["init"]);
    assert!(again.starts_with("exit: 2"), "{again}");
    assert!(again.contains("never overwrites"), "{again}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("mpbuild.yaml")).unwrap(),
        written
    );
}

#[test]
fn init_refuses_unknown_services_and_impossible_archs() {
    let dir = tempfile::tempdir().unwrap();
    insta::assert_snapshot!(run(dir.path(), &["init", "--service", "cloudrun:arm64"]));
    insta::assert_snapshot!(run(dir.path(), &["init", "--service", "fargte"]));
    assert!(!dir.path().join("mpbuild.yaml").exists());
}

#[test]
fn init_gives_one_service_twice_distinct_tags_and_plan_refuses_a_shared_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let out = run(
        dir.path(),
        &[
            "init",
            "--service",
            "lambda",
            "--service",
            "lambda:arm64",
            "--repository",
            "r.example.com/fn",
            "--name",
            "fn",
        ],
    );
    assert!(out.starts_with("exit: 0"), "{out}");
    let written = std::fs::read_to_string(dir.path().join("mpbuild.yaml")).unwrap();
    assert!(
        written.contains("tag: \"latest-lambda-amd64\""),
        "{written}"
    );
    assert!(
        written.contains("tag: \"latest-lambda-arm64\""),
        "{written}"
    );
    let plan = run(dir.path(), &["plan"]);
    assert!(plan.starts_with("exit: 0"), "{plan}");
    // The file as `init` used to write it: one tag for two platforms.
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        written
            .replace("latest-lambda-amd64", "latest-lambda")
            .replace("latest-lambda-arm64", "latest-lambda"),
    )
    .unwrap();
    let out = run(dir.path(), &["plan"]);
    assert!(out.starts_with("exit: 2\n"), "{out}");
    insta::assert_snapshot!("config_error_one_tag_two_platforms", out);
}

#[test]
fn verify_ref_needs_a_requirement_or_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["verify", "127.0.0.1:1/app:v1"]);
    assert!(out.starts_with("exit: 2\n"), "{out}");
    assert!(
        out.contains(
            "error: nothing to verify: say what REF must hold with --target or --platform, or ask for --inventory"
        ),
        "{out}"
    );
    for args in [
        &[
            "verify",
            "--inventory",
            "127.0.0.1:1/app:v1",
            "--target",
            "apprunner",
        ][..],
        &["verify", "--inventory", "127.0.0.1:1/app:v1", "--deep"][..],
        &["verify", "--inventory"][..],
    ] {
        let out = run(dir.path(), args);
        assert!(out.starts_with("exit: 2\n"), "{args:?}: {out}");
    }
}

#[test]
fn verify_ref_inside_a_project_honours_its_insecure_registries() {
    let dir = project(
        "version: 1\ninsecure_registries: [registry.invalid:5000]\nimages:\n  a:\n    repository: r.example.com/a\n    tags: [x]\n    targets: [{service: apprunner}]\n",
    );
    let args = [
        "-v",
        "verify",
        "registry.invalid:5000/app:v1",
        "--platform",
        "linux/amd64",
    ];
    let out = run(dir.path(), &args);
    assert!(out.starts_with("exit: 4\n"), "{out}");
    assert!(
        out.contains("GET http://registry.invalid:5000/v2/app/manifests/v1"),
        "plain HTTP, as the project says: {out}"
    );
    // Outside the project: TLS, as for any registry not declared insecure.
    let elsewhere = tempfile::tempdir().unwrap();
    let out = run(elsewhere.path(), &args);
    assert!(
        out.contains("GET https://registry.invalid:5000/v2/app/manifests/v1"),
        "{out}"
    );
}
