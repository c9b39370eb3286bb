//! The authorizer, the middle layer of the registry client: who we are. Docker's
//! credentials (looked up once per registry), a 401's `WWW-Authenticate` challenge
//! (Basic or Bearer) answered, Bearer tokens fetched from the realm with the
//! repository's scope and kept for the run, and the rules for where credentials may go
//! (never to another origin, never from HTTPS to a plain-HTTP realm). It sends nothing
//! itself but token requests, through the transport.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine;
use ureq::http::Response;

use super::credentials::{Credential, Store};
use super::error::{RegistryError, login_hint};
use super::http::{Method, origin, redact_url};
use super::reference::Repository;
use super::scheme::is_loopback;
use super::transport::{Transport, describe};

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic {
        realm: Option<String>,
    },
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
        error: Option<String>,
    },
}

/// Parses `Bearer realm="…",service="…",scope="…"` / `Basic realm="…"`.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest);
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic {
            realm: params.get("realm").cloned(),
        }),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
            error: params.get("error").cloned(),
        }),
        _ => None,
    }
}

/// `key="value", key=value` pairs; quoted values may hold commas.
fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    _ => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect();
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

/// The scope string for a repository: `repository:PATH:pull` or `…:pull,push`.
pub fn scope(path: &str, push: bool) -> String {
    if push {
        format!("repository:{path}:pull,push")
    } else {
        format!("repository:{path}:pull")
    }
}

/// Credentials, and what a registry's challenges were answered with.
#[derive(Default)]
pub(super) struct Authorizer {
    creds: Store,
    /// Credentials looked up once per registry.
    cred_cache: Mutex<HashMap<String, Option<Credential>>>,
    /// Bearer tokens per (registry, scope), reused for the run.
    tokens: Mutex<HashMap<(String, String), String>>,
    /// Registries that asked for Basic auth.
    basic: Mutex<HashMap<String, bool>>,
}

impl Authorizer {
    pub(super) fn new(creds: Store) -> Authorizer {
        Authorizer {
            creds,
            ..Authorizer::default()
        }
    }

    /// The credential Docker's config holds for `registry`, looked up once.
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

