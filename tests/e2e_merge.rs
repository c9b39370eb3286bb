//! Native builds on separate runners, one verified merge — on the real stack: two legs
//! run as separate processes on two different builders (the local `docker` driver for
//! linux/amd64, a `remote` BuildKit node for linux/arm64) with separate work and
//! digests directories, then one `mpbuild merge`.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Stack, text};

const DOCKERFILE: &str = "ARG BASE\nFROM ${BASE}\nRUN uname -m > /arch\nCMD [\"cat\", \"/arch\"]\n";

fn yaml(stack: &Stack, repo: &str, builder_arg: &str) -> String {
    format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest, \"${{GIT_SHA}}\"]\n    attestations: true\n    build_args: {{BASE: \"{}\"{builder_arg}}}\n    targets:\n      - service: ecs-fargate\n        arch: X86_64\n      - service: lambda\n        arch: arm64\n        tag: \"${{GIT_SHA}}-lambda\"\n",
        stack.base_image
    )
}

/// `mpbuild ARGS` in `dir` with GIT_SHA=m1 and the work dir `dir/WORK` (each leg, each
/// runner, has its own).
fn run(stack: &Stack, dir: &Path, work: &str, args: &[&str]) -> Output {
    stack
        .runner()
        .dir(dir)
        .work_dir(&dir.join(work))
        .git_sha("m1")
        .output(args)
}

/// The two platforms' legs, each into its own digests directory.
fn legs(stack: &Stack, dir: &Path, builder: &str) {
    let d = |s: &str| dir.join(s).display().to_string();
    let out = run(
        stack,
        dir,
        "work-amd64",
        &[
            "push",
            "--platform",
            "linux/amd64",
            "--digests-dir",
            &d("d-amd64"),
            "--progress",
            "plain",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(
        stack,
        dir,
        "work-arm64",
        &[
            "push",
            "--platform",
            "linux/arm64",
            "--digests-dir",
            &d("d-arm64"),
            "--builder",
            builder,
            "--progress",
            "plain",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("driver remote): pushes by digest"), "{t}");
}

/// The tags of `repo` written since `mark`, from the registry's access log (a manifest
/// PUT by tag, not by digest).
fn tag_puts(stack: &Stack, mark: &common::LogMark, repo: &str) -> Vec<String> {
    let prefix = format!("/v2/{}/manifests/", common::path_of(repo));
    stack
        .registry_requests_since(mark)
        .into_iter()
        .filter(|a| a.method == "PUT" && a.status == 201)
        .filter_map(|a| a.path.strip_prefix(&prefix).map(str::to_string))
        .filter(|r| !r.starts_with("sha256:"))
        .collect()
}

fn collect(dir: &Path, from: &[&str], into: &str) -> String {
    let to = dir.join(into);
    std::fs::create_dir_all(&to).unwrap();
    for f in from {
        for e in std::fs::read_dir(dir.join(f)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    to.display().to_string()
}

#[test]
fn two_builders_two_legs_one_merge() {
    let Some(stack) = common::stack() else { return };
    let Some(addr) = stack.buildkit() else { return };
    let _emu = stack.emulation_shared();
    let remote = stack.remote_builder("e2e-merge", &addr);
    let builder = remote.name.clone();
    let repo = stack.unique_repo("merge");
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml(&stack, &repo, "").as_bytes()),
        ("Dockerfile", DOCKERFILE.as_bytes()),
    ]);
    let p = dir.path();
    legs(&stack, p, &builder);
    drop(remote);

    // The legs moved no tag.
    assert_eq!(stack.tag_digest(&repo, "latest"), None);
    assert_eq!(stack.tag_digest(&repo, "m1-lambda"), None);
    let rec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.join("d-arm64/app@linux-arm64.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(rec["schema_version"], 1);
    assert_eq!(rec["platform"], "linux/arm64");
    assert!(
        rec["builder"].as_str().unwrap().ends_with("(remote)"),
        "{rec}"
    );

    // A missing leg: exit 1, naming the platform; every tag where it was.
    let only_amd = collect(p, &["d-amd64"], "only-amd64");
    let out = run(
        &stack,
        p,
        "work-merge",
        &["merge", "--digests-dir", &only_amd],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("no record of linux/arm64 for image `app`"),
        "{t}"
    );
    assert!(t.contains("ubuntu-24.04-arm"), "{t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), None);

    // The merge: one index with both platforms and their attestations, tags moved once.
    let all = collect(p, &["d-amd64", "d-arm64"], "all");
    let mark = stack.registry_log_mark();
    let out = run(
        &stack,
        p,
        "work-merge",
        &["merge", "--digests-dir", &all, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let first_tags = tag_puts(&stack, &mark, &repo);
    for tag in ["latest", "m1", "m1-lambda"] {
        assert_eq!(
            first_tags.iter().filter(|t| *t == tag).count(),
            1,
            "{tag} written once: {first_tags:?}"
        );
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["command"], "merge");
    let digest = doc["images"][0]["digest"].as_str().unwrap().to_string();
    // Where each leg's build time went, as its record says, in the platform order: one
    // document for a CI job to chart.
    let leg_timing = |f: &str| {
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(Path::new(&all).join(f)).unwrap())
                .unwrap();
        r["timing"].clone()
    };
    assert_eq!(
        doc["images"][0]["timing"],
        serde_json::json!([
            leg_timing("app@linux-amd64.json"),
            leg_timing("app@linux-arm64.json")
        ]),
        "{doc:#}"
    );
    assert!(doc["images"][0]["timing"][1]["total_s"].as_f64() > Some(0.0));
    assert_eq!(
        stack.tag_digest(&repo, "latest").as_deref(),
        Some(digest.as_str())
    );
    assert_eq!(
        stack.tag_digest(&repo, "m1").as_deref(),
        Some(digest.as_str())
    );
    let index = stack.manifest(&repo, "latest");
    let kinds: Vec<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}/{}",
                m["platform"]["os"].as_str().unwrap(),
                m["platform"]["architecture"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "linux/amd64",
            "unknown/unknown",
            "linux/arm64",
            "unknown/unknown"
        ],
        "each platform followed by its attestation: {index}"
    );
    // Each attestation names the manifest before it.
    let m = index["manifests"].as_array().unwrap();
    for pair in m.chunks(2) {
        assert_eq!(
            pair[1]["annotations"]["vnd.docker.reference.digest"],
            pair[0]["digest"]
        );
    }
    // The Lambda tag: the arm64 plain manifest.
    let lambda = stack.manifest(&repo, "m1-lambda");
    assert!(lambda.get("manifests").is_none(), "{lambda}");
    assert_eq!(
        stack.tag_digest(&repo, "m1-lambda").as_deref(),
        m[2]["digest"].as_str()
    );
    let lambda_tag = doc["images"][0]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tag"] == "m1-lambda")
        .unwrap()
        .clone();
    assert_eq!(lambda_tag["platform"], "linux/arm64");
    assert_eq!(lambda_tag["digest"], m[2]["digest"]);

    // Again: the same index digest, nothing moved anew — the registry's access log
    // shows no tag written (the index is put again by its digest, which moves nothing).
    let mark = stack.registry_log_mark();
    let out = run(
        &stack,
        p,
        "work-merge",
        &["merge", "--digests-dir", &all, "--format", "json"],
    );
    let tags = tag_puts(&stack, &mark, &repo);
    assert!(tags.is_empty(), "a second merge moved tags: {tags:?}");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let again: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(again["images"][0]["digest"], digest.as_str());
    for t in again["images"][0]["tags"].as_array().unwrap() {
        assert_eq!(t["unchanged"], true, "{t}");
    }

    // A platform recorded twice with different digests: exit 2.
    let twice = collect(p, &["d-amd64", "d-arm64"], "twice");
    let mut r: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&twice).join("app@linux-amd64.json")).unwrap(),
    )
    .unwrap();
    r["digest"] = serde_json::json!(format!("sha256:{}", "0".repeat(64)));
    std::fs::write(
        Path::new(&twice).join("app@linux-amd64-retry.json"),
        r.to_string(),
    )
    .unwrap();
    let out = run(&stack, p, "work-merge", &["merge", "--digests-dir", &twice]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("recorded twice with different digests"), "{t}");
}

