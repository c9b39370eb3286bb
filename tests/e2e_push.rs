//! `mpbuild push` on the real stack: both push paths, tags only after verification.

mod common;

use std::time::{Duration, Instant};

use common::text;

/// The `${GIT_SHA}` of every push in this file.
const SHA: &str = "e2e1";

fn platforms_of(index: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["platform"]["os"] != "unknown")
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn two_images_with_lambda_via_bake() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let api = stack.unique_repo("api");
    let func = stack.unique_repo("fn");
    let yaml = format!(
        "version: 1\nimages:\n  api:\n    repository: {api}\n    tags: [latest, \"${{GIT_SHA}}\"]\n    build_args: {{BASE: \"{base}\"}}\n    targets:\n      - service: apprunner\n      - service: ecs-fargate\n        arch: ARM64\n  fn:\n    repository: {func}\n    tags: [\"${{GIT_SHA}}\"]\n    build_args: {{BASE: \"{base}\"}}\n    targets:\n      - service: lambda\n        arch: arm64\n        tag: \"${{GIT_SHA}}-lambda\"\n",
        base = stack.base_image
    );
    let dir = stack.project(
        &yaml,
        "ARG BASE\nFROM ${BASE}\nRUN uname -m > /arch && cat /arch\nCMD [\"cat\", \"/arch\"]\n",
    );
    let out = stack.run_in(dir.path()).git_sha(SHA).output(&[
        "push",
        "--progress",
        "plain",
        "--deep",
        "-v",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    // The stack's docker is the Docker CLI and its buildx plugin is in DOCKER_CONFIG's
    // cli-plugins: the bake runs as that plugin, without the CLI in between.
    assert!(
        t.lines()
            .any(|l| l.starts_with("buildx runs as ") && l.contains("cli-plugins/docker-buildx")),
        "{t}"
    );
    // Both images in one `docker buildx bake` (shown by -v), not one build each.
    assert!(
        t.lines().any(|l| l.contains("$ docker buildx bake ")),
        "no bake ran: {t}"
    );
    assert!(
        !t.lines().any(|l| l.contains("$ docker buildx build ")),
        "the images were built one by one: {t}"
    );
    // The first image: exactly amd64 + arm64.
    let index = stack.manifest(&api, "latest");
    assert_eq!(
        platforms_of(&index),
        vec!["linux/amd64", "linux/arm64"],
        "{index}"
    );
    assert_eq!(
        stack.tag_digest(&api, "latest"),
        stack.tag_digest(&api, "e2e1")
    );
    // The Lambda tag: a plain arm64 image manifest, not an index.
    let lambda = stack.manifest(&func, "e2e1-lambda");
    assert!(lambda.get("manifests").is_none(), "{lambda}");
    assert!(lambda.get("config").is_some(), "{lambda}");
    let cfg_digest = lambda["config"]["digest"].as_str().unwrap();
    let (_, cfg) = stack.registry_get(&format!(
        "/v2/{}/blobs/{cfg_digest}",
        func.split_once('/').unwrap().1
    ));
    let cfg: serde_json::Value = serde_json::from_str(&cfg).unwrap();
    assert_eq!(cfg["architecture"], "arm64");
    // And mpbuild verify agrees with the project.
    let out = stack.run_in(dir.path()).git_sha(SHA).output(&["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_build_failing_for_arm64_leaves_latest_where_it_was() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("fails-arm64");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{}\"}}\n    targets:\n      - service: ecs-fargate\n        arch: [X86_64, ARM64]\n",
        stack.base_image
    );
    let dir = stack.project(&yaml, "ARG BASE\nFROM ${BASE}\nRUN echo v1 > /v\n");
    let out = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .output(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = stack.tag_digest(&repo, "latest").expect("latest exists");
    std::fs::write(
        dir.path().join("Dockerfile"),
        "ARG BASE\nFROM ${BASE}\nRUN echo v2 > /v\nRUN echo 'checking the CPU'; test \"$(uname -m)\" != aarch64\n",
    )
    .unwrap();
    let out = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("failed at step `[linux/arm64"), "{t}");
    assert!(t.contains("| checking the CPU"), "log tail shown: {t}");
    assert!(t.contains("no tag moved"), "{t}");
    // Issue 24, bug 5: nothing on stdout for a failed run (was: verify's "consistent:
    // 0 reference(s) listed" summary).
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), Some(before));
}

