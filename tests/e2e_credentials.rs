//! Where credentials go, through fault proxies in front of the real registry
//! (`common::fault`, with `common::tls::TlsFront` as an HTTPS registry): a redirect to
//! another host, or from HTTPS to plain HTTP, and a token realm downgrade. Each asserts
//! on what the proxies recorded (which request carried an `Authorization` header), not
//! only on mpbuild's output, and that the credentials appear in no output.

mod common;

use std::process::Output;

use common::fault::{Fault, Proxy, assert_no_credentials, credentials, mpbuild, via};
use common::{Stack, text};

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

/// An HTTPS registry (a TLS front on the proxy, trusted through `--ca-file`) that asks
/// for Basic credentials once, and the `verify` of the base image through it with
/// those credentials and `-v`.
struct Https {
    proxy: Proxy,
    front: common::tls::TlsFront,
    ca: std::path::PathBuf,
    cfg: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Https {
    fn start(stack: &Stack) -> Https {
        let dir = tempfile::tempdir().unwrap();
        let (ca, cert, key) = common::tls::private_ca(dir.path());
        let proxy = Proxy::start(&stack.registry);
        let front = common::tls::TlsFront::start(&proxy.addr, &cert, &key);
        let cfg = credentials(dir.path(), &front.addr);
        Https {
            proxy,
            front,
            ca,
            cfg,
            _dir: dir,
        }
    }

    fn verify(&self, stack: &Stack) -> Output {
        let image = format!(
            "{}/{}@{}",
            self.front.addr, stack.base_repo, stack.base_digest
        );
        mpbuild(
            stack,
            Some(&self.cfg),
            &[
                "verify",
                &image,
                "--platform",
                "linux/amd64",
                "--ca-file",
                self.ca.to_str().unwrap(),
                "-v",
            ],
        )
    }
}

#[test]
fn an_https_registry_downgrading_to_plain_http_gets_no_credentials_there() {
    let Some(stack) = common::stack() else { return };
    // Blobs redirected to plain HTTP on the same host (another port, a proxy that
    // records what it is sent).
    let https = Https::start(&stack);
    let plain = Proxy::start(&stack.registry);
    https
        .proxy
        .times(
            1,
            None,
            "/v2/",
            Fault::Challenge("Basic realm=\"fault\"".into()),
        )
        .always(
            Some("GET"),
            "/blobs/",
            Fault::Redirect(format!("http://{}", plain.addr)),
        );
    let out = https.verify(&stack);
    let t = text(&out);
    assert_no_credentials(&t);
    // The HTTPS side got the credentials (so they were there to leak)…
    assert!(
        https.proxy.requests().iter().any(|r| r.authorization),
        "the HTTPS registry got no credentials: {:?}",
        https.proxy.requests()
    );
    // …and what reached plain HTTP, if anything, carried none.
    let seen = plain.requests();
    assert!(
        seen.iter().all(|r| !r.authorization),
        "credentials followed a redirect from HTTPS to plain HTTP: {seen:?}"
    );
    assert!(
        !seen.is_empty() || out.status.code() == Some(4),
        "neither followed nor refused: {t}"
    );

    // A token realm on plain HTTP (same host) behind the HTTPS registry: no request
    // with credentials reaches it.
    let https = Https::start(&stack);
    let token = Proxy::start(&stack.registry);
    https.proxy.always(
        None,
        "/v2/",
        Fault::Challenge(format!(
            "Bearer realm=\"http://{}/token\",service=\"fault\"",
            token.addr
        )),
    );
    let out = https.verify(&stack);
    let t = text(&out);
    assert!(
        !https.proxy.requests().is_empty(),
        "the HTTPS registry was reached"
    );
    let seen = token.requests();
    assert!(
        seen.iter().all(|r| !r.authorization),
        "credentials went to a plain-HTTP token realm: {seen:?}"
    );
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains("refusing to send credentials"), "{t}");
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
