//! The registry auth flow: a 401's `WWW-Authenticate` challenge (Basic or Bearer), and
//! Bearer tokens fetched from the realm with the repository's scope.

use std::collections::BTreeMap;
use std::time::Instant;

use base64::Engine;
use ureq::http::{Response, StatusCode};

use super::client::Client;
use super::credentials::Credential;
use super::error::{RegistryError, login_hint};
use super::reference::Repository;
use super::transport::{Body, Deadline, Method, describe, is_loopback, origin, redact_url};

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

impl Client {
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
    /// within `request_deadline`).
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
        let url = &*self.current_url(repo.api_host(), url);
        // No Authorization, Basic or Bearer, leaves the registry's own origin: an
        // upload `Location` on another host or scheme (storage, a CDN) gets none.
        let own = origin(&format!(
            "{}://{}/",
            self.scheme(repo.api_host()),
            repo.api_host()
        ));
        if origin(url).is_some_and(|o| Some(o) != own) {
            return self.send_once(repo, method, url, headers, body, None, deadline);
        }
        let registry = repo.api_host().to_string();
        let scope_key = scopes.join(" ");
        let cached = self.cached_auth(&registry, &repo.registry, &scope_key)?;
        let resp = self.send_once(
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
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge);
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
        let resp = self.send_once(repo, method, url, headers, body, Some(&header), deadline)?;
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
        if cred.is_some() {
            let registry_scheme = self.scheme(repo.api_host());
            if let Err(reason) = realm_policy(registry_scheme, realm, &self.options.insecure) {
                return Err(RegistryError::InsecureAuth {
                    registry: repo.registry.clone(),
                    target: format!("the token service {realm}"),
                    reason,
                    hint: "the registry's token service must use HTTPS; if this is your own registry on a trusted network, list the token host under `insecure_registries:` (or --insecure-registry)".into(),
                });
            }
        }
        let agent = self.agent_with(&realm_host, !realm.starts_with("http://"))?;
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
                agent
                    .post(realm)
                    .config()
                    .timeout_global(Some(self.request_deadline(0)))
                    .build()
                    .send_form(form)
            }
            _ => {
                let mut req = agent
                    .get(realm)
                    .config()
                    .timeout_global(Some(self.request_deadline(0)))
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
        };
        self.log(
            Method::Get,
            realm,
            result.as_ref().ok().map(|r| r.status().as_u16()),
            t,
        );
        let mut resp = result.map_err(|e| {
            if let Some(e) = self.interrupted(repo, || format!("token from {realm}")) {
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
                self.interrupted(repo, || format!("token from {realm}"))
                    .unwrap_or_else(|| RegistryError::Network {
                        registry: repo.registry.clone(),
                        request: format!("token from {realm}"),
                        attempts: 1,
                        message: e.to_string(),
                        hint: "try again".into(),
                    })
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

    pub(super) fn pull_scopes(repo: &Repository) -> Vec<String> {
        vec![scope(&repo.path, false)]
    }

    pub(super) fn push_scopes(repo: &Repository) -> Vec<String> {
        vec![scope(&repo.path, true)]
    }
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
mod tests {
    use super::*;
    use crate::registry::Options;
    use crate::registry::credentials::Store;
    use crate::registry::test_server::{self, Reply, Server, serve, status};

    #[test]
    fn bearer_and_basic() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/busybox:pull,push".into()),
                error: None,
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic {
                realm: Some("Registry Realm".into())
            })
        );
        assert_eq!(
            parse_challenge(r#"bearer realm=https://t.example/token, error="insufficient_scope""#),
            Some(Challenge::Bearer {
                realm: "https://t.example/token".into(),
                service: None,
                scope: None,
                error: Some("insufficient_scope".into()),
            })
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }

    #[test]
    fn credentials_go_to_a_token_realm_only_over_https() {
        let none: &[String] = &[];
        assert!(realm_policy("https", "https://auth.docker.io/token", none).is_ok());
        assert!(realm_policy("http", "https://auth.example/token", none).is_ok());
        // A downgrade is refused, loopback or not.
        let e = realm_policy("https", "http://auth.example/token", none).unwrap_err();
        assert!(e.contains("downgrade"), "{e}");
        assert!(realm_policy("https", "http://127.0.0.1:5001/token", none).is_err());
        // A plain-HTTP registry: loopback or listed token hosts only.
        assert!(realm_policy("http", "http://127.0.0.1:5001/token", none).is_ok());
        assert!(realm_policy("http", "http://auth.lan:5001/token", none).is_err());
        assert!(
            realm_policy(
                "http",
                "http://auth.lan:5001/token",
                &["auth.lan:5001".into()]
            )
            .is_ok()
        );
        assert!(realm_policy("http", "ftp://auth.lan/token", none).is_err());
    }

    fn upload_through(registry: &Server, repo: &str, store: Store) -> std::sync::Arc<Client> {
        let c = test_server::client(Options::default(), store);
        test_server::plain_http(&c, &registry.addr);
        let repo = Repository::parse(&format!("{}/{repo}", registry.addr)).unwrap();
        let data = b"layer".to_vec();
        let digest = crate::digest::sha256(&data);
        let open = move || -> std::io::Result<Box<dyn std::io::Read + Send>> {
            Ok(Box::new(std::io::Cursor::new(data.clone())))
        };
        c.upload_blob(&repo, &digest, 5, &open).unwrap();
        c
    }

    /// Storage on another host: records what it gets, accepts every upload.
    fn storage() -> Server {
        serve(|_| status(201, &[]))
    }

    #[test]
    fn basic_credentials_stay_on_the_registry_host() {
        let store_at = storage();
        let port = store_at.addr.rsplit_once(':').unwrap().1.to_string();
        let registry = serve(move |r| {
            if r.header("authorization").is_none() {
                return status(401, &[("WWW-Authenticate", r#"Basic realm="test""#)]);
            }
            let location = format!("http://localhost:{port}/upload/1?_state=s");
            status(202, &[("Location", location.as_str())])
        });
        let dir = tempfile::tempdir().unwrap();
        let store = test_server::basic_store(dir.path(), &registry.addr, "u", "secret");
        upload_through(&registry, "app", store);
        let own = registry.requests();
        assert!(
            own.iter().any(|r| r.method == "POST"
                && r.header("authorization")
                    .is_some_and(|a| a.starts_with("Basic "))),
            "{own:?}"
        );
        let foreign = store_at.requests();
        assert_eq!(foreign.len(), 1, "{foreign:?}");
        assert_eq!(foreign[0].method, "PUT");
        assert!(
            foreign[0]
                .path
                .starts_with("/upload/1?_state=s&digest=sha256:")
        );
        assert_eq!(foreign[0].header("authorization"), None, "{foreign:?}");
    }

    #[test]
    fn the_bearer_token_stays_on_the_registry_host() {
        let store_at = storage();
        let port = store_at.addr.rsplit_once(':').unwrap().1.to_string();
        let tokens = serve(|_| Reply::Full(200, Vec::new(), br#"{"token":"tok-123"}"#.to_vec()));
        let realm = format!(
            r#"Bearer realm="http://{}/token",service="reg""#,
            tokens.addr
        );
        let registry = serve(move |r| {
            if r.header("authorization") != Some("Bearer tok-123") {
                return status(401, &[("WWW-Authenticate", realm.as_str())]);
            }
            let location = format!("http://localhost:{port}/upload/1");
            status(202, &[("Location", location.as_str())])
        });
        upload_through(&registry, "app", Store::default());
        let foreign = store_at.requests();
        assert_eq!(foreign.len(), 1, "{foreign:?}");
        assert_eq!(foreign[0].header("authorization"), None, "{foreign:?}");
    }

    #[test]
    fn no_credentials_to_a_plain_http_token_service_elsewhere() {
        let registry = serve(|_| {
            status(
                401,
                &[(
                    "WWW-Authenticate",
                    r#"Bearer realm="http://auth.invalid/token",service="reg""#,
                )],
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let store = test_server::basic_store(dir.path(), &registry.addr, "u", "secret");
        let c = test_server::client(Options::default(), store);
        test_server::plain_http(&c, &registry.addr);
        let r = crate::registry::Reference::parse(&format!("{}/app:v1", registry.addr)).unwrap();
        let err = c.get_manifest(&r).unwrap_err();
        assert!(matches!(err, RegistryError::InsecureAuth { .. }), "{err}");
        assert_eq!(crate::exit::Coded::code(&err), crate::exit::Code::Registry);
        assert!(
            err.to_string().contains("http://auth.invalid/token"),
            "{err}"
        );
    }
}
