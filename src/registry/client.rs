//! A synchronous OCI distribution client over ureq: manifests and blobs by tag or
//! digest (every byte checked against its digest), blob HEAD, cross-repository mount,
//! streamed uploads, manifest PUT; Basic and Bearer auth with Docker's credentials;
//! bounded retries on 429, 5xx and network errors.

use std::collections::HashMap;
use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use sha2::{Digest as _, Sha256};
use ureq::http::{Response, StatusCode};

use super::auth::{self, Challenge};
use super::credentials::{Credential, Store};
use super::error::{RegistryError, login_hint};
use super::manifest::{ACCEPT, Manifest};
use super::reference::{Reference, Repository};

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
    /// Log each request (method, URL, status, time) to stderr; never credentials.
    pub verbose: bool,
    pub retry: Retry,
    /// Timeout for connecting and for each read.
    pub timeout: Option<Duration>,
}

/// A fetched manifest: exact bytes, media type and digest (already checked).
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: String,
    pub manifest: Manifest,
}

/// Opens a blob's content anew (once per attempt), for streamed uploads.
pub type OpenBlob<'a> = dyn Fn() -> std::io::Result<Box<dyn Read + Send + 'a>> + Sync + 'a;

/// The body of a request, re-creatable for retries.
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A stream of known length, opened anew for each attempt.
    Stream {
        len: u64,
        open: &'a OpenBlob<'a>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Head,
    Post,
    Put,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// The registry client. Cheap to share across threads (`Arc<Client>`).
pub struct Client {
    options: Options,
    creds: Store,
    agents: Mutex<HashMap<String, ureq::Agent>>,
    /// Bearer tokens per (registry, scope), reused for the run.
    tokens: Mutex<HashMap<(String, String), String>>,
    /// Registries that asked for Basic auth.
    basic: Mutex<HashMap<String, bool>>,
    /// Credentials looked up once per registry.
    cred_cache: Mutex<HashMap<String, Option<Credential>>>,
    /// http or https per loopback/insecure registry, probed once.
    schemes: Mutex<HashMap<String, &'static str>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .finish()
    }
}

