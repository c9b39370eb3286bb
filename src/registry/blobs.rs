//! The blob endpoints of the OCI API for reading: a blob as a stream that checks its
//! digest when it ends, a small blob (an image config) whole, and blob HEAD.

use std::io::Read;
use std::time::{Duration, Instant};

use ureq::http::StatusCode;

use super::auth::{pull_scopes, push_scopes};
use super::client::{Client, http_error};
use super::error::RegistryError;
use super::http::{Body, Deadline, Method, header};
use super::reference::Repository;
use super::transport::{MIN_RATE, REQUEST_TIMEOUT_ENV};

impl Client {
    /// A blob as a stream that checks its digest when it ends.
    pub fn get_blob(&self, repo: &Repository, digest: &str) -> Result<BlobReader, RegistryError> {
        self.open_blob(repo, digest, true)
    }

    /// A blob of known size as a stream checked against its descriptor before its last
    /// byte is handed on ([`Checked`]): what a copy to another registry sends. Each byte
    /// is hashed once, by the check (the stream under it keeps only its deadline).
    pub fn get_blob_sized(
        &self,
        repo: &Repository,
        digest: &str,
        size: u64,
    ) -> Result<Checked<BlobReader>, RegistryError> {
        let reader = self.open_blob(repo, digest, false)?;
        Ok(Checked::new(
            reader,
            &repo.registry,
            format!("{repo}@{digest}"),
            digest,
            size,
        ))
    }

    /// Opens a blob's stream; `hash` makes it check the digest at its end.
    fn open_blob(
        &self,
        repo: &Repository,
        digest: &str,
        hash: bool,
    ) -> Result<BlobReader, RegistryError> {
        // Checked with the digest's own algorithm; one mpbuild cannot check is refused.
        let algorithm =
            crate::digest::Algorithm::of(digest).map_err(|message| RegistryError::BadManifest {
                registry: repo.registry.clone(),
                reference: format!("{repo}@{digest}"),
                message,
            })?;
        let url = format!("{}/blobs/{digest}", self.transport.base(repo));
        let started = Instant::now();
        let base = self.transport.request_deadline(0);
        // The body may be large: its time is bounded by the reader, by its length.
        let mut resp = self.request_with(
            repo,
            &pull_scopes(repo),
            Method::Get,
            &url,
            &[],
            &Body::Empty,
            Some(Deadline::Headers(base)),
        )?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(RegistryError::NotFound {
                registry: repo.registry.clone(),
                what: "config",
                reference: format!("{repo}@{digest}"),
                hint: "the image references a blob the registry lost; push the image again".into(),
            });
        }
        if !resp.status().is_success() {
            return Err(http_error(repo, "GET", &url, &mut resp));
        }
        let content_length = header(&resp, "content-length").and_then(|v| v.trim().parse().ok());
        let reader = resp.into_body().into_reader();
        Ok(BlobReader {
            content_length,
            started,
            base,
            cancel: self.transport.cancel(),
            inner: Box::new(reader),
            hasher: hash.then(|| algorithm.hasher()),
            expected: digest.to_string(),
            reference: format!("{repo}@{digest}"),
            registry: repo.registry.clone(),
            done: false,
            bytes: 0,
        })
    }

    /// A whole (small) blob, digest-checked: image configs. At most `limit` bytes are
    /// read: a blob that declares or turns out to be larger fails at `limit + 1` bytes,
    /// without reading the rest (so its digest is never checked either). A blob this
    /// run already read from the same repository is not read again: the digest fixes
    /// its bytes.
    pub fn get_blob_bytes(
        &self,
        repo: &Repository,
        digest: &str,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let key = format!("{repo}@{digest}");
        if let Some(b) = self.by_digest.lock().unwrap().blob(&key)
            && b.len() as u64 <= limit
        {
            return Ok(b.clone());
        }
        let out = self.read_blob_bytes(repo, digest, limit)?;
        self.by_digest.lock().unwrap().keep_blob(key, &out);
        Ok(out)
    }

    fn read_blob_bytes(
        &self,
        repo: &Repository,
        digest: &str,
        limit: u64,
    ) -> Result<Vec<u8>, RegistryError> {
        let too_large = || RegistryError::TooLarge {
            registry: repo.registry.clone(),
            reference: format!("{repo}@{digest}"),
            what: "config",
            limit,
        };
        let mut r = self.get_blob(repo, digest)?;
        if r.content_length.is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut out = Vec::new();
        (&mut r)
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| io_error(repo, digest, e))?;
        // Under the cap the reader reached the end, where it checked the digest.
        if out.len() as u64 > limit {
            return Err(too_large());
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
        let url = format!("{}/blobs/{digest}", self.transport.base(repo));
        let scopes = if push {
            push_scopes(repo)
        } else {
            pull_scopes(repo)
        };
        let mut resp = self.request(repo, &scopes, Method::Head, &url, &[], &Body::Empty)?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(http_error(repo, "HEAD", &url, &mut resp)),
        }
    }
}

