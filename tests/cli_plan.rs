//! `mpbuild plan`: the examples' plans and the issue's, as snapshots; image selection,
//! unset variables previewed (and refused by `push`/`merge`), and the printed command,
//! run as printed from another directory.

mod common;

use std::path::Path;

use common::cli::{APP, json_of, mpbuild, project, repo, run, text};

#[test]
fn example_plans() {
    for example in [
        "hello",
        "ecs",
        "lambda",
        "raspberry-pi",
        "monorepo",
        "native-builders",
        "emulation",
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
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        Path::new(v["cwd"].as_str().unwrap()),
        std::fs::canonicalize(&dir).unwrap()
    );
    v["cwd"] = "[DIR]".into();
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
fn plan_previews_unset_variables_and_push_refuses_them() {
    let dir = project(&APP.replace("${GIT_SHA}-lambda", "${BUILD_NUMBER}-lambda"));
    let out = mpbuild(dir.path())
        .env_remove("GIT_SHA")
        .args(["plan"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        stdout.contains("index tags    latest, <GIT_SHA unset>"),
        "{stdout}"
    );
    assert!(
        stdout.contains("tag <BUILD_NUMBER unset>-lambda"),
        "{stdout}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr
            .starts_with("warning: ${GIT_SHA}, ${BUILD_NUMBER} not set: shown as <GIT_SHA unset>;"),
        "{stderr}"
    );
    // A default still applies in a preview.
    let dir2 = project(&APP.replace("\"${GIT_SHA}\"", "\"${GIT_SHA:-dev}\""));
    let out = mpbuild(dir2.path())
        .env_remove("GIT_SHA")
        .args(["plan"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("index tags    latest, dev"),
        "{}",
        text(&out)
    );
    // push and merge refuse the same file.
    for args in [
        &["push", "--dry-run"][..],
        &["merge", "--digests-dir", "legs"][..],
    ] {
        let out = mpbuild(dir.path())
            .env_remove("GIT_SHA")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr)
                .contains("environment variable `GIT_SHA` is not set"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn the_printed_command_runs_as_printed_from_anywhere() {
    use std::os::unix::fs::PermissionsExt;
    let dir = project(APP);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/Dockerfile"), "FROM scratch\n").unwrap();
    let yaml = APP.replace("    tags:", "    context: sub\n    tags:");
    std::fs::write(dir.path().join("mpbuild.yaml"), yaml).unwrap();
    let out = mpbuild(dir.path())
        .env("BUILDX_BUILDER", "ci-builder")
        .args(["plan"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // The block under "  command": a comment naming mpbuild's own flags, then the command.
    let block: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "  command")
        .skip(1)
        .take_while(|l| l.starts_with("    "))
        .collect();
    assert!(
        block[0]
            .trim_start()
            .starts_with("# mpbuild's own flags: --metadata-file")
            && block[0].contains("--progress=rawjson"),
        "{stdout}"
    );
    let script = block.join("\n");
    assert!(script.contains("--builder ci-builder"), "{script}");
    // A fake docker records where it ran and what it was given.
    let bin = tempfile::tempdir().unwrap();
    let record = bin.path().join("record");
    std::fs::write(
        bin.path().join("docker"),
        format!(
            "#!/bin/sh\npwd > {0}\nprintf '%s\\n' \"$@\" >> {0}\n",
            record.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        bin.path().join("docker"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let status = std::process::Command::new("sh")
        .args(["-c", &script])
        .current_dir("/")
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .status()
        .unwrap();
    assert!(status.success(), "{script}");
    let recorded = std::fs::read_to_string(&record).unwrap();
    let mut lines = recorded.lines();
    let ran_in = Path::new(lines.next().unwrap());
    let argv: Vec<&str> = lines.collect();
    assert_eq!(argv[..2], ["buildx", "build"]);
    let file = argv[argv.iter().position(|a| *a == "--file").unwrap() + 1];
    assert!(
        ran_in.join(file).is_file(),
        "{file} from {}",
        ran_in.display()
    );
    let context = argv.last().unwrap();
    assert!(
        ran_in.join(context).join("Dockerfile").is_file(),
        "{context}"
    );
    assert_eq!(
        std::fs::canonicalize(ran_in).unwrap(),
        std::fs::canonicalize(dir.path()).unwrap()
    );
    // JSON says the same directory.
    let out = mpbuild(dir.path())
        .args(["plan", "--format", "json"])
        .output()
        .unwrap();
    let v = json_of(&out);
    assert_eq!(
        Path::new(v["cwd"].as_str().unwrap()),
        std::fs::canonicalize(dir.path()).unwrap()
    );
}