#[test]
fn legs_from_another_plan_or_lying_about_their_arch_move_nothing() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("merge-refused");
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml(&stack, &repo, "").as_bytes()),
        ("Dockerfile", DOCKERFILE.as_bytes()),
    ]);
    let p = dir.path();
    let d = |s: &str| p.join(s).display().to_string();
    for platform in ["linux/amd64", "linux/arm64"] {
        let out = run(
            &stack,
            p,
            "work",
            &[
                "push",
                "--platform",
                platform,
                "--digests-dir",
                &d("legs"),
                "--progress",
                "plain",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }

    // The project file was edited after the legs ran (a build arg added): refused.
    std::fs::write(
        p.join("mpbuild.yaml"),
        yaml(&stack, &repo, ", EXTRA: \"1\""),
    )
    .unwrap();
    let out = run(&stack, p, "work", &["merge", "--digests-dir", &d("legs")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("was made from a different plan of image `app`"),
        "{t}"
    );
    // Another commit (another ${GIT_SHA} tag): refused too.
    std::fs::write(p.join("mpbuild.yaml"), yaml(&stack, &repo, "")).unwrap();
    let out = stack
        .runner()
        .dir(p)
        .git_sha("m2")
        .output(&["merge", "--digests-dir", &d("legs")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("was made from a different plan of image `app`"),
        "{t}"
    );
    assert_eq!(stack.tag_digest(&repo, "latest"), None);

    // A leg whose record says arm64 over the amd64 image: the config disagrees with the
    // index entry, verification fails, nothing moves.
    let amd: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.join("legs/app@linux-amd64.json")).unwrap(),
    )
    .unwrap();
    let mut lie: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(p.join("legs/app@linux-arm64.json")).unwrap(),
    )
    .unwrap();
    lie["digest"] = amd["digest"].clone();
    lie["leg_digest"] = amd["digest"].clone();
    lie["media_type"] = amd["media_type"].clone();
    std::fs::write(p.join("legs/app@linux-arm64.json"), lie.to_string()).unwrap();
    let out = run(&stack, p, "work", &["merge", "--digests-dir", &d("legs")]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("verification failed: no tag moved"), "{t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), None);
    assert_eq!(stack.tag_digest(&repo, "m1-lambda"), None);
}

#[test]
fn a_partial_push_needs_a_merge() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("leg-usage");
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml(&stack, &repo, "").as_bytes()),
        ("Dockerfile", DOCKERFILE.as_bytes()),
    ]);
    let p = dir.path();
    let out = run(&stack, p, "work", &["push", "--platform", "linux/arm64"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("needs --digests-dir DIR"), "{t}");
    let out = run(
        &stack,
        p,
        "work",
        &["push", "--platform", "linux/s390x", "--digests-dir", "d"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("no selected image needs linux/s390x"), "{t}");
    assert!(!p.join("d").exists());
}
