//! Skip unchanged images, on the real stack: a second push of an unchanged project runs
//! no buildx command — BuildKit's own cache records show no use of its steps, and the
//! registry's access log no upload — and moves the new tag to the verified image; what the
//! build can see (a context file, a build arg, a base image's digest) rebuilds; what it
//! cannot (a `.dockerignore`d file) does not; `--rebuild` and `rebuild: always` always
//! build.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Stack, text};

/// `mpbuild -v push --format json EXTRA` in `dir` with GIT_SHA=`sha`.
fn push(stack: &Stack, dir: &Path, sha: &str, extra: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec!["-v", "push", "--progress", "plain", "--format", "json"];
    args.extend_from_slice(extra);
    stack.run_in(dir).git_sha(sha).json(&args)
}

/// Whether the run started buildx (with `-v`, every command is shown as `$ docker …`).
fn ran_buildx(out: &Output) -> bool {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .any(|l| l.starts_with("$ docker buildx"))
}

/// What a push did, read from BuildKit and the registry rather than from mpbuild.
struct Seen {
    /// How many times dockerd's BuildKit used the test's marked RUN step (run or from
    /// its cache): any build of the Dockerfile uses it.
    builds: u64,
    /// Uploads into the app's repository in the registry's access log: blob sessions
    /// and manifests by digest (a tag moved is neither).
    uploads: Vec<common::Access>,
}

fn uploads(stack: &Stack, mark: &common::LogMark, repo: &str) -> Vec<common::Access> {
    let app = format!("/v2/{}/", common::path_of(repo));
    stack
        .registry_requests_since(mark)
        .into_iter()
        .filter(|a| {
            a.path.starts_with(&app)
                && !a.path.contains(common::fault::PREFLIGHT)
                && ((a.method == "POST" && a.path.contains("/blobs/uploads/"))
                    || (a.method == "PUT" && a.path.contains("/manifests/sha256:")))
        })
        .collect()
}

fn built(doc: &serde_json::Value) -> bool {
    doc["images"][0]["built"]
        .as_bool()
        .expect("built in the JSON")
}

fn yaml(repo: &str, base: &str, arg: &str, rebuild: &str) -> String {
    format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest, \"${{GIT_SHA}}\"]\n    build_args: {{BASE: \"{base}\", ARG1: \"{arg}\"}}\n{rebuild}    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n"
    )
}

