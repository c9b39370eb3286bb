use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::buildx::ui::Mode;
use crate::exit::{Code, Coded};
use crate::registry::credentials::Store;
use crate::registry::manifest::Manifest;
use crate::registry::test_server::{self, Reply, Seen, Server, serve, status, within};
use crate::registry::{Options, RegistryError};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A read-only registry: path suffix (`manifests/REF` or `blobs/DIGEST`) → content.
fn source(content: HashMap<String, (String, Vec<u8>)>) -> Server {
    serve(move |seen: &Seen| {
        if seen.method != "GET" && seen.method != "HEAD" {
            return status(405, &[]);
        }
        let key = seen.path.splitn(4, '/').nth(3).unwrap_or("").to_string();
        match content.get(&key) {
            Some((ct, body)) => {
                Reply::Full(200, vec![("Content-Type".into(), ct.clone())], body.clone())
            }
            None => status(404, &[]),
        }
    })
}

/// A registry that takes every upload and manifest without checking anything.
fn trusting_destination() -> Server {
    serve(|seen: &Seen| match seen.method.as_str() {
        "HEAD" | "GET" => status(404, &[]),
        "POST" => status(202, &[("Location", "/v2/copy/blobs/uploads/u1")]),
        "PUT" => status(201, &[]),
        _ => status(405, &[]),
    })
}

fn client_for(addrs: &[&str]) -> Arc<Client> {
    let c = test_server::client(Options::default(), Store::default());
    for a in addrs {
        test_server::plain_http(&c, a);
    }
    c
}

struct Image {
    content: HashMap<String, (String, Vec<u8>)>,
    manifest_digest: String,
    config_digest: String,
    layer_digest: String,
}

/// One image: a config and a layer; `serve_layer` replaces the layer's bytes as
/// served (same length), `config` replaces the config.
fn image(config: &[u8], serve_layer: Option<Vec<u8>>) -> Image {
    let layer = b"layer bytes that are what the digest says".to_vec();
    let (cd, ld) = (crate::digest::sha256(config), crate::digest::sha256(&layer));
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{ld}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let md = crate::digest::sha256(manifest.as_bytes());
    let mut content = HashMap::new();
    content.insert(
        format!("manifests/{md}"),
        (OCI_MANIFEST.to_string(), manifest.clone().into_bytes()),
    );
    content.insert(
        "manifests/v1".into(),
        (OCI_MANIFEST.to_string(), manifest.into_bytes()),
    );
    content.insert(
        format!("blobs/{cd}"),
        ("application/octet-stream".into(), config.to_vec()),
    );
    content.insert(
        format!("blobs/{ld}"),
        (
            "application/octet-stream".into(),
            serve_layer.unwrap_or(layer),
        ),
    );
    Image {
        content,
        manifest_digest: md,
        config_digest: cd,
        layer_digest: ld,
    }
}

fn selection(platforms: &[&str]) -> Selection {
    let mut requirements = Requirements::default();
    for p in platforms {
        requirements.need(Platform::parse(p).unwrap(), "test");
    }
    Selection {
        requirements,
        all: false,
        referrers: true,
    }
}