/// Whether `registry` (host[:port]) is on the loopback interface.
pub fn is_loopback(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or(rest)
    } else {
        registry.rsplit_once(':').map_or(registry, |(h, p)| {
            if p.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                registry
            }
        })
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Client {
    /// A client with Docker's credentials from the environment.
    pub fn new(options: Options) -> Result<Arc<Client>, RegistryError> {
        Ok(Client::with_store(options, Store::from_env()?))
    }

    pub fn with_store(options: Options, creds: Store) -> Arc<Client> {
        Arc::new(Client {
            options,
            creds,
            agents: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
            basic: Mutex::new(HashMap::new()),
            cred_cache: Mutex::new(HashMap::new()),
            schemes: Mutex::new(HashMap::new()),
        })
    }

    /// HTTPS, except for loopback and insecure registries that do not speak TLS: like
    /// Docker, those are probed once (HTTPS first) and the answer is kept for the run.
    /// A registry that speaks TLS with a certificate we do not trust stays HTTPS, so
    /// the certificate error (and its hint) is what the user sees.
    fn scheme(&self, registry: &str) -> &'static str {
        if !(is_loopback(registry) || self.options.insecure.iter().any(|h| h == registry)) {
            return "https";
        }
        if let Some(s) = self.schemes.lock().unwrap().get(registry) {
            return s;
        }
        let scheme = match self.agent(registry) {
            Ok(agent) => {
                let probe = agent
                    .get(format!("https://{registry}/v2/"))
                    .config()
                    .timeout_global(Some(Duration::from_secs(3)))
                    .build()
                    .call();
                match probe {
                    Ok(_) => "https",
                    Err(e) if is_certificate_error(&e) => "https",
                    Err(_) => "http",
                }
            }
            Err(_) => "http",
        };
        self.schemes
            .lock()
            .unwrap()
            .insert(registry.to_string(), scheme);
        scheme
    }

    fn base(&self, repo: &Repository) -> String {
        format!(
            "{}://{}/v2/{}",
            self.scheme(repo.api_host()),
            repo.api_host(),
            repo.path
        )
    }

    fn agent(&self, host: &str) -> Result<ureq::Agent, RegistryError> {
        let mut agents = self.agents.lock().unwrap();
        if let Some(a) = agents.get(host) {
            return Ok(a.clone());
        }
        let timeout = self.options.timeout.unwrap_or(Duration::from_secs(30));
        let mut tls = ureq::tls::TlsConfig::builder();
        let certs = self.root_certs(host)?;
        if !certs.is_empty() {
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(timeout))
            .timeout_per_read(Some(timeout))
            .timeout_per_write(Some(timeout))
            .max_redirects(5)
            .user_agent(concat!("mpbuild/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build()
            .into();
        agents.insert(host.to_string(), agent.clone());
        Ok(agent)
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
            let pem = std::fs::read(path).map_err(|e| RegistryError::Config {
                path: path.display().to_string(),
                message: e.to_string(),
            })?;
            for item in ureq::tls::parse_pem(&pem) {
                if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                    certs.push(c);
                }
            }
        }
        Ok(certs)
    }

    fn credential(&self, registry: &str) -> Result<Option<Credential>, RegistryError> {
        if let Some(c) = self.cred_cache.lock().unwrap().get(registry) {
            return Ok(c.clone());
        }
        let c = self.creds.get(registry)?;
        self.cred_cache
            .lock()
            .unwrap()
            .insert(registry.to_string(), c.clone());
        Ok(c)
    }

    fn log(&self, method: Method, url: &str, status: Option<u16>, started: Instant) {
        if self.options.verbose {
            let status = status.map_or("error".to_string(), |s| s.to_string());
            eprintln!(
                "registry: {} {} → {status} ({} ms)",
                method.as_str(),
                redact_url(url),
                started.elapsed().as_millis()
            );
        }
    }

    /// Sends one request with retries; `auth` is the Authorization value to use.
    fn send_once(
        &self,
        repo: &Repository,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body,
        auth: Option<&str>,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let host = repo.api_host();
        let agent = self.agent(host)?;
        let policy = self.options.retry;
        let started = Instant::now();
        let mut delay = policy.first_delay;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let t = Instant::now();
            let result = self.dispatch(&agent, method, url, headers, body, auth);
            let retryable_status = |s: StatusCode| s.as_u16() == 429 || s.is_server_error();
            let last = attempt >= policy.attempts || started.elapsed() + delay > policy.max_total;
            match result {
                Ok(resp) => {
                    self.log(method, url, Some(resp.status().as_u16()), t);
                    if retryable_status(resp.status()) && !last {
                        let wait = retry_after(&resp)
                            .unwrap_or(delay)
                            .min(Duration::from_secs(10));
                        std::thread::sleep(wait);
                        delay *= 2;
                        continue;
                    }
                    return Ok(resp);
                }
                Err(e) => {
                    self.log(method, url, None, t);
                    if !last && is_transient(&e) {
                        std::thread::sleep(delay);
                        delay *= 2;
                        continue;
                    }
                    let (message, hint) = describe(&e, repo.api_host(), self.scheme(host));
                    return Err(RegistryError::Network {
                        registry: repo.registry.clone(),
                        request: format!("{} {}", method.as_str(), redact_url(url)),
                        attempts: attempt,
                        message,
                        hint,
                    });
                }
            }
        }
    }

    fn dispatch(
        &self,
        agent: &ureq::Agent,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body,
        auth: Option<&str>,
    ) -> Result<Response<ureq::Body>, ureq::Error> {
        macro_rules! with_headers {
            ($req:expr) => {{
                let mut r = $req;
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

    /// A request with the auth flow: on 401, answer the challenge and try once more.
    fn request(
        &self,
        repo: &Repository,
        scopes: &[String],
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let registry = repo.api_host().to_string();
        let scope_key = scopes.join(" ");
        let cached = self.cached_auth(&registry, &repo.registry, &scope_key)?;
        let resp = self.send_once(repo, method, url, headers, body, cached.as_deref())?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .and_then(auth::parse_challenge);
        let unauthorized = |detail: &str| RegistryError::Unauthorized {
            registry: repo.registry.clone(),
            repository: repo.path.clone(),
            action: if scopes.iter().any(|s| s.ends_with("push")) {
                "push to".into()
            } else {
                "pull from".into()
            },
            request: format!("{} {}{detail}", method.as_str(), redact_url(url)),
            hint: login_hint(&repo.registry),
        };
        let cred = self.credential(&repo.registry)?;
        let header = match challenge {
            Some(Challenge::Basic { .. }) => {
                self.basic.lock().unwrap().insert(registry.clone(), true);
                match &cred {
                    Some(Credential::Basic { username, password }) => {
                        basic_header(username, password)
                    }
                    _ => return Err(unauthorized(": credentials required")),
                }
            }
            Some(Challenge::Bearer { realm, service, .. }) => {
                let token =
                    self.fetch_token(repo, &realm, service.as_deref(), scopes, cred.as_ref())?;
                self.tokens
                    .lock()
                    .unwrap()
                    .insert((registry.clone(), scope_key.clone()), token.clone());
                format!("Bearer {token}")
            }
            None => return Err(unauthorized(": no usable WWW-Authenticate challenge")),
        };
        if cached.as_deref() == Some(header.as_str()) {
            return Err(unauthorized(""));
        }
        let resp = self.send_once(repo, method, url, headers, body, Some(&header))?;
        if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
            let detail = if cred.is_none() {
                ": no credentials found in Docker's config"
            } else {
                ": the credentials were refused"
            };
            return Err(unauthorized(detail));
        }
        Ok(resp)
    }

    fn cached_auth(
        &self,
        host: &str,
        registry: &str,
        scope_key: &str,
    ) -> Result<Option<String>, RegistryError> {
        if let Some(t) = self
            .tokens
            .lock()
            .unwrap()
            .get(&(host.to_string(), scope_key.to_string()))
        {
            return Ok(Some(format!("Bearer {t}")));
        }
        if self
            .basic
            .lock()
            .unwrap()
            .get(host)
            .copied()
            .unwrap_or(false)
            && let Some(Credential::Basic { username, password }) = self.credential(registry)?
        {
            return Ok(Some(basic_header(&username, &password)));
        }
        Ok(None)
    }

    fn fetch_token(
        &self,
        repo: &Repository,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        cred: Option<&Credential>,
    ) -> Result<String, RegistryError> {
        let realm_host = realm
            .split("://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or(realm)
            .to_string();
        let agent = self.agent(&realm_host)?;
        let t = Instant::now();
        let result = match cred {
            Some(Credential::IdentityToken { token, .. }) => {
                // OAuth2 refresh-token grant, as Docker does for identity tokens.
                let mut form: Vec<(&str, &str)> = vec![
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token),
                    ("client_id", "mpbuild"),
                ];
                if let Some(s) = service {
                    form.push(("service", s));
                }
                let scope = scopes.join(" ");
                form.push(("scope", &scope));
                agent.post(realm).send_form(form)
            }
            _ => {
                let mut req = agent.get(realm);
                if let Some(s) = service {
                    req = req.query("service", s);
                }
                for s in scopes {
                    req = req.query("scope", s);
                }
                if let Some(Credential::Basic { username, password }) = cred {
                    req = req.header("Authorization", &basic_header(username, password));
                }
                req.call()
            }
        };
        self.log(
            Method::Get,
            realm,
            result.as_ref().ok().map(|r| r.status().as_u16()),
            t,
        );
        let mut resp = result.map_err(|e| {
            let (message, hint) = describe(&e, &realm_host, "https");
            RegistryError::Network {
                registry: repo.registry.clone(),
                request: format!("token from {realm}"),
                attempts: 1,
                message,
                hint,
            }
        })?;
        if !resp.status().is_success() {
            return Err(RegistryError::Unauthorized {
                registry: repo.registry.clone(),
                repository: repo.path.clone(),
                action: if scopes.iter().any(|s| s.ends_with("push")) {
                    "push to".into()
                } else {
                    "pull from".into()
                },
                request: format!("token from {realm} answered {}", resp.status().as_u16()),
                hint: login_hint(&repo.registry),
            });
        }
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| RegistryError::Network {
                registry: repo.registry.clone(),
                request: format!("token from {realm}"),
                attempts: 1,
                message: e.to_string(),
                hint: "try again".into(),
            })?;
        let answer: TokenAnswer =
            serde_json::from_slice(&body).map_err(|_| RegistryError::Http {
                registry: repo.registry.clone(),
                request: format!("token from {realm}"),
                status: 200,
                detail: ": the answer is not a token".into(),
                hint: "check the registry's token service".into(),
            })?;
        answer
            .token
            .or(answer.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| RegistryError::Http {
                registry: repo.registry.clone(),
                request: format!("token from {realm}"),
                status: 200,
                detail: ": no token in the answer".into(),
                hint: "check the registry's token service".into(),
            })
    }

    fn pull_scopes(repo: &Repository) -> Vec<String> {
        vec![auth::scope(&repo.path, false)]
    }

    fn push_scopes(repo: &Repository) -> Vec<String> {
        vec![auth::scope(&repo.path, true)]
    }

    /// Fetches a manifest by tag or digest and checks its digest: against the digest
    /// asked for, else against `Docker-Content-Digest`.
    pub fn get_manifest(&self, r: &Reference) -> Result<Fetched, RegistryError> {
        let repo = &r.repository;
        let url = format!("{}/manifests/{}", self.base(repo), r.target());
        let mut resp = self.request(
            repo,
            &Client::pull_scopes(repo),
            Method::Get,
            &url,
            &[("Accept", ACCEPT)],
            &Body::Empty,
        )?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                registry: repo.registry.clone(),
                what: "manifest",
                reference: r.to_string(),
                hint: "check the tag or digest; `mpbuild push` creates it".into(),
            });
        }
        if !status.is_success() {
            return Err(http_error(repo, "GET", &url, &mut resp));
        }
        let content_type = header(&resp, "content-type");
        let header_digest = header(&resp, "docker-content-digest");
        let bytes = read_limited(&mut resp, 8 << 20, repo, &url)?;
        let actual = crate::digest::sha256(&bytes);
        let expected = r
            .digest
            .clone()
            .or(header_digest.filter(|d| d.starts_with("sha256:")));
        if let Some(expected) = &expected
            && expected != &actual
        {
            return Err(RegistryError::DigestMismatch {
                registry: repo.registry.clone(),
                reference: r.to_string(),
                expected: expected.clone(),
                actual,
            });
        }
        let manifest = Manifest::parse(content_type.as_deref(), &bytes).map_err(|message| {
            RegistryError::BadManifest {
                registry: repo.registry.clone(),
                reference: r.to_string(),
                message,
            }
        })?;
        Ok(Fetched {
            media_type: manifest.media_type().to_string(),
            bytes,
            digest: actual,
            manifest,
        })
    }

    /// A blob as a stream that checks its digest when it ends.
    pub fn get_blob(&self, repo: &Repository, digest: &str) -> Result<BlobReader, RegistryError> {
        let url = format!("{}/blobs/{digest}", self.base(repo));
        let mut resp = self.request(
            repo,
            &Client::pull_scopes(repo),
            Method::Get,
            &url,
            &[],
            &Body::Empty,
        )?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                registry: repo.registry.clone(),
                what: "blob",
                reference: format!("{repo}@{digest}"),
                hint: "the image references a blob the registry lost; push the image again".into(),
            });
        }
        if !resp.status().is_success() {
            return Err(http_error(repo, "GET", &url, &mut resp));
        }
        let reader = resp.into_body().into_reader();
        Ok(BlobReader {
            inner: Box::new(reader),
            hasher: Sha256::new(),
            expected: digest.to_string(),
            reference: format!("{repo}@{digest}"),
            registry: repo.registry.clone(),
            done: false,
            bytes: 0,
        })
    }

    /// A whole (small) blob, digest-checked: image configs.
    pub fn get_blob_bytes(
        &self,
        repo: &Repository,
        digest: &str,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let mut r = self.get_blob(repo, digest)?;
        let mut out = Vec::new();
        (&mut r)
            .take(limit)
            .read_to_end(&mut out)
            .map_err(|e| io_error(repo, digest, e))?;
        // Drain to EOF so the digest is checked (a config larger than `limit` fails).
        let mut rest = Vec::new();
        r.read_to_end(&mut rest)
            .map_err(|e| io_error(repo, digest, e))?;
        if !rest.is_empty() {
            return Err(RegistryError::BadManifest {
                registry: repo.registry.clone(),
                reference: format!("{repo}@{digest}"),
                message: format!("larger than {limit} bytes"),
            });
        }
        Ok(out)
    }

    /// Whether the repository has the blob.
    pub fn blob_exists(
        &self,
        repo: &Repository,
        digest: &str,
        push: bool,
    ) -> Result<bool, RegistryError> {
        let url = format!("{}/blobs/{digest}", self.base(repo));
        let scopes = if push {
            Client::push_scopes(repo)
        } else {
            Client::pull_scopes(repo)
        };
        let mut resp = self.request(repo, &scopes, Method::Head, &url, &[], &Body::Empty)?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(http_error(repo, "HEAD", &url, &mut resp)),
        }
    }

    /// Mounts a blob from another repository of the same registry. `Ok(true)` when
    /// mounted; `Ok(false)` when the registry declined (upload it instead).
    pub fn mount_blob(
        &self,
        repo: &Repository,
        digest: &str,
        from: &Repository,
    ) -> Result<bool, RegistryError> {
        if from.registry != repo.registry {
            return Ok(false);
        }
        let url = format!(
            "{}/blobs/uploads/?mount={digest}&from={}",
            self.base(repo),
            from.path
        );
        let scopes = vec![
            auth::scope(&repo.path, true),
            auth::scope(&from.path, false),
        ];
        let mut resp = self.request(repo, &scopes, Method::Post, &url, &[], &Body::Empty)?;
        match resp.status() {
            StatusCode::CREATED => Ok(true),
            StatusCode::ACCEPTED => Ok(false),
            _ => Err(http_error(repo, "POST", &url, &mut resp)),
        }
    }

    /// Uploads a blob from a stream of known length (monolithic: POST, then one PUT).
    pub fn upload_blob<'a>(
        &self,
        repo: &Repository,
        digest: &str,
        len: u64,
        open: &'a OpenBlob<'a>,
    ) -> Result<(), RegistryError> {
        let scopes = Client::push_scopes(repo);
        let start_url = format!("{}/blobs/uploads/", self.base(repo));
        let mut resp = self.request(repo, &scopes, Method::Post, &start_url, &[], &Body::Empty)?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(http_error(repo, "POST", &start_url, &mut resp));
        }
        let location = header(&resp, "location").ok_or_else(|| RegistryError::Http {
            registry: repo.registry.clone(),
            request: format!("POST {start_url}"),
            status: 202,
            detail: ": no Location for the upload".into(),
            hint: "the registry does not follow the distribution API".into(),
        })?;
        let mut put_url = self.absolute(repo, &location);
        put_url.push(if put_url.contains('?') { '&' } else { '?' });
        put_url.push_str("digest=");
        put_url.push_str(digest);
        let mut resp = self.request(
            repo,
            &scopes,
            Method::Put,
            &put_url,
            &[("Content-Type", "application/octet-stream")],
            &Body::Stream { len, open },
        )?;
        match resp.status() {
            StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            StatusCode::BAD_REQUEST => Err(RegistryError::DigestMismatch {
                registry: repo.registry.clone(),
                reference: format!("{repo}@{digest}"),
                expected: digest.to_string(),
                actual: format!(
                    "(the registry refused the upload: {})",
                    body_excerpt(&mut resp)
                ),
            }),
            _ => Err(http_error(repo, "PUT", &put_url, &mut resp)),
        }
    }

    /// Puts a manifest under a tag or its digest; returns the digest.
    pub fn put_manifest(
        &self,
        repo: &Repository,
        target: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        let url = format!("{}/manifests/{target}", self.base(repo));
        let mut resp = self.request(
            repo,
            &Client::push_scopes(repo),
            Method::Put,
            &url,
            &[("Content-Type", media_type)],
            &Body::Bytes(bytes),
        )?;
        if !resp.status().is_success() {
            return Err(http_error(repo, "PUT", &url, &mut resp));
        }
        let digest = crate::digest::sha256(bytes);
        if let Some(d) = header(&resp, "docker-content-digest")
            && d != digest
        {
            return Err(RegistryError::DigestMismatch {
                registry: repo.registry.clone(),
                reference: format!("{repo}:{target}"),
                expected: digest,
                actual: d,
            });
        }
        Ok(digest)
    }

    /// Makes a `Location` header absolute.
    fn absolute(&self, repo: &Repository, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!(
                "{}://{}{}",
                self.scheme(repo.api_host()),
                repo.api_host(),
                if location.starts_with('/') {
                    location.to_string()
                } else {
                    format!("/{location}")
                }
            )
        }
    }
}

