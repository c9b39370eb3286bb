//! The transport, the bottom layer of the registry client: bytes on the wire and
//! nothing about who we are. One ureq agent per host (TLS roots from the system,
//! `--ca-file` and `/etc/docker/certs.d/HOST/`), the scheme each registry speaks
//! (`scheme`), timeouts and deadlines, bounded retries on 429, 5xx and network errors,
//! redirects of writes (`redirect`), the interrupt, and the `--verbose` request log
//! (URLs redacted, never credentials). The authorizer and the client sit on top of it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::http::{Response, StatusCode};

use super::error::RegistryError;
use super::http::{Body, Deadline, Method, header, redact_url};
use super::reference::Repository;
use super::scheme::Schemes;

/// How often and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_total: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 4,
            first_delay: Duration::from_millis(250),
            max_total: Duration::from_secs(30),
        }
    }
}

/// Client settings.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Registries (host[:port]) reached over plain HTTP besides loopback.
    pub insecure: Vec<String>,
    /// An extra CA bundle (PEM) to trust, besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Where each request is logged (method, URL, status, time; never credentials):
    /// `-v`'s printer, or nowhere.
    pub log: Option<crate::printer::Printer>,
    pub retry: Retry,
    /// Timeout for connecting and for each read.
    pub timeout: Option<Duration>,
    /// The overall deadline of one request, body included (else `MPBUILD_REQUEST_TIMEOUT`
    /// seconds, else 60 s); scaled up for large uploads and blob streams.
    pub request_timeout: Option<Duration>,
    /// What stops requests in flight and retries: the process's Ctrl-C/SIGTERM
    /// (`cancel::global`) unless set.
    pub cancel: Option<&'static crate::cancel::Token>,
}

/// The overall deadline of a request when neither the options nor the environment say.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable that overrides the overall deadline (seconds).
pub const REQUEST_TIMEOUT_ENV: &str = "MPBUILD_REQUEST_TIMEOUT";

/// The most read of one CA certificate file (a system bundle is about 200 KiB).
const MAX_PEM_BYTES: u64 = 16 << 20;

/// The slowest transfer a large body is given time for: 256 KiB/s on top of the
/// deadline.
pub const MIN_RATE: u64 = 256 << 10;

/// The transport: agents, schemes, deadlines, retries, the interrupt and the log.
pub(super) struct Transport {
    pub(super) options: Options,
    agents: Mutex<HashMap<String, ureq::Agent>>,
    pub(super) schemes: Schemes,
    /// One hook per agent: an interrupt closes its connections, so a request blocked on
    /// a stalled registry returns at once (see `cancel`).
    stops: Mutex<Vec<crate::cancel::Guard<'static>>>,
}

impl Transport {
    pub(super) fn new(options: Options) -> Transport {
        Transport {
            schemes: Schemes::new(options.insecure.clone()),
            options,
            agents: Mutex::default(),
            stops: Mutex::default(),
        }
    }