#[test]
fn unchanged_images_are_not_built_and_what_the_build_sees_rebuilds() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("unchanged");
    // A base image of its own, so the test can move its tag.
    let base_repo = stack.unique_repo("unchanged-base");
    let base_ctx = stack.context(&[("Dockerfile", b"FROM scratch\nCOPY v /v\n"), ("v", b"1")]);
    let push_base = |v: &[u8]| {
        std::fs::write(base_ctx.path().join("v"), v).unwrap();
        stack.ok(stack
            .docker()
            .args([
                "buildx",
                "build",
                "-q",
                "--provenance=false",
                "--platform",
                "linux/amd64,linux/arm64",
                "-t",
                &format!("{base_repo}:1"),
                "--push",
            ])
            .arg(base_ctx.path()));
    };
    push_base(b"1");
    // The app runs on the stack's busybox base (so RUN works) and copies from its own;
    // its RUN step carries the repository's unique name, so BuildKit's cache records
    // of it are this test's alone.
    let df = format!(
        "ARG BASE\nFROM ${{BASE}} AS base\nFROM {}\nCOPY --from=base /v /v\nARG ARG1\nCOPY app.txt /app.txt\nRUN echo \"$ARG1\" > /arg && : {repo}\n",
        stack.base_image
    );
    let base = format!("{base_repo}:1");
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml(&repo, &base, "a", "").as_bytes()),
        ("Dockerfile", df.as_bytes()),
        ("app.txt", b"one"),
        (".dockerignore", b"notes.txt\n.mpbuild-work\n"),
        ("notes.txt", b"not in the build"),
    ]);
    let p = dir.path();
    // A push, and what BuildKit and the registry saw meanwhile.
    let push = |sha: &str, extra: &[&str]| {
        let (mark, used) = (stack.registry_log_mark(), stack.buildkit_uses(&repo));
        let (out, doc) = push(&stack, p, sha, extra);
        let seen = Seen {
            builds: stack.buildkit_uses(&repo) - used,
            uploads: uploads(&stack, &mark, &repo),
        };
        (out, doc, seen)
    };

    let (out, doc, first_push) = push("s1", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(ran_buildx(&out) && built(&doc), "{}", text(&out));
    // BuildKit ran the step (once per platform), and the image was uploaded.
    assert!(
        first_push.builds >= 2 && !first_push.uploads.is_empty(),
        "a build BuildKit or the registry did not see: {} use(s), uploads {:?}",
        first_push.builds,
        first_push.uploads
    );
    let first = doc["images"][0]["digest"].as_str().unwrap().to_string();

    // Unchanged: no buildx at all; the new tag moves to the same, verified index.
    // BuildKit used no step of it, and the registry got no upload, only a tag.
    let (out, doc, unchanged) = push("s2", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        unchanged.builds == 0 && unchanged.uploads.is_empty(),
        "an unchanged push built or uploaded: {} use(s), uploads {:?}",
        unchanged.builds,
        unchanged.uploads
    );
    assert!(!ran_buildx(&out), "{}", text(&out));
    assert!(!built(&doc), "{doc}");
    assert_eq!(doc["images"][0]["unchanged_since"], "latest");
    assert_eq!(
        stack.tag_digest(&repo, "s2").as_deref(),
        Some(first.as_str())
    );
    assert!(
        !doc["verdicts"].as_array().unwrap().is_empty(),
        "verified: {doc}"
    );
    let v = stack.run(&[
        "verify",
        &format!("{repo}:s2"),
        "--target",
        "ecs-fargate:ARM64",
    ]);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));

    // A `.dockerignore`d file: still unchanged.
    std::fs::write(p.join("notes.txt"), "edited").unwrap();
    let (out, doc, served) = push("s3", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(served.builds, 0, "{}", text(&out));
    assert!(!ran_buildx(&out) && !built(&doc), "{}", text(&out));

    // A context file: rebuilt.
    std::fs::write(p.join("app.txt"), "two").unwrap();
    let (out, doc, served) = push("s4", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(served.builds >= 2, "rebuilt unseen: {}", text(&out));
    assert!(ran_buildx(&out) && built(&doc), "{}", text(&out));
    let second = doc["images"][0]["digest"].as_str().unwrap().to_string();
    assert_ne!(second, first);

    // A build arg: rebuilt.
    std::fs::write(p.join("mpbuild.yaml"), yaml(&repo, &base, "b", "")).unwrap();
    let (out, doc, _) = push("s5", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(ran_buildx(&out) && built(&doc), "{}", text(&out));

    // The base image's tag moved in the registry: rebuilt.
    let (out, doc, served) = push("s6", &[]);
    assert_eq!(served.builds, 0, "{}", text(&out));
    assert!(
        !built(&doc),
        "unchanged before the base moves: {}",
        text(&out)
    );
    push_base(b"2");
    let (out, doc, _) = push("s7", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(ran_buildx(&out) && built(&doc), "{}", text(&out));

    // --rebuild: rebuilt although nothing changed.
    let (out, doc, _) = push("s8", &["--rebuild"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(ran_buildx(&out) && built(&doc), "{}", text(&out));

    // rebuild: always in the project file: rebuilt, with the reason said.
    std::fs::write(
        p.join("mpbuild.yaml"),
        yaml(&repo, &base, "b", "    rebuild: always\n"),
    )
    .unwrap();
    let (out, doc, _) = push("s9", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(ran_buildx(&out) && built(&doc), "{}", text(&out));
    assert!(
        doc["built"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("`rebuild: always`"),
        "{doc}"
    );
}

#[test]
fn dry_run_says_which_images_would_be_skipped() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("unchanged-dry");
    let dir = stack.context(&[
        (
            "mpbuild.yaml",
            format!(
                "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets: [{{service: ecs-fargate}}]\n"
            )
            .as_bytes(),
        ),
        ("Dockerfile", b"FROM scratch\nCOPY app.txt /app.txt\n"),
        ("app.txt", b"one"),
    ]);
    let p = dir.path();
    let dry = |sha: &str| {
        let out = stack.run_in(p).git_sha(sha).output(&["push", "--dry-run"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        text(&out)
    };
    assert!(
        dry("d1").contains("# app: would be built: its inputs changed (or no tag holds them yet)")
    );
    let (out, _) = push(&stack, p, "d1", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = dry("d2");
    assert!(t.contains("# app: unchanged since"), "{t}");
    assert!(t.contains("no build"), "{t}");
}

#[test]
fn a_held_image_that_fails_verification_now_is_built_not_reused() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("unchanged-unverified");
    // Every platform gets the x86-64 busybox: fine without --deep, wrong with it.
    let busybox = std::fs::read(stack.busybox("amd64")).unwrap();
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest, \"${{GIT_SHA}}\"]\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n"
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("busybox", &busybox),
        (
            "Dockerfile",
            b"FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\", \"true\"]\n",
        ),
    ]);
    let p = dir.path();
    let (out, _) = push(&stack, p, "v1", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Same inputs, but now the deep check is asked for: `latest` holds them and fails it,
    // so the image is built (and then fails too), never reused.
    let (out, doc) = push(&stack, p, "v2", &["--deep"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(ran_buildx(&out), "{}", text(&out));
    assert!(
        doc["built"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("does not pass verification now"),
        "{doc}"
    );
    assert_eq!(stack.tag_digest(&repo, "v2"), None);
}

/// A `--deep` push of an unchanged image verifies the root its tag holds once: each
/// layer the deep check reads is read from the registry once (the registry's access
/// log counts the blob GETs), not once to decide the image is unchanged and again
/// before its tags move.
#[test]
fn a_deep_push_of_an_unchanged_image_reads_each_layer_once() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("unchanged-deep");
    let amd64 = std::fs::read(stack.busybox("amd64")).unwrap();
    let arm64 = std::fs::read(stack.busybox("arm64")).unwrap();
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest, \"${{GIT_SHA}}\"]\n    targets: [{{service: ecs-fargate, arch: [X86_64, ARM64]}}]\n"
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("busybox-amd64", &amd64),
        ("busybox-arm64", &arm64),
        (
            "Dockerfile",
            b"FROM scratch\nARG TARGETARCH\nCOPY busybox-${TARGETARCH} /bin/busybox\nENTRYPOINT [\"/bin/busybox\", \"true\"]\n",
        ),
    ]);
    let p = dir.path();
    let (out, doc) = push(&stack, p, "d1", &["--deep"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(built(&doc), "{doc}");

    let mark = stack.registry_log_mark();
    let (out, doc) = push(&stack, p, "d2", &["--deep"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!built(&doc) && !ran_buildx(&out), "{}", text(&out));
    assert_eq!(doc["images"][0]["unchanged_since"], "latest", "{doc}");
    // The layers of its platforms' manifests (not their configs, nor the blobs of
    // its referrers: the verification record's statement is read to keep it).
    let layers: Vec<String> = ["amd64", "arm64"]
        .iter()
        .flat_map(|arch| {
            let index = stack.manifest(&repo, "d2");
            let child = index["manifests"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["platform"]["architecture"] == *arch)
                .unwrap()["digest"]
                .as_str()
                .unwrap()
                .to_string();
            stack.manifest(&repo, &child)["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["digest"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let blobs = format!("/v2/{}/blobs/", common::path_of(&repo));
    let mut reads: std::collections::BTreeMap<String, usize> = Default::default();
    for a in stack.registry_requests_since(&mark) {
        if a.method == "GET"
            && let Some(digest) = a.path.strip_prefix(&blobs)
            && layers.iter().any(|l| l == digest)
        {
            *reads.entry(digest.to_string()).or_default() += 1;
        }
    }
    // The deep check read both platforms' layers (one each here), each once.
    assert_eq!(reads.len(), 2, "layer reads: {reads:?}\n{}", text(&out));
    assert!(
        reads.values().all(|n| *n == 1),
        "a layer read more than once: {reads:?}"
    );
}