#[test]
fn a_source_blob_with_wrong_bytes_never_reaches_the_destination_whole() {
    let mut wrong = b"layer bytes that are what the digest says".to_vec();
    wrong[0] ^= 1;
    let img = image(br#"{"os":"linux","architecture":"amd64"}"#, Some(wrong));
    let src_server = source(img.content);
    let dest_server = trusting_destination();
    let c = client_for(&[&src_server.addr, &dest_server.addr]);
    let src = Reference::parse(&format!("{}/app:v1", src_server.addr)).unwrap();
    let dest = Reference::parse(&format!("{}/copy:v1", dest_server.addr)).unwrap();
    let sel = selection(&["linux/amd64"]);
    let err = within(Duration::from_secs(60), move || {
        let p = prepare(&c, &src, &sel).unwrap();
        copy(&c, &src, &dest, &p, &Silent).map(|_| ())
    })
    .unwrap_err();
    let reg = err
        .downcast_ref::<RegistryError>()
        .expect("a registry error");
    assert!(
        matches!(reg, RegistryError::DigestMismatch { registry, .. } if registry == &src_server.addr),
        "{err}"
    );
    assert_eq!(reg.code(), Code::Registry);
    let msg = err.to_string();
    assert!(
        msg.contains(&src_server.addr) && msg.contains(&img.layer_digest),
        "{msg}"
    );
    let seen = dest_server.requests();
    for r in seen.iter().filter(|r| r.method == "PUT") {
        assert!(
            !r.path.contains("/manifests/"),
            "a manifest was written: {}",
            r.path
        );
        let declared: u64 = r.header("content-length").unwrap().parse().unwrap();
        assert!(
            r.body_len < declared || !r.path.contains(&img.layer_digest),
            "the corrupt layer was sent whole: {r:?}"
        );
    }
    assert!(
        seen.iter().any(|r| r.method == "POST"),
        "an upload was started: {seen:?}"
    );
}

#[test]
fn a_bad_config_in_the_source_is_a_registry_error_naming_it() {
    let img = image(b"{ this is not json", None);
    let src_server = source(img.content);
    let c = client_for(&[&src_server.addr]);
    let src = Reference::parse(&format!("{}/app:v1", src_server.addr)).unwrap();
    let err = prepare(&c, &src, &selection(&["linux/amd64"]))
        .err()
        .unwrap();
    let reg = err
        .downcast_ref::<RegistryError>()
        .expect("a registry error");
    assert!(matches!(reg, RegistryError::BadManifest { .. }), "{err}");
    assert_eq!(crate::commands::classify(&err), Code::Registry);
    let msg = err.to_string();
    assert!(
        msg.contains(&src_server.addr) && msg.contains(&img.config_digest),
        "{msg}"
    );
}

#[test]
fn a_source_that_fails_verification_writes_nothing() {
    // The index says linux/arm64; the image's config says linux/amd64.
    let img = image(br#"{"os":"linux","architecture":"amd64"}"#, None);
    let mut content = img.content;
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"arm64"}}}},{{"mediaType":"{OCI_MANIFEST}","digest":"{}","size":1,"platform":{{"os":"linux","architecture":"arm64"}}}}]}}"#,
        img.manifest_digest, img.manifest_digest
    );
    content.insert(
        "manifests/v1".into(),
        (OCI_INDEX.into(), index.into_bytes()),
    );
    let src_server = source(content);
    let dest_server = trusting_destination();
    let c = client_for(&[&src_server.addr, &dest_server.addr]);
    let job = Job {
        src: Reference::parse(&format!("{}/app:v1", src_server.addr)).unwrap(),
        dest: Reference::parse(&format!("{}/copy:v1", dest_server.addr)).unwrap(),
        selection: selection(&["linux/arm64"]),
    };
    let done = run_jobs(
        &c,
        &[job],
        &Ui::new(&crate::printer::Printer::default(), Mode::Quiet),
    )
    .unwrap();
    assert_eq!(done.len(), 1);
    assert!(!done[0].tagged);
    assert!(!done[0].verdict.ok());
    assert!(
        done[0]
            .verdict
            .problems
            .iter()
            .any(|p| p.contains("nothing was written")),
        "{:?}",
        done[0].verdict
    );
    assert!(
        dest_server.requests().is_empty(),
        "{:?}",
        dest_server.requests()
    );
    // The duplicate entry was read once.
    let gets = src_server
        .requests()
        .iter()
        .filter(|r| r.path.contains(&img.manifest_digest))
        .count();
    assert_eq!(gets, 1);
}

#[test]
fn duplicate_entries_are_copied_once_and_dropped_from_a_new_index() {
    let img = image(br#"{"os":"linux","architecture":"amd64"}"#, None);
    let mut content = img.content;
    let entry = |arch: &str, d: &str| {
        format!(
            r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{d}","size":1,"platform":{{"os":"linux","architecture":"{arch}"}}}}"#
        )
    };
    let other = image(br#"{"os":"linux","architecture":"arm64"}"#, None);
    content.extend(
        other
            .content
            .into_iter()
            .filter(|(k, _)| k != "manifests/v1"),
    );
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{},{},{},{}]}}"#,
        entry("amd64", &img.manifest_digest),
        entry("amd64", &img.manifest_digest),
        entry("arm64", &other.manifest_digest),
        entry("amd64", &img.manifest_digest),
    );
    content.insert(
        "manifests/v1".into(),
        (OCI_INDEX.into(), index.into_bytes()),
    );
    let src_server = source(content);
    let c = client_for(&[&src_server.addr]);
    let src = Reference::parse(&format!("{}/app:v1", src_server.addr)).unwrap();
    let p = prepare(&c, &src, &selection(&["linux/amd64"])).unwrap();
    assert_eq!(p.manifests.len(), 1);
    assert!(p.filtered);
    let Manifest::Index { manifests, .. } = Manifest::parse(None, &p.root_bytes).unwrap() else {
        panic!()
    };
    assert_eq!(manifests.len(), 1);
    // A whole copy keeps the source's bytes but writes each manifest once.
    let all = Selection {
        requirements: Requirements::default(),
        all: true,
        referrers: true,
    };
    let p = prepare(&c, &src, &all).unwrap();
    assert_eq!(p.manifests.len(), 2);
    assert!(!p.filtered);
    assert_eq!(p.platforms, vec!["linux/amd64", "linux/arm64"]);
}