/// A blob stream that verifies the digest at its end.
pub struct BlobReader {
    /// The length the registry declared, if it did.
    content_length: Option<u64>,
    /// When the request started, and its deadline before scaling by size.
    started: Instant,
    base: Duration,
    /// An interrupt closes the connection under `inner`: its error (or early end) is
    /// then reported as the interrupt.
    cancel: &'static crate::cancel::Token,
    inner: Box<dyn Read + Send>,
    /// None when a [`Checked`] over this stream checks the digest.
    hasher: Option<crate::digest::Hasher>,
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

    /// The interrupt, as the stream's error, when the run was interrupted.
    fn interrupted(&self) -> Option<std::io::Error> {
        self.cancel.is_cancelled().then(|| {
            std::io::Error::other(RegistryError::Interrupted {
                registry: self.registry.clone(),
                request: format!("GET {}", self.reference),
            })
        })
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() => {
                if let Some(e) = self.interrupted() {
                    return Err(e);
                }
                0
            }
            Ok(n) => n,
            Err(e) => return Err(self.interrupted().unwrap_or(e)),
        };
        // An overall deadline: the per-read timeout restarts with every byte, so a
        // registry trickling bytes would otherwise never time out.
        let size = self.content_length.unwrap_or(0).max(self.bytes + n as u64);
        let allowed = self.base + Duration::from_secs(size / MIN_RATE);
        if self.started.elapsed() > allowed {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "{}: timeout: the blob was not read within {} s ({} bytes so far)",
                    self.reference,
                    allowed.as_secs(),
                    self.bytes + n as u64
                ),
            ));
        }
        if n == 0 {
            self.done = true;
            let Some(hasher) = &self.hasher else {
                return Ok(0);
            };
            let actual = hasher.finish();
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
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&buf[..n]);
        }
        self.bytes += n as u64;
        Ok(n)
    }
}

/// A blob stream checked against its descriptor (digest and size) before its last byte
/// is handed on: the read that would complete the declared size fails instead when the
/// bytes do not hash to the digest, so whoever consumes the stream (an upload with a
/// fixed Content-Length) never receives a whole, wrong blob. A stream that ends early
/// or runs past the size fails too. The errors are [`RegistryError::DigestMismatch`]
/// naming the registry the bytes came from, wrapped in `io::Error` (kind `InvalidData`).
pub struct Checked<R> {
    inner: R,
    registry: String,
    reference: String,
    expected: String,
    size: u64,
    hasher: crate::digest::Hasher,
    bytes: u64,
}

impl<R: Read> Checked<R> {
    /// `reference` names the blob in messages (`REPO@DIGEST`).
    pub fn new(inner: R, registry: &str, reference: String, digest: &str, size: u64) -> Self {
        Checked {
            inner,
            registry: registry.to_string(),
            reference,
            expected: digest.to_string(),
            size,
            // An unknown algorithm was refused before any stream opened; sha256 then
            // only makes the mismatch certain.
            hasher: crate::digest::Algorithm::of(digest)
                .unwrap_or(crate::digest::Algorithm::Sha256)
                .hasher(),
            bytes: 0,
        }
    }