/// Issue 24, bug 6: the error shows the failing step's last lines and names the file
/// that holds the whole log (the hint said `--progress=plain` would show it, and it did
/// not); a build of one platform names that platform, which buildx leaves out of the
/// step's name.
#[test]
fn a_failed_build_keeps_its_whole_log_and_names_its_platform() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("whole-log");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{}\"}}\n    targets: [{{service: apprunner}}]\n",
        stack.base_image
    );
    let dir = stack.project(
        &yaml,
        "ARG BASE\nFROM ${BASE}\nRUN for i in $(seq 1 60); do echo line-$i; done; false\n",
    );
    let out = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("build of image `app` for linux/amd64 failed at step `[2/2] RUN"),
        "{t}"
    );
    assert!(
        t.contains("| line-60\n") && !t.contains("| line-1\n"),
        "the tail: {t}"
    );
    let path = t
        .split("the whole log is in ")
        .nth(1)
        .and_then(|r| r.lines().next())
        .unwrap_or_else(|| panic!("no log file named: {t}"));
    assert!(
        path.starts_with(&dir.path().join(".mpbuild-work/logs/").display().to_string()),
        "{path}"
    );
    let log = std::fs::read_to_string(path).unwrap();
    for i in [1, 30, 60] {
        assert!(log.contains(&format!(" line-{i}\n")), "line-{i} in {log}");
    }
    assert!(log.contains("ERROR: "), "{log}");
    assert!(!t.contains("--progress=plain to see"), "{t}");
}

#[test]
fn tags_never_move_before_verification() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("unverified");
    // Every platform gets the x86-64 busybox: the index looks right, the binary is wrong.
    let busybox = std::fs::read(stack.busybox("amd64")).unwrap();
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    deep: true\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n"
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("busybox", &busybox),
        (
            "Dockerfile",
            b"FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\", \"true\"]\n",
        ),
    ]);
    let out = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("is an ELF for x86-64, but the platform is linux/arm64"),
        "{t}"
    );
    assert!(t.contains("verification failed: no tag moved"), "{t}");
    // The verdicts are the error's: on stderr, stdout empty.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{t}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("FAIL "),
        "{t}"
    );
    assert_eq!(
        stack.tag_digest(&repo, "latest"),
        None,
        "latest must not exist"
    );
}

#[test]
fn remote_driver_pushes_by_digest() {
    let Some(stack) = common::stack() else { return };
    let Some(addr) = stack.buildkit() else { return };
    let _emu = stack.emulation_shared();
    let remote = stack.remote_builder("e2e-remote", &addr);
    let builder = remote.name.clone();
    let repo = stack.unique_repo("remote");
    let yaml = format!(
        "version: 1\nbuilder: {builder}\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{}\"}}\n    targets:\n      - service: apprunner\n      - service: gke\n        arch: arm64\n",
        stack.base_image
    );
    let dir = stack.project(&yaml, "ARG BASE\nFROM ${BASE}\nRUN uname -m > /arch\n");
    let out = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .output(&["push", "--progress", "plain"]);
    drop(remote);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("driver remote): pushes by digest"), "{t}");
    assert_eq!(
        platforms_of(&stack.manifest(&repo, "latest")),
        vec!["linux/amd64", "linux/arm64"]
    );
}

