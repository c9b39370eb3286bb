//! Before a push builds anything: does each destination registry answer, and does it
//! take a write from the credentials in use? A push to a port where nothing listens,
//! to `init`'s placeholder registry or with a read-only token then fails in about a
//! second, with the message the late failure would have given, instead of after the
//! whole build.

use ureq::http::StatusCode;

use super::auth::push_scopes;
use super::client::{Client, http_error};
use super::error::RegistryError;
use super::http::{Body, Method, header, redact_url};
use super::reference::Repository;
use super::upload::Upload;

/// The OCI empty descriptor's content (`application/vnd.oci.empty.v1+json`): what the
/// write check uploads. Two bytes, content-addressed, and the config every OCI artifact
/// (the verification record among them) points at, so it is harmless where it lands.
pub const EMPTY_JSON: &[u8] = b"{}";

impl Client {
    /// Whether `repo`'s registry answers the distribution API (`GET /v2/`) with the
    /// credentials in use, a token for pulling `repo` where it asks for one. Writes
    /// nothing (`doctor`).
    pub fn ping(&self, repo: &Repository) -> Result<(), RegistryError> {
        let url = format!(
            "{}://{}/v2/",
            self.transport.scheme(repo.api_host()),
            repo.api_host()
        );
        let scopes = [super::auth::scope(&repo.path, false)];
        let mut resp = self.request(repo, &scopes, Method::Get, &url, &[], &Body::Empty)?;
        if resp.status() == StatusCode::OK {
            Ok(())
        } else {
            Err(http_error(repo, "GET", &url, &mut resp))
        }
    }

    /// Whether the credentials in use may push to `repo`: [`EMPTY_JSON`] uploaded with a
    /// push-scoped token (where the registry uses tokens), in the single-POST form
    /// (`POST …/blobs/uploads/?digest=`, which names the blob in every request, so a log
    /// tells the check from an image's upload), finished with a PUT where the registry
    /// opens a session instead. Always a real write, even where the blob is there
    /// already: a HEAD answers a read-only token too.
    pub fn check_push(&self, repo: &Repository) -> Result<(), RegistryError> {
        let digest = crate::digest::Digest::sha256(EMPTY_JSON);
        let url = format!(
            "{}/blobs/uploads/?digest={digest}",
            self.transport.base(repo)
        );
        let mut resp = self.request(
            repo,
            &push_scopes(repo),
            Method::Post,
            &url,
            &[("Content-Type", "application/octet-stream")],
            &Body::Bytes(EMPTY_JSON),
        )?;
        match resp.status() {
            StatusCode::CREATED => Ok(()),
            StatusCode::ACCEPTED => {
                let location = header(&resp, "location").ok_or_else(|| RegistryError::Http {
                    registry: repo.registry.clone(),
                    request: format!("POST {}", redact_url(&url)),
                    status: 202,
                    detail: ": no Location for the upload".into(),
                    hint: "the registry does not follow the distribution API".into(),
                })?;
                let upload = Upload::at(self.absolute(repo, &location));
                let open = || -> std::io::Result<Box<dyn std::io::Read + Send + '_>> {
                    Ok(Box::new(EMPTY_JSON))
                };
                self.finish_upload(repo, &upload, &digest, EMPTY_JSON.len() as u64, &open)
            }
            _ => Err(http_error(repo, "POST", &url, &mut resp)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_registry;
    use super::super::test_server::{self, status};
    use super::*;

    #[test]
    fn a_registry_that_takes_writes_passes_with_one_upload() {
        let (reg, client) = test_registry::start(false);
        let repo = reg.repo("app");
        client.ping(&repo).unwrap();
        client.check_push(&repo).unwrap();
        let digest = crate::digest::sha256(EMPTY_JSON);
        assert_eq!(
            reg.state
                .lock()
                .unwrap()
                .blobs
                .get(&digest)
                .map(Vec::as_slice),
            Some(EMPTY_JSON)
        );
        // The blob is there now; the check still writes (a HEAD proves nothing).
        client.check_push(&repo).unwrap();
        let posts = reg
            .requests()
            .iter()
            .filter(|r| r.starts_with("POST ") && r.contains("digest=sha256:44136fa"))
            .count();
        assert_eq!(posts, 2, "{:?}", reg.requests());
    }

    #[test]
    fn a_registry_that_reads_but_refuses_writes_fails_the_check_not_the_ping() {
        // A read-only token: reads answered, the upload refused.
        let (reg, client) = test_registry::start_with(false, |seen, _| {
            (seen.method == "POST").then(|| status(403, &[]))
        });
        let repo = reg.repo("app");
        client.ping(&repo).unwrap();
        let e = client.check_push(&repo).unwrap_err();
        assert!(
            matches!(e, RegistryError::Http { status: 403, .. }),
            "{e:?}"
        );
        assert!(e.message().contains("POST "), "{}", e.message());
    }

    #[test]
    fn nothing_listening_fails_the_ping_with_a_network_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = test_server::client(Default::default(), Default::default());
        let repo = Repository::parse(&format!("127.0.0.1:{port}/app")).unwrap();
        let e = client.ping(&repo).unwrap_err();
        assert!(matches!(e, RegistryError::Network { .. }), "{e:?}");
    }
}
