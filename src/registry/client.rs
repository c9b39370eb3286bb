//! The registry client, the top layer: the OCI distribution API over the transport
//! (`transport`: agents, schemes, retries, deadlines, the log) and the authorizer
//! (`auth`: credentials, challenges, tokens). This file holds the client itself, the one
//! request path every endpoint takes (send; on a 401, answer the challenge and send
//! once more), and the mapping of non-success answers to `RegistryError`s. The
//! endpoints are `impl Client` blocks beside it: `manifests`, `blobs`, `upload` and
//! `referrers`; none of them is imported here.

use std::sync::{Arc, Mutex};

use ureq::http::{Response, StatusCode};

use super::auth::Authorizer;
use super::cache::DigestCache;
use super::credentials::Store;
use super::error::{RegistryError, login_hint};
use super::http::{Body, Deadline, Method, body_excerpt, origin, redact_url};
use super::reference::Repository;
use super::transport::{Options, Transport};

/// The registry client. Cheap to share across threads (`Arc<Client>`).
pub struct Client {
    pub(super) transport: Transport,
    pub(super) auth: Authorizer,
    /// Manifests and small blobs fetched by digest in this run: what a digest names
    /// never changes, so a stage that needs one another stage already read and checked
    /// (promotion after verification, a leg's records) does not fetch it again.
    pub(super) by_digest: Mutex<DigestCache>,
    /// Per registry, whether it has the referrers API (`referrers`): learnt from the
    /// first listing or referrer written, so each registry is asked once a run.
    pub(super) referrers_api: Mutex<std::collections::HashMap<String, bool>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.transport.options)
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
            transport: Transport::new(options),
            auth: Authorizer::new(creds),
            by_digest: Mutex::default(),
            referrers_api: Mutex::default(),
        })
    }

    /// The error for a request the interrupt cut short (`request` says which), or
    /// `None` when the run was not interrupted.
    pub(super) fn interrupted(
        &self,
        repo: &Repository,
        request: impl FnOnce() -> String,
    ) -> Option<RegistryError> {
        self.transport.interrupted(repo, request)
    }

    /// A request with the auth flow: on 401, answer the challenge and try once more.
    pub(super) fn request(
        &self,
        repo: &Repository,
        scopes: &[String],
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        self.request_with(repo, scopes, method, url, headers, body, None)
    }

    /// `request` with a deadline of the caller's choosing (default: the whole exchange
    /// within the transport's request deadline).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn request_with(
        &self,
        repo: &Repository,
        scopes: &[String],
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: &Body,
        deadline: Option<Deadline>,
    ) -> Result<Response<ureq::Body>, RegistryError> {
        let t = &self.transport;
        let url = &*t.current_url(repo.api_host(), url);
        // No Authorization, Basic or Bearer, leaves the registry's own origin: an
        // upload `Location` on another host or scheme (storage, a CDN) gets none.
        let own = origin(&format!(
            "{}://{}/",
            t.scheme(repo.api_host()),
            repo.api_host()
        ));
        if origin(url).is_some_and(|o| Some(o) != own) {
            return t.send(repo, method, url, headers, body, None, deadline);
        }
        let cached = self
            .auth
            .cached(repo.api_host(), &repo.registry, &scopes.join(" "))?;
        let resp = t.send(
            repo,
            method,
            url,
            headers,
            body,
            cached.as_deref(),
            deadline,
        )?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let header = self
            .auth
            .answer(t, repo, scopes, method, url, &resp, cached.as_deref())?;
        let resp = t.send(repo, method, url, headers, body, Some(&header), deadline)?;
        if resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::FORBIDDEN {
            return Err(self.auth.refused(repo, scopes, method, url));
        }
        Ok(resp)
    }
}

/// A registry's refusal (any answer the endpoint does not take) as a `RegistryError`,
/// with a hint for the status.
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
