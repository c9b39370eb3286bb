//! An interrupt (the run's cancel token) ends a request blocked on a stalled registry —
//! waiting for an answer, sending a body nobody reads, or sleeping before a retry —
//! at once, as `RegistryError::Interrupted`, not after the per-read timeout (30 s).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::client::Client;
use super::http::{Body, Method};
use super::test_server::{self, plain_http};
use super::{Options, Reference, RegistryError};
use crate::cancel::Token;

/// A registry that accepts connections and then neither reads nor answers; `read`
/// makes it read the request head first. Sends one event per connection (after the
/// head, when it reads one) and keeps the connections open for the test's life.
fn stalled(read: bool) -> (String, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            if read {
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while r.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    line.clear();
                }
            }
            held.push(stream);
            let _ = tx.send(());
        }
    });
    (addr, rx)
}

fn client_with(token: &'static Token, addr: &str) -> std::sync::Arc<Client> {
    let c = test_server::client(
        Options {
            cancel: Some(token),
            ..Options::default()
        },
        super::credentials::Store::default(),
    );
    plain_http(&c, addr);
    c
}

/// Runs `request` on a thread, cancels `token` once `arrived` says the request reached
/// the registry, and returns the request's error and how long it took after the cancel.
fn cancel_when_stalled(
    token: &'static Token,
    arrived: &mpsc::Receiver<()>,
    request: impl FnOnce() -> Result<(), RegistryError> + Send + 'static,
) -> (RegistryError, Duration) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(request());
    });
    arrived
        .recv_timeout(Duration::from_secs(20))
        .expect("the request reached the registry");
    let cancelled = Instant::now();
    token.cancel();
    let result = rx
        .recv_timeout(Duration::from_secs(40))
        .expect("the request ended after the cancel");
    (result.expect_err("an error"), cancelled.elapsed())
}

fn leaked() -> &'static Token {
    Box::leak(Box::new(Token::new()))
}

#[test]
fn a_read_waiting_for_an_answer_ends_at_the_cancel() {
    let (addr, arrived) = stalled(true);
    let token = leaked();
    let c = client_with(token, &addr);
    let r = Reference::parse(&format!("{addr}/team/app:v1")).unwrap();
    let (err, took) = cancel_when_stalled(token, &arrived, move || c.get_manifest(&r).map(|_| ()));
    assert!(
        matches!(&err, RegistryError::Interrupted { request, .. } if request.contains("GET") && request.contains("/manifests/v1")),
        "{err}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(
        crate::exit::Coded::code(&err),
        crate::exit::Code::Interrupted
    );
}

#[test]
fn a_write_nobody_reads_ends_at_the_cancel() {
    let (addr, arrived) = stalled(false);
    let token = leaked();
    let c = client_with(token, &addr);
    let r = Reference::parse(&format!("{addr}/team/app:v1")).unwrap();
    // Far more than the socket buffers hold: the send blocks until the cancel.
    let body: &'static [u8] = Box::leak(vec![0u8; 64 << 20].into_boxed_slice());
    let (err, took) = cancel_when_stalled(token, &arrived, move || {
        let url = format!("{}/blobs/uploads/x", c.transport.base(&r.repository));
        c.request(
            &r.repository,
            &[],
            Method::Put,
            &url,
            &[],
            &Body::Bytes(body),
        )
        .map(|_| ())
    });
    assert!(
        matches!(&err, RegistryError::Interrupted { request, .. } if request.starts_with("PUT ")),
        "{err}"
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn a_retry_delay_ends_at_the_cancel() {
    // 503 with Retry-After: 10 — the client would wait 10 s before asking again.
    let server = test_server::serve(|_| test_server::status(503, &[("Retry-After", "10")]));
    let token = leaked();
    let c = client_with(token, &server.addr);
    let r = Reference::parse(&format!("{}/team/app:v1", server.addr)).unwrap();
    let (arrived_tx, arrived) = mpsc::channel();
    let seen = server.seen.clone();
    std::thread::spawn(move || {
        let t = Instant::now();
        while seen.lock().unwrap().is_empty() && t.elapsed() < Duration::from_secs(20) {
            std::thread::yield_now();
        }
        let _ = arrived_tx.send(());
    });
    let (err, took) = cancel_when_stalled(token, &arrived, move || c.get_manifest(&r).map(|_| ()));
    assert!(matches!(err, RegistryError::Interrupted { .. }), "{err}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(server.requests().len(), 1, "asked again after the cancel");
}

#[test]
fn no_request_starts_after_the_cancel() {
    let server = test_server::serve(|_| test_server::status(200, &[]));
    let token = leaked();
    token.cancel();
    let c = client_with(token, &server.addr);
    let r = Reference::parse(&format!("{}/team/app:v1", server.addr)).unwrap();
    let err = c.get_manifest(&r).expect_err("refused");
    assert!(matches!(err, RegistryError::Interrupted { .. }), "{err}");
    assert!(server.requests().is_empty());
}
