//! Reading what a reference holds from the registry: the index (or manifest), each
//! platform's manifest and image config, a few at a time; and, when asked, the deep check
//! of each platform's entrypoint binary.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::platform::Platform;
use crate::registry::manifest::{self, Descriptor, ImageConfig, Manifest};
use crate::registry::{Client, Fetched, Reference, RegistryError, Repository};

use super::check::{Deep, Entry, Kind, Observed};
use super::pool;

/// Runs the deep check for one platform's image: gets the image manifest's layers and
/// config, and says whether the entrypoint is an ELF for `platform`.
pub type DeepFn<'a> = dyn Fn(&Client, &Repository, &Manifest, &ImageConfig, &Platform) -> Result<Deep, RegistryError>
    + Sync
    + 'a;

/// Image configs are small; anything bigger is refused.
pub const CONFIG_LIMIT: u64 = 4 << 20;

/// What `reference` holds, or `Ok(None)` when the registry has no such tag or digest.
pub fn observe(
    client: &Client,
    reference: &Reference,
    deep: Option<&DeepFn>,
) -> Result<Option<Observed>, RegistryError> {
    match resolve(client, reference)? {
        Some(top) => observe_top(client, reference, top, deep).map(Some),
        None => Ok(None),
    }
}

/// The manifest or index `reference` points at, or `Ok(None)` when the registry has no
/// such tag or digest.
pub fn resolve(client: &Client, reference: &Reference) -> Result<Option<Fetched>, RegistryError> {
    match client.get_manifest(reference) {
        Ok(f) => Ok(Some(f)),
        Err(RegistryError::NotFound {
            what: "manifest", ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// What `top` (what `reference` resolved to) holds: its entries, their manifests and
/// configs.
pub fn observe_top(
    client: &Client,
    reference: &Reference,
    top: Fetched,
    deep: Option<&DeepFn>,
) -> Result<Observed, RegistryError> {
    let repo = &reference.repository;
    let kind = match &top.manifest {
        Manifest::Index { manifests, .. } => Kind::Index {
            entries: read_index(client, reference, manifests, deep)?.entries,
        },
        Manifest::Image { .. } => Kind::Manifest {
            entry: Box::new(entry(client, repo, &top.manifest, &top.digest, None, deep)?),
        },
    };
    Ok(Observed {
        reference: reference.to_string(),
        digest: top.digest.into(),
        media_type: top.media_type,
        kind,
    })
}

/// An index's entries as read, and the image manifests read for them (by digest).
pub struct IndexRead {
    pub entries: Vec<Entry>,
    pub children: HashMap<String, Fetched>,
}

/// What the entries of an index hold. Each distinct manifest is read once, at most
/// [`pool::WORKERS`] at a time, and with it the image config of every entry that is
/// not an attestation by [`manifest::is_attestation`] (`unknown/unknown` and in-toto
/// layers; an annotation alone counts for nothing). Every image entry is read: check 3
/// compares each one's config with its entry.
pub fn read_index(
    client: &Client,
    reference: &Reference,
    manifests: &[Descriptor],
    deep: Option<&DeepFn>,
) -> Result<IndexRead, RegistryError> {
    let repo = &reference.repository;
    let mut digests: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for d in manifests {
        if seen.insert(d.digest.as_str()) {
            digests.push(&d.digest);
        }
    }
    // A digest some entry gives a real platform (or none) is an image there, whatever
    // its manifest holds: its config is needed.
    let as_image: HashSet<&str> = manifests
        .iter()
        .filter(|d| !d.in_attestation_slot())
        .map(|d| d.digest.as_str())
        .collect();
    let pairs = read_children(client, reference, &digests, &as_image)?;
    let by_digest: HashMap<&str, (&Manifest, Option<&ImageConfig>)> = digests
        .iter()
        .copied()
        .zip(pairs.iter().map(|(f, c)| (&f.manifest, c.as_ref())))
        .collect();
    // Whether an entry is an image, with its manifest and config.
    let image = |d: &Descriptor| -> Option<(&Manifest, &ImageConfig)> {
        let (m, cfg) = by_digest[d.digest.as_str()];
        if manifest::is_attestation(d, m) {
            return None;
        }
        // Read above for every entry that is not an attestation.
        Some((m, cfg.expect("the config of an image entry is read")))
    };
    let target = |d: &Descriptor, cfg: &ImageConfig| -> Platform {
        d.platform
            .as_ref()
            .map(|p| p.platform())
            .unwrap_or_else(|| cfg.platform())
    };
    // The deep check, once per distinct image and platform.
    let mut deep_results: HashMap<(&str, Platform), Deep> = HashMap::new();
    if let Some(f) = deep {
        let mut jobs: Vec<(&str, Platform)> = Vec::new();
        for d in manifests {
            let Some((_, cfg)) = image(d) else { continue };
            let job = (d.digest.as_str(), target(d, cfg));
            if !jobs.contains(&job) {
                jobs.push(job);
            }
        }
        let results = pool::try_map(&jobs, pool::WORKERS, |(digest, platform)| {
            let (manifest, cfg) = by_digest[digest];
            f(client, repo, manifest, cfg.expect("read"), platform)
        })?;
        deep_results = jobs.into_iter().zip(results).collect();
    }
    let entries = manifests
        .iter()
        .map(|d| {
            let declared = d.platform.as_ref().map(|p| p.platform());
            let (manifest, _) = by_digest[d.digest.as_str()];
            let false_attestation = manifest::false_attestation(d, manifest);
            match image(d) {
                None => Entry {
                    digest: d.digest.clone(),
                    media_type: d.media_type.clone(),
                    declared,
                    attestation: true,
                    false_attestation,
                    config: None,
                    deep: None,
                },
                Some((manifest, cfg)) => Entry {
                    digest: d.digest.clone(),
                    media_type: manifest.media_type().to_string(),
                    declared,
                    attestation: false,
                    false_attestation,
                    config: Some(cfg.platform()),
                    deep: deep_results
                        .get(&(d.digest.as_str(), target(d, cfg)))
                        .cloned(),
                },
            }
        })
        .collect();
    let children = digests
        .iter()
        .map(|d| d.to_string())
        .zip(pairs.into_iter().map(|(f, _)| f))
        .collect();
    Ok(IndexRead { entries, children })
}

/// Each distinct manifest of an index, at most [`pool::WORKERS`] at a time, and with
/// it the config of each one that is an image somewhere in the index (`as_image`) or
/// holds no statements.
fn read_children(
    client: &Client,
    reference: &Reference,
    digests: &[&str],
    as_image: &HashSet<&str>,
) -> Result<Vec<(Fetched, Option<ImageConfig>)>, RegistryError> {
    let repo = &reference.repository;
    // Each entry's manifest, then at once its config: no wait for the other entries'
    // manifests. Each distinct config is read once (images of one build often share
    // none, but copies and variants of one image do): whoever asks first reads it and
    // the others wait for its result — the config, or the same error.
    type Slot = Arc<std::sync::Mutex<Option<Result<ImageConfig, RegistryError>>>>;
    let slots: std::sync::Mutex<HashMap<String, Slot>> = Default::default();
    let read_config = |d: &str| -> Result<ImageConfig, RegistryError> {
        let slot = slots
            .lock()
            .unwrap()
            .entry(d.to_string())
            .or_default()
            .clone();
        let mut slot = slot.lock().unwrap();
        if let Some(done) = &*slot {
            return done.clone();
        }
        let read = client
            .get_blob_bytes(repo, d, CONFIG_LIMIT)
            .and_then(|bytes| parse_config(repo, d, &bytes));
        *slot = Some(read.clone());
        read
    };
    pool::try_map(digests, pool::WORKERS, |digest| {
        let child = client.get_manifest(&reference.with_target(digest))?;
        let Manifest::Image { config, .. } = &child.manifest else {
            return Err(nested_index(repo, digest));
        };
        let cfg = if as_image.contains(digest) || !child.manifest.holds_statements() {
            Some(read_config(&config.digest)?)
        } else {
            None
        };
        Ok((child, cfg))
    })
}

/// The image config of an image manifest, read and parsed.
pub fn config(
    client: &Client,
    repo: &Repository,
    manifest: &Manifest,
    digest: &str,
) -> Result<ImageConfig, RegistryError> {
    let Manifest::Image { config, .. } = manifest else {
        return Err(nested_index(repo, digest));
    };
    let bytes = client.get_blob_bytes(repo, &config.digest, CONFIG_LIMIT)?;
    parse_config(repo, &config.digest, &bytes)
}

fn nested_index(repo: &Repository, digest: &str) -> RegistryError {
    RegistryError::BadManifest {
        registry: repo.registry.clone(),
        reference: format!("{repo}@{digest}"),
        message: "an index inside an index; mpbuild expects image manifests here".into(),
    }
}

/// Parses image config bytes; bad JSON is the registry's content: a registry error
/// naming the registry and the config's digest.
pub fn parse_config(
    repo: &Repository,
    digest: &str,
    bytes: &[u8],
) -> Result<ImageConfig, RegistryError> {
    serde_json::from_slice(bytes).map_err(|e| RegistryError::BadManifest {
        registry: repo.registry.clone(),
        reference: format!("{repo}@{digest}"),
        message: format!("the image config is not valid JSON: {e}"),
    })
}

fn entry(
    client: &Client,
    repo: &Repository,
    manifest: &Manifest,
    digest: &str,
    declared: Option<Platform>,
    deep: Option<&DeepFn>,
) -> Result<Entry, RegistryError> {
    let cfg = config(client, repo, manifest, digest)?;
    let config_platform = cfg.platform();
    let deep_result = match deep {
        Some(f) => {
            let target = declared.clone().unwrap_or_else(|| config_platform.clone());
            Some(f(client, repo, manifest, &cfg, &target)?)
        }
        None => None,
    };
    Ok(Entry {
        digest: digest.to_string(),
        media_type: manifest.media_type().to_string(),
        declared,
        attestation: false,
        false_attestation: None,
        config: Some(config_platform),
        deep: deep_result,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::registry::Options;
    use crate::registry::credentials::Store;
    use crate::registry::test_server::{self, Reply, serve, within};

    const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

    /// A registry holding `app:v1`, an index of `n` entries (`distinct` different image
    /// manifests, repeated), each linux/amd64. Counts requests and the most in flight.
    struct Fake {
        server: test_server::Server,
        peak: Arc<AtomicUsize>,
    }

    fn fake(n: usize, distinct: usize) -> Fake {
        let config = br#"{"os":"linux","architecture":"amd64"}"#.to_vec();
        let config_digest = crate::digest::sha256(&config);
        let mut blobs: HashMap<String, (String, Vec<u8>)> = HashMap::new();
        blobs.insert(
            config_digest.clone(),
            ("application/octet-stream".into(), config.clone()),
        );
        let mut children = Vec::new();
        for i in 0..distinct {
            let m = format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config_digest}","size":{}}},"layers":[],"annotations":{{"n":"{i}"}}}}"#,
                config.len()
            );
            let d = crate::digest::sha256(m.as_bytes());
            blobs.insert(d.clone(), (OCI_MANIFEST.into(), m.into_bytes()));
            children.push(d);
        }
        let entries: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"amd64"}}}}"#,
                    children[i % distinct]
                )
            })
            .collect();
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            entries.join(",")
        );
        let active = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (a, p) = (active.clone(), peak.clone());
        let server = serve(move |seen| {
            let now = a.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
            a.fetch_sub(1, Ordering::SeqCst);
            let last = seen.path.rsplit('/').next().unwrap_or("");
            let (ct, body) = if last == "v1" {
                (
                    "application/vnd.oci.image.index.v1+json".to_string(),
                    index.clone().into_bytes(),
                )
            } else if let Some(b) = blobs.get(last) {
                b.clone()
            } else {
                return test_server::status(404, &[]);
            };
            Reply::Full(200, vec![("Content-Type".into(), ct)], body)
        });
        Fake { server, peak }
    }

    fn client_for(addr: &str) -> Arc<Client> {
        let c = test_server::client(Options::default(), Store::default());
        test_server::plain_http(&c, addr);
        c
    }

    #[test]
    fn index_entries_are_read_a_few_at_a_time() {
        let f = fake(64, 64);
        let c = client_for(&f.server.addr);
        let r = Reference::parse(&format!("{}/app:v1", f.server.addr)).unwrap();
        let observed = within(Duration::from_secs(60), move || observe(&c, &r, None))
            .unwrap()
            .unwrap();
        let Kind::Index { entries } = &observed.kind else {
            panic!()
        };
        assert_eq!(entries.len(), 64);
        assert!(entries.iter().all(|e| e.config.is_some()));
        let peak = f.peak.load(Ordering::SeqCst);
        assert!(peak <= pool::WORKERS, "{peak} requests at once");
    }

    #[test]
    fn repeated_entries_are_read_once() {
        let f = fake(500, 2);
        let c = client_for(&f.server.addr);
        let r = Reference::parse(&format!("{}/app:v1", f.server.addr)).unwrap();
        let observed = within(Duration::from_secs(60), move || observe(&c, &r, None))
            .unwrap()
            .unwrap();
        let Kind::Index { entries } = &observed.kind else {
            panic!()
        };
        assert_eq!(entries.len(), 500);
        // The index, two manifests, their one config.
        let requests = f.server.requests().len();
        assert_eq!(requests, 4);
    }

    #[test]
    fn an_index_over_the_entry_cap_is_refused() {
        let f = fake(crate::registry::manifest::MAX_INDEX_ENTRIES + 1, 1);
        let c = client_for(&f.server.addr);
        let r = Reference::parse(&format!("{}/team/app:v1", f.server.addr)).unwrap();
        let err = within(Duration::from_secs(30), move || observe(&c, &r, None)).unwrap_err();
        assert!(matches!(err, RegistryError::TooManyEntries { .. }), "{err}");
        assert_eq!(crate::exit::Coded::code(&err), crate::exit::Code::Registry);
        let msg = err.to_string();
        assert!(
            msg.contains(&f.server.addr) && msg.contains("team/app:v1") && msg.contains("1001"),
            "{msg}"
        );
        // Only the index was read.
        assert_eq!(f.server.requests().len(), 1);
    }

    #[test]
    fn an_entrys_config_is_read_without_waiting_for_the_other_entries() {
        // Two entries with their own configs; the second's manifest is answered only
        // once the first's config has been asked for (or after 10 s): read in waves
        // (every manifest, then every config) it would wait the whole time.
        let mut blobs: HashMap<String, (String, Vec<u8>)> = HashMap::new();
        let mut children = Vec::new();
        for arch in ["amd64", "arm64"] {
            let config = format!(r#"{{"os":"linux","architecture":"{arch}"}}"#).into_bytes();
            let cd = crate::digest::sha256(&config);
            let m = format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[]}}"#,
                config.len()
            );
            let md = crate::digest::sha256(m.as_bytes());
            blobs.insert(cd.clone(), ("application/octet-stream".into(), config));
            blobs.insert(md.clone(), (OCI_MANIFEST.into(), m.into_bytes()));
            children.push((arch, md, cd));
        }
        let entries: Vec<String> = children
            .iter()
            .map(|(arch, md, _)| {
                format!(
                    r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{md}","size":1,"platform":{{"os":"linux","architecture":"{arch}"}}}}"#
                )
            })
            .collect();
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{}]}}"#,
            entries.join(",")
        );
        let (first_config, slow_manifest) = (children[0].2.clone(), children[1].1.clone());
        let asked = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let waited_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (a, w) = (asked.clone(), waited_out.clone());
        let server = serve(move |seen| {
            let last = seen.path.rsplit('/').next().unwrap_or("").to_string();
            if last == first_config {
                *a.0.lock().unwrap() = true;
                a.1.notify_all();
            }
            if last == slow_manifest {
                let flag = a.0.lock().unwrap();
                let (flag, timeout) =
                    a.1.wait_timeout_while(flag, Duration::from_secs(10), |asked| !*asked)
                        .unwrap();
                if timeout.timed_out() && !*flag {
                    w.store(true, Ordering::SeqCst);
                }
            }
            let (ct, body) = if last == "v1" {
                (
                    "application/vnd.oci.image.index.v1+json".to_string(),
                    index.clone().into_bytes(),
                )
            } else if let Some(b) = blobs.get(&last) {
                b.clone()
            } else {
                return test_server::status(404, &[]);
            };
            Reply::Full(200, vec![("Content-Type".into(), ct)], body)
        });
        let c = client_for(&server.addr);
        let r = Reference::parse(&format!("{}/app:v1", server.addr)).unwrap();
        let observed = within(Duration::from_secs(60), move || observe(&c, &r, None))
            .unwrap()
            .unwrap();
        let Kind::Index { entries } = &observed.kind else {
            panic!()
        };
        let configs: Vec<String> = entries
            .iter()
            .map(|e| e.config.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(configs, ["linux/amd64", "linux/arm64"]);
        assert!(
            !waited_out.load(Ordering::SeqCst),
            "the first entry's config was only asked for after every manifest was read"
        );
    }
}
