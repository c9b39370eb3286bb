//! The words every layer of the registry client shares, and nothing else: request
//! methods, bodies and deadlines, reading a header or an error body, and the origin and
//! log form of a URL. A leaf: it imports no other file of `registry/`, so the transport,
//! the authorizer and the client can all use it without a loop.

use std::io::Read;
use std::time::Duration;

use ureq::http::Response;

use crate::escape::Line;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Head,
    Post,
    Put,
}

impl Method {
    /// A request that changes what the registry holds: never redirected to GET, never
    /// sent to another host by a redirect.
    pub(super) fn writes(self) -> bool {
        matches!(self, Method::Post | Method::Put)
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// How long a request may take.
#[derive(Debug, Clone, Copy)]
pub(super) enum Deadline {
    /// From sending to the body's last byte.
    Whole(Duration),
    /// Until the response headers are in; the caller bounds the body (blob streams).
    Headers(Duration),
}

/// Opens a blob's content anew (once per attempt), for streamed uploads.
pub type OpenBlob<'a> = dyn Fn() -> std::io::Result<Box<dyn Read + Send + 'a>> + Sync + 'a;

/// The body of a request, re-creatable for retries.
pub enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A stream of known length, opened anew for each attempt.
    Stream {
        len: u64,
        open: &'a OpenBlob<'a>,
    },
}

impl Body<'_> {
    pub(super) fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::Stream { len, .. } => *len,
        }
    }
}

/// A response header as text, when it is.
pub(super) fn header(resp: &Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// What a registry's error answer says, on one line: its `errors` (code: message) or
/// the start of the body.
pub(super) fn body_excerpt(resp: &mut Response<ureq::Body>) -> String {
    let body = resp
        .body_mut()
        .with_config()
        .limit(4096)
        .lossy_utf8(true)
        .read_to_string()
        .unwrap_or_default();
    // Registry errors are JSON: {"errors":[{"code","message","detail"}]}.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(&body)
        && let Some(errs) = v["errors"].as_array()
    {
        return errs
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    Line(e["code"].as_str().unwrap_or("?")),
                    Line(e["message"].as_str().unwrap_or(""))
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
    }
    crate::escape::line(&body.chars().take(200).collect::<String>()).into_owned()
}

/// The origin of a URL: lowercase scheme and host[:port], default ports dropped.
pub(super) fn origin(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next()?;
    // Userinfo is never ours to send; ignore it for the comparison.
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.to_ascii_lowercase();
    let host = match (scheme.as_str(), host.rsplit_once(':')) {
        ("https", Some((h, "443"))) | ("http", Some((h, "80"))) => h.to_string(),
        _ => host,
    };
    Some((scheme, host))
}

/// Drops query strings that may carry upload state or signatures from logged URLs.
pub(super) fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, q)) => {
            let kept: Vec<&str> = q
                .split('&')
                .filter(|kv| {
                    kv.starts_with("mount=") || kv.starts_with("from=") || kv.starts_with("digest=")
                })
                .collect();
            if kept.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{}", kept.join("&"))
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let o = |u: &str| origin(u).unwrap();
        assert_eq!(
            o("https://Ghcr.io:443/v2/x"),
            o("https://ghcr.io/upload?x=1")
        );
        assert_eq!(o("http://r:80/a"), ("http".into(), "r".into()));
        assert_ne!(o("http://ghcr.io/a"), o("https://ghcr.io/a"));
        assert_ne!(o("https://r:5000/a"), o("https://r/a"));
        assert_ne!(o("https://s3.amazonaws.com/b"), o("https://ghcr.io/b"));
        assert_eq!(o("https://user@evil.example/x").1, "evil.example");
        assert_eq!(origin("/v2/x"), None);
    }

    #[test]
    fn urls_in_logs_lose_upload_state() {
        assert_eq!(
            redact_url("http://r/v2/x/blobs/uploads/abc?_state=SECRET&digest=sha256:1"),
            "http://r/v2/x/blobs/uploads/abc?digest=sha256:1"
        );
        assert_eq!(
            redact_url("https://s3/obj?X-Amz-Signature=zzz"),
            "https://s3/obj"
        );
    }
}
