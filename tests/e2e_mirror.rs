//! `mpbuild mirror` on real registries: within one registry (mounts) and across two
//! (streamed), filtered and whole; a source missing a platform writes nothing.

mod common;

use common::{registry_get_json, text};

fn archs(index: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = index["manifests"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|m| m["platform"]["os"] == "linux")
                .map(|m| m["platform"]["architecture"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// N in the report's "…, N mounted, …" (fails the test when the report has none).
fn mounted(t: &str) -> usize {
    t.lines()
        .flat_map(|l| l.split(", "))
        .find_map(|part| part.strip_suffix(" mounted"))
        .and_then(|n| n.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `N mounted` in the report: {t}"))
}

#[test]
fn filtered_and_whole_copies_within_one_registry() {
    let Some(stack) = common::stack() else { return };
    let dest = stack.unique_repo("mirror-within");
    let out = stack.run(&[
        "mirror",
        &stack.base_image,
        &format!("{dest}:two"),
        "--target",
        "apprunner",
        "--target",
        "ecs-fargate:ARM64",
        "--progress",
        "plain",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("a new index with linux/amd64, linux/arm64"),
        "{t}"
    );
    // Within one registry the blobs are mounted, not copied.
    assert!(mounted(&t) > 0, "no blob mounted: {t}");
    let path = dest.split_once('/').unwrap().1;
    let (code, idx) = registry_get_json(&stack.registry, &format!("/v2/{path}/manifests/two"));
    assert_eq!(code, 200);
    assert_eq!(archs(&idx), vec!["amd64", "arm64"]);
    // Whole copy into another repository: same digest as the source.
    let out = stack.run(&[
        "mirror",
        &stack.base_image,
        &format!("{dest}-all:latest"),
        "--all",
        "--progress",
        "plain",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("the source digest kept"), "{t}");
    let (_, src_idx) = registry_get_json(
        &stack.registry,
        &format!("/v2/{}/manifests/{}", stack.base_repo, stack.base_digest),
    );
    let (_, all_idx) =
        registry_get_json(&stack.registry, &format!("/v2/{path}-all/manifests/latest"));
    assert_eq!(src_idx, all_idx);
}

#[test]
fn across_registries_streams_the_blobs() {
    let Some(stack) = common::stack() else { return };
    let other = stack.start_registry("", None);
    let dest = format!("{}/mirrored/busybox:v1", other.addr);
    let out = stack.run(&[
        "mirror",
        &stack.base_image,
        &dest,
        "--platform",
        "linux/arm64",
        "--progress",
        "plain",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("blob(s) copied") && !t.contains(" 0 blob(s) copied"),
        "{t}"
    );
    let (code, idx) = registry_get_json(&other.addr, "/v2/mirrored/busybox/manifests/v1");
    assert_eq!(code, 200, "{idx}");
    assert_eq!(archs(&idx), vec!["arm64"]);
    // And the copy verifies, deep, in the other registry.
    let out = stack.run(&["verify", &dest, "--platform", "linux/arm64", "--deep"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_source_missing_a_platform_is_refused_with_nothing_written() {
    let Some(stack) = common::stack() else { return };
    let dest = stack.unique_repo("mirror-refused");
    let out = stack.run(&[
        "mirror",
        &stack.base_image,
        &dest,
        "--platform",
        "linux/s390x",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("has no linux/s390x image") && t.contains("nothing was written"),
        "{t}"
    );
    let (code, _) = registry_get_json(
        &stack.registry,
        &format!("/v2/{}/tags/list", dest.split_once('/').unwrap().1),
    );
    assert_eq!(code, 404, "the repository must not exist");
}

#[test]
fn project_mirrors_run_before_push() {
    let Some(stack) = common::stack() else { return };
    let base = stack.unique_repo("mirrored-base");
    let app = stack.unique_repo("uses-mirror");
    let yaml = format!(
        "version: 1\nmirrors:\n  - source: {src}\n    destination: {base}:stable\n    targets: [apprunner, \"ecs-fargate:ARM64\"]\nimages:\n  app:\n    repository: {app}\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n",
        src = stack.base_image
    );
    let dir = stack.project(&yaml, &format!("FROM {base}:stable\nCMD [\"true\"]\n"));
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains(&format!("mirrored {}", stack.base_image)), "{t}");
    // `mpbuild mirror` with no arguments runs the same entries.
    let out = stack
        .runner()
        .dir(dir.path())
        .output(&["mirror", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn mirror_as_json_says_what_the_registry_now_holds() {
    let Some(stack) = common::stack() else { return };
    let dest = stack.unique_repo("mirror-json");
    let out = stack.run(&[
        "mirror",
        &stack.base_image,
        &format!("{dest}:json"),
        "--target",
        "ecs-fargate:ARM64",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["command"], "mirror");
    assert_eq!(v["exit_code"], 0);
    let m = &v["mirrors"][0];
    assert_eq!(m["tagged"], true);
    assert_eq!(m["platforms"], serde_json::json!(["linux/arm64"]));
    assert_eq!(m["verified"], true, "{m}");
    assert_eq!(m["verdict"]["rows"][0]["status"], "found", "{m}");
    // The digest the document names is what the tag now points at.
    let path = dest.split_once('/').unwrap().1;
    assert_eq!(
        stack.tag_digest(&dest, "json").as_deref(),
        m["digest"].as_str(),
        "{v}"
    );
    let (code, idx) = registry_get_json(&stack.registry, &format!("/v2/{path}/manifests/json"));
    assert_eq!(code, 200);
    assert_eq!(archs(&idx), vec!["arm64"]);
}

/// Issue 24: mirroring an index for a target that takes one plain manifest (Lambda)
/// says how to do it — the platform's manifest by digest — and that command works.
#[test]
fn an_index_refused_by_lambda_says_how_and_the_hint_works() {
    let Some(stack) = common::stack() else { return };
    let dest = stack.unique_repo("lambda-mirror");
    let target = format!("{dest}:v1");
    let out = stack.runner().output(&[
        "mirror",
        &stack.base_image,
        &target,
        "--target",
        "lambda:arm64",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let line = t
        .lines()
        .find(|l| l.contains("problem: to copy it for this target"))
        .unwrap_or_else(|| panic!("no hint: {t}"));
    let command = line
        .split('`')
        .nth(1)
        .and_then(|c| c.strip_prefix("mpbuild "))
        .unwrap_or_else(|| panic!("no command in {line}"));
    let args: Vec<&str> = command.split(' ').collect();
    assert_eq!(args.len(), 3, "{command}");
    assert!(args[1].contains("@sha256:"), "{command}");
    assert_eq!(args[2], target, "{command}");
    let mut args = args;
    args.extend(["--target", "lambda:arm64"]);
    let out = stack.runner().output(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (code, m) = registry_get_json(
        &stack.registry,
        &format!("/v2/{}/manifests/v1", common::path_of(&dest)),
    );
    assert_eq!(code, 200, "{m}");
    assert!(
        m.get("manifests").is_none(),
        "a plain manifest, not an index: {m}"
    );
    assert!(m.get("layers").is_some(), "{m}");
}
