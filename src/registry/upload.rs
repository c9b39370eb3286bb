//! The write side of the OCI API: cross-repository blob mount, streamed monolithic
//! blob upload (POST, then one PUT to the `Location`), and manifest PUT.

use ureq::http::StatusCode;

use super::auth::{self, push_scopes};
use super::client::{Client, http_error};
use super::error::RegistryError;
use super::http::{Body, Method, OpenBlob, body_excerpt, header};
use super::reference::Repository;
use crate::digest::Digest;

/// An open upload session: where the blob's bytes go.
#[derive(Debug, Clone)]
pub struct Upload {
    url: String,
}

impl Upload {
    /// The session at `url` (absolute).
    pub(super) fn at(url: String) -> Upload {
        Upload { url }
    }
}

/// What a mount request did.
#[derive(Debug, Clone)]
enum Mount {
    Mounted,
    /// Declined: upload the blob to this session instead.
    Upload(Upload),
}

/// Where a blob stands before its bytes are sent.
#[derive(Debug, Clone)]
pub enum Placed {
    /// The repository has it already.
    Present,
    Mounted,
    /// Send it to this session.
    Upload(Upload),
}

impl Client {
    /// Readies `repo` for a blob: nothing to do if it has the blob; else mounted from
    /// the first of `from` (other repositories of the same registry) that allows it;
    /// else an upload session — the last declined mount's (a declined mount answers
    /// with one), or a new one.
    pub fn place_blob<'r>(
        &self,
        repo: &Repository,
        digest: &str,
        from: impl IntoIterator<Item = &'r Repository>,
    ) -> Result<Placed, RegistryError> {
        if self.blob_exists(repo, digest, true)? {
            return Ok(Placed::Present);
        }
        let mut session = None;
        for from in from
            .into_iter()
            .filter(|f| *f != repo && f.registry == repo.registry)
        {
            match self.mount(repo, digest, from)? {
                Mount::Mounted => return Ok(Placed::Mounted),
                Mount::Upload(upload) => session = Some(upload),
            }
        }
        Ok(Placed::Upload(match session {
            Some(upload) => upload,
            None => self.start_upload(repo)?,
        }))
    }

    /// Mounts a blob from another repository of the same registry (the caller makes
    /// sure it is), or, where the registry declines, the upload session its answer
    /// opened.
    fn mount(
        &self,
        repo: &Repository,
        digest: &str,
        from: &Repository,
    ) -> Result<Mount, RegistryError> {
        let url = format!(
            "{}/blobs/uploads/?mount={digest}&from={}",
            self.transport.base(repo),
            from.path
        );
        let scopes = vec![
            auth::scope(&repo.path, true),
            auth::scope(&from.path, false),
        ];
        let mut resp = self.request(repo, &scopes, Method::Post, &url, &[], &Body::Empty)?;
        match resp.status() {
            StatusCode::CREATED => Ok(Mount::Mounted),
            StatusCode::ACCEPTED => match header(&resp, "location") {
                Some(location) => Ok(Mount::Upload(Upload {
                    url: self.absolute(repo, &location),
                })),
                None => Ok(Mount::Upload(self.start_upload(repo)?)),
            },
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
        let upload = self.start_upload(repo)?;
        self.finish_upload(repo, &upload, digest, len, open)
    }

    /// Opens an upload session (POST): where [`finish_upload`](Self::finish_upload)
    /// sends the blob.
    pub fn start_upload(&self, repo: &Repository) -> Result<Upload, RegistryError> {
        let start_url = format!("{}/blobs/uploads/", self.transport.base(repo));
        let mut resp = self.request(
            repo,
            &push_scopes(repo),
            Method::Post,
            &start_url,
            &[],
            &Body::Empty,
        )?;
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
        Ok(Upload {
            url: self.absolute(repo, &location),
        })
    }

    /// Sends the whole blob to an open upload session in one PUT, which closes it
    /// under `digest`.
    pub fn finish_upload<'a>(
        &self,
        repo: &Repository,
        upload: &Upload,
        digest: &str,
        len: u64,
        open: &'a OpenBlob<'a>,
    ) -> Result<(), RegistryError> {
        let scopes = push_scopes(repo);
        let mut put_url = upload.url.clone();
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
    ) -> Result<Digest, RegistryError> {
        self.put_manifest_answer(repo, target, media_type, bytes)
            .map(|(digest, _)| digest)
    }

    /// [`put_manifest`](Self::put_manifest), and the `OCI-Subject` the registry answered
    /// with: a registry with the referrers API names there the `subject` it took note of.
    pub(super) fn put_manifest_answer(
        &self,
        repo: &Repository,
        target: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<(Digest, Option<String>), RegistryError> {
        let url = format!("{}/manifests/{target}", self.transport.base(repo));
        let mut resp = self.request(
            repo,
            &push_scopes(repo),
            Method::Put,
            &url,
            &[("Content-Type", media_type)],
            &Body::Bytes(bytes),
        )?;
        if !resp.status().is_success() {
            return Err(http_error(repo, "PUT", &url, &mut resp));
        }
        let digest = Digest::sha256(bytes);
        if let Some(d) = header(&resp, "docker-content-digest")
            && d != digest
        {
            return Err(RegistryError::DigestMismatch {
                registry: repo.registry.clone(),
                reference: format!("{repo}:{target}"),
                expected: digest.into(),
                actual: d,
            });
        }
        Ok((digest, header(&resp, "oci-subject")))
    }

    /// Puts a small blob held in memory (an artifact's config or statement), unless the
    /// repository has it; returns its digest.
    pub fn put_blob_bytes(&self, repo: &Repository, bytes: &[u8]) -> Result<Digest, RegistryError> {
        let digest = Digest::sha256(bytes);
        if self.blob_exists(repo, &digest, true)? {
            return Ok(digest);
        }
        let open =
            move || -> std::io::Result<Box<dyn std::io::Read + Send + '_>> { Ok(Box::new(bytes)) };
        self.upload_blob(repo, &digest, bytes.len() as u64, &open)?;
        Ok(digest)
    }

    /// Makes a `Location` (or `Link`) header absolute.
    pub(super) fn absolute(&self, repo: &Repository, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!(
                "{}://{}{}",
                self.transport.scheme(repo.api_host()),
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
