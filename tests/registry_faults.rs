//! `mpbuild verify` against registries that misbehave, which the tests run: one that
//! dies in the middle of a verify (exit 4, the failed request named, no panic) and one
//! that serves a manifest other than the digest asked for (refused).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::run::mpbuild_with_credentials as mpbuild;
use common::text;

/// A fake registry that dies in the middle of a verify: it refuses the client's TLS
/// probe (so plain HTTP is used, as for any loopback registry), answers `/v2/` and the
/// index of `app:v1`, and from the moment the index is served drops every connection
/// without an answer. Returns its address and the request lines it saw.
fn dying_registry(
    index: Vec<u8>,
    digest: String,
) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        let mut dead = false;
        for stream in listener.incoming().take(60) {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut first = [0u8; 1];
            // A TLS ClientHello starts with 0x16: not a registry that speaks TLS.
            if stream.peek(&mut first).is_err() || first[0] == 0x16 {
                continue;
            }
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            let _ = reader.read_line(&mut request);
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(n) if n > 2 => {}
                    _ => break,
                }
            }
            let request = request.trim().to_string();
            log.lock().unwrap().push(request.clone());
            if dead {
                // The registry is gone: the connection closes without an answer.
                continue;
            }
            let head = request.starts_with("HEAD ");
            let (status, ctype, body): (&str, &str, &[u8]) = if request.contains(" /v2/ ") {
                ("200 OK", "application/json", b"{}")
            } else if request.contains(" /v2/app/manifests/v1 ") {
                dead = !head;
                ("200 OK", "application/vnd.oci.image.index.v1+json", &index)
            } else {
                ("404 Not Found", "application/json", b"{}")
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nDocker-Content-Digest: {digest}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            if !head {
                let _ = stream.write_all(body);
            }
        }
    });
    (addr, seen)
}

#[test]
fn a_registry_that_dies_mid_verify_is_exit_4_without_panic() {
    let Some(stack) = common::stack() else { return };
    let child = format!("sha256:{}", "1".repeat(64));
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{child}","size":10,"platform":{{"os":"linux","architecture":"amd64"}}}}]}}"#
    )
    .into_bytes();
    let digest = mpbuild::digest::sha256(&index);
    let (addr, seen) = dying_registry(index, digest);
    let empty = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = mpbuild(
        &stack,
        empty.path(),
        None,
        &["verify", &format!("{addr}/app:v1"), "--target", "apprunner"],
    );
    let t = text(&out);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(out.status.code(), Some(4), "{t}\nrequests: {seen:#?}");
    assert!(!t.contains("panicked"), "{t}");
    // The index was served, so the verify got past it …
    assert!(
        seen.iter()
            .any(|r| r == "GET /v2/app/manifests/v1 HTTP/1.1"),
        "the index was never asked for: {seen:#?}\n{t}"
    );
    // … and failed on the next request, the amd64 image manifest, which it names.
    assert!(
        t.contains(&format!(
            "{addr}: GET http://{addr}/v2/app/manifests/{child} failed after"
        )),
        "{t}\nrequests: {seen:#?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "retries are bounded"
    );
}

#[test]
fn a_tampered_manifest_is_refused() {
    let Some(stack) = common::stack() else { return };
    let real = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":2},"layers":[]}"#;
    let claimed = mpbuild::digest::sha256(b"what the registry should have served");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(10) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                real.len()
            );
            let _ = stream.write_all(real);
        }
    });
    let empty = tempfile::tempdir().unwrap();
    let out = mpbuild(
        &stack,
        empty.path(),
        None,
        &[
            "verify",
            &format!("{addr}/app@{claimed}"),
            "--target",
            "apprunner",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("does not match its digest") && t.contains("refusing it"),
        "{t}"
    );
}