    /// The cancellation this transport's requests stop at: the process's, unless the
    /// options name another (tests).
    pub(super) fn cancel(&self) -> &'static crate::cancel::Token {
        self.options.cancel.unwrap_or_else(crate::cancel::global)
    }

    /// Closes `agent`'s connections, in use or idle, when the run is interrupted.
    fn stop_on_cancel(&self, agent: &ureq::Agent) {
        let agent = agent.clone();
        let guard = self.cancel().on_cancel(move |_| agent.clone().shutdown());
        self.stops.lock().unwrap().push(guard);
    }

    /// The error for a request the interrupt cut short (`request` says which), or
    /// `None` when the run was not interrupted.
    pub(super) fn interrupted(
        &self,
        repo: &Repository,
        request: impl FnOnce() -> String,
    ) -> Option<RegistryError> {
        self.cancel()
            .is_cancelled()
            .then(|| RegistryError::Interrupted {
                registry: repo.registry.clone(),
                request: request(),
            })
    }

    /// The scheme `registry` speaks (see [`Schemes::scheme`]).
    pub(super) fn scheme(&self, registry: &str) -> &'static str {
        self.schemes.scheme(registry, |r| self.probe(r))
    }

    /// Whether `registry` answers a TLS handshake: "https" or "http".
    fn probe(&self, registry: &str) -> &'static str {
        match self.agent_with(registry, false) {
            Ok(agent) => super::scheme::probe_tls(&agent, registry),
            Err(_) => "http",
        }
    }

    /// `url` with the scheme its registry turned out to have: a URL made while a
    /// loopback registry was assumed to speak plain HTTP, once it is known to be HTTPS.
    pub(super) fn current_url<'u>(&self, host: &str, url: &'u str) -> Cow<'u, str> {
        let plain = format!("http://{host}/");
        if url.starts_with(&plain) && self.scheme(host) == "https" {
            Cow::Owned(format!("https://{host}/{}", &url[plain.len()..]))
        } else {
            Cow::Borrowed(url)
        }
    }

    /// `SCHEME://HOST/v2/PATH`: where `repo`'s API answers.
    pub(super) fn base(&self, repo: &Repository) -> String {
        format!(
            "{}://{}/v2/{}",
            self.scheme(repo.api_host()),
            repo.api_host(),
            repo.path
        )
    }

    /// The agent for requests to `host`. A registry reached over plain HTTP gets the
    /// built-in roots (only a redirect to HTTPS storage would use them), so the system
    /// bundle is not read and parsed for it: a cost on every run against a local
    /// registry.
    pub(super) fn agent(&self, host: &str) -> Result<ureq::Agent, RegistryError> {
        let roots = self.scheme(host) == "https";
        self.agent_with(host, roots)
    }

    /// An agent for `host`, with the configured TLS roots (`roots`) or the built-in ones.
    pub(super) fn agent_with(&self, host: &str, roots: bool) -> Result<ureq::Agent, RegistryError> {
        let key = format!("{host}\0{roots}");
        let mut agents = self.agents.lock().unwrap();
        if let Some(a) = agents.get(&key) {
            return Ok(a.clone());
        }
        let timeout = self.options.timeout.unwrap_or(Duration::from_secs(30));
        let mut tls = ureq::tls::TlsConfig::builder();
        let certs = if roots {
            self.root_certs(host)?
        } else {
            Vec::new()
        };
        if !certs.is_empty() {
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeout))
            .timeout_per_read(Some(timeout))
            .timeout_per_write(Some(timeout))
            .max_redirects(5)
            .user_agent(concat!("mpbuild/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            super::resolve::LiteralFirst::default(),
        );
        self.stop_on_cancel(&agent);
        agents.insert(key, agent.clone());
        Ok(agent)
    }

    /// The overall deadline for a request moving `len` bytes (either way).
    pub(super) fn request_deadline(&self, len: u64) -> Duration {
        let base = self
            .options
            .request_timeout
            .or_else(|| {
                std::env::var(REQUEST_TIMEOUT_ENV)
                    .ok()
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s > 0.0)
                    .map(Duration::from_secs_f64)
            })
            .unwrap_or(DEFAULT_REQUEST_TIMEOUT);
        base + Duration::from_secs(len / MIN_RATE)
    }

    /// The system bundle plus any extra CA (the option, `/etc/docker/certs.d/HOST/`),
    /// or empty for the built-in roots.
    fn root_certs(
        &self,
        host: &str,
    ) -> Result<Vec<ureq::tls::Certificate<'static>>, RegistryError> {
        let mut extra: Vec<PathBuf> = Vec::new();
        if let Some(ca) = &self.options.ca_file {
            extra.push(ca.clone());
        }
        let certs_d = PathBuf::from("/etc/docker/certs.d").join(host);
        if let Ok(entries) = std::fs::read_dir(&certs_d) {
            for e in entries.flatten() {
                if e.path().extension().is_some_and(|x| x == "crt") {
                    extra.push(e.path());
                }
            }
        }
        let system = std::env::var_os("SSL_CERT_FILE")
            .map(PathBuf::from)
            .into_iter()
            .chain(
                [
                    "/etc/ssl/certs/ca-certificates.crt",
                    "/etc/pki/tls/certs/ca-bundle.crt",
                    "/etc/ssl/cert.pem",
                ]
                .map(PathBuf::from),
            )
            .find(|p| p.is_file());
        if extra.is_empty() && std::env::var_os("SSL_CERT_FILE").is_none() {
            return Ok(Vec::new());
        }
        let mut certs = Vec::new();
        for path in system.iter().chain(extra.iter()) {
            let pem = crate::fsread::read_bytes(path, MAX_PEM_BYTES).map_err(|e| {
                RegistryError::Config {
                    path: path.display().to_string(),
                    message: e.to_string(),
                }
            })?;
            for item in ureq::tls::parse_pem(&pem) {
                if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                    certs.push(c);
                }
            }
        }
        Ok(certs)
    }

    pub(super) fn log(&self, method: Method, url: &str, status: Option<u16>, started: Instant) {
        if let Some(printer) = &self.options.log {
            let status = status.map_or("error".to_string(), |s| s.to_string());
            crate::errln!(
                printer,
                "registry: {} {} → {status} ({} ms)",
                method.as_str(),
                redact_url(url),
                started.elapsed().as_millis()
            );
        }
    }

    /// Sends one request with retries; `auth` is the Authorization value to use.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send(
        &self,
        repo: &Repository,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body,
        auth: Option<&str>,
        deadline: Option<Deadline>,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let deadline =
            deadline.unwrap_or_else(|| Deadline::Whole(self.request_deadline(body.len())));
        let host = repo.api_host();
        let mut url = self.current_url(host, url);
        let mut agent = self.agent(host)?;
        let policy = self.options.retry;
        let started = Instant::now();
        let mut delay = policy.first_delay;
        let mut attempt = 0;
        let mut hops = 0;
        let interrupted = |url: &str| {
            self.interrupted(repo, || format!("{} {}", method.as_str(), redact_url(url)))
        };
        loop {
            if let Some(e) = interrupted(&url) {
                return Err(e);
            }
            attempt += 1;
            let t = Instant::now();
            let result = self.dispatch(&agent, method, &url, headers, body, auth, deadline);
            let settled_tls = self.schemes.settle(host, &result, |r| self.probe(r));
            if settled_tls || self.current_url(host, &url) != url {
                // A TLS server (found by this request or another): the same request
                // again, over HTTPS, not counted as an attempt.
                self.log(
                    method,
                    &url,
                    result.as_ref().ok().map(|r| r.status().as_u16()),
                    t,
                );
                url = Cow::Owned(self.current_url(host, &url).into_owned());
                agent = self.agent(host)?;
                attempt -= 1;
                continue;
            }
            let here: &str = &url;
            let retryable_status = |s: StatusCode| s.as_u16() == 429 || s.is_server_error();
            let last = attempt >= policy.attempts || started.elapsed() + delay > policy.max_total;
            match result {
                Ok(resp) => {
                    self.log(method, here, Some(resp.status().as_u16()), t);
                    if method.writes() && resp.status().is_redirection() {
                        let next =
                            super::redirect::write_redirect(repo, method, here, &resp, &mut hops)?;
                        url = Cow::Owned(next);
                        attempt -= 1;
                        continue;
                    }
                    if retryable_status(resp.status()) && !last {
                        let wait = retry_after(&resp).unwrap_or(delay);
                        self.cancel().sleep(wait);
                        delay *= 2;
                        continue;
                    }
                    return Ok(resp);
                }
                Err(e) => {
                    self.log(method, here, None, t);
                    // A request body that failed with a registry error of its own (a
                    // streamed source blob whose bytes are wrong): that error, not a retry.
                    let e = match e {
                        ureq::Error::Io(io)
                            if io.get_ref().is_some_and(|i| i.is::<RegistryError>()) =>
                        {
                            let inner = io.into_inner().expect("checked above");
                            return Err(*inner.downcast::<RegistryError>().expect("checked above"));
                        }
                        other => other,
                    };
                    // A connection the interrupt closed: not a network error to retry.
                    if let Some(e) = interrupted(here) {
                        return Err(e);
                    }
                    if !last && is_transient(&e) {
                        self.cancel().sleep(delay);
                        delay *= 2;
                        continue;
                    }
                    let (message, hint) = describe(&e, repo.api_host(), self.scheme(host));
                    return Err(RegistryError::Network {
                        registry: repo.registry.clone(),
                        request: format!("{} {}", method.as_str(), redact_url(here)),
                        attempts: attempt,
                        message,
                        hint,
                    });
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &self,
        agent: &ureq::Agent,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body,
        auth: Option<&str>,
        deadline: Deadline,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        macro_rules! with_headers {
            ($req:expr) => {{
                let r = $req.config();
                // A write is never followed by the HTTP client (it would turn a 301,
                // 302 or 303 into a GET and report its 200): `write_redirect` decides.
                let r = if method.writes() {
                    r.max_redirects(0)
                } else {
                    r
                };
                let mut r = match deadline {
                    Deadline::Whole(d) => r.timeout_global(Some(d)),
                    Deadline::Headers(d) => r.timeout_recv_response(Some(d)),
                }
                .build();
                for (k, v) in headers {
                    r = r.header(*k, *v);
                }
                if let Some(a) = auth {
                    r = r.header("Authorization", a);
                }
                r
            }};
        }
        match method {
            Method::Get => with_headers!(agent.get(url)).call(),
            Method::Head => with_headers!(agent.head(url)).call(),
            Method::Post | Method::Put => {
                let req = if method == Method::Post {
                    agent.post(url)
                } else {
                    agent.put(url)
                };
                let req = with_headers!(req);
                match body {
                    Body::Empty => req.header("Content-Length", "0").send_empty(),
                    Body::Bytes(b) => req.send(*b),
                    Body::Stream { len, open } => {
                        let mut reader = open().map_err(ureq::Error::Io)?;
                        req.header("Content-Length", &len.to_string())
                            .send(ureq::SendBody::from_reader(&mut *reader))
                    }
                }
            }
        }
    }
}

/// The wait a 429 or 5xx answer asks for (seconds or an HTTP date, capped).
fn retry_after(resp: &Response<ureq::Body>) -> Option<Duration> {
    super::retry_after::wait(&header(resp, "retry-after")?, std::time::SystemTime::now())
}

fn is_transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
    )
}

/// A short message and a hint for a transport error.
pub(super) fn describe(e: &ureq::Error, host: &str, scheme: &str) -> (String, String) {
    let message = e.to_string();
    let lower = message.to_lowercase();
    let hint = if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
    {
        if scheme == "https" {
            format!(
                "TLS to {host} failed: if it serves plain HTTP, list it under `insecure_registries:` (or --insecure-registry); for a private CA put it in /etc/docker/certs.d/{host}/ca.crt or pass --ca-file"
            )
        } else {
            "check the registry's TLS settings".into()
        }
    } else if lower.contains("refused")
        || lower.contains("connection failed")
        || lower.contains("not found")
        || lower.contains("dns")
    {
        format!("is {host} reachable from here? check the name, the port and your network")
    } else if lower.contains("timeout") || lower.contains("timed out") {
        format!(
            "{host} did not answer in time; check your network, then try again (a slow registry may need a longer {REQUEST_TIMEOUT_ENV}, in seconds)"
        )
    } else {
        "check your network and the registry, then try again".into()
    };
    (message, hint)
}
