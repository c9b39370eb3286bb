//! The blob endpoints of the OCI API for reading: a blob as a stream that checks its
//! digest when it ends, a small blob (an image config) whole, and blob HEAD.

use std::io::Read;

use sha2::{Digest as _, Sha256};
use ureq::http::StatusCode;

use super::client::{Client, http_error};
use super::error::RegistryError;
use super::reference::Repository;
use super::transport::{Body, Method};

impl Client {
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
