//! CLI tests: the built binary, run in temp dirs, with snapshots of what the user reads:
//! help, man pages, completions and `--version`; config and usage errors; the catalog
//! (`targets`) and `init`; what `verify REF` needs. Plans are in tests/cli_plan.rs, JSON
//! documents in tests/cli_json.rs, the project file's schema in tests/cli_schema.rs.

mod common;

use common::cli::{
    APP, json_of, mpbuild, project, repo, run, schema_validator, text, yaml_to_json,
};

#[test]
fn help_lists_commands_and_exit_codes() {
    insta::assert_snapshot!(run(&repo(), &["--help"]));
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
        // `plan` previews an unset variable (see plan_previews_unset_variables); `push`
        // refuses it.
        let args: &[&str] = if *name == "unset_variable" {
            &["push", "--dry-run"]
        } else {
            &["plan"]
        };
        let out = run(dir.path(), args);
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
    // Editors find the schema from the first line, and the file satisfies it.
    assert!(
        written.starts_with(
            "# yaml-language-server: $schema=https://raw.githubusercontent.com/acme/mpbuild/main/schema/mpbuild.schema.json\n"
        ),
        "{written}"
    );
    assert!(schema_validator().is_valid(&yaml_to_json(&written)));
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
fn targets_reports_a_broken_project_file() {
    let dir = project(&APP.replace("    tags:", "    tagz:"));
    // Issue 24: the catalog is listed anyway (an unknown-service error sends the user
    // here), after a warning naming what is wrong and where.
    let out = run(dir.path(), &["targets"]);
    assert!(out.starts_with("exit: 0\n"), "{out}");
    assert!(
        out.contains("warning: mpbuild.yaml:5:5: unknown field `tagz`"),
        "{out}"
    );
    assert!(out.contains("\nlambda — AWS Lambda"), "{out}");
    // Without a project file: the built-in catalog.
    let empty = tempfile::tempdir().unwrap();
    assert!(run(empty.path(), &["targets", "lambda"]).starts_with("exit: 0\n"));
}

#[test]
fn completions_for_every_shell_know_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = mpbuild(dir.path())
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}: {}", text(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        for word in ["merge", "verify", "push", "--digests-dir"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    assert!(run(dir.path(), &["completions", "tcsh"]).starts_with("exit: 2\n"));
}

