//! `verify`, `mirror` and `push` through a fault-injecting proxy in front of the real
//! registry (`common::fault`): slow bytes, stalls, resets, 429 with Retry-After, 5xx,
//! wrong bytes for a digest, redirects to another host or scheme, a token realm
//! downgrade. Each asserts the exit code, that no tag moved, and that no credential
//! appeared in the output.

mod common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use base64::Engine;
use common::fault::{Fault, Proxy};
use common::{Stack, has_blob_at, tag_digest_at, text};

const USER: &str = "fault-user";
const PASS: &str = "fault-Pa55word-XYZ";

/// `mpbuild ARGS` with the stack's environment, and `docker_config` when given.
fn mpbuild(stack: &Stack, docker_config: Option<&Path>, args: &[&str]) -> Output {
    let mut run = stack.runner().env("MPBUILD_REQUEST_TIMEOUT", "10");
    if let Some(d) = docker_config {
        run = run.docker_config(d);
    }
    run.output(args)
}

/// A Docker config with Basic credentials for `registry`.
fn credentials(dir: &Path, registry: &str) -> std::path::PathBuf {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    dir.to_path_buf()
}

fn assert_no_credentials(t: &str) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    assert!(
        !t.contains(PASS) && !t.contains(&b64) && !t.contains("Authorization:"),
        "a credential leaked: {t}"
    );
}

