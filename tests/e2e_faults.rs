//! `verify`, `mirror` and `push` through a fault-injecting proxy in front of the real
//! registry (`common::fault`): slow bytes, stalls, resets, 429 with Retry-After (the
//! wait measured on the proxy's clock), 5xx, wrong bytes for a digest. Each asserts the
//! exit code and that no tag moved; where credentials are configured (and the proxy
//! asks for them, so they are sent), that they appear in no output. Redirects and token
//! realms: `e2e_credentials.rs`.

mod common;

use std::time::{Duration, Instant};

use common::fault::{Fault, Gate, Proxy, assert_no_credentials, credentials, mpbuild, via};
use common::running::Running;
use common::{has_blob_at, tag_digest_at, text};

#[test]
fn verify_rides_out_429_and_5xx_then_gives_up_on_persistent_ones() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    proxy
        .times(2, Some("GET"), "/manifests/", Fault::too_many_requests(1))
        .times(1, Some("GET"), "/blobs/", Fault::status(503));
    let image = via(&proxy, &stack);
    let out = mpbuild(
        &stack,
        None,
        &["verify", &image, "--platform", "linux/amd64"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert_eq!(proxy.faults_applied(), 3, "{:?}", proxy.requests());

    // Persistent 503s: bounded retries, then exit 4 naming the registry.
    proxy.always(Some("GET"), "/blobs/", Fault::status(503));
    let started = Instant::now();
    let out = mpbuild(
        &stack,
        None,
        &["verify", &image, "--platform", "linux/amd64"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains(&proxy.addr) && t.contains("503"), "{t}");
    assert!(started.elapsed() < Duration::from_secs(60), "{t}");
}

#[test]
fn verify_resets_stalls_and_cut_bodies_are_exit_4_in_bounded_time() {
    let Some(stack) = common::stack() else { return };
    for (fault, path) in [
        (Fault::Reset, "/manifests/"),
        (Fault::Stall(Duration::from_secs(40)), "/blobs/"),
        (Fault::CutBody, "/blobs/"),
    ] {
        let proxy = Proxy::start(&stack.registry);
        proxy.always(Some("GET"), path, fault.clone());
        let started = Instant::now();
        let out = stack.runner().env("MPBUILD_REQUEST_TIMEOUT", "2").output(&[
            "verify",
            &via(&proxy, &stack),
            "--platform",
            "linux/amd64",
        ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(4), "{fault:?}: {t}");
        assert!(t.contains(&proxy.addr), "{fault:?}: {t}");
        assert!(!t.contains("panicked"), "{t}");
        assert!(
            started.elapsed() < Duration::from_secs(35),
            "{fault:?} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn verify_takes_slow_bytes_and_refuses_wrong_ones() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    proxy.always(
        Some("GET"),
        "/manifests/",
        Fault::Slow {
            chunk: 256,
            pause: Duration::from_millis(2),
        },
    );
    let image = via(&proxy, &stack);
    let out = mpbuild(
        &stack,
        None,
        &["verify", &image, "--platform", "linux/arm64"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let (_, config, layers) = stack.base_parts("amd64");
    proxy.clear();
    proxy.always(Some("GET"), &config, Fault::WrongBytes);
    let out = mpbuild(
        &stack,
        None,
        &["verify", &image, "--platform", "linux/amd64"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("does not match its digest") && t.contains(&config),
        "{t}"
    );
    // A layer's wrong bytes, seen by --deep. The byte changed is in the gzip header's
    // MTIME field, which no decoder checks: the layer still decompresses into the same
    // tar, so only the layer's digest can tell.
    let (manifest, _, _) = stack.base_parts("amd64");
    let m = stack.manifest_of_path(&stack.base_repo, &manifest);
    for l in m["layers"].as_array().unwrap() {
        assert!(
            l["mediaType"].as_str().unwrap().ends_with("gzip"),
            "a gzip layer (the fault changes its MTIME byte): {l}"
        );
    }
    proxy.clear();
    for l in &layers {
        proxy.always(Some("GET"), l, Fault::WrongByteAt(4));
    }
    let out = mpbuild(
        &stack,
        None,
        &["verify", &image, "--platform", "linux/amd64", "--deep"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    let error = t
        .lines()
        .find(|l| l.contains("does not match its digest"))
        .unwrap_or_else(|| panic!("no digest mismatch: {t}"));
    assert!(
        layers
            .iter()
            .any(|l| error.contains(&format!("expected {l}"))),
        "names the layer's digest: {t}"
    );
    assert!(proxy.faults_applied() > 0, "{:?}", proxy.requests());
}

/// How long after the request a fault answered the next request for the same path
/// came (the client's wait before its retry).
fn retry_gap(proxy: &Proxy, path: &str) -> Duration {
    let seen = proxy.requests();
    let faulted = seen
        .iter()
        .position(|r| r.fault.is_some() && r.path.contains(path))
        .unwrap_or_else(|| panic!("no fault applied to {path}: {seen:?}"));
    let retry = seen[faulted + 1..]
        .iter()
        .find(|r| r.path == seen[faulted].path)
        .unwrap_or_else(|| panic!("no retry of {}: {seen:?}", seen[faulted].path));
    retry.at - seen[faulted].at
}

#[test]
fn retry_after_is_waited_for_in_seconds_and_as_an_http_date() {
    let Some(stack) = common::stack() else { return };
    // Seconds: 429 with `Retry-After: 3`; the retry comes 3 s later, not after the
    // client's own backoff (a quarter of a second).
    let proxy = Proxy::start(&stack.registry);
    proxy.times(1, Some("GET"), "/manifests/", Fault::too_many_requests(3));
    let image = via(&proxy, &stack);
    let out = mpbuild(
        &stack,
        None,
        &["verify", &image, "--platform", "linux/amd64"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let gap = retry_gap(&proxy, "/manifests/");
    assert!(gap >= Duration::from_millis(2950), "retried after {gap:?}");

    // An HTTP date (whole seconds), set when the 429 is answered 2-3 s ahead: the retry
    // comes no earlier than it. A client that ignored the date would retry after its own
    // backoff (a quarter of a second). The date is made by the proxy as it answers, so
    // how long mpbuild takes to start and ask on a loaded machine does not matter (a
    // date fixed before the run left it 2-3 s, then 3-4 s).
    let proxy = Proxy::start(&stack.registry);
    proxy.times(1, Some("GET"), "/manifests/", Fault::RetryAtDate(2));
    let image = via(&proxy, &stack);
    let out = mpbuild(
        &stack,
        None,
        &["verify", &image, "--platform", "linux/amd64"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let gap = retry_gap(&proxy, "/manifests/");
    assert!(
        gap >= Duration::from_millis(1950),
        "retried {gap:?} after a 429 whose date was at least 2 s ahead"
    );
}

#[test]
fn mirror_from_a_source_serving_wrong_bytes_writes_no_blob_and_moves_no_tag() {
    let Some(stack) = common::stack() else { return };
    let dest = stack.start_registry("", None);
    // The destination through a proxy too, which records what reaches it.
    let into = Proxy::start(&dest.addr);
    let proxy = Proxy::start(&stack.registry);
    let src = via(&proxy, &stack);
    // A first, good copy (arm64) sets the tag.
    let out = mpbuild(
        &stack,
        None,
        &[
            "mirror",
            &src,
            &format!("{}/copy:v1", into.addr),
            "--platform",
            "linux/arm64",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = tag_digest_at(&dest.addr, "copy", "v1").expect("tagged");
    // Now amd64, whose layers the source corrupts.
    let (_, _, layers) = stack.base_parts("amd64");
    for l in &layers {
        proxy.always(Some("GET"), l, Fault::WrongBytes);
    }
    let out = mpbuild(
        &stack,
        None,
        &[
            "mirror",
            &src,
            &format!("{}/copy:v1", into.addr),
            "--platform",
            "linux/amd64",
        ],
    );
    let t = text(&out);
    let (_, _, arm_layers) = stack.base_parts("arm64");
    let amd_only: Vec<&String> = layers.iter().filter(|l| !arm_layers.contains(l)).collect();
    assert!(!amd_only.is_empty(), "no amd64-only layer to check");
    // The registry refuses a wrong blob by itself, so what counts is what reached it:
    // every upload of a corrupted layer that started was cut before its last byte (and
    // at least one started: the first failure stops the others from starting).
    let seen = into.requests();
    let mut started = 0;
    for l in &amd_only {
        let hex = l.trim_start_matches("sha256:");
        let puts: Vec<_> = seen
            .iter()
            .filter(|r| r.method == "PUT" && r.path.contains(hex))
            .collect();
        started += puts.len();
        assert!(
            puts.iter().all(|r| !r.complete),
            "the whole of the wrong {l} was sent: {puts:?}"
        );
        assert!(!has_blob_at(&dest.addr, "copy", l), "{l} was committed");
    }
    assert!(
        started > 0,
        "no upload of a corrupted layer started: {seen:?}"
    );
    assert_eq!(out.status.code(), Some(4), "{t}");
    let error = t
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("no error line: {t}"));
    assert!(
        error.starts_with(&format!("error: {}:", proxy.addr))
            && error.contains("does not match its digest"),
        "names the source: {t}"
    );
    assert!(
        layers.iter().any(|l| error.contains(l)),
        "names the digest: {t}"
    );
    assert_eq!(
        tag_digest_at(&dest.addr, "copy", "v1"),
        Some(before),
        "the tag moved"
    );
}

#[test]
fn mirror_into_a_failing_destination_moves_no_tag() {
    let Some(stack) = common::stack() else { return };
    let dest = stack.start_registry("", None);
    let proxy = Proxy::start(&dest.addr);
    let target = format!("{}/copy:v1", proxy.addr);
    let out = mpbuild(
        &stack,
        None,
        &[
            "mirror",
            &stack.base_image,
            &target,
            "--platform",
            "linux/arm64",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = tag_digest_at(&dest.addr, "copy", "v1").expect("tagged");
    for (method, path, fault) in [
        // Uploads fail first (a later attempt would find the blobs there).
        (Some("PUT"), "/blobs/uploads/", Fault::Reset),
        (Some("POST"), "/blobs/uploads/", Fault::too_many_requests(1)),
        (Some("PUT"), "/manifests/v1", Fault::status(503)),
    ] {
        proxy.clear();
        proxy.always(method, path, fault.clone());
        let out = mpbuild(
            &stack,
            None,
            &["mirror", &stack.base_image, &target, "--all"],
        );
        let t = text(&out);
        assert_eq!(out.status.code(), Some(4), "{fault:?}: {t}");
        assert!(t.contains(&proxy.addr), "{t}");
        assert_eq!(
            tag_digest_at(&dest.addr, "copy", "v1").as_ref(),
            Some(&before),
            "{fault:?}: the tag moved"
        );
    }
}

#[test]
fn push_through_a_failing_registry_moves_no_tag() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    let path = format!("e2e/faults-push-{}", common::run_id());
    let repo = format!("{}/{path}", proxy.addr);
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets: [{{service: apprunner}}]\n"
    );
    let busybox = std::fs::read(stack.busybox("amd64")).unwrap();
    let dir = stack.context(&[
        ("mpbuild.yaml", yaml.as_bytes()),
        (
            "Dockerfile",
            b"FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\"]\nCMD [\"true\"]\n",
        ),
        ("busybox", &busybox),
    ]);
    // Credentials for the proxy, which asks for them once per run: every request after
    // that carries them, so a leak into the output (with -v) is possible.
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = common::docker_config(&stack, cfg_dir.path());
    credentials(&cfg, &proxy.addr);
    // The tag PUT fails (after every blob and manifest went in by digest); then the
    // config comes back wrong during verification.
    for fault in [
        (
            Some("PUT"),
            "/manifests/latest".to_string(),
            Fault::status(503),
        ),
        (Some("GET"), "/blobs/".to_string(), Fault::WrongBytes),
    ] {
        proxy.clear();
        proxy
            .times(
                1,
                None,
                "/v2/",
                Fault::Challenge("Basic realm=\"fault\"".into()),
            )
            .always(fault.0, &fault.1, fault.2.clone());
        let out = stack
            .run_in(dir.path())
            .docker_config(&cfg)
            .env("MPBUILD_REQUEST_TIMEOUT", "10")
            .output(&[
                "-v",
                "push",
                "--progress",
                "plain",
                "--insecure-registry",
                &proxy.addr,
            ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(4), "{:?}: {t}", fault.2);
        assert!(t.contains(&proxy.addr), "{t}");
        assert_eq!(
            tag_digest_at(&stack.registry, &path, "latest"),
            None,
            "{:?}: a tag moved",
            fault.2
        );
        assert_no_credentials(&t);
        assert!(
            proxy.requests().iter().any(|r| r.authorization),
            "the credentials were used: {:?}",
            proxy.requests()
        );
    }
}

#[test]
fn ctrl_c_during_a_mirror_starts_no_new_blob_moves_no_tag_and_exits_130() {
    let Some(stack) = common::stack() else { return };
    // Twelve layers of 2 MiB random bytes (nothing compresses): more than mirror copies
    // at once, and each above SMALL_BLOB (1 MiB, src/pipeline/mirror/blobs.rs), so
    // only the streams ask the source for them.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut dockerfile = String::from("FROM scratch\n");
    let mut urandom = std::fs::File::open("/dev/urandom").unwrap();
    for i in 0..12 {
        let mut bytes = vec![0u8; 2 << 20];
        std::io::Read::read_exact(&mut urandom, &mut bytes).unwrap();
        files.push((format!("f{i}"), bytes));
        dockerfile.push_str(&format!("COPY f{i} /f{i}\n"));
    }
    let mut ctx: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    ctx.push(("Dockerfile", dockerfile.as_bytes()));
    let dir = stack.context(&ctx);
    let repo = stack.unique_repo("interrupted-mirror");
    let src = format!("{repo}:v1");
    let path = repo
        .strip_prefix(&format!("{}/", stack.registry))
        .unwrap()
        .to_string();
    stack.ok(stack.docker().args([
        "buildx",
        "build",
        "--platform",
        "linux/amd64",
        "--provenance=false",
        "-t",
        &src,
        "--push",
        dir.path().to_str().unwrap(),
    ]));
    let (code, body) = stack.registry_get(&format!("/v2/{path}/manifests/v1"));
    assert_eq!(code, 200, "{body}");
    let manifest: serde_json::Value = serde_json::from_str(&body).unwrap();
    let layers: Vec<String> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .inspect(|l| assert!(l["size"].as_u64().unwrap() > 1 << 20, "{body}"))
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(layers.len(), 12, "{body}");
    // Each layer GET is held at the gate until the test opens it, then served at full
    // speed: a mirror that went on after Ctrl-C would ask for the next layers within
    // milliseconds of the opening, well inside the 1.5 s grace (src/cancel.rs).
    let proxy = Proxy::start(&stack.registry);
    let gate = Gate::default();
    for l in &layers {
        proxy.always(
            Some("GET"),
            &format!("/blobs/{l}"),
            Fault::Gate(gate.clone()),
        );
    }
    let dest = stack.start_registry("", None);
    let mut cmd = stack.mpbuild();
    cmd.args([
        "mirror",
        &format!("{}/{path}:v1", proxy.addr),
        &format!("{}/copy:v1", dest.addr),
        "--all",
        "--progress",
        "plain",
    ]);
    let mut run = Running::start(&mut cmd);
    // How many layers mirror copies at once: one per stream, STREAMS = upload::PARALLEL
    // = 4 (src/pipeline/mirror/blobs.rs, src/pipeline/upload.rs); the openers only open
    // the destination's uploads, and no layer is small enough for SMALL_WORKERS.
    const AT_ONCE: usize = 4;
    let held = gate.wait_held(AT_ONCE, Duration::from_secs(60));
    let is_layer = |r: &common::fault::Logged| {
        r.method == "GET" && layers.iter().any(|l| r.path.ends_with(l.as_str()))
    };
    assert_eq!(held, AT_ONCE, "layer GETs held: {:?}", proxy.requests());
    let before = proxy.requests().iter().filter(|r| is_layer(r)).count();
    assert_eq!(before, AT_ONCE, "{:?}", proxy.requests());
    run.signal("INT");
    // mpbuild prints this line once its cancel flag is raised (src/cancel.rs): from
    // then on no worker may start a blob. Only now do the held layers go.
    let acknowledged = run.wait_for(
        "interrupted: stopping; no tag moves from now on",
        Duration::from_secs(30),
    );
    gate.open();
    assert!(acknowledged, "no first-signal line: {}", run.stderr());
    let end = run.finish(Duration::from_secs(15));
    let t = &end.text;
    assert_eq!(end.code, Some(130), "{end:?}");
    assert!(end.in_time, "stopped after {:?}: {t}", end.since_first);
    assert_eq!(
        tag_digest_at(&dest.addr, "copy", "v1"),
        None,
        "a tag moved: {t}"
    );
    // No blob started after Ctrl-C: every layer GET is one that was held before it.
    let all: Vec<_> = proxy.requests().into_iter().filter(is_layer).collect();
    assert_eq!(
        all.len(),
        before,
        "blobs started after Ctrl-C ({before} were asked for before it): {all:?}\n{t}"
    );
}