/// One registry holding `app` (read-only) that declines every mount into `copy` and
/// takes uploads (reading back from `copy` what `app` holds); `put_status` answers
/// each blob PUT.
fn declining_registry(
    content: HashMap<String, (String, Vec<u8>)>,
    put_status: u16,
) -> (Server, Arc<std::sync::atomic::AtomicUsize>) {
    let sessions = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let opened = sessions.clone();
    let server = serve(move |seen: &Seen| {
        let key = seen.path.splitn(4, '/').nth(3).unwrap_or("").to_string();
        match (seen.method.as_str(), seen.path.starts_with("/v2/app/")) {
            // What the copy reads back from `copy` is what it wrote: the same bytes.
            ("GET" | "HEAD", true) | ("GET", false) => match content.get(&key) {
                Some((ct, body)) => {
                    Reply::Full(200, vec![("Content-Type".into(), ct.clone())], body.clone())
                }
                None => status(404, &[]),
            },
            ("HEAD", false) => status(404, &[]),
            ("POST", false) => {
                let n = opened.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let location = format!("/v2/copy/blobs/uploads/s{n}");
                status(202, &[("Location", location.as_str())])
            }
            // The first session opened has expired by the time it is used.
            ("PUT", false) if put_status == 201 && seen.path.contains("/blobs/uploads/s0?") => {
                status(404, &[])
            }
            ("PUT", false) if seen.path.contains("/blobs/uploads/") => {
                if put_status >= 400 {
                    // A slow refusal: time for openers that ran ahead to show it.
                    std::thread::sleep(Duration::from_millis(300));
                }
                status(put_status, &[])
            }
            ("PUT", false) => status(201, &[]),
            _ => status(405, &[]),
        }
    });
    (server, sessions)
}

#[test]
fn a_declined_mount_is_the_upload_session_each_blob_uses() {
    let img = image(br#"{"os":"linux","architecture":"amd64"}"#, None);
    let (server, _) = declining_registry(img.content, 201);
    let c = client_for(&[&server.addr]);
    let src = Reference::parse(&format!("{}/app:v1", server.addr)).unwrap();
    let dest = Reference::parse(&format!("{}/copy:v1", server.addr)).unwrap();
    let sel = selection(&["linux/amd64"]);
    let done = within(Duration::from_secs(60), move || {
        let p = prepare(&c, &src, &sel).unwrap();
        copy(&c, &src, &dest, &p, &Silent).unwrap()
    });
    assert_eq!((done.blobs_copied, done.blobs_mounted), (2, 0));
    let seen = server.requests();
    let posts: Vec<&Seen> = seen.iter().filter(|r| r.method == "POST").collect();
    // One POST per blob, each the mount request; its session takes the blob. The
    // first session had expired: one plain POST opened another, once.
    let mounts = posts.iter().filter(|r| r.path.contains("mount=")).count();
    assert_eq!((posts.len(), mounts), (3, 2), "{posts:?}");
    let puts: Vec<&str> = seen
        .iter()
        .filter(|r| r.method == "PUT" && r.path.contains("/blobs/uploads/"))
        .map(|r| r.path.as_str())
        .collect();
    for d in [&img.config_digest, &img.layer_digest] {
        assert!(
            puts.iter()
                .any(|p| p.starts_with("/v2/copy/blobs/uploads/s") && p.ends_with(d.as_str())),
            "{d} not sent to a mount's session: {puts:?}"
        );
    }
}

#[test]
fn a_failed_stream_stops_the_copy_without_opening_every_upload() {
    // Thirty blobs larger than the small-blob cut, so openers and streams carry them.
    let blobs: Vec<Vec<u8>> = (0..30u8)
        .map(|i| vec![i; (super::blobs::SMALL_BLOB as usize) + 1 + i as usize])
        .collect();
    let mut content = HashMap::new();
    let descriptors: Vec<Descriptor> = blobs
        .iter()
        .map(|b| {
            let d = crate::digest::sha256(b);
            content.insert(
                format!("blobs/{d}"),
                ("application/octet-stream".into(), b.clone()),
            );
            Descriptor {
                media_type: "application/vnd.oci.image.layer.v1.tar".into(),
                digest: d,
                size: b.len() as u64,
                platform: None,
                artifact_type: None,
                annotations: Default::default(),
            }
        })
        .collect();
    let (server, sessions) = declining_registry(content, 403);
    let c = client_for(&[&server.addr]);
    let src = Reference::parse(&format!("{}/app:v1", server.addr)).unwrap();
    let dest = Reference::parse(&format!("{}/copy:v1", server.addr)).unwrap();
    let err = within(Duration::from_secs(60), move || {
        super::blobs::copy(&c, &src.repository, &dest.repository, &descriptors, &Silent).map(|_| ())
    })
    .unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let opened = sessions.load(std::sync::atomic::Ordering::SeqCst);
    // At most one per stream, one waiting per stream, one in each opener's hands.
    assert!(
        opened <= 12,
        "{opened} uploads opened for 30 blobs while the first ones failed"
    );
}
