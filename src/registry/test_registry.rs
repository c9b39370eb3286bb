//! An in-memory OCI registry for unit tests, on [`test_server`](super::test_server):
//! manifests by tag and digest, blobs (monolithic uploads, checked against their
//! digest), and — when asked for — the referrers API (`GET /v2/NAME/referrers/DIGEST`
//! and `OCI-Subject` on a manifest PUT with a `subject`), which neither the stack's
//! distribution 2.8 nor `crane registry serve` has.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::client::Client;
use super::credentials::Store;
use super::test_server::{self, Reply, Seen, Server};
use super::{Options, Repository};

#[derive(Default)]
pub struct State {
    /// `NAME/REF` (tag or digest) → (media type, bytes).
    pub manifests: HashMap<String, (String, Vec<u8>)>,
    /// digest → bytes.
    pub blobs: HashMap<String, Vec<u8>>,
    uploads: u32,
}

pub struct TestRegistry {
    pub server: Server,
    pub state: Arc<Mutex<State>>,
}

impl TestRegistry {
    /// A repository of this registry.
    pub fn repo(&self, path: &str) -> Repository {
        Repository::parse(&format!("{}/{path}", self.server.addr)).unwrap()
    }

    /// The bytes `NAME:REF` holds, if any.
    pub fn manifest(&self, path: &str, reference: &str) -> Option<Vec<u8>> {
        self.state
            .lock()
            .unwrap()
            .manifests
            .get(&format!("{path}/{reference}"))
            .map(|(_, b)| b.clone())
    }

    /// Stores a manifest under its digest and, when given, a tag; returns the digest.
    pub fn put(&self, path: &str, tag: Option<&str>, media_type: &str, bytes: &[u8]) -> String {
        let d = crate::digest::sha256(bytes);
        let mut s = self.state.lock().unwrap();
        for r in std::iter::once(d.as_str()).chain(tag) {
            s.manifests
                .insert(format!("{path}/{r}"), (media_type.into(), bytes.to_vec()));
        }
        d
    }

    /// Stores a blob; returns its digest.
    pub fn blob(&self, bytes: &[u8]) -> String {
        let d = crate::digest::sha256(bytes);
        self.state
            .lock()
            .unwrap()
            .blobs
            .insert(d.clone(), bytes.to_vec());
        d
    }

    /// Requests so far as `METHOD PATH`.
    pub fn requests(&self) -> Vec<String> {
        self.server
            .requests()
            .iter()
            .map(|s| format!("{} {}", s.method, s.path))
            .collect()
    }
}

/// Starts a registry (with the referrers API when `api`) and a client for it.
pub fn start(api: bool) -> (TestRegistry, Arc<Client>) {
    start_with(api, |_, _| None)
}

/// [`start`], with `hook` answering any request first (None: answered as usual); it
/// may change what the registry holds, as another client would.
pub fn start_with(
    api: bool,
    hook: impl Fn(&Seen, &mut State) -> Option<Reply> + Send + Sync + 'static,
) -> (TestRegistry, Arc<Client>) {
    let state: Arc<Mutex<State>> = Arc::default();
    let st = state.clone();
    let server = test_server::serve(move |seen| {
        if let Some(r) = hook(seen, &mut st.lock().unwrap()) {
            return r;
        }
        answer(&st, api, seen)
    });
    let c = test_server::client(Options::default(), Store::default());
    test_server::plain_http(&c, &server.addr);
    (TestRegistry { server, state }, c)
}

fn full(status: u16, headers: Vec<(&str, String)>, body: Vec<u8>) -> Reply {
    Reply::Full(
        status,
        headers
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        body,
    )
}