#[test]
fn man_pages_for_mpbuild_and_each_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = mpbuild(dir.path()).arg("man").output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains(".TH mpbuild 1"), "{page}");
    for sub in ["plan", "push", "merge", "verify", "mirror", "completions"] {
        assert!(
            page.contains(&format!("mpbuild\\-{sub}(1)")),
            "no {sub} in SUBCOMMANDS:\n{page}"
        );
    }
    let out = mpbuild(dir.path())
        .args(["man", "--dir", "pages"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    for (file, th) in [
        ("mpbuild.1", ".TH mpbuild 1"),
        ("mpbuild-push.1", ".TH mpbuild-push 1"),
        ("mpbuild-builder-status.1", ".TH mpbuild-builder-status 1"),
    ] {
        let roff = std::fs::read_to_string(dir.path().join("pages").join(file)).unwrap();
        assert!(roff.contains(th), "{file}: {roff}");
    }
    let push = std::fs::read_to_string(dir.path().join("pages/mpbuild-push.1")).unwrap();
    assert!(push.contains("metadata\\-file"), "{push}");
}

#[test]
fn version_names_the_commit_and_the_catalogs_review_date() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = mpbuild::catalog::Catalog::builtin();
    let (oldest, newest) = mpbuild::version::review_dates(&catalog).unwrap();
    let git = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(repo())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let commit = git.unwrap_or_else(|| "unknown".into());
    let reviewed = if oldest == newest {
        newest.clone()
    } else {
        format!("{oldest} to {newest}")
    };
    let out = run(dir.path(), &["--version"]);
    assert_eq!(
        out,
        format!(
            "exit: 0\n--- stdout\nmpbuild {} (commit {commit}, catalog reviewed {reviewed})\n--- stderr\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    let out = mpbuild(dir.path())
        .args(["version", "--format", "json"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["commit"], commit);
    assert_eq!(v["catalog"]["reviewed_newest"], newest);
    assert_eq!(v["catalog"]["services"], catalog.services().len());
    let out = run(dir.path(), &["version"]);
    assert!(out.contains(&format!("commit   {commit}\n")), "{out}");
    assert!(out.contains(&format!("reviewed {newest}")), "{out}");
}

#[test]
fn every_subcommand_has_examples_and_only_the_top_help_has_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let top = run(dir.path(), &["--help"]);
    assert_eq!(top.matches("Exit codes").count(), 1, "{top}");
    // Every subcommand the top help lists (a new one cannot skip its examples).
    let subcommands: Vec<&str> = top
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(subcommands.len() >= 15, "{subcommands:?}");
    for sub in subcommands {
        assert!(
            top.contains(&format!("\n  {sub} ")),
            "{sub} missing from the top help"
        );
        let help = run(dir.path(), &[sub, "--help"]);
        assert!(help.starts_with("exit: 0\n"), "{sub}: {help}");
        assert!(
            !help.contains("Exit codes"),
            "{sub} repeats the exit codes:\n{help}"
        );
        let examples: Vec<&str> = help
            .lines()
            .skip_while(|l| *l != "Examples:")
            .skip(1)
            .take_while(|l| l.starts_with("  "))
            .filter(|l| l.trim_start().starts_with("mpbuild") || l.contains(" mpbuild "))
            .collect();
        assert!(!examples.is_empty(), "{sub} has no examples:\n{help}");
    }
}

#[test]
fn environment_variables_are_documented_in_the_help_and_the_readme() {
    let dir = tempfile::tempdir().unwrap();
    let help = run(dir.path(), &["--help"]);
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for var in [
        "DOCKER_CONFIG",
        "DOCKER_HOST",
        "BUILDX_BUILDER",
        "MPBUILD_WORK_DIR",
        "MPBUILD_REQUEST_TIMEOUT",
        "MPBUILD_HOST_PLATFORM",
        "MPBUILD_COSIGN",
        "MPBUILD_HEARTBEAT_MS",
        "NO_COLOR",
        "SSL_CERT_FILE",
        "GIT_SHA",
    ] {
        assert!(help.contains(&format!("\n  {var}")), "{var} not in --help");
        assert!(
            readme.contains(&format!("| `{var}`")),
            "{var} not in the README's table"
        );
    }
    assert!(
        !help.contains("MPBUILD_E2E"),
        "a test-only variable in --help"
    );
}

#[test]
fn the_crate_and_the_release_are_set_up_for_users_to_get_it() {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    for key in [
        "license = \"MIT OR Apache-2.0\"",
        "repository = \"https://github.com/",
        "readme = \"README.md\"",
        "keywords = [",
        "categories = [",
    ] {
        assert!(manifest.contains(key), "Cargo.toml lacks {key}");
    }
    for file in ["LICENSE-MIT", "LICENSE-APACHE"] {
        assert!(repo().join(file).is_file(), "{file} missing");
    }
    let release = std::fs::read_to_string(repo().join(".github/workflows/release.yml")).unwrap();
    let workflow = yaml_to_json(&release);
    let include = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap();
    let pairs: Vec<(String, String)> = include
        .iter()
        .map(|m| {
            (
                m["os"].as_str().unwrap().into(),
                m["target"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (os, target) in [
        ("macos-14", "aarch64-apple-darwin"),
        ("macos-15-intel", "x86_64-apple-darwin"),
        ("ubuntu-24.04", "x86_64-unknown-linux-musl"),
        ("ubuntu-24.04-arm", "aarch64-unknown-linux-musl"),
    ] {
        assert!(
            pairs.contains(&(os.to_string(), target.to_string())),
            "no {target} on {os}: {pairs:?}"
        );
    }
    assert!(release.contains("shasum -a 256") && release.contains("SHA256SUMS"));
    // Nothing is built for a release before CI passes on the tagged commit.
    assert_eq!(workflow["jobs"]["ci"]["uses"], "$/.github/workflows/ci.yml");
    assert_eq!(workflow["jobs"]["build"]["needs"], "ci");
    let ci =
        yaml_to_json(&std::fs::read_to_string(repo().join(".github/workflows/ci.yml")).unwrap());
    assert!(
        ci["on"].get("workflow_call").is_some(),
        "ci.yml is callable"
    );
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains("shasum -a 256 -c"),
        "the README says how to check a download"
    );
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
            "error: nothing to verify: say what REF must hold with --target or --platform, ask for --inventory, or --require-record"
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
