//! The manifest endpoints of the OCI API: fetch by tag or digest, size-capped and
//! checked against the digest asked for (else `Docker-Content-Digest`), then parsed.
//! (Putting manifests is in `upload`; the manifest formats are in `manifest`.)

use ureq::http::{Response, StatusCode};

use super::auth::pull_scopes;
use super::client::{Client, http_error};
use super::error::RegistryError;
use super::http::{Body, Method, header, redact_url};
use super::manifest::{ACCEPT, Fetched, MAX_INDEX_ENTRIES, Manifest};
use super::reference::{Reference, Repository};
use super::transport::describe;
use crate::digest::Digest;

impl Client {
    /// Fetches a manifest by tag or digest and checks its digest: against the digest
    /// asked for, else against `Docker-Content-Digest`. A manifest asked for by a digest
    /// this run already fetched is not fetched again: the digest fixes its bytes.
    pub fn get_manifest(&self, r: &Reference) -> Result<Fetched, RegistryError> {
        let key = r.digest.as_ref().map(|d| format!("{}@{d}", r.repository));
        if let Some(k) = &key
            && let Some(f) = self.by_digest.lock().unwrap().manifest(k)
        {
            return Ok(f.clone());
        }
        let fetched = self.fetch_manifest(r)?;
        if let Some(k) = key {
            self.by_digest.lock().unwrap().keep_manifest(k, &fetched);
        }
        Ok(fetched)
    }

