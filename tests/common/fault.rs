//! A fault-injecting HTTP proxy on 127.0.0.1 in front of a real registry, for tests that
//! need a registry misbehaving in one precise way: slow bytes, stalls, connection resets,
//! 429 with Retry-After, 5xx, wrong bytes for a blob, redirects to another host or
//! scheme, an auth challenge of the test's choosing (a token realm downgrade), requests
//! held at a gate until the test lets them go (a [`Gate`]: no timing involved).
//!
//! Requests pass through unchanged (Host included, so upload `Location`s point back at
//! the proxy) unless a rule matches: the first rule whose method and path fragment match
//! and that has uses left decides. Every request is logged, with whether it carried an
//! `Authorization` header (its value is never kept). One request per connection.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What to do to a matching request.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward, then send the response body `chunk` bytes at a time, `pause` apart.
    Slow { chunk: usize, pause: Duration },
    /// Read the request, then answer nothing for this long, then hang up.
    Stall(Duration),
    /// Hang up without answering (before the request reaches the registry).
    Reset,
    /// Forward, then send the headers and half the body and hang up.
    CutBody,
    /// Answer with this status and headers (429 + Retry-After, 500, 503…), no body.
    Status(u16, Vec<(String, String)>),
    /// Forward, with one byte of the response body changed (same length): the first.
    WrongBytes,
    /// Forward, with the body's byte at this offset changed (same length): bytes a
    /// decoder does not look at (a gzip header's MTIME at 4..8) leave the stream
    /// decodable, so only a digest check can tell.
    WrongByteAt(usize),
    /// Answer 307 with `Location: BASE` + the request's path and query (`BASE` is a
    /// scheme and host: another host, or the same one on another scheme).
    Redirect(String),
    /// Answer this redirect status (301, 302, 303, 307, 308) with `Location: URL`,
    /// exactly as given.
    RedirectTo(u16, String),
    /// Answer 401 with this `WWW-Authenticate` value.
    Challenge(String),
    /// Answer 429 with `Retry-After` an HTTP date this many seconds after the moment the
    /// request is answered, rounded up to the next whole second (the date's precision):
    /// the date is at least this far from the request's `at`, whatever the load.
    RetryAtDate(u64),
    /// Hold the request (logged on arrival, nothing forwarded, no answer) until the
    /// [`Gate`] opens, then forward it at full speed; once the gate is open, requests
    /// pass at once. The test sees how many wait ([`Gate::held`]), so it can act when
    /// a known number of requests are in flight, without sleeping.
    Gate(Gate),
    /// Forward unchanged, and count as no fault: a rule placed before a broader one
    /// exempts what it matches (push's registry check, [`PREFLIGHT`]).
    Pass,
}

/// What every request of push's registry check (`POST`/`PUT …/blobs/uploads/…?digest=`
/// of the OCI empty JSON `{}`) has in its URL, and an image's uploads never do.
pub const PREFLIGHT: &str =
    "digest=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

impl Fault {
    pub fn status(code: u16) -> Fault {
        Fault::Status(code, Vec::new())
    }

    pub fn too_many_requests(retry_after_secs: u32) -> Fault {
        Fault::Status(
            429,
            vec![("Retry-After".into(), retry_after_secs.to_string())],
        )
    }
}

/// Where [`Fault::Gate`] holds requests: shared by the rules that hold at it and the
/// test that opens it. Closed when made; once open, it stays open.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<GateState>, Condvar)>);

#[derive(Default)]
struct GateState {
    open: bool,
    /// Requests waiting now.
    held: usize,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Gate")
    }
}

impl Gate {
    /// Lets every held request go (and every later one through at once).
    pub fn open(&self) {
        let (state, changed) = &*self.0;
        state.lock().unwrap().open = true;
        changed.notify_all();
    }

    /// How many requests wait at the gate now.
    pub fn held(&self) -> usize {
        self.0.0.lock().unwrap().held
    }

