//! Tags that must really land: a registry (here the fault proxy in front of the real
//! one) that answers a tag PUT with a redirect, or acknowledges it without storing it.
//! A write is never turned into a GET; a 307/308 is re-sent only to the same host; a
//! tag is read back after it is written. Each case: the exit code, the tag named, the
//! registry's real state, and that nothing was reported moved.

mod common;

use common::fault::{Fault, Proxy};
use common::{Stack, tag_digest_at, text};

/// A repository path of the stack's registry no other test uses.
fn unique_path(stack: &Stack, name: &str) -> String {
    let repo = stack.unique_repo(name);
    repo.split_once('/').unwrap().1.to_string()
}

/// `mpbuild mirror BASE PROXY/PATH:v1 --platform linux/amd64`.
fn mirror_through(stack: &Stack, proxy: &Proxy, path: &str) -> std::process::Output {
    stack
        .runner()
        .env("MPBUILD_REQUEST_TIMEOUT", "10")
        .output(&[
            "mirror",
            &stack.base_image,
            &format!("{}/{path}:v1", proxy.addr),
            "--platform",
            "linux/amd64",
            "--progress",
            "plain",
        ])
}

#[test]
fn a_tag_put_answered_with_301_302_or_303_is_a_failure_not_a_get() {
    let Some(stack) = common::stack() else { return };
    for status in [301, 302, 303] {
        let proxy = Proxy::start(&stack.registry);
        let path = unique_path(&stack, &format!("redirect-{status}"));
        // The redirect leads to a URL that answers 200 to a GET: taken as success, it
        // reported a tag moved that was never written.
        proxy.always(
            Some("PUT"),
            "/manifests/v1",
            Fault::RedirectTo(status, format!("http://{}/v2/", proxy.addr)),
        );
        let out = mirror_through(&stack, &proxy, &path);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(4), "{status}: {t}");
        assert!(
            t.contains(&format!(
                "PUT http://{}/v2/{path}/manifests/v1 answered {status}",
                proxy.addr
            )),
            "{status}: {t}"
        );
        assert!(t.contains("nothing written"), "{status}: {t}");
        assert_eq!(
            tag_digest_at(&stack.registry, &path, "v1"),
            None,
            "{status}"
        );
        assert!(!t.contains("tagged"), "{status}: reported moved: {t}");
        // The write was not repeated as a GET.
        let gets_of_base = proxy
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path == "/v2/")
            .count();
        let puts = proxy
            .requests()
            .iter()
            .filter(|r| r.method == "PUT" && r.path.ends_with("/manifests/v1"))
            .count();
        assert_eq!(puts, 1, "{status}: {:?}", proxy.requests());
        assert!(gets_of_base <= 1, "{status}: {:?}", proxy.requests());
    }
}

#[test]
fn a_307_is_followed_to_the_same_host_only() {
    let Some(stack) = common::stack() else { return };
    // To the same host: the same PUT, body and all, again there; the tag lands.
    let proxy = Proxy::start(&stack.registry);
    let path = unique_path(&stack, "redirect-307-same");
    proxy.times(
        1,
        Some("PUT"),
        "/manifests/v1",
        Fault::RedirectTo(307, format!("http://{}/v2/{path}/manifests/v1", proxy.addr)),
    );
    let out = mirror_through(&stack, &proxy, &path);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert_eq!(proxy.faults_applied(), 1, "{:?}", proxy.requests());
    assert!(tag_digest_at(&stack.registry, &path, "v1").is_some(), "{t}");

    // To another host (a second proxy in front of the same registry): refused, and
    // the other host never sees the write.
    let proxy = Proxy::start(&stack.registry);
    let other = Proxy::start(&stack.registry);
    let path = unique_path(&stack, "redirect-307-other");
    proxy.always(
        Some("PUT"),
        "/manifests/v1",
        Fault::RedirectTo(307, format!("http://{}/v2/{path}/manifests/v1", other.addr)),
    );
    let out = mirror_through(&stack, &proxy, &path);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!("/v2/{path}/manifests/v1 answered 307")) && t.contains("another host"),
        "{t}"
    );
    assert!(other.requests().is_empty(), "{:?}", other.requests());
    assert_eq!(tag_digest_at(&stack.registry, &path, "v1"), None);
}

#[test]
fn a_tag_acknowledged_but_not_stored_is_a_failed_promotion() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    let path = unique_path(&stack, "not-landed");
    // 201 without the request reaching the registry: read back, the tag is not there.
    proxy.always(Some("PUT"), "/manifests/v1", Fault::status(201));
    let out = mirror_through(&stack, &proxy, &path);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!("{}/{path}:v1: expected sha256:", proxy.addr))
            && t.contains("does not exist"),
        "{t}"
    );
    assert_eq!(tag_digest_at(&stack.registry, &path, "v1"), None);
}

#[test]
fn push_through_a_registry_redirecting_or_dropping_the_tag_put_moves_nothing() {
    let Some(stack) = common::stack() else { return };
    let proxy = Proxy::start(&stack.registry);
    let path = unique_path(&stack, "redirect-push");
    let repo = format!("{}/{path}", proxy.addr);
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest, v2]\n    targets: [{{service: apprunner}}]\n"
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
    for fault in [
        Fault::RedirectTo(302, format!("http://{}/v2/", proxy.addr)),
        Fault::status(201),
    ] {
        proxy.clear();
        proxy.always(Some("PUT"), "/manifests/latest", fault.clone());
        let (out, doc) = stack
            .run_in(dir.path())
            .env("MPBUILD_REQUEST_TIMEOUT", "10")
            .json(&[
                "push",
                "--progress",
                "plain",
                "--format",
                "json",
                "--insecure-registry",
                &proxy.addr,
            ]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(4), "{fault:?}: {t}");
        assert_eq!(
            tag_digest_at(&stack.registry, &path, "latest"),
            None,
            "{fault:?}"
        );
        // `latest` is named as not moved, and no image reports it moved.
        let untouched = doc["failure"]["untouched"].to_string();
        assert!(
            untouched.contains(&format!("{repo}:latest")),
            "{fault:?}: {doc}"
        );
        let reported: Vec<&str> = doc["images"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|i| i["tags"].as_array().into_iter().flatten())
            .filter_map(|t| t["tag"].as_str())
            .collect();
        assert!(!reported.contains(&"latest"), "{fault:?}: {doc}");
    }
}