    /// The digest `tag` of `repo` resolves to now, or `None` when there is no such tag:
    /// one HEAD, with a GET only when the answer carries no well-formed
    /// `Docker-Content-Digest`. How a tag just written is read back.
    pub fn tag_digest(
        &self,
        repo: &Repository,
        tag: &str,
    ) -> Result<Option<Digest>, RegistryError> {
        let url = format!("{}/manifests/{tag}", self.transport.base(repo));
        let mut resp = self.request(
            repo,
            &pull_scopes(repo),
            Method::Head,
            &url,
            &[("Accept", ACCEPT)],
            &Body::Empty,
        )?;
        let status = resp.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(http_error(repo, "HEAD", &url, &mut resp));
        }
        if let Some(d) = header(&resp, "docker-content-digest")
            .as_deref()
            .and_then(|d| Digest::parse(d).ok())
        {
            return Ok(Some(d));
        }
        match self.get_manifest(&repo.at_tag(tag)) {
            Ok(f) => Ok(Some(f.digest)),
            Err(RegistryError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn fetch_manifest(&self, r: &Reference) -> Result<Fetched, RegistryError> {
        let repo = &r.repository;
        // A digest is checked with its own algorithm; one mpbuild cannot check is
        // refused before anything is fetched.
        let algorithm = match &r.digest {
            Some(d) => Some(crate::digest::Algorithm::of(d).map_err(|message| {
                RegistryError::BadManifest {
                    registry: repo.registry.clone(),
                    reference: r.to_string(),
                    message,
                }
            })?),
            None => None,
        };
        let url = format!("{}/manifests/{}", self.transport.base(repo), r.target());
        let mut resp = self.request(
            repo,
            &pull_scopes(repo),
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
        let bytes = read_limited(&mut resp, MANIFEST_LIMIT, r, &url).map_err(|e| {
            self.interrupted(repo, || format!("GET {}", redact_url(&url)))
                .unwrap_or(e)
        })?;
        // Asked by digest: that digest, with its algorithm. By tag: the registry's
        // `Docker-Content-Digest` when it is one mpbuild can check.
        let (algorithm, expected) = match (algorithm, &r.digest) {
            (Some(a), Some(d)) => (a, Some(d.clone())),
            _ => match header_digest
                .as_deref()
                .and_then(|d| crate::digest::Algorithm::of(d).ok().map(|a| (a, d)))
            {
                Some((a, d)) => (a, Some(d.to_string())),
                None => (crate::digest::Algorithm::Sha256, None),
            },
        };
        let actual = Digest::of(algorithm, &bytes);
        if let Some(expected) = &expected
            && *expected != actual
        {
            return Err(RegistryError::DigestMismatch {
                registry: repo.registry.clone(),
                reference: r.to_string(),
                expected: expected.clone(),
                actual: actual.into(),
            });
        }
        let manifest = Manifest::parse(content_type.as_deref(), &bytes).map_err(|message| {
            RegistryError::BadManifest {
                registry: repo.registry.clone(),
                reference: r.to_string(),
                message,
            }
        })?;
        if let Manifest::Index { manifests, .. } = &manifest
            && manifests.len() > MAX_INDEX_ENTRIES
        {
            return Err(RegistryError::TooManyEntries {
                registry: repo.registry.clone(),
                reference: r.to_string(),
                count: manifests.len(),
                limit: MAX_INDEX_ENTRIES,
            });
        }
        Ok(Fetched {
            media_type: manifest.media_type().to_string(),
            bytes,
            digest: actual,
            manifest,
        })
    }
}

/// The most a manifest may be, as the distribution reference implementation allows
/// (4 MiB) with room to spare.
pub const MANIFEST_LIMIT: u64 = 8 << 20;

/// Reads a manifest body, at most `limit` bytes: ureq stops at `limit + 1` bytes on the
/// stream, and a declared length over the limit fails before reading anything.
pub(super) fn read_limited(
    resp: &mut Response<ureq::Body>,
    limit: u64,
    r: &Reference,
    url: &str,
) -> Result<Vec<u8>, RegistryError> {
    let repo = &r.repository;
    let too_large = || RegistryError::TooLarge {
        registry: repo.registry.clone(),
        reference: r.to_string(),
        what: "manifest",
        limit,
    };
    if header(resp, "content-length")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(too_large());
    }
    resp.body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| {
            if matches!(e, ureq::Error::BodyExceedsLimit(_)) {
                return too_large();
            }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::exit::{Code, Coded};
    use crate::registry::Options;
    use crate::registry::credentials::Store;
    use crate::registry::test_server::{self, Reply, serve, within};

    #[test]
    fn a_manifest_by_digest_is_fetched_once_per_run_and_a_tag_every_time() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":2},"layers":[]}"#.to_vec();
        let digest = crate::digest::sha256(&body);
        let served = body.clone();
        let server = serve(move |_| {
            Reply::Full(
                200,
                vec![(
                    "Content-Type".into(),
                    "application/vnd.oci.image.manifest.v1+json".into(),
                )],
                served.clone(),
            )
        });
        let c = test_server::client(Options::default(), Store::default());
        test_server::plain_http(&c, &server.addr);
        let by_digest = Reference::parse(&format!("{}/team/app@{digest}", server.addr)).unwrap();
        let by_tag = Reference::parse(&format!("{}/team/app:v1", server.addr)).unwrap();
        for _ in 0..3 {
            assert_eq!(c.get_manifest(&by_digest).unwrap().digest, digest);
            assert_eq!(c.get_manifest(&by_tag).unwrap().digest, digest);
        }
        let gets = |target: &str| {
            server
                .requests()
                .iter()
                .filter(|s| s.path.ends_with(&format!("/manifests/{target}")))
                .count()
        };
        assert_eq!(gets(&digest), 1, "a digest names fixed bytes");
        assert_eq!(gets("v1"), 3, "a tag can move: read each time");
    }

    #[test]
    fn a_manifest_over_the_cap_fails_on_the_stream() {
        let server = serve(|_| Reply::Huge(Vec::new(), 64 << 20));
        let c = test_server::client(Options::default(), Store::default());
        test_server::plain_http(&c, &server.addr);
        let r = Reference::parse(&format!("{}/team/app:v1", server.addr)).unwrap();
        let err = within(Duration::from_secs(60), move || c.get_manifest(&r)).unwrap_err();
        assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");
        assert_eq!(err.code(), Code::Registry);
        let msg = err.to_string();
        assert!(
            msg.contains(&server.addr) && msg.contains("team/app:v1"),
            "{msg}"
        );
    }

    #[test]
    fn a_trickling_registry_hits_the_overall_deadline() {
        // Headers at once, then one byte every half second: each read succeeds, so
        // only an overall deadline ends it.
        let server =
            serve(|_| Reply::Trickle(Vec::new(), vec![b' '; 200], Duration::from_millis(500)));
        let c = test_server::client(
            Options {
                request_timeout: Some(Duration::from_millis(1500)),
                ..Options::default()
            },
            Store::default(),
        );
        test_server::plain_http(&c, &server.addr);
        let r = Reference::parse(&format!("{}/app:v1", server.addr)).unwrap();
        let started = std::time::Instant::now();
        let err = within(Duration::from_secs(20), move || c.get_manifest(&r)).unwrap_err();
        assert!(matches!(err, RegistryError::Network { .. }), "{err}");
        assert_eq!(err.code(), Code::Registry);
        assert!(err.to_string().contains("MPBUILD_REQUEST_TIMEOUT"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10), "{err}");
    }
}
