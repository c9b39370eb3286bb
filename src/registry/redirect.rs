//! Redirects to writes. ureq would repeat a PUT or POST answered with a 301, 302 or
//! 303 as a GET and hand back that GET's 200 — a tag reported moved that was never
//! written — so writes are sent with redirects off and answered here: a 307 or 308 to
//! the request's own origin is re-sent with the same method and body; anything else is
//! an error naming the registry and the request. (Reads keep ureq's redirects: blob
//! storage, CDNs.)

use ureq::http::Response;

use super::error::RegistryError;
use super::http::{Method, header, origin, redact_url};
use super::reference::Repository;

/// The most redirects one write follows (each a 307/308 to its own origin).
const MAX_WRITE_REDIRECTS: u32 = 5;

/// Where a write that was answered with a redirect goes next: the same method and body
/// to `Location`, only for a 307 or 308 to the request's own origin (scheme, host,
/// port), at most [`MAX_WRITE_REDIRECTS`] times. Anything else is an error naming the
/// registry and the request: a 301, 302 or 303 (an HTTP client would repeat the write
/// as a GET and take its answer for success), another host, no `Location`.
pub(super) fn write_redirect(
    repo: &Repository,
    method: Method,
    url: &str,
    resp: &Response<ureq::Body>,
    hops: &mut u32,
) -> Result<String, RegistryError> {
    let status = resp.status().as_u16();
    let location = header(resp, "location").unwrap_or_default();
    let refuse = |reason: &str| RegistryError::Redirected {
        registry: repo.registry.clone(),
        request: format!("{} {}", method.as_str(), redact_url(url)),
        status,
        location: if location.is_empty() {
            "nowhere".into()
        } else {
            redact_url(&location)
        },
        reason: reason.to_string(),
    };
    if status != 307 && status != 308 {
        return Err(refuse(
            "only a 307 or 308 keeps the method and body of a write; this one would have been repeated as a GET and nothing written",
        ));
    }
    let next = resolve_location(url, &location)
        .ok_or_else(|| refuse("the Location header is missing or not a URL"))?;
    if origin(&next) != origin(url) {
        return Err(refuse(
            "a write is re-sent only to the registry it was meant for, never to another host, port or scheme",
        ));
    }
    *hops += 1;
    if *hops > MAX_WRITE_REDIRECTS {
        return Err(refuse(&format!(
            "more than {MAX_WRITE_REDIRECTS} redirects for one request"
        )));
    }
    Ok(next)
}

/// A `Location` against the URL it answered: absolute, or an absolute path on the
/// same origin. Anything else (a relative path, garbage) is `None`.
fn resolve_location(url: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_string());
    }
    if location.starts_with('/') && !location.starts_with("//") {
        let (scheme, rest) = url.split_once("://")?;
        let authority = rest.split(['/', '?', '#']).next()?;
        return Some(format!("{scheme}://{authority}{location}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_is_redirected_only_by_a_307_or_308_to_its_own_origin() {
        use crate::registry::Options;
        use crate::registry::credentials::Store;
        use crate::registry::test_server::{self, Reply, serve, status};
        let other = serve(|_| status(201, &[]));
        let other_addr = other.addr.clone();
        let server = serve(move |seen| {
            let to = |code: u16, location: String| {
                Reply::Full(code, vec![("Location".into(), location)], Vec::new())
            };
            match seen.path.as_str() {
                "/v2/app/manifests/see-other" => to(303, "/v2/".into()),
                "/v2/app/manifests/moved" => to(301, "/v2/".into()),
                "/v2/app/manifests/elsewhere" => {
                    to(307, format!("http://{other_addr}/v2/app/manifests/x"))
                }
                "/v2/app/manifests/here" => to(308, "/v2/app/manifests/landed".into()),
                "/v2/app/manifests/landed" if seen.method == "PUT" && seen.body_len == 2 => {
                    status(201, &[])
                }
                "/v2/app/manifests/loop" => to(307, "/v2/app/manifests/loop".into()),
                _ => Reply::Full(200, Vec::new(), b"{}".to_vec()),
            }
        });
        let c = test_server::client(Options::default(), Store::default());
        test_server::plain_http(&c, &server.addr);
        let repo = Repository::parse(&format!("{}/app", server.addr)).unwrap();
        let put = |tag: &str| c.put_manifest(&repo, tag, "application/json", b"{}");
        for (tag, code, why) in [
            ("see-other", 303, "repeated as a GET"),
            ("moved", 301, "repeated as a GET"),
            ("elsewhere", 307, "never to another host"),
            ("loop", 307, "more than 5 redirects"),
        ] {
            let e = put(tag).unwrap_err();
            let msg = e.to_string();
            assert!(
                matches!(e, RegistryError::Redirected { status, .. } if status == code),
                "{tag}: {msg}"
            );
            assert!(
                msg.contains(&format!("PUT http://{}/v2/app/manifests/", server.addr))
                    && msg.contains(why),
                "{tag}: {msg}"
            );
        }
        // The same PUT, body and all, to the new path on the same host.
        assert!(put("here").is_ok());
        let seen = server.requests();
        assert!(
            seen.iter().all(|s| s.method == "PUT"),
            "a write became a GET: {seen:?}"
        );
        assert!(other.requests().is_empty(), "{:?}", other.requests());
    }
}
