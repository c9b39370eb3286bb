//! Credentials exactly where Docker keeps them: `$DOCKER_CONFIG/config.json` (else
//! `~/.docker/config.json`): `credHelpers[host]`, else `credsStore`, else `auths[host]`.
//! Helpers (`docker-credential-NAME get`) run with a timeout; their "not found" means
//! anonymous. Secrets never reach Debug output, logs or errors.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde::Deserialize;

use super::error::RegistryError;

/// How long a credential helper may take.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

/// The most read of a credential helper's answer (and of its stderr): 1 MiB. A helper
/// printing without end is stopped there.
pub const HELPER_CAP: usize = crate::child::ANSWER_CAP;

/// A credential for one registry.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth2 refresh token (`identitytoken`), exchanged at the token endpoint.
    IdentityToken {
        username: String,
        token: String,
    },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credential::IdentityToken { username, .. } => {
                write!(f, "IdentityToken({username}, ***)")
            }
        }
    }
}

impl Credential {
    pub fn username(&self) -> &str {
        match self {
            Credential::Basic { username, .. } | Credential::IdentityToken { username, .. } => {
                username
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthEntry(***)")
    }
}

/// Docker's credential configuration, read once per run.
#[derive(Debug, Default)]
pub struct Store {
    path: Option<PathBuf>,
    file: ConfigFile,
    /// PATH to search for helpers (the process's, unless a test gives its own).
    search_path: Option<std::ffi::OsString>,
}

impl Store {
    /// Reads `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`; a missing file means
    /// anonymous access everywhere.
    pub fn from_env() -> Result<Store, RegistryError> {
        let dir = std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")));
        match dir {
            Some(d) => Store::from_dir(&d),
            None => Ok(Store::default()),
        }
    }

    /// Reads `DIR/config.json`.
    pub fn from_dir(dir: &Path) -> Result<Store, RegistryError> {
        let path = dir.join("config.json");
        // A regular file of at most 8 MiB: a FIFO there would hang the read, a link to
        // /dev/zero fill memory.
        let text = match crate::fsread::read_text(&path, crate::fsread::MAX_TEXT_BYTES) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Store::default()),
            Err(e) => {
                return Err(RegistryError::Config {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        let file: ConfigFile = serde_json::from_str(&text).map_err(|e| RegistryError::Config {
            path: path.display().to_string(),
            message: format!("not valid Docker config JSON: {e}"),
        })?;
        Ok(Store {
            path: Some(path),
            file,
            search_path: None,
        })
    }

    /// Looks helpers up along this PATH instead of the process's.
    pub fn with_search_path(mut self, path: impl Into<std::ffi::OsString>) -> Store {
        self.search_path = Some(path.into());
        self
    }

    /// The credential for `registry` (as written in references: `docker.io`,
    /// `host:port`), or `None` for anonymous access.
    pub fn get(&self, registry: &str) -> Result<Option<Credential>, RegistryError> {
        let key = server_key(registry);
        if let Some(helper) = self
            .file
            .cred_helpers
            .iter()
            .find(|(k, _)| normalize(k) == normalize(&key))
            .map(|(_, v)| v)
        {
            return self.ask_helper(helper, registry, &key);
        }
        if let Some(store) = self.file.creds_store.as_deref().filter(|s| !s.is_empty()) {
            return self.ask_helper(store, registry, &key);
        }
        let Some(entry) = self
            .file
            .auths
            .iter()
            .find(|(k, _)| normalize(k) == normalize(&key))
            .map(|(_, v)| v)
        else {
            return Ok(None);
        };
        self.decode_entry(entry, registry)
    }

    fn decode_entry(
        &self,
        e: &AuthEntry,
        registry: &str,
    ) -> Result<Option<Credential>, RegistryError> {
        let bad = |m: &str| RegistryError::Config {
            path: self
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            message: format!("auths entry for {registry}: {m}"),
        };
        let (username, password) = match (&e.auth, &e.username, &e.password) {
            (Some(a), _, _) if !a.is_empty() => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(a.trim())
                    .map_err(|_| bad("`auth` is not base64"))?;
                let s = String::from_utf8(raw).map_err(|_| bad("`auth` is not UTF-8"))?;
                let (u, p) = s
                    .split_once(':')
                    .ok_or_else(|| bad("`auth` is not USER:PASSWORD"))?;
                (u.to_string(), p.to_string())
            }
            (_, Some(u), Some(p)) => (u.clone(), p.clone()),
            _ => (String::new(), String::new()),
        };
        if let Some(token) = e.identitytoken.as_ref().filter(|t| !t.is_empty()) {
            return Ok(Some(Credential::IdentityToken {
                username,
                token: token.clone(),
            }));
        }
        if username.is_empty() && password.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credential::Basic { username, password }))
    }

    fn ask_helper(
        &self,
        helper: &str,
        registry: &str,
        key: &str,
    ) -> Result<Option<Credential>, RegistryError> {
        let fail = |message: String| RegistryError::CredentialHelper {
            registry: registry.to_string(),
            helper: helper.to_string(),
            message,
        };
        let program = format!("docker-credential-{helper}");
        let found = match &self.search_path {
            Some(p) => which::which_in(&program, Some(p), "."),
            None => which::which(&program),
        };
        let Ok(exe) = found else {
            return Err(fail(format!("`{program}` is not on PATH")));
        };
        let expr = duct::cmd(exe, ["get"]).stdin_bytes(key.as_bytes().to_vec());
        let output = match crate::child::run(&expr, Some(HELPER_TIMEOUT), HELPER_CAP) {
            crate::child::Waited::Exited(out) => out,
            crate::child::Waited::TimedOut => {
                return Err(fail(format!(
                    "no answer within {}s",
                    HELPER_TIMEOUT.as_secs()
                )));
            }
            crate::child::Waited::Interrupted => {
                return Err(RegistryError::Interrupted {
                    registry: registry.to_string(),
                    request: format!("credential helper `{program}`"),
                });
            }
            crate::child::Waited::TooMuch { stream, cap } => {
                return Err(fail(format!(
                    "it printed more than {} on {stream} (a credential is a few KiB of JSON); stopped it — check the helper, or remove it from {}",
                    crate::fsread::size(cap as u64),
                    self.path.as_ref().map_or_else(
                        || "Docker's config.json".to_string(),
                        |p| p.display().to_string()
                    )
                )));
            }
            crate::child::Waited::Failed(e) => return Err(fail(format!("cannot run it: {e}"))),
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            // Docker's helpers say this when they hold nothing for the server.
            if stdout.contains("credentials not found")
                || stdout.to_lowercase().contains("not found")
            {
                return Ok(None);
            }
            // Never echo helper output: it is not ours to print and could hold a secret.
            return Err(fail(format!("it exited with {}", output.status)));
        }
        #[derive(Deserialize)]
        struct Answer {
            #[serde(rename = "Username", default)]
            username: String,
            #[serde(rename = "Secret", default)]
            secret: String,
        }
        let answer: Answer = serde_json::from_str(stdout.trim())
            .map_err(|_| fail("its answer is not the JSON Docker expects".into()))?;
        if answer.secret.is_empty() {
            return Ok(None);
        }
        if answer.username == "<token>" {
            return Ok(Some(Credential::IdentityToken {
                username: String::new(),
                token: answer.secret,
            }));
        }
        Ok(Some(Credential::Basic {
            username: answer.username,
            password: answer.secret,
        }))
    }
}

/// The key Docker uses for a registry in config.json and with helpers.
pub fn server_key(registry: &str) -> String {
    if registry == "docker.io"
        || registry == "index.docker.io"
        || registry == "registry-1.docker.io"
    {
        "https://index.docker.io/v1/".to_string()
    } else {
        registry.to_string()
    }
}

/// Docker's `ConvertToHostname`: drops the scheme and any path.
fn normalize(key: &str) -> String {
    let k = key
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = k.split('/').next().unwrap_or(k);
    if host == "index.docker.io" || host == "registry-1.docker.io" || host == "docker.io" {
        "index.docker.io".into()
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn store(json: &str) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), json).unwrap();
        let s = Store::from_dir(dir.path()).unwrap();
        (dir, s)
    }

    fn helper(dir: &Path, name: &str, script: &str) {
        let p = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn auths_basic_and_identity_token() {
        let auth = base64::engine::general_purpose::STANDARD.encode("AWS:s3cret");
        let (_d, s) = store(&format!(
            r#"{{"auths":{{"https://123.dkr.ecr.us-east-1.amazonaws.com":{{"auth":"{auth}"}},"https://index.docker.io/v1/":{{"auth":"{auth}","identitytoken":"refresh"}}}}}}"#
        ));
        let c = s
            .get("123.dkr.ecr.us-east-1.amazonaws.com")
            .unwrap()
            .unwrap();
        assert_eq!(
            c,
            Credential::Basic {
                username: "AWS".into(),
                password: "s3cret".into()
            }
        );
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(matches!(
            s.get("docker.io").unwrap(),
            Some(Credential::IdentityToken { .. })
        ));
        assert_eq!(s.get("ghcr.io").unwrap(), None);
    }

    #[test]
    fn helpers_by_host_and_store_with_not_found_as_anonymous() {
        let bin = tempfile::tempdir().unwrap();
        helper(
            bin.path(),
            "good",
            r#"read host; echo "{\"ServerURL\":\"$host\",\"Username\":\"u\",\"Secret\":\"tok\"}""#,
        );
        helper(
            bin.path(),
            "none",
            "echo 'credentials not found in native keychain'; exit 1",
        );
        helper(bin.path(), "broken", "echo 'secret-leak'; exit 3");
        helper(bin.path(), "slow", "sleep 30");
        let (_d, s) = store(
            r#"{"credsStore":"none","credHelpers":{"a.example.com":"good","b.example.com":"broken","c.example.com":"slow","d.example.com":"missing"}}"#,
        );
        let s = s.with_search_path(bin.path());
        assert_eq!(
            s.get("a.example.com").unwrap(),
            Some(Credential::Basic {
                username: "u".into(),
                password: "tok".into()
            })
        );
        assert_eq!(s.get("other.example.com").unwrap(), None);
        let e = s.get("b.example.com").unwrap_err().to_string();
        assert!(
            e.contains("docker-credential-broken") && !e.contains("secret-leak"),
            "{e}"
        );
        let e = s.get("d.example.com").unwrap_err().to_string();
        assert!(e.contains("not on PATH"), "{e}");
    }

    #[test]
    fn missing_config_is_anonymous_and_bad_json_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Store::from_dir(dir.path()).unwrap().get("ghcr.io").unwrap(),
            None
        );
        std::fs::write(dir.path().join("config.json"), "{not json").unwrap();
        assert!(Store::from_dir(dir.path()).is_err());
    }
}