/// A blob stream that verifies the digest at its end.
pub struct BlobReader {
    inner: Box<dyn Read + Send>,
    hasher: Sha256,
    expected: String,
    reference: String,
    registry: String,
    done: bool,
    bytes: u64,
}

impl BlobReader {
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.done = true;
            let actual = format!(
                "sha256:{}",
                crate::digest::hex(&self.hasher.clone().finalize())
            );
            if actual != self.expected {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    RegistryError::DigestMismatch {
                        registry: self.registry.clone(),
                        reference: self.reference.clone(),
                        expected: self.expected.clone(),
                        actual,
                    },
                ));
            }
            return Ok(0);
        }
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

fn basic_header(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

fn header(resp: &Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn retry_after(resp: &Response<ureq::Body>) -> Option<Duration> {
    header(resp, "retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

fn read_limited(
    resp: &mut Response<ureq::Body>,
    limit: u64,
    repo: &Repository,
    url: &str,
) -> Result<Vec<u8>, RegistryError> {
    resp.body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| {
            let (message, hint) = describe(&e, repo.api_host(), "");
            RegistryError::Network {
                registry: repo.registry.clone(),
                request: format!("GET {}", redact_url(url)),
                attempts: 1,
                message,
                hint,
            }
        })
}

fn body_excerpt(resp: &mut Response<ureq::Body>) -> String {
    let body = resp
        .body_mut()
        .with_config()
        .limit(4096)
        .lossy_utf8(true)
        .read_to_string()
        .unwrap_or_default();
    // Registry errors are JSON: {"errors":[{"code","message","detail"}]}.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
        && let Some(errs) = v["errors"].as_array()
    {
        return errs
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e["code"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    body.chars().take(200).collect()
}

fn http_error(
    repo: &Repository,
    method: &str,
    url: &str,
    resp: &mut Response<ureq::Body>,
) -> RegistryError {
    let status = resp.status().as_u16();
    let excerpt = body_excerpt(resp);
    let hint = match status {
        401 | 403 => login_hint(&repo.registry),
        404 => "check the repository name; some registries (ECR) need the repository created first".into(),
        405 => "the registry does not allow this operation (some registries refuse image indexes or deletes)".into(),
        429 => "the registry is rate-limiting; wait and try again".into(),
        s if s >= 500 => "the registry failed; try again later".into(),
        _ => "see the registry's message".into(),
    };
    RegistryError::Http {
        registry: repo.registry.clone(),
        request: format!("{method} {}", redact_url(url)),
        status,
        detail: if excerpt.is_empty() {
            String::new()
        } else {
            format!(": {excerpt}")
        },
        hint,
    }
}

fn io_error(repo: &Repository, digest: &str, e: std::io::Error) -> RegistryError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<RegistryError>()) {
        return match inner {
            RegistryError::DigestMismatch {
                registry,
                reference,
                expected,
                actual,
            } => RegistryError::DigestMismatch {
                registry: registry.clone(),
                reference: reference.clone(),
                expected: expected.clone(),
                actual: actual.clone(),
            },
            other => RegistryError::Network {
                registry: repo.registry.clone(),
                request: format!("GET blob {digest}"),
                attempts: 1,
                message: other.to_string(),
                hint: "try again".into(),
            },
        };
    }
    RegistryError::Network {
        registry: repo.registry.clone(),
        request: format!("GET blob {digest}"),
        attempts: 1,
        message: e.to_string(),
        hint: "the connection broke while reading; try again".into(),
    }
}

fn is_certificate_error(e: &ureq::Error) -> bool {
    let m = e.to_string().to_lowercase();
    m.contains("certificate") || m.contains("unknownissuer") || m.contains("invalid peer")
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
fn describe(e: &ureq::Error, host: &str, scheme: &str) -> (String, String) {
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
        format!("{host} did not answer in time; check your network, then try again")
    } else {
        "check your network and the registry, then try again".into()
    };
    (message, hint)
}

/// Drops query strings that may carry upload state or signatures from logged URLs.
fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, q)) => {
            let kept: Vec<&str> = q
                .split('&')
                .filter(|kv| {
                    kv.starts_with("mount=") || kv.starts_with("from=") || kv.starts_with("digest=")
                })
                .collect();
            if kept.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", kept.join("&"))
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        for h in [
            "127.0.0.1:5000",
            "localhost:5000",
            "localhost",
            "[::1]:5000",
            "127.1.2.3",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "ghcr.io",
            "10.0.0.1:5000",
            "registry.lan:5000",
            "localhost.example.com",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn plain_http_only_for_loopback_and_listed_hosts() {
        let c = Client::with_store(
            Options {
                insecure: vec!["registry.lan:5000".into()],
                ..Options::default()
            },
            Store::default(),
        );
        // Nothing listens on port 1: the probe fails and plain HTTP is used.
        assert_eq!(c.scheme("127.0.0.1:1"), "http");
        assert_eq!(c.scheme("registry.lan"), "https");
        assert_eq!(c.scheme("ghcr.io"), "https");
    }

    #[test]
    fn urls_in_logs_lose_upload_state() {
        assert_eq!(
            redact_url("http://r/v2/x/blobs/uploads/abc?_state=SECRET&digest=sha256:1"),
            "http://r/v2/x/blobs/uploads/abc?digest=sha256:1"
        );
        assert_eq!(
            redact_url("https://s3/obj?X-Amz-Signature=zzz"),
            "https://s3/obj"
        );
    }
}
