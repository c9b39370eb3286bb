//! A tiny HTTP/1.1 server on 127.0.0.1 for the registry client's unit tests: hostile
//! or scripted registries (endless bodies, trickled bytes, foreign upload locations)
//! without the test stack. Each request is recorded, then answered by a closure; every
//! answer closes its connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::registry::Options;
use crate::registry::client::Client;
use crate::registry::credentials::Store;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// How many body bytes arrived (fewer than Content-Length when the client gave up).
    pub body_len: u64,
    /// The body's first [`BODY_KEPT`] bytes.
    pub body: Vec<u8>,
}

/// How much of a request's body is kept for the handler.
pub const BODY_KEPT: usize = 1 << 20;

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How to answer.
pub enum Reply {
    /// Status, headers and a body (sent with its Content-Length).
    Full(u16, Vec<(String, String)>, Vec<u8>),
    /// Headers (with the body's Content-Length) at once, then the body one byte per
    /// `every`.
    Trickle(Vec<(String, String)>, Vec<u8>, Duration),
    /// 200 and `n` zeros without a Content-Length (ended by closing), or until the
    /// client hangs up: a body far larger than anything the client should read.
    Huge(Vec<(String, String)>, u64),
}

pub fn status(code: u16, headers: &[(&str, &str)]) -> Reply {
    Reply::Full(
        code,
        headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Vec::new(),
    )
}

pub struct Server {
    pub addr: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// Starts a server answering every request with `handler`.
pub fn serve(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let handler: Arc<Handler> = Arc::new(handler);
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (handler, log) = (handler.clone(), log.clone());
            std::thread::spawn(move || {
                let _ = answer(stream, &*handler, &log);
            });
        }
    });
    Server { addr, seen }
}

fn answer(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Seen>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let mut parts = first.split_whitespace();
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(()); // not HTTP (a TLS probe): hang up
    };
    if !version.starts_with("HTTP/") {
        return Ok(());
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut seen = Seen {
        method: method.to_string(),
        path: path.to_string(),
        headers,
        body_len: 0,
        body: Vec::new(),
    };
    let mut out = stream;
    if seen
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let len: u64 = seen
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut buf = [0u8; 8192];
    let mut body = (&mut reader).take(len);
    loop {
        match body.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                seen.body_len += n as u64;
                let room = BODY_KEPT.saturating_sub(seen.body.len());
                seen.body.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    log.lock().unwrap().push(seen.clone());
    if seen.body_len < len {
        return Ok(()); // the client hung up mid-body: nothing to answer
    }
    let head = |status: u16, headers: &[(String, String)], len: Option<usize>| {
        let mut h = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
        for (k, v) in headers {
            h.push_str(&format!("{k}: {v}\r\n"));
        }
        if let Some(n) = len {
            h.push_str(&format!("Content-Length: {n}\r\n"));
        }
        h.push_str("\r\n");
        h.into_bytes()
    };
    match handler(&seen) {
        Reply::Full(status, headers, body) => {
            out.write_all(&head(status, &headers, Some(body.len())))?;
            out.write_all(&body)?;
        }
        Reply::Trickle(headers, body, every) => {
            out.write_all(&head(200, &headers, Some(body.len())))?;
            for b in body {
                out.write_all(&[b])?;
                out.flush()?;
                std::thread::sleep(every);
            }
        }
        Reply::Huge(headers, n) => {
            out.write_all(&head(200, &headers, None))?;
            std::io::copy(&mut std::io::repeat(0).take(n), &mut out)?;
        }
    }
    out.flush()
}

/// A client for tests: quick retries, Docker credentials from `store`.
pub fn client(options: Options, store: Store) -> Arc<Client> {
    Client::with_store(
        Options {
            retry: crate::registry::Retry {
                attempts: 2,
                first_delay: Duration::from_millis(20),
                max_total: Duration::from_secs(2),
            },
            ..options
        },
        store,
    )
}

/// Skips the https probe for a test server: it speaks plain HTTP.
pub fn plain_http(c: &Client, addr: &str) {
    c.transport.schemes.assume(addr, "http");
}

/// A credential store with Basic credentials for `registry`.
pub fn basic_store(dir: &std::path::Path, registry: &str, user: &str, pass: &str) -> Store {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    Store::from_dir(dir).unwrap()
}

/// Runs `f` on a thread; panics when it takes longer than `limit` (a hang).
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|_| panic!("no answer within {limit:?}: the client hangs"))
}