#[test]
fn dry_run_runs_nothing() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("dry");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let out = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .output(&["push", "--dry-run"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("docker buildx build --platform linux/amd64"),
        "{t}"
    );
    assert!(t.contains(&format!("# tag {repo}:latest")), "{t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), None);
}

#[test]
fn build_loads_the_asked_platform_locally() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("local-build");
    // The image's name is the local image's (`localhost/NAME:PLATFORM`), in the Docker
    // every run on this stack shares: this run's own, so no concurrent run of this
    // test loads its image under the name between this build and the `docker run`.
    let name = format!("app-{}", common::run_id());
    // Removed at the end, passed or failed: the stack's Docker outlives the run.
    let _local = LocalImage(&stack, format!("localhost/{name}:linux-arm64"));
    let yaml = format!(
        "version: 1\nimages:\n  {name}:\n    repository: {repo}\n    tags: [dev]\n    build_args: {{BASE: \"{}\"}}\n    targets: [{{service: apprunner}}, {{service: apple-silicon}}]\n",
        stack.base_image
    );
    let dir = stack.project(&yaml, "ARG BASE\nFROM ${BASE}\nCMD [\"uname\", \"-m\"]\n");
    let out = stack.run_in(dir.path()).git_sha(SHA).output(&[
        "build",
        "--target",
        "apple-silicon",
        "--progress",
        "plain",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The JSON document names what was loaded, and Docker has it.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["command"], "build");
    assert_eq!(
        v["images"][0]["platforms"],
        serde_json::json!(["linux/arm64"])
    );
    let loaded = v["images"][0]["loaded_as"][0].as_str().unwrap().to_string();
    // Issue 24, bug 4: loaded under a local name that says its platform, not under the
    // deploy tag a habitual `docker push` would overwrite with one platform.
    assert_eq!(loaded, format!("localhost/{name}:linux-arm64"));
    let run = stack.ok(stack.docker().args(["run", "--rm", &loaded]));
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "aarch64");
    let deploy_tag = stack
        .docker()
        .args(["image", "inspect", &format!("{repo}:dev")])
        .output()
        .unwrap();
    assert!(
        !deploy_tag.status.success(),
        "Docker has no image under the deploy tag"
    );
    // Nothing was pushed.
    assert_eq!(stack.tag_digest(&repo, "dev"), None);
    // The text says the name and why.
    let out = stack.run_in(dir.path()).git_sha(SHA).output(&[
        "build",
        "--target",
        "apple-silicon",
        "--progress",
        "plain",
    ]);
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(
        t.starts_with(&format!(
            "built {name} for linux/arm64 → loaded as localhost/{name}:linux-arm64 (a local name"
        )),
        "{t}"
    );
}

/// A local image in the stack's Docker, removed when dropped.
struct LocalImage<'a>(&'a common::Stack, String);

impl Drop for LocalImage<'_> {
    fn drop(&mut self) {
        let _ = self.0.docker().args(["image", "rm", &self.1]).output();
    }
}

#[test]
fn ctrl_c_stops_buildx_moves_no_tag_and_exits_130() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("interrupted");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{}\"}}\n    targets: [{{service: apprunner}}]\n",
        stack.base_image
    );
    // Every process of the `sleep 60` step carries E2E_STEP (the Dockerfile's ENV);
    // mpbuild and what it starts (buildx) carry E2E_RUN.
    let id = common::path_of(&repo).replace('/', "-");
    let (step, run) = (format!("E2E_STEP={id}"), format!("E2E_RUN={id}"));
    let dir = stack.project(
        &yaml,
        &format!("ARG BASE\nFROM ${{BASE}}\nENV E2E_STEP={id}\nRUN echo {repo}; sleep 60\n"),
    );
    let child = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .env("E2E_RUN", &id)
        .spawn(&["push", "--progress", "plain"]);
    common::wait_until(Duration::from_secs(120), "the sleep step to run", || {
        !common::processes_with_env(&step).is_empty()
    });
    let buildx: Vec<u32> = common::processes_with_env(&run)
        .into_iter()
        .filter(|p| *p != child.id())
        .collect();
    assert!(!buildx.is_empty(), "no buildx process of this run");
    let started = Instant::now();
    common::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "stopped promptly"
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    assert_eq!(stack.tag_digest(&repo, "latest"), None);
    // buildx ended with mpbuild, and the step it started was stopped in the builder.
    common::wait_until(Duration::from_secs(15), "buildx to end", || {
        common::processes_with_env(&run).is_empty()
    });
    common::wait_until(Duration::from_secs(30), "the sleep step to end", || {
        common::processes_with_env(&step).is_empty()
    });
}