    /// Waits until at least `n` requests wait at the gate, at most `limit`; how many
    /// wait then.
    pub fn wait_held(&self, n: usize, limit: Duration) -> usize {
        let deadline = Instant::now() + limit;
        let (state, changed) = &*self.0;
        let mut s = state.lock().unwrap();
        loop {
            let now = Instant::now();
            if s.held >= n || now >= deadline {
                return s.held;
            }
            s = changed.wait_timeout(s, deadline - now).unwrap().0;
        }
    }

    /// Holds the calling request until the gate is open.
    fn pass(&self) {
        let (state, changed) = &*self.0;
        let mut s = state.lock().unwrap();
        if s.open {
            return;
        }
        s.held += 1;
        changed.notify_all();
        while !s.open {
            s = changed.wait(s).unwrap();
        }
        s.held -= 1;
    }
}

#[derive(Debug, Clone)]
struct Rule {
    method: Option<String>,
    path: String,
    uses: Option<usize>,
    fault: Fault,
}

/// A request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub authorization: bool,
    /// The fault applied, if any.
    pub fault: Option<String>,
    /// When the proxy had read the request (before any fault or forwarding).
    pub at: Instant,
    /// Whether the whole body arrived: a client that hangs up before the last byte of
    /// its Content-Length is logged with `false`, and nothing reaches the registry.
    pub complete: bool,
}

pub struct Proxy {
    pub addr: String,
    rules: Arc<Mutex<Vec<Rule>>>,
    log: Arc<Mutex<Vec<Logged>>>,
    /// Notified at each request logged.
    logged: Arc<Condvar>,
    /// Request bodies read `chunk` bytes at a time, `pause` apart (a slow uplink).
    slow_bodies: Arc<Mutex<Option<(usize, Duration)>>>,
}

impl Proxy {
    /// A proxy on a free loopback port in front of `upstream` (host:port, plain HTTP).
    pub fn start(upstream: &str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let rules: Arc<Mutex<Vec<Rule>>> = Arc::default();
        let log: Arc<Mutex<Vec<Logged>>> = Arc::default();
        let logged: Arc<Condvar> = Arc::default();
        let (r, l, up) = (rules.clone(), log.clone(), upstream.to_string());
        let n = logged.clone();
        let slow_bodies: Arc<Mutex<Option<(usize, Duration)>>> = Arc::default();
        let slow = slow_bodies.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (r, l, up, n) = (r.clone(), l.clone(), up.clone(), n.clone());
                let slow = *slow.lock().unwrap();
                std::thread::spawn(move || {
                    let _ = handle(stream, &up, (&r, slow), &l, &n);
                });
            }
        });
        Proxy {
            addr,
            rules,
            log,
            logged,
            slow_bodies,
        }
    }

    /// Waits until a fault has been applied to `n` requests (a stall has begun), at
    /// most `limit`; whether it happened.
    pub fn wait_for_faults(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut log = self.log.lock().unwrap();
        loop {
            if log.iter().filter(|r| r.fault.is_some()).count() >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            log = self.logged.wait_timeout(log, deadline - now).unwrap().0;
        }
    }

    /// Applies `fault` to every request whose path contains `path` (and whose method
    /// is `method`, when given).
    pub fn always(&self, method: Option<&str>, path: &str, fault: Fault) -> &Self {
        self.add(method, path, None, fault)
    }

    /// The same, for the first `n` matching requests only.
    pub fn times(&self, n: usize, method: Option<&str>, path: &str, fault: Fault) -> &Self {
        self.add(method, path, Some(n), fault)
    }

    fn add(&self, method: Option<&str>, path: &str, uses: Option<usize>, fault: Fault) -> &Self {
        self.rules.lock().unwrap().push(Rule {
            method: method.map(str::to_string),
            path: path.to_string(),
            uses,
            fault,
        });
        self
    }

    /// Reads every request body from now on `chunk` bytes at a time, `pause` apart:
    /// an upload as slow as a slow uplink (the client's writes wait on it).
    pub fn slow_request_bodies(&self, chunk: usize, pause: Duration) -> &Self {
        *self.slow_bodies.lock().unwrap() = Some((chunk.max(1), pause));
        self
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests a fault was applied to.
    pub fn faults_applied(&self) -> usize {
        self.requests().iter().filter(|r| r.fault.is_some()).count()
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The whole body (Content-Length) arrived.
    complete: bool,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(
    reader: &mut BufReader<TcpStream>,
    out: &mut TcpStream,
    slow: Option<(usize, Duration)>,
) -> std::io::Result<Option<Request>> {
    let mut first = String::new();
    if reader.read_line(&mut first)? == 0 {
        return Ok(None);
    }
    let mut parts = first.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    if !version.starts_with("HTTP/") {
        return Ok(None); // a TLS probe: hang up
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut req = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body: Vec::new(),
        complete: true,
    };
    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        req.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("expect"));
    }
    let len: u64 = req
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // A client that hangs up mid-body (or stalls past the read timeout): logged as
    // incomplete, and nothing reaches the registry.
    match slow {
        None => {
            let _ = reader.take(len).read_to_end(&mut req.body);
        }
        Some((chunk, pause)) => {
            while (req.body.len() as u64) < len {
                let want = (len - req.body.len() as u64).min(chunk as u64);
                match reader.by_ref().take(want).read_to_end(&mut req.body) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => std::thread::sleep(pause),
                }
            }
        }
    }
    req.complete = req.body.len() as u64 == len;
    Ok(Some(req))
}

