//! The registry client itself: the shared state (options, credential store, agents,
//! token and scheme caches) behind `Client`, its constructors, and the mapping of
//! non-success responses to `RegistryError`s. The OCI API is spread over the modules
//! beside it: `transport` (sending, retries), `auth` (challenges, tokens),
//! `manifests`, `blobs` and `upload`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ureq::http::Response;

use super::credentials::{Credential, Store};
use super::error::{RegistryError, login_hint};
use super::reference::Repository;
use super::transport::redact_url;
use crate::escape::Line;

pub use super::blobs::{BlobReader, Checked};
pub use super::manifests::Fetched;
pub use super::transport::{Body, OpenBlob, Options, Retry, is_loopback};

/// The registry client. Cheap to share across threads (`Arc<Client>`).
pub struct Client {
    pub(super) options: Options,
    pub(super) creds: Store,
    pub(super) agents: Mutex<HashMap<String, ureq::Agent>>,
    /// Bearer tokens per (registry, scope), reused for the run.
    pub(super) tokens: Mutex<HashMap<(String, String), String>>,
    /// Registries that asked for Basic auth.
    pub(super) basic: Mutex<HashMap<String, bool>>,
    /// Credentials looked up once per registry.
    pub(super) cred_cache: Mutex<HashMap<String, Option<Credential>>>,
    /// http or https per loopback/insecure registry, probed once.
    pub(super) schemes: Mutex<HashMap<String, &'static str>>,
    /// Loopback registries spoken to in plain HTTP before any answer confirmed it.
    pub(super) assumed_http: Mutex<std::collections::HashSet<String>>,
    /// Manifests fetched by digest in this run (`REPO@DIGEST`): what a digest names
    /// never changes, so a stage that needs one another stage already read and checked
    /// (promotion after verification, a leg's records) does not fetch it again.
    pub(super) by_digest: Mutex<super::manifests::DigestCache>,
    /// One hook per agent: an interrupt closes its connections, so a request blocked on
    /// a stalled registry returns at once (see `cancel`).
    pub(super) stops: Mutex<Vec<crate::cancel::Guard<'static>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .finish()
    }
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
            assumed_http: Mutex::default(),
            by_digest: Mutex::default(),
            stops: Mutex::default(),
        })
    }

    /// The cancellation this client's requests stop at: the process's, unless the
    /// options name another (tests).
    pub(super) fn cancel(&self) -> &'static crate::cancel::Token {
        self.options.cancel.unwrap_or_else(crate::cancel::global)
    }

    /// Closes `agent`'s connections, in use or idle, when the run is interrupted.
    pub(super) fn stop_on_cancel(&self, agent: &ureq::Agent) {
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

    pub(super) fn credential(&self, registry: &str) -> Result<Option<Credential>, RegistryError> {
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
}

pub(super) fn header(resp: &Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub(super) fn body_excerpt(resp: &mut Response<ureq::Body>) -> String {
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
                    Line(e["code"].as_str().unwrap_or("?")),
                    Line(e["message"].as_str().unwrap_or(""))
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    crate::escape::line(&body.chars().take(200).collect::<String>()).into_owned()
}

pub(super) fn http_error(
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