    fn mismatch(&self, actual: String) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            RegistryError::DigestMismatch {
                registry: self.registry.clone(),
                reference: self.reference.clone(),
                expected: self.expected.clone(),
                actual,
            },
        )
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            if self.bytes != self.size {
                return Err(self.mismatch(format!(
                    "a blob of {} bytes where its descriptor says {}",
                    self.bytes, self.size
                )));
            }
            return Ok(0);
        }
        let total = self.bytes + n as u64;
        if total > self.size {
            return Err(self.mismatch(format!(
                "more than the {} bytes its descriptor says",
                self.size
            )));
        }
        self.hasher.update(&buf[..n]);
        if total == self.size {
            // The last bytes: checked before they are handed on.
            let actual = self.hasher.finish();
            if actual != self.expected {
                return Err(self.mismatch(actual));
            }
        }
        self.bytes = total;
        Ok(n)
    }
}

fn io_error(repo: &Repository, digest: &str, e: std::io::Error) -> RegistryError {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<RegistryError>()) {
        return match inner {
            RegistryError::DigestMismatch { .. } | RegistryError::Interrupted { .. } => {
                inner.clone()
            }
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
        hint: if e.kind() == std::io::ErrorKind::TimedOut || e.to_string().contains("timeout") {
            format!(
                "the registry sends too slowly; try again (a slow registry may need a longer {REQUEST_TIMEOUT_ENV}, in seconds)"
            )
        } else {
            "the connection broke while reading; try again".into()
        },
    }
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
    fn a_small_blob_is_read_once_per_repository_and_run() {
        let body = br#"{"os":"linux","architecture":"amd64"}"#.to_vec();
        let digest = crate::digest::sha256(&body);
        let served = body.clone();
        let server = serve(move |_| Reply::Full(200, Vec::new(), served.clone()));
        let c = test_server::client(Options::default(), Store::default());
        test_server::plain_http(&c, &server.addr);
        let app = Repository::parse(&format!("{}/team/app", server.addr)).unwrap();
        let copy = Repository::parse(&format!("{}/team/copy", server.addr)).unwrap();
        for _ in 0..3 {
            assert_eq!(c.get_blob_bytes(&app, &digest, 1 << 20).unwrap(), body);
        }
        // Another repository is read for itself: what it holds is what it serves.
        assert_eq!(c.get_blob_bytes(&copy, &digest, 1 << 20).unwrap(), body);
        // A smaller cap than the bytes kept still refuses them.
        let err = c.get_blob_bytes(&app, &digest, 4).unwrap_err();
        assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");
        let gets = |repo: &str| {
            server
                .requests()
                .iter()
                .filter(|s| s.path.starts_with(&format!("/v2/team/{repo}/blobs/")))
                .count()
        };
        assert_eq!(
            gets("app"),
            2,
            "read once, then once more past the smaller cap"
        );
        assert_eq!(gets("copy"), 1);
    }

    #[test]
    fn a_config_blob_over_the_cap_fails_at_the_cap() {
        // 64 MiB with no Content-Length: only reading it stops the client.
        let server = serve(|_| Reply::Huge(Vec::new(), 64 << 20));
        let c = test_server::client(Options::default(), Store::default());
        test_server::plain_http(&c, &server.addr);
        let repo = Repository::parse(&format!("{}/team/app", server.addr)).unwrap();
        let digest = format!("sha256:{}", "a".repeat(64));
        let d = digest.clone();
        let err = within(Duration::from_secs(60), move || {
            c.get_blob_bytes(&repo, &d, 4 << 20)
        })
        .unwrap_err();
        assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");
        assert_eq!(err.code(), Code::Registry);
        let msg = err.to_string();
        assert!(
            msg.contains(&server.addr) && msg.contains("team/app") && msg.contains(&digest),
            "{msg}"
        );
    }

    #[test]
    fn a_config_blob_declared_over_the_cap_is_refused_before_reading() {
        let server = serve(|_| Reply::Full(200, Vec::new(), vec![b'{'; (4 << 20) + 1]));
        let c = test_server::client(Options::default(), Store::default());
        test_server::plain_http(&c, &server.addr);
        let repo = Repository::parse(&format!("{}/app", server.addr)).unwrap();
        let err = c
            .get_blob_bytes(&repo, &format!("sha256:{}", "b".repeat(64)), 4 << 20)
            .unwrap_err();
        assert!(matches!(err, RegistryError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn a_config_blob_at_the_cap_is_read_and_checked() {
        let body = vec![b' '; 1024];
        let digest = crate::digest::sha256(&body);
        let b = body.clone();
        let server = serve(move |_| Reply::Huge(Vec::new(), b.len() as u64));
        let c = test_server::client(Options::default(), Store::default());
        test_server::plain_http(&c, &server.addr);
        let repo = Repository::parse(&format!("{}/app", server.addr)).unwrap();
        // 1024 zeros do not match the digest of 1024 spaces: checked at the end.
        let err = c.get_blob_bytes(&repo, &digest, 1024).unwrap_err();
        assert!(matches!(err, RegistryError::DigestMismatch { .. }), "{err}");
    }

    #[test]
    fn a_trickling_blob_hits_the_overall_deadline() {
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
        let repo = Repository::parse(&format!("{}/app", server.addr)).unwrap();
        let digest = format!("sha256:{}", "c".repeat(64));
        let started = Instant::now();
        let err = within(Duration::from_secs(20), move || {
            c.get_blob_bytes(&repo, &digest, 4 << 20)
        })
        .unwrap_err();
        assert!(matches!(err, RegistryError::Network { .. }), "{err}");
        assert_eq!(err.code(), Code::Registry);
        assert!(err.to_string().contains("MPBUILD_REQUEST_TIMEOUT"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10), "{err}");
    }

    /// Hands on one byte per read, as a slow network would.
    struct Bytewise(Vec<u8>, usize);
    impl Read for Bytewise {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.1 >= self.0.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[self.1];
            self.1 += 1;
            Ok(1)
        }
    }

    #[test]
    fn a_checked_stream_withholds_the_last_byte_of_wrong_content() {
        let good = b"the blob".to_vec();
        let digest = crate::digest::sha256(&good);
        let mut bad = good.clone();
        bad[7] = b'!';
        let mut r = Checked::new(
            Bytewise(bad, 0),
            "src:5000",
            "src:5000/a@x".into(),
            &digest,
            8,
        );
        let mut got = Vec::new();
        let mut buf = [0u8; 16];
        let err = loop {
            match r.read(&mut buf) {
                Ok(0) => panic!("ended without an error"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break e,
            }
        };
        assert_eq!(got.len(), 7, "the last byte was handed on");
        let inner = err
            .get_ref()
            .unwrap()
            .downcast_ref::<RegistryError>()
            .unwrap();
        assert!(
            matches!(inner, RegistryError::DigestMismatch { registry, .. } if registry == "src:5000")
        );
        // Short, long, and right.
        let mut r = Checked::new(&good[..7], "s", "s/a".into(), &digest, 8);
        assert!(std::io::copy(&mut r, &mut std::io::sink()).is_err());
        let long = [good.clone(), b"x".to_vec()].concat();
        let mut r = Checked::new(&long[..], "s", "s/a".into(), &digest, 8);
        assert!(std::io::copy(&mut r, &mut std::io::sink()).is_err());
        let mut r = Checked::new(&good[..], "s", "s/a".into(), &digest, 8);
        assert_eq!(std::io::copy(&mut r, &mut std::io::sink()).unwrap(), 8);
    }
}