fn pick(rules: &Mutex<Vec<Rule>>, req: &Request) -> Option<Fault> {
    let mut rules = rules.lock().unwrap();
    let rule = rules.iter_mut().find(|r| {
        r.uses != Some(0)
            && r.method.as_deref().is_none_or(|m| m == req.method)
            && req.target.contains(&r.path)
    })?;
    if let Some(n) = &mut rule.uses {
        *n -= 1;
    }
    Some(rule.fault.clone())
}

fn answer(out: &mut TcpStream, status: u16, headers: &[(String, String)]) -> std::io::Result<()> {
    let mut h = format!("HTTP/1.1 {status} Fault\r\nConnection: close\r\nContent-Length: 0\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    h.push_str("\r\n");
    out.write_all(h.as_bytes())?;
    out.flush()
}

fn handle(
    stream: TcpStream,
    upstream: &str,
    (rules, slow): (&Mutex<Vec<Rule>>, Option<(usize, Duration)>),
    log: &Mutex<Vec<Logged>>,
    logged: &Condvar,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let Some(req) = read_request(&mut reader, &mut out, slow)? else {
        return Ok(());
    };
    let fault = pick(rules, &req);
    log.lock().unwrap().push(Logged {
        method: req.method.clone(),
        path: req.target.clone(),
        authorization: req.header("authorization").is_some(),
        fault: fault
            .as_ref()
            .filter(|f| !matches!(f, Fault::Pass))
            .map(|f| format!("{f:?}")),
        at: Instant::now(),
        complete: req.complete,
    });
    logged.notify_all();
    if !req.complete {
        return Ok(());
    }
    match &fault {
        Some(Fault::Reset) => return out.shutdown(Shutdown::Both),
        Some(Fault::Gate(gate)) => gate.pass(),
        Some(Fault::Stall(d)) => {
            std::thread::sleep(*d);
            return out.shutdown(Shutdown::Both);
        }
        Some(Fault::Status(code, headers)) => return answer(&mut out, *code, headers),
        Some(Fault::RetryAtDate(secs)) => {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
            let date = http_date(now.as_secs() + 1 + secs);
            return answer(&mut out, 429, &[("Retry-After".into(), date)]);
        }
        Some(Fault::Challenge(value)) => {
            return answer(
                &mut out,
                401,
                &[("WWW-Authenticate".to_string(), value.clone())],
            );
        }
        Some(Fault::RedirectTo(status, url)) => {
            return answer(&mut out, *status, &[("Location".to_string(), url.clone())]);
        }
        Some(Fault::Redirect(base)) => {
            return answer(
                &mut out,
                307,
                &[("Location".to_string(), format!("{base}{}", req.target))],
            );
        }
        _ => {}
    }
    // Forward: the same request, one per connection; credentials stay here (the
    // registry behind needs none, and the log only says whether there were any).
    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("connection") || k.eq_ignore_ascii_case("authorization") {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    up.flush()?;
    let mut up = BufReader::new(up);
    // The response head, passed on as is (but for Connection).
    let mut resp_head = String::new();
    let mut content_length: Option<u64> = None;
    loop {
        let mut line = String::new();
        if up.read_line(&mut line)? == 0 {
            break;
        }
        let end = line == "\r\n" || line == "\n";
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("connection") {
                continue;
            }
            if k.trim().eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().ok();
            }
        }
        if end {
            resp_head.push_str("Connection: close\r\n\r\n");
            break;
        }
        resp_head.push_str(&line);
    }
    out.write_all(resp_head.as_bytes())?;
    let mut body = Vec::new();
    up.read_to_end(&mut body)?;
    match fault {
        Some(Fault::WrongBytes) => {
            if let Some(b) = body.first_mut() {
                *b ^= 0x01;
            }
            out.write_all(&body)?;
        }
        Some(Fault::WrongByteAt(offset)) => {
            if let Some(b) = body.get_mut(offset) {
                *b ^= 0x01;
            }
            out.write_all(&body)?;
        }
        Some(Fault::CutBody) => {
            let half = content_length.unwrap_or(body.len() as u64) as usize / 2;
            out.write_all(&body[..half.min(body.len())])?;
            out.flush()?;
            return out.shutdown(Shutdown::Both);
        }
        Some(Fault::Slow { chunk, pause }) => {
            for c in body.chunks(chunk.max(1)) {
                out.write_all(c)?;
                out.flush()?;
                std::thread::sleep(pause);
            }
        }
        _ => out.write_all(&body)?,
    }
    out.flush()?;
    out.shutdown(Shutdown::Write)
}