fn answer(state: &Mutex<State>, api: bool, seen: &Seen) -> Reply {
    let path = seen.path.split('?').next().unwrap_or("");
    let query = seen.path.split_once('?').map(|(_, q)| q).unwrap_or("");
    let Some(rest) = path.strip_prefix("/v2/") else {
        return test_server::status(404, &[]);
    };
    if rest.is_empty() {
        return test_server::status(200, &[]);
    }
    let mut s = state.lock().unwrap();
    for (marker, kind) in [
        ("/manifests/", "m"),
        ("/blobs/uploads/", "u"),
        ("/blobs/", "b"),
        ("/referrers/", "r"),
    ] {
        let Some((name, target)) = rest.split_once(marker) else {
            continue;
        };
        return match (kind, seen.method.as_str()) {
            ("m", "GET" | "HEAD") => match s.manifests.get(&format!("{name}/{target}")) {
                Some((t, b)) => full(
                    200,
                    vec![
                        ("Content-Type", t.clone()),
                        ("Docker-Content-Digest", crate::digest::sha256(b)),
                    ],
                    if seen.method == "GET" {
                        b.clone()
                    } else {
                        Vec::new()
                    },
                ),
                None => test_server::status(404, &[]),
            },
            ("m", "PUT") => {
                let d = crate::digest::sha256(&seen.body);
                let t = seen.header("content-type").unwrap_or("").to_string();
                for r in [d.as_str(), target] {
                    s.manifests
                        .insert(format!("{name}/{r}"), (t.clone(), seen.body.clone()));
                }
                let mut h = vec![("Docker-Content-Digest", d)];
                let subject = serde_json::from_slice::<Value>(&seen.body)
                    .ok()
                    .and_then(|v| v["subject"]["digest"].as_str().map(str::to_string));
                if let (true, Some(subject)) = (api, subject) {
                    h.push(("OCI-Subject", subject));
                }
                full(201, h, Vec::new())
            }
            ("u", "POST") => {
                s.uploads += 1;
                full(
                    202,
                    vec![(
                        "Location",
                        format!("/v2/{name}/blobs/uploads/{}", s.uploads),
                    )],
                    Vec::new(),
                )
            }
            ("u", "PUT") => {
                let want = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("digest="))
                    .unwrap_or("");
                if crate::digest::sha256(&seen.body) != want {
                    return test_server::status(400, &[]);
                }
                s.blobs.insert(want.to_string(), seen.body.clone());
                test_server::status(201, &[])
            }
            ("b", "HEAD" | "GET") => match s.blobs.get(target) {
                Some(b) => full(
                    200,
                    vec![("Docker-Content-Digest", target.to_string())],
                    if seen.method == "GET" {
                        b.clone()
                    } else {
                        Vec::new()
                    },
                ),
                None => test_server::status(404, &[]),
            },
            ("r", "GET") if api => full(
                200,
                vec![(
                    "Content-Type",
                    crate::registry::manifest::OCI_INDEX.to_string(),
                )],
                referrers_of(&s, name, target),
            ),
            _ => test_server::status(404, &[]),
        };
    }
    test_server::status(404, &[])
}

/// What the referrers API lists for `digest`: each manifest of `name` whose subject it is.
fn referrers_of(s: &State, name: &str, digest: &str) -> Vec<u8> {
    let mut entries: Vec<Value> = Vec::new();
    let prefix = format!("{name}/sha256:");
    for (key, (t, b)) in &s.manifests {
        let Some(own) = key.strip_prefix(&prefix) else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<Value>(b) else {
            continue;
        };
        if v["subject"]["digest"].as_str() != Some(digest) {
            continue;
        }
        let artifact_type = v["artifactType"]
            .as_str()
            .or(v["config"]["mediaType"].as_str())
            .unwrap_or_default();
        entries.push(json!({
            "mediaType": t, "digest": format!("sha256:{own}"), "size": b.len(),
            "artifactType": artifact_type,
            "annotations": Some(v["annotations"].clone()).filter(Value::is_object).unwrap_or(json!({})),
        }));
    }
    entries.sort_by(|a, b| a["digest"].as_str().cmp(&b["digest"].as_str()));
    serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": crate::registry::manifest::OCI_INDEX, "manifests": entries})).unwrap()
}
