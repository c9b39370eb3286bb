//! Caches that survive legs: two legs (amd64, arm64) with `cache: registry`, each in a
//! fresh builder (a BuildKit daemon with an empty state directory, so nothing comes
//! from a local cache), one after the other; then both again after a one-line change
//! late in the Dockerfile. Each leg's second run takes the early steps from its own
//! platform's cache ref — shown by its cache hits and its time — where one shared
//! `REPOSITORY:buildcache` held only the last leg's platform. `cache: local` does the
//! same with a directory of the work directory. A cache that cannot be written is a
//! warning, and the push goes on.

mod common;

use std::path::Path;

use common::{Stack, text};
use serde_json::Value;

/// Line 3 is the expensive early step; line 4 is the one the test changes.
fn dockerfile(id: &str, late: &str) -> String {
    format!(
        "ARG BASE\nFROM ${{BASE}}\nRUN echo {id} > /id && head -c 100000000 /dev/zero | sha256sum > /digest\nRUN echo {late} > /late\n"
    )
}

/// A leg of `platform` in a builder of its own, new and empty, removed afterwards: the
/// leg's document.
fn fresh_leg(stack: &Stack, project: &Path, platform: &str, round: usize) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let slug = platform.replace('/', "-");
    let daemon = common::buildkitd(stack, dir.path(), &slug, platform);
    let cfg = common::docker_config(stack, dir.path());
    let name = format!("e2e-cache-{}-{slug}-{round}", std::process::id());
    stack.ok(stack
        .docker()
        .env("DOCKER_CONFIG", &cfg)
        .args(["buildx", "create", "--name", &name, "--driver", "remote"])
        .arg(format!("unix://{}", daemon.sock.display())));
    let legs = project.join("legs");
    let (out, doc) = stack.run_in(project).docker_config(&cfg).json(&[
        "push",
        "--builder",
        &name,
        "--platform",
        platform,
        "--digests-dir",
        legs.to_str().unwrap(),
        "--format",
        "json",
        "--progress",
        "plain",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{platform} round {round}: {}",
        text(&out)
    );
    stack.ok(stack
        .docker()
        .env("DOCKER_CONFIG", &cfg)
        .args(["buildx", "rm", &name]));
    drop(daemon);
    doc
}

fn timing(doc: &Value) -> &Value {
    &doc["images"][0]["timing"][0]
}