#[test]
fn the_heroku_tag_gets_a_docker_v2_schema_2_manifest() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("heroku");
    let yaml = format!(
        "version: 1\nimages:\n  web:\n    repository: {repo}\n    tags: [latest]\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n      - service: heroku\n        tag: \"${{GIT_SHA}}-heroku\"\n"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let out = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    // The Heroku tag: Docker V2 schema 2 throughout, same blobs as the build.
    let heroku = stack.manifest(&repo, "e2e1-heroku");
    assert_eq!(
        heroku["mediaType"], "application/vnd.docker.distribution.manifest.v2+json",
        "{heroku}"
    );
    assert_eq!(
        heroku["config"]["mediaType"],
        "application/vnd.docker.container.image.v1+json"
    );
    let layers = heroku["layers"].as_array().unwrap();
    assert!(!layers.is_empty());
    for l in layers {
        assert_eq!(
            l["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "{heroku}"
        );
    }
    // The index tag keeps the OCI manifests the build made; the layers are shared.
    let index = stack.manifest(&repo, "latest");
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    let amd = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let built = stack.manifest(&repo, &amd);
    assert_eq!(built["layers"][0]["digest"], layers[0]["digest"]);
    assert_eq!(built["config"]["digest"], heroku["config"]["digest"]);
    // mpbuild verify agrees: the project, and the tag against the heroku target.
    let out = stack.run_in(dir.path()).git_sha(SHA).output(&["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = stack.run_in(dir.path()).git_sha(SHA).output(&[
        "verify",
        &format!("{repo}:e2e1-heroku"),
        "--target",
        "heroku",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // An OCI manifest is refused for Heroku.
    let out = stack.run_in(dir.path()).git_sha(SHA).output(&[
        "verify",
        &format!("{repo}@{amd}"),
        "--target",
        "heroku",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("but heroku needs Docker V2 schema 2"), "{t}");
}

#[test]
fn media_types_docker_makes_every_tag_a_docker_manifest_list() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("docker-types");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    media_types: docker\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n      - service: lambda\n        arch: arm64\n        tag: latest-lambda\n"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let out = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("Docker media types (media_types: docker)"),
        "{t}"
    );
    let list = stack.manifest(&repo, "latest");
    assert_eq!(
        list["mediaType"], "application/vnd.docker.distribution.manifest.list.v2+json",
        "{list}"
    );
    assert_eq!(platforms_of(&list), vec!["linux/amd64", "linux/arm64"]);
    for m in list["manifests"].as_array().unwrap() {
        assert_eq!(
            m["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json"
        );
        let child = stack.manifest(&repo, m["digest"].as_str().unwrap());
        assert_eq!(
            child["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json"
        );
    }
    let lambda = stack.manifest(&repo, "latest-lambda");
    assert_eq!(
        lambda["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let out = stack.run_in(dir.path()).git_sha(SHA).output(&["verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn pushing_by_digest_buildx_writes_the_docker_media_types() {
    let Some(stack) = common::stack() else { return };
    let Some(addr) = stack.buildkit() else { return };
    let remote = stack.remote_builder("e2e-remote-docker", &addr);
    let builder = remote.name.clone();
    let repo = stack.unique_repo("remote-docker-types");
    let yaml = format!(
        "version: 1\nbuilder: {builder}\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    media_types: docker\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let out = stack
        .run_in(dir.path())
        .git_sha(SHA)
        .output(&["push", "--progress", "plain"]);
    drop(remote);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let list = stack.manifest(&repo, "latest");
    assert_eq!(
        list["mediaType"], "application/vnd.docker.distribution.manifest.list.v2+json",
        "{list}"
    );
    assert_eq!(platforms_of(&list), vec!["linux/amd64", "linux/arm64"]);
}

#[test]
fn a_first_push_mounts_the_base_image_layers() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("mount-base");
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    build_args: {{BASE: \"{}\"}}\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n",
        stack.base_image
    );
    let dir = stack.project(&yaml, "ARG BASE\nFROM ${BASE}\nRUN echo x > /x\n");
    let out = stack.run_in(dir.path()).git_sha(SHA).output(&[
        "push",
        "--progress",
        "plain",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let up = &doc["images"][0]["upload"];
    // The base's layer for each platform comes from its own repository, not from disk.
    assert!(up["blobs_mounted"].as_u64().unwrap() >= 2, "{up}");
}
