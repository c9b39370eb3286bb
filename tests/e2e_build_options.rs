//! Build options on the real stack, read back from the registry and Docker: a named
//! context built from another image of the project and one from a registry image,
//! labels in every platform's config, annotations on the index and the manifests,
//! `--no-cache` building again what is unchanged.

mod common;

use common::text;

/// Each platform's manifest of `repo@digest` (an index): (platform, manifest).
fn platform_manifests(
    stack: &common::Stack,
    repo: &str,
    digest: &str,
) -> Vec<(String, serde_json::Value)> {
    let index = stack.manifest(repo, digest);
    index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("not an index: {index}"))
        .iter()
        .filter(|m| m["platform"]["os"] != "unknown")
        .map(|m| {
            let p = format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            );
            (p, stack.manifest(repo, m["digest"].as_str().unwrap()))
        })
        .collect()
}

/// The image config a manifest names, read from the registry.
fn config(stack: &common::Stack, repo: &str, manifest: &serde_json::Value) -> serde_json::Value {
    let digest = manifest["config"]["digest"].as_str().unwrap();
    let (code, body) = stack.registry_get(&format!("/v2/{}/blobs/{digest}", common::path_of(repo)));
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn labels_land_in_every_platforms_config_and_annotations_where_asked() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("labels");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [v1]\n    build_args: {{BASE: \"{base}\"}}\n    labels: {{org.opencontainers.image.title: app, team: \"${{TEAM}}\"}}\n    annotations: {{\"index:org.opencontainers.image.description\": the app, com.example.per-manifest: yes-please}}\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n",
        base = stack.base_image
    );
    let dir = stack.project(&yaml, "ARG BASE\nFROM ${BASE}\nCMD [\"true\"]\n");
    let out =
        stack
            .run_in(dir.path())
            .env("TEAM", "payments")
            .output(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let digest = stack.tag_digest(&repo, "v1").expect("v1 moved");
    let index = stack.manifest(&repo, &digest);
    assert_eq!(
        index["annotations"]["org.opencontainers.image.description"], "the app",
        "{index}"
    );
    let manifests = platform_manifests(&stack, &repo, &digest);
    assert_eq!(manifests.len(), 2, "{index}");
    for (platform, m) in &manifests {
        assert_eq!(
            m["annotations"]["com.example.per-manifest"], "yes-please",
            "{platform}: {m}"
        );
        let labels = &config(&stack, &repo, m)["config"]["Labels"];
        assert_eq!(
            labels["org.opencontainers.image.title"], "app",
            "{platform}: {labels}"
        );
        assert_eq!(labels["team"], "payments", "{platform}: {labels}");
    }
}

#[test]
fn a_named_context_built_from_another_image_of_the_project() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let app = stack.unique_repo("ctx-app");
    let tools = stack.unique_repo("ctx-tools");
    let marker = format!("built-by-tools-{}", std::process::id());
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {app}\n    tags: [v1]\n    contexts:\n      base: docker-image://{base}\n      tools: target:tools\n    targets: [{{service: apprunner}}]\n  tools:\n    repository: {tools}\n    context: tools\n    tags: [v1]\n    build_args: {{BASE: \"{base}\"}}\n    targets: [{{service: apprunner}}]\n",
        base = stack.base_image
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        // `base` and `tools` are the named contexts, not registry images.
        (
            "Dockerfile",
            b"FROM base\nCOPY --from=tools /tool /tool\nCMD [\"cat\", \"/tool\"]\n",
        ),
        (
            "tools/Dockerfile",
            format!("ARG BASE\nFROM ${{BASE}}\nRUN echo {marker} > /tool\n").as_bytes(),
        ),
    ]);
    // Only `app` is pushed: `tools` is built as its context, in the same bake.
    let out =
        stack
            .run_in(dir.path())
            .output(&["push", "--image", "app", "--progress", "plain", "-v"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.lines().any(|l| l.contains("$ docker buildx bake ")),
        "{t}"
    );
    let digest = stack.tag_digest(&app, "v1").expect("app:v1 moved");
    // What the image holds, as Docker runs it.
    let run = stack.ok(stack.docker().args([
        "run",
        "--rm",
        "--platform",
        "linux/amd64",
        &format!("{app}@{digest}"),
    ]));
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), marker);
    // The tools image was built as a context only: nothing of it was pushed or tagged.
    let (code, body) = stack.registry_get(&format!("/v2/{}/tags/list", common::path_of(&tools)));
    assert_ne!(code, 200, "tools was pushed: {body}");
}

#[test]
fn no_cache_builds_an_unchanged_image_again() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("nocache");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [v1]\n    build_args: {{BASE: \"{base}\"}}\n    targets: [{{service: apprunner}}]\n",
        base = stack.base_image
    );
    // A step whose output differs each time it really runs.
    let dir = stack.project(
        &yaml,
        "ARG BASE\nFROM ${BASE}\nRUN cat /proc/sys/kernel/random/uuid > /id\n",
    );
    let push = |extra: &[&str]| {
        let mut args = vec!["push", "--progress", "plain", "--format", "json"];
        args.extend_from_slice(extra);
        let (out, doc) = stack.run_in(dir.path()).json(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        (stack.tag_digest(&repo, "v1").unwrap(), doc)
    };
    let (first, _) = push(&[]);
    let (again, doc) = push(&[]);
    assert_eq!(again, first);
    assert_eq!(doc["images"][0]["built"], false, "{doc}");
    // The layer the RUN step makes: the same from BuildKit's cache, new when it ran.
    // (One platform: an index of one manifest, its provenance a referrer of it.)
    let run_layer = |digest: &str| {
        let mut m = stack.manifest(&repo, digest);
        if let Some(only) = m["manifests"].as_array().map(|e| e[0]["digest"].clone()) {
            m = stack.manifest(&repo, only.as_str().unwrap());
        }
        m["layers"].as_array().unwrap().last().unwrap()["digest"].clone()
    };
    let (cached, doc) = push(&["--rebuild"]);
    assert_eq!(doc["images"][0]["built"], true, "{doc}");
    assert_eq!(
        run_layer(&cached),
        run_layer(&first),
        "BuildKit's cache was not used"
    );
    let (fresh, doc) = push(&["--no-cache"]);
    assert_eq!(doc["images"][0]["built"], true, "{doc}");
    assert_ne!(
        run_layer(&fresh),
        run_layer(&first),
        "the RUN step did not run again: {doc}"
    );
}

#[test]
fn merge_puts_the_index_annotations_on_the_index_it_assembles() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("merge-annotations");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [v1]\n    build_args: {{BASE: \"{base}\"}}\n    annotations: {{\"index:org.opencontainers.image.description\": merged}}\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n",
        base = stack.base_image
    );
    let dir = stack.project(&yaml, "ARG BASE\nFROM ${BASE}\nCMD [\"true\"]\n");
    let legs = dir.path().join("legs");
    for p in ["linux/amd64", "linux/arm64"] {
        let out = stack.run_in(dir.path()).output(&[
            "push",
            "--platform",
            p,
            "--digests-dir",
            legs.to_str().unwrap(),
            "--progress",
            "plain",
        ]);
        assert_eq!(out.status.code(), Some(0), "{p}: {}", text(&out));
    }
    let out = stack
        .run_in(dir.path())
        .output(&["merge", "--digests-dir", legs.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let digest = stack.tag_digest(&repo, "v1").expect("v1 moved");
    let index = stack.manifest(&repo, &digest);
    assert_eq!(
        index["annotations"]["org.opencontainers.image.description"], "merged",
        "{index}"
    );
}
