//! A registry that serves what a test wrote into it, on 127.0.0.1 over plain HTTP, with
//! no stack: hostile indexes (lying platforms, false attestations, escape sequences in
//! fields) for `mpbuild verify` and friends. Manifests by tag or digest, blobs by
//! digest; `answer` may take over any request (an error with a body of the test's
//! choosing). One request per connection; every request is logged.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";

/// An answer: status, headers, body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

type Hook = dyn Fn(&str, &str) -> Option<Answer> + Send + Sync;

#[derive(Default)]
struct Content {
    /// `REPO/manifests/REF` → (media type, bytes).
    manifests: HashMap<String, (String, Vec<u8>)>,
    /// digest → bytes.
    blobs: HashMap<String, Vec<u8>>,
}

pub struct StaticRegistry {
    pub addr: String,
    content: Arc<Mutex<Content>>,
    hook: Arc<Mutex<Option<Box<Hook>>>>,
    log: Arc<Mutex<Vec<(String, String)>>>,
}

impl StaticRegistry {
    pub fn start() -> StaticRegistry {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let content: Arc<Mutex<Content>> = Arc::default();
        let hook: Arc<Mutex<Option<Box<Hook>>>> = Arc::default();
        let log: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let (c, h, l) = (content.clone(), hook.clone(), log.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (c, h, l) = (c.clone(), h.clone(), l.clone());
                std::thread::spawn(move || {
                    let _ = serve_one(stream, &c, &h, &l);
                });
            }
        });
        StaticRegistry {
            addr,
            content,
            hook,
            log,
        }
    }

    /// Stores a blob; returns its digest.
    pub fn blob(&self, bytes: &[u8]) -> String {
        let d = mpbuild::digest::sha256(bytes);
        self.content
            .lock()
            .unwrap()
            .blobs
            .insert(d.clone(), bytes.to_vec());
        d
    }

    /// Stores a manifest under its digest and, when given, a tag; returns its digest.
    pub fn manifest(
        &self,
        repo: &str,
        tag: Option<&str>,
        media_type: &str,
        bytes: &[u8],
    ) -> String {
        let d = mpbuild::digest::sha256(bytes);
        let mut c = self.content.lock().unwrap();
        for r in std::iter::once(d.as_str()).chain(tag) {
            c.manifests.insert(
                format!("{repo}/manifests/{r}"),
                (media_type.to_string(), bytes.to_vec()),
            );
        }
        d
    }

    /// An image manifest (config + layers of the given media types, each a stored blob)
    /// with a config saying `os`/`arch`; returns (digest, size).
    pub fn image(&self, repo: &str, os: &str, arch: &str, layer_type: &str) -> (String, usize) {
        let config = format!(r#"{{"os":"{os}","architecture":"{arch}","config":{{}}}}"#);
        let cd = self.blob(config.as_bytes());
        let layer = format!("layer of {os}/{arch} {layer_type}");
        let ld = self.blob(layer.as_bytes());
        let m = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": cd, "size": config.len()},
            "layers": [{"mediaType": layer_type, "digest": ld, "size": layer.len()}],
        })
        .to_string();
        (
            self.manifest(repo, None, OCI_MANIFEST, m.as_bytes()),
            m.len(),
        )
    }

    /// Lets `hook(method, path)` answer any request first (None: served as usual).
    pub fn answer(&self, hook: impl Fn(&str, &str) -> Option<Answer> + Send + Sync + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(hook));
    }

    /// (method, path) of every request so far.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.log.lock().unwrap().clone()
    }
}

fn serve_one(
    stream: std::net::TcpStream,
    content: &Mutex<Content>,
    hook: &Mutex<Option<Box<Hook>>>,
    log: &Mutex<Vec<(String, String)>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    let mut parts = first.split_whitespace();
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(());
    };
    if !version.starts_with("HTTP/") {
        return Ok(()); // a TLS probe: hang up
    }
    let mut len = 0u64;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    std::io::copy(&mut (&mut reader).take(len), &mut std::io::sink())?;
    log.lock()
        .unwrap()
        .push((method.to_string(), path.to_string()));
    let hooked = hook.lock().unwrap().as_ref().and_then(|h| h(method, path));
    let (status, headers, body) = hooked.unwrap_or_else(|| lookup(content, path));
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in &headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    if method != "HEAD" {
        out.write_all(&body)?;
    }
    out.flush()
}

fn lookup(content: &Mutex<Content>, path: &str) -> Answer {
    let c = content.lock().unwrap();
    let Some(rest) = path.strip_prefix("/v2/") else {
        return (404, Vec::new(), Vec::new());
    };
    if rest.is_empty() {
        return (200, Vec::new(), b"{}".to_vec());
    }
    if let Some((media_type, bytes)) = c.manifests.get(rest) {
        let headers = vec![
            ("Content-Type".to_string(), media_type.clone()),
            (
                "Docker-Content-Digest".to_string(),
                mpbuild::digest::sha256(bytes),
            ),
        ];
        return (200, headers, bytes.clone());
    }
    if let Some((_, digest)) = rest.rsplit_once("/blobs/")
        && let Some(bytes) = c.blobs.get(digest)
    {
        return (200, Vec::new(), bytes.clone());
    }
    let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
    (404, Vec::new(), body.to_vec())
}
