//! `mpbuild` against registries that misbehave on purpose, without the test stack: a
//! registry that trickles its answer must not stall a run.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::time::{Duration, Instant};

/// A registry that answers every HTTP request with headers, then one body byte every
/// half second; TLS probes are hung up on.
fn trickling_registry() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 || !buf[0].is_ascii_uppercase() {
                    return;
                }
                let body = [b' '; 400];
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.oci.image.index.v1+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                for b in body {
                    if stream.write_all(&[b]).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            });
        }
    });
    addr
}

#[test]
fn a_trickling_registry_fails_within_the_request_timeout() {
    let addr = trickling_registry();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_mpbuild"))
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", dir.path())
        .env("MPBUILD_REQUEST_TIMEOUT", "2")
        .args(["verify", &format!("{addr}/app:v1"), "--target", "apprunner"])
        .output()
        .unwrap();
    let t = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&addr) && t.contains("MPBUILD_REQUEST_TIMEOUT"),
        "{t}"
    );
    // Without an overall deadline this takes 400 × 0.5 s.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}: {t}",
        started.elapsed()
    );
}