// What the tests that run mpbuild through a proxy share: credentials the proxy can ask
// for (and the check that they never show), the base image through a proxy, and the
// run itself.

use base64::Engine;
use std::path::Path;

use super::Stack;

pub const USER: &str = "fault-user";
pub const PASS: &str = "fault-Pa55word-XYZ";

/// `mpbuild ARGS` with the stack's environment, a 10 s request timeout (faults end
/// sooner), and `docker_config` when given.
pub fn mpbuild(stack: &Stack, docker_config: Option<&Path>, args: &[&str]) -> std::process::Output {
    let mut run = stack.runner().env("MPBUILD_REQUEST_TIMEOUT", "10");
    if let Some(d) = docker_config {
        run = run.docker_config(d);
    }
    run.output(args)
}

/// A Docker config with Basic credentials for `registry`.
pub fn credentials(dir: &Path, registry: &str) -> std::path::PathBuf {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    dir.to_path_buf()
}

/// Fails the test when the output holds the password, its Basic form, or a header.
pub fn assert_no_credentials(t: &str) {
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    assert!(
        !t.contains(PASS) && !t.contains(&b64) && !t.contains("Authorization:"),
        "a credential leaked: {t}"
    );
}

/// The base image, reached through `proxy`.
pub fn via(proxy: &Proxy, stack: &Stack) -> String {
    format!("{}/{}@{}", proxy.addr, stack.base_repo, stack.base_digest)
}

/// Seconds since the epoch as an HTTP date (IMF-fixdate), by date(1).
fn http_date(secs: u64) -> String {
    let out = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{secs}"),
            "+%a, %d %b %Y %H:%M:%S GMT",
        ])
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