#[test]
fn each_leg_keeps_its_own_platform_cache() {
    let Some(stack) = common::stack() else { return };
    let Some(_bin) = stack.buildkitd_bin() else {
        return;
    };
    let _emu = stack.emulation_shared();
    let repo = stack.unique_repo("cache-legs");
    let id = format!(
        "{repo}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    cache: registry\n    build_args: {{BASE: \"{base}\"}}\n    targets: [{{service: apprunner}}, {{service: ecs-fargate, arch: ARM64}}]\n",
        base = stack.base_image
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", dockerfile(&id, "one").as_bytes()),
    ]);
    let platforms = ["linux/amd64", "linux/arm64"];
    let first: Vec<Value> = platforms
        .iter()
        .map(|p| fresh_leg(&stack, dir.path(), p, 1))
        .collect();
    // Each leg wrote its own ref; nothing wrote the combined one.
    let tags = stack
        .registry_get(&format!("/v2/{}/tags/list", common::path_of(&repo)))
        .1;
    for p in ["buildcache-linux-amd64", "buildcache-linux-arm64"] {
        assert!(tags.contains(&format!("\"{p}\"")), "{tags}");
    }
    assert!(!tags.contains("\"buildcache\""), "{tags}");

    std::fs::write(dir.path().join("Dockerfile"), dockerfile(&id, "two")).unwrap();
    for (p, before) in platforms.iter().zip(&first) {
        let after = fresh_leg(&stack, dir.path(), p, 2);
        let (t1, t2) = (timing(before), timing(&after));
        // The figures, for the log of a run (the issue asks for them measured).
        eprintln!(
            "{p}: first run {}s, {}/{} cached; after the change {}s, {}/{} cached",
            t1["total_s"], t1["cached"], t1["steps"], t2["total_s"], t2["cached"], t2["steps"]
        );
        // The early steps came from this platform's cache: more hits, and the heavy
        // step did not run.
        assert!(
            t2["cached"].as_u64() > t1["cached"].as_u64(),
            "{p}: {t1:#}\n{t2:#}"
        );
        let ran_heavy = |t: &Value| {
            t["slowest"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["at"] == "Dockerfile:3")
        };
        assert!(ran_heavy(t1) && !ran_heavy(t2), "{p}: {t1:#}\n{t2:#}");
        // No assertion on the totals: since a leg's total is its whole buildx run
        // (client start, session, export to the registry), a loaded machine can make
        // the second run as long as the first although its heavy step came from the
        // cache; the step lists above are what the cache decides.
        // The late step, changed, ran.
        assert!(
            t2["slowest"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["at"] == "Dockerfile:4"),
            "{p}: {t2:#}"
        );
        // Its own ref was read (only the combined one, never written, was not).
        let not_read = after["images"][0]["cache"]["not_read"].to_string();
        assert!(
            !not_read.contains(&format!("buildcache-{}", p.replace('/', "-"))),
            "{p}: {not_read}"
        );
        assert_eq!(after["images"][0]["cache"]["written"], true, "{after:#}");
    }

    // The legs merge into one index; the cache tags are not part of it and no tag of
    // the image points at one.
    let out = stack.run_in(dir.path()).output(&[
        "merge",
        "--digests-dir",
        dir.path().join("legs").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let latest = stack.tag_digest(&repo, "latest").expect("latest");
    for cache in ["buildcache-linux-amd64", "buildcache-linux-arm64"] {
        assert_ne!(stack.tag_digest(&repo, cache), Some(latest.clone()));
    }
}

/// A cache that cannot be written (its registry refuses the connection) is a warning
/// in the report; the push goes on and moves its tag.
#[test]
fn a_cache_write_failure_is_a_warning() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("cache-warning");
    let closed = common::CLOSED_ADDR;
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    cache: {{to: \"type=registry,ref={closed}/x:cache\"}}\n    build_args: {{BASE: \"{base}\"}}\n    targets: [{{service: apprunner}}]\n",
        base = stack.base_image
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        (
            "Dockerfile",
            format!("ARG BASE\nFROM ${{BASE}}\nRUN echo {repo} > /id\n").as_bytes(),
        ),
    ]);
    let out = stack
        .run_in(dir.path())
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let line = t
        .lines()
        .find(|l| l.trim_start().starts_with("cache      "))
        .unwrap_or_else(|| panic!("no cache line:\n{t}"));
    assert!(
        line.contains("warning: not written (") && line.contains(closed),
        "{line}"
    );
    assert!(t.contains("warning: exporting cache to registry: "), "{t}");
    assert!(!t.contains("FAILED"), "{t}");
    assert!(stack.tag_digest(&repo, "latest").is_some());
}

/// `cache: local` (laptops, Makefiles): a leg writes its platform's directory in the
/// work directory, this user's only; the next leg, in a new empty builder, takes the
/// early steps from it.
#[test]
fn a_local_cache_serves_the_next_build() {
    use std::os::unix::fs::PermissionsExt;
    let Some(stack) = common::stack() else { return };
    let Some(_bin) = stack.buildkitd_bin() else {
        return;
    };
    let repo = stack.unique_repo("cache-local");
    let id = format!(
        "{repo}-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    cache: local\n    build_args: {{BASE: \"{base}\"}}\n    targets: [{{service: apprunner}}]\n",
        base = stack.base_image
    );
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        ("Dockerfile", dockerfile(&id, "one").as_bytes()),
    ]);
    let first = fresh_leg(&stack, dir.path(), "linux/amd64", 1);
    let cache = dir.path().join(".mpbuild-work/buildcache/app/linux-amd64");
    assert!(
        cache.join("index.json").is_file(),
        "no cache in {}",
        cache.display()
    );
    let mode = std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{}", cache.display());

    std::fs::write(dir.path().join("Dockerfile"), dockerfile(&id, "two")).unwrap();
    let second = fresh_leg(&stack, dir.path(), "linux/amd64", 2);
    let (t1, t2) = (timing(&first), timing(&second));
    eprintln!(
        "cache: local, linux/amd64: first run {}s, {}/{} cached; after the change {}s, {}/{} cached",
        t1["total_s"], t1["cached"], t1["steps"], t2["total_s"], t2["cached"], t2["steps"]
    );
    assert!(
        t2["cached"].as_u64() > t1["cached"].as_u64(),
        "{t1:#}\n{t2:#}"
    );
    let ran = |t: &Value, at: &str| {
        t["slowest"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["at"] == at)
    };
    assert!(
        ran(t1, "Dockerfile:3") && !ran(t2, "Dockerfile:3"),
        "{t1:#}\n{t2:#}"
    );
    assert_eq!(second["images"][0]["cache"]["written"], true, "{second:#}");
}