    /// The Authorization value an earlier challenge of `host` earned for `scope_key`: a
    /// token, or Basic credentials for a registry that asked for them.
    pub(super) fn cached(
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

    /// The Authorization value that answers `resp`'s challenge (a 401 to `method` `url`):
    /// Basic credentials, or a Bearer token fetched for `scopes`. `cached` is what the
    /// refused request carried: the same answer again is a refusal.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn answer(
        &self,
        transport: &Transport,
        repo: &Repository,
        scopes: &[String],
        method: Method,
        url: &str,
        resp: &Response<ureq::Body>,
        cached: Option<&str>,
    ) -> Result<String, RegistryError> {
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge);
        let unauthorized = |detail: &str| unauthorized(repo, scopes, method, url, detail);
        let cred = self.credential(&repo.registry)?;
        let registry = repo.api_host().to_string();
        let header = match challenge {
            Some(Challenge::Basic { .. }) => {
                self.basic.lock().unwrap().insert(registry, true);
                match &cred {
                    Some(Credential::Basic { username, password }) => {
                        basic_header(username, password)
                    }
                    _ => return Err(unauthorized(": credentials required")),
                }
            }
            Some(Challenge::Bearer { realm, service, .. }) => {
                let token = self.fetch_token(
                    transport,
                    repo,
                    &realm,
                    service.as_deref(),
                    scopes,
                    cred.as_ref(),
                )?;
                self.tokens
                    .lock()
                    .unwrap()
                    .insert((registry, scopes.join(" ")), token.clone());
                format!("Bearer {token}")
            }
            None => return Err(unauthorized(": no usable WWW-Authenticate challenge")),
        };
        if cached == Some(header.as_str()) {
            return Err(unauthorized(""));
        }
        Ok(header)
    }

    /// The error for an answer that still refuses us after the challenge was answered.
    pub(super) fn refused(
        &self,
        repo: &Repository,
        scopes: &[String],
        method: Method,
        url: &str,
    ) -> RegistryError {
        let detail = match self.credential(&repo.registry) {
            Ok(None) => ": no credentials found in Docker's config",
            _ => ": the credentials were refused",
        };
        unauthorized(repo, scopes, method, url, detail)
    }

    /// One token exchange in the order it happens: where credentials may go (a realm
    /// downgrade, plain HTTP), the request (the refresh-token grant, or a GET), the
    /// answer's status, then the token read from it; each failure with its own message.
    fn fetch_token(
        &self,
        transport: &Transport,
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
        if cred.is_some() {
            let registry_scheme = transport.scheme(repo.api_host());
            if let Err(reason) = realm_policy(registry_scheme, realm, transport.schemes.insecure())
            {
                return Err(RegistryError::InsecureAuth {
                    registry: repo.registry.clone(),
                    target: format!("the token service {realm}"),
                    reason,
                    hint: "the registry's token service must use HTTPS; if this is your own registry on a trusted network, list the token host under `insecure_registries:` (or --insecure-registry)".into(),
                });
            }
        }
        let agent = transport.agent_with(&realm_host, !realm.starts_with("http://"))?;
        let t = Instant::now();
        let result = token_request(&agent, transport, realm, service, scopes, cred);
        transport.log(
            Method::Get,
            realm,
            result.as_ref().ok().map(|r| r.status().as_u16()),
            t,
        );
        let resp = result.map_err(|e| {
            if let Some(e) = transport.interrupted(repo, || format!("token from {realm}")) {
                return e;
            }
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
        read_token(transport, repo, realm, resp)
    }
}

/// The token request: the OAuth2 refresh-token grant for an identity token, as Docker
/// does, else a GET with the service, the scopes and, with a user and password, Basic.
fn token_request(
    agent: &ureq::Agent,
    transport: &Transport,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    cred: Option<&Credential>,
) -> Result<Response<ureq::Body>, ureq::Error> {
    match cred {
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
            agent
                .post(realm)
                .config()
                .timeout_global(Some(transport.request_deadline(0)))
                .build()
                .send_form(form)
        }
        _ => {
            let mut req = agent
                .get(realm)
                .config()
                .timeout_global(Some(transport.request_deadline(0)))
                .build();
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
    }
}

/// The token in a token service's answer (`token`, else `access_token`), read to a cap.
fn read_token(
    transport: &Transport,
    repo: &Repository,
    realm: &str,
    mut resp: Response<ureq::Body>,
) -> Result<String, RegistryError> {
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
        .map_err(|e| {
            transport
                .interrupted(repo, || format!("token from {realm}"))
                .unwrap_or_else(|| RegistryError::Network {
                    registry: repo.registry.clone(),
                    request: format!("token from {realm}"),
                    attempts: 1,
                    message: e.to_string(),
                    hint: "try again".into(),
                })
        })?;
    let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| RegistryError::Http {
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

/// Not authorized to pull from or push to `repo` (`detail` says why).
fn unauthorized(
    repo: &Repository,
    scopes: &[String],
    method: Method,
    url: &str,
    detail: &str,
) -> RegistryError {
    RegistryError::Unauthorized {
        registry: repo.registry.clone(),
        repository: repo.path.clone(),
        action: if scopes.iter().any(|s| s.ends_with("push")) {
            "push to".into()
        } else {
            "pull from".into()
        },
        request: format!("{} {}{detail}", method.as_str(), redact_url(url)),
        hint: login_hint(&repo.registry),
    }
}

/// The scopes to read `repo`.
pub(super) fn pull_scopes(repo: &Repository) -> Vec<String> {
    vec![scope(&repo.path, false)]
}

/// The scopes to write `repo`.
pub(super) fn push_scopes(repo: &Repository) -> Vec<String> {
    vec![scope(&repo.path, true)]
}

fn basic_header(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

/// Whether credentials may go to a token realm: over HTTPS, or over plain HTTP to a
/// loopback or listed insecure host, and never from a registry on HTTPS to a realm on
/// HTTP (a downgrade). `Err` says why not.
pub(super) fn realm_policy(
    registry_scheme: &str,
    realm: &str,
    insecure: &[String],
) -> Result<(), String> {
    match origin(realm) {
        Some((scheme, _)) if scheme == "https" => Ok(()),
        Some((scheme, _)) if scheme == "http" && registry_scheme == "https" => {
            Err("the registry is on HTTPS but its token service is plain HTTP (a downgrade)".into())
        }
        Some((scheme, host)) if scheme == "http" => {
            if is_loopback(&host) || insecure.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
                Ok(())
            } else {
                Err("the token service is plain HTTP".into())
            }
        }
        _ => Err("the token realm is not an http(s) URL".into()),
    }
}

#[cfg(test)]
mod tests;
