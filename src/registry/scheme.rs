//! Which scheme a registry speaks: HTTPS, except loopback registries (plain HTTP until
//! their first answer says otherwise) and hosts listed as insecure (probed once, HTTPS
//! first, like Docker); and the URLs built with it.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use ureq::http::{Response, StatusCode};

use super::http::header;

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

/// Which scheme each loopback or insecure registry speaks, found once per run. Every
/// other registry speaks HTTPS.
#[derive(Debug, Default)]
pub(super) struct Schemes {
    /// Registries (host[:port]) reached over plain HTTP besides loopback.
    insecure: Vec<String>,
    /// http or https per loopback/insecure registry, probed once.
    known: Mutex<HashMap<String, &'static str>>,
    /// Loopback registries spoken to in plain HTTP before any answer confirmed it.
    assumed_http: Mutex<HashSet<String>>,
}

impl Schemes {
    pub(super) fn new(insecure: Vec<String>) -> Schemes {
        Schemes {
            insecure,
            ..Schemes::default()
        }
    }

    /// The registries listed as insecure.
    pub(super) fn insecure(&self) -> &[String] {
        &self.insecure
    }

    /// HTTPS, except for loopback and insecure registries that do not speak TLS. A
    /// registry listed as insecure is probed once (`probe`, HTTPS first, like Docker). A
    /// loopback registry is spoken to in plain HTTP first — nothing leaves the machine,
    /// and the first request carries no credentials — and its first answer settles it:
    /// a TLS server's refusal of plain HTTP makes it HTTPS from then on
    /// ([`Self::settle`]). This saves the probe's round trip on every run against a
    /// local registry. A registry that speaks TLS with a certificate we do not trust
    /// stays HTTPS, so the certificate error (and its hint) is what the user sees.
    pub(super) fn scheme(
        &self,
        registry: &str,
        probe: impl Fn(&str) -> &'static str,
    ) -> &'static str {
        let listed = self.insecure.iter().any(|h| h == registry);
        if !(is_loopback(registry) || listed) {
            return "https";
        }
        let mut known = self.known.lock().unwrap();
        if let Some(s) = known.get(registry) {
            return s;
        }
        if !listed {
            known.insert(registry.to_string(), "http");
            self.assumed_http
                .lock()
                .unwrap()
                .insert(registry.to_string());
            return "http";
        }
        drop(known);
        let scheme = probe(registry);
        self.known
            .lock()
            .unwrap()
            .insert(registry.to_string(), scheme);
        scheme
    }

    /// Takes `scheme` for `registry` without asking (tests: a server known to speak it).
    #[cfg(test)]
    pub(super) fn assume(&self, registry: &str, scheme: &'static str) {
        self.known
            .lock()
            .unwrap()
            .insert(registry.to_string(), scheme);
    }

    /// After the first answer from a loopback registry spoken to in plain HTTP: true if
    /// it turned out to be a TLS server (a bare 400 with no registry header, which is how
    /// TLS servers answer plain HTTP, or a reply that is not HTTP at all) that answers a
    /// handshake (`probe`) — the scheme is then HTTPS and the request must be sent again.
    pub(super) fn settle(
        &self,
        host: &str,
        result: &Result<Response<ureq::Body>, ureq::Error>,
        probe: impl Fn(&str) -> &'static str,
    ) -> bool {
        if !self.assumed_http.lock().unwrap().remove(host) {
            return false;
        }
        let refused_plain_http = match result {
            Ok(resp) => {
                resp.status() == StatusCode::BAD_REQUEST
                    && header(resp, "docker-distribution-api-version").is_none()
            }
            // Nothing listens, or no answer in time: TLS would fare no better.
            Err(ureq::Error::ConnectionFailed | ureq::Error::HostNotFound)
            | Err(ureq::Error::Timeout(_)) => false,
            Err(_) => true,
        };
        if !refused_plain_http || probe(host) != "https" {
            return false;
        }
        self.known.lock().unwrap().insert(host.to_string(), "https");
        true
    }
}

/// Whether `registry` answers a TLS handshake through `agent` (one with the built-in
/// roots): "https" if it does (a certificate we do not trust included), else "http".
/// The outcome does not depend on which roots are trusted, so the probe goes without
/// loading them.
pub(super) fn probe_tls(agent: &ureq::Agent, registry: &str) -> &'static str {
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

fn is_certificate_error(e: &ureq::Error) -> bool {
    let m = e.to_string().to_lowercase();
    m.contains("certificate") || m.contains("unknownissuer") || m.contains("invalid peer")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Options;
    use crate::registry::client::Client;
    use crate::registry::credentials::Store;

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
        // Loopback: plain HTTP until an answer says otherwise, without a probe.
        assert_eq!(c.transport.scheme("127.0.0.1:1"), "http");
        assert!(
            c.transport
                .schemes
                .assumed_http
                .lock()
                .unwrap()
                .contains("127.0.0.1:1")
        );
        // Listed (loopback or not): probed, HTTPS first; nothing listens on port 1, so
        // plain HTTP, settled.
        let listed = Client::with_store(
            Options {
                insecure: vec!["127.0.0.1:1".into()],
                ..Options::default()
            },
            Store::default(),
        );
        assert_eq!(listed.transport.scheme("127.0.0.1:1"), "http");
        assert!(
            listed
                .transport
                .schemes
                .assumed_http
                .lock()
                .unwrap()
                .is_empty()
        );
        assert_eq!(c.transport.scheme("registry.lan"), "https");
        assert_eq!(c.transport.scheme("ghcr.io"), "https");
    }
}