/// The base image, reached through `proxy`.
fn via(proxy: &Proxy, stack: &Stack) -> String {
    format!("{}/{}@{}", proxy.addr, stack.base_repo, stack.base_digest)
}

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
    // A layer's wrong bytes, seen by --deep.
    proxy.clear();
    for l in &layers {
        proxy.always(Some("GET"), l, Fault::WrongBytes);
    }
    let out = mpbuild(
        &stack,
        None,
        &["verify", &image, "--platform", "linux/amd64", "--deep"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(layers.iter().any(|l| t.contains(l)), "names the layer: {t}");
}

#[test]
fn redirects_to_another_host_or_scheme_carry_no_credentials() {
    let Some(stack) = common::stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(&stack.registry);
    let other = Proxy::start(&stack.registry);
    let cfg = credentials(dir.path(), &proxy.addr);
    let other_port = other.addr.rsplit_once(':').unwrap().1;
    // Basic auth is asked for once; from then on every request carries it.
    proxy
        .times(
            1,
            None,
            "/v2/",
            Fault::Challenge("Basic realm=\"fault\"".into()),
        )
        .always(
            Some("GET"),
            "/blobs/",
            Fault::Redirect(format!("http://localhost:{other_port}")),
        );
    let image = via(&proxy, &stack);
    let out = mpbuild(
        &stack,
        Some(&cfg),
        &["verify", &image, "--platform", "linux/amd64", "-v"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert_no_credentials(&t);
    assert!(
        proxy.requests().iter().any(|r| r.authorization),
        "the registry got the credentials: {:?}",
        proxy.requests()
    );
    let seen = other.requests();
    assert!(!seen.is_empty(), "the redirect was followed");
    assert!(
        seen.iter().all(|r| !r.authorization),
        "credentials followed a redirect to another host: {seen:?}"
    );

    // To the same host on another scheme (HTTPS on a plain port): exit 4, no secret.
    let proxy = Proxy::start(&stack.registry);
    let port = proxy.addr.rsplit_once(':').unwrap().1.to_string();
    proxy
        .times(
            1,
            None,
            "/v2/",
            Fault::Challenge("Basic realm=\"fault\"".into()),
        )
        .always(
            Some("GET"),
            "/blobs/",
            Fault::Redirect(format!("https://127.0.0.1:{port}")),
        );
    let cfg2 = tempfile::tempdir().unwrap();
    let cfg2 = credentials(cfg2.path(), &proxy.addr);
    let out = mpbuild(
        &stack,
        Some(&cfg2),
        &[
            "verify",
            &via(&proxy, &stack),
            "--platform",
            "linux/amd64",
            "-v",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert_no_credentials(&t);
}

#[test]
fn a_token_realm_downgrade_gets_no_credentials() {
    let Some(stack) = common::stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let proxy = Proxy::start(&stack.registry);
    let cfg = credentials(dir.path(), &proxy.addr);
    // A plain-HTTP token service on a host that is not loopback (and never resolves).
    proxy.always(
        None,
        "/v2/",
        Fault::Challenge("Bearer realm=\"http://token.invalid/token\",service=\"fault\"".into()),
    );
    let out = mpbuild(
        &stack,
        Some(&cfg),
        &[
            "verify",
            &via(&proxy, &stack),
            "--platform",
            "linux/amd64",
            "-v",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("refusing to send credentials") && t.contains("token.invalid"),
        "{t}"
    );
    assert_no_credentials(&t);
}

#[test]
fn mirror_from_a_source_serving_wrong_bytes_writes_no_blob_and_moves_no_tag() {
    let Some(stack) = common::stack() else { return };
    let dest = stack.start_registry("", None);
    let proxy = Proxy::start(&stack.registry);
    let src = via(&proxy, &stack);
    // A first, good copy (arm64) sets the tag.
    let out = mpbuild(
        &stack,
        None,
        &[
            "mirror",
            &src,
            &format!("{}/copy:v1", dest.addr),
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
            &format!("{}/copy:v1", dest.addr),
            "--platform",
            "linux/amd64",
        ],
    );
    let t = text(&out);
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
    let (_, _, arm_layers) = stack.base_parts("arm64");
    let mut checked = 0;
    for l in layers.iter().filter(|l| !arm_layers.contains(l)) {
        assert!(!has_blob_at(&dest.addr, "copy", l), "{l} was committed");
        checked += 1;
    }
    assert!(checked > 0, "no amd64-only layer to check");
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
    let path = format!("e2e/faults-push-{}", std::process::id());
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
        proxy.always(fault.0, &fault.1, fault.2.clone());
        let out = stack
            .run_in(dir.path())
            .env("MPBUILD_REQUEST_TIMEOUT", "10")
            .output(&[
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
    }
}

#[test]
fn ctrl_c_during_a_mirror_starts_no_new_blob_moves_no_tag_and_exits_130() {
    let Some(stack) = common::stack() else { return };
    // Twelve layers of random bytes (nothing compresses), each sent slowly by the
    // proxy: more blobs than are copied at once, and each takes seconds.
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut dockerfile = String::from("FROM scratch\n");
    let mut urandom = std::fs::File::open("/dev/urandom").unwrap();
    for i in 0..12 {
        let mut bytes = vec![0u8; 256 << 10];
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
        .map(|l| l["digest"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(layers.len(), 12, "{body}");
    let proxy = Proxy::start(&stack.registry);
    proxy.always(
        Some("GET"),
        "/blobs/sha256:",
        Fault::Slow {
            chunk: 16 << 10,
            pause: Duration::from_millis(150),
        },
    );
    let dest = stack.start_registry("", None);
    let child = stack.runner().spawn(&[
        "mirror",
        &format!("{}/{path}:v1", proxy.addr),
        &format!("{}/copy:v1", dest.addr),
        "--all",
        "--progress",
        "plain",
    ]);
    // Past the source's check, into the first layers (each takes about 2.4 s).
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    common::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(130), "{t}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "stopped after {:?}: {t}",
        started.elapsed()
    );
    assert_eq!(
        tag_digest_at(&dest.addr, "copy", "v1"),
        None,
        "a tag moved: {t}"
    );
    let copied = layers
        .iter()
        .filter(|d| {
            ureq::head(format!("http://{}/v2/copy/blobs/{d}", dest.addr))
                .call()
                .is_ok_and(|r| r.status() == 200)
        })
        .count();
    assert!(
        copied < layers.len(),
        "every layer was copied after Ctrl-C ({copied}): {t}"
    );
}
