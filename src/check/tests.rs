use std::collections::HashMap;
use std::sync::Arc;

use super::*;
use crate::catalog::Catalog;
use crate::registry::credentials::Store;
use crate::registry::test_server::{self, Reply};
use crate::registry::{Client, Options as RegistryOptions};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// A registry whose `app` repository has `multi` and `also-multi` (one amd64+arm64
/// index) and `amd` (a plain amd64 manifest).
fn registry() -> (test_server::Server, Arc<Client>) {
    let mut blobs: HashMap<String, (String, Vec<u8>)> = HashMap::new();
    let mut entries = Vec::new();
    let mut amd = String::new();
    for arch in ["amd64", "arm64"] {
        let config = format!(r#"{{"os":"linux","architecture":"{arch}"}}"#).into_bytes();
        let cd = crate::digest::sha256(&config);
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{cd}","size":{}}},"layers":[]}}"#,
            config.len()
        );
        let md = crate::digest::sha256(m.as_bytes());
        entries.push(format!(
            r#"{{"mediaType":"{OCI_MANIFEST}","digest":"{md}","size":{},"platform":{{"os":"linux","architecture":"{arch}"}}}}"#,
            m.len()
        ));
        blobs.insert(cd, ("application/octet-stream".into(), config));
        if arch == "amd64" {
            amd = m.clone();
        }
        blobs.insert(md, (OCI_MANIFEST.into(), m.into_bytes()));
    }
    let index = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{}]}}"#,
        entries.join(",")
    );
    blobs.insert(
        "multi".into(),
        (OCI_INDEX.into(), index.clone().into_bytes()),
    );
    blobs.insert("also-multi".into(), (OCI_INDEX.into(), index.into_bytes()));
    blobs.insert("amd".into(), (OCI_MANIFEST.into(), amd.into_bytes()));
    let server = test_server::serve(move |seen| {
        let last = seen.path.rsplit('/').next().unwrap_or("");
        match blobs.get(last) {
            Some((ct, body)) => {
                Reply::Full(200, vec![("Content-Type".into(), ct.clone())], body.clone())
            }
            None => test_server::status(404, &[]),
        }
    });
    let c = test_server::client(RegistryOptions::default(), Store::default());
    test_server::plain_http(&c, &server.addr);
    (server, c)
}

fn run(client: &Client, yaml: &str) -> Report {
    let catalog = Catalog::builtin();
    let env = |_: &str| None;
    let options = Options {
        catalog: &catalog,
        host: crate::platform::Platform::linux("amd64", ""),
        cluster: Some(vec![
            crate::platform::Platform::linux("amd64", ""),
            crate::platform::Platform::linux("arm64", ""),
        ]),
        deep: false,
        deep_all: false,
        env: &env,
    };
    let g = gather(&[Input::Stdin(yaml.to_string())], &options).unwrap();
    let (uses, reads) = resolve(client, g.uses, None, false);
    Report {
        files: g.sources.len(),
        reads,
        uses,
        skipped: g.skipped,
        allow_unresolved: false,
    }
}

fn pod(name: &str, selector: &str, images: &[String]) -> String {
    let containers: String = images
        .iter()
        .enumerate()
        .map(|(i, im)| format!("  - name: c{i}\n    image: {im}\n"))
        .collect();
    format!(
        "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  nodeSelector: {{{selector}}}\n  containers:\n{containers}"
    )
}

#[test]
fn each_reference_resolved_once_each_image_read_once_each_use_judged_by_its_own_needs() {
    let (server, client) = registry();
    let r = |tag: &str| format!("{}/app:{tag}", server.addr);
    let yaml = [
        pod(
            "a",
            "kubernetes.io/arch: amd64",
            &[r("multi"), r("amd"), r("multi")],
        ),
        pod(
            "b",
            "kubernetes.io/arch: arm64",
            &[r("amd"), r("also-multi")],
        ),
    ]
    .concat();
    let report = run(&client, &yaml);
    let status: Vec<(u32, bool)> = report
        .uses
        .iter()
        .map(|c| (c.use_.line, c.passed()))
        .collect();
    // Pod b on arm64 nodes: the amd64-only manifest fails there, passes for a.
    assert_eq!(
        status,
        [(9, true), (11, true), (13, true), (22, false), (24, true)]
    );
    assert_eq!((report.reads.references, report.reads.images), (3, 2));
    assert_eq!(report.code(), crate::exit::Code::VerifyFailed);
    // Tags read once each; the index's two manifests and two configs read once.
    let mut paths: Vec<String> = server.requests().into_iter().map(|s| s.path).collect();
    paths.sort();
    let tags: Vec<&String> = paths.iter().filter(|p| !p.contains("sha256:")).collect();
    assert_eq!(tags.len(), 3, "{paths:?}");
    let manifests = paths
        .iter()
        .filter(|p| p.contains("/manifests/sha256:"))
        .count();
    let blobs = paths.iter().filter(|p| p.contains("/blobs/")).count();
    assert_eq!(manifests, 2, "the index's two manifests, once: {paths:?}");
    // Two configs; the plain amd64 manifest's is the index's amd64 config, read again
    // only when both images are read at the same moment.
    assert!((2..=3).contains(&blobs), "{paths:?}");
}

#[test]
fn a_missing_tag_fails_naming_it_and_the_line() {
    let (server, client) = registry();
    let yaml = pod(
        "a",
        "kubernetes.io/arch: amd64",
        &[format!("{}/app:gone", server.addr)],
    );
    let report = run(&client, &yaml);
    let text = report::render_text(&report, false);
    assert!(
        text.starts_with(&format!(
            "FAIL  -:9  Pod/a (c0)\n      {}/app:gone (not in the registry)\n",
            server.addr
        )),
        "{text}"
    );
    assert!(text.contains("it does not exist in the registry"), "{text}");
}

#[test]
fn a_registry_that_cannot_be_reached_is_not_asked_again() {
    let failed = std::sync::Mutex::new(HashMap::new());
    let e = crate::registry::RegistryError::Network {
        registry: "r.example.com".into(),
        request: "GET https://r.example.com/v2/".into(),
        attempts: 4,
        message: "connection refused".into(),
        hint: "check".into(),
    };
    failed
        .lock()
        .unwrap()
        .insert("r.example.com".to_string(), e);
    let client = Client::new(RegistryOptions::default()).unwrap();
    let r = crate::registry::Reference::parse("r.example.com/app:v1").unwrap();
    let got = resolve::resolve_one(&client, &r, &failed).unwrap_err();
    assert!(got.to_string().contains("connection refused"), "{got}");
}

#[test]
fn pin_edits_only_the_references_bytes_an_anchor_once_and_leaves_interpolated_values() {
    let (server, client) = registry();
    let a = &server.addr;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("compose.yaml");
    let text = format!(
        "x-img: &img \"{a}/app:multi\"   # the shared image\nservices:\n  a:\n    image: *img\n    platform: linux/amd64\n  b:\n    image: {a}/app:${{TAG}}\n    platform: linux/amd64\n  c: {{image: '{a}/app:amd', platform: linux/amd64}}\n"
    );
    std::fs::write(&file, &text).unwrap();
    let catalog = Catalog::builtin();
    let env = |n: &str| (n == "TAG").then(|| "multi".to_string());
    let options = Options {
        catalog: &catalog,
        host: crate::platform::Platform::linux("amd64", ""),
        cluster: None,
        deep: false,
        deep_all: false,
        env: &env,
    };
    let g = gather(
        &[Input::Path(file.clone(), "compose.yaml".into())],
        &options,
    )
    .unwrap();
    let (uses, reads) = resolve(&client, g.uses, None, false);
    let report = Report {
        files: 1,
        reads,
        uses,
        skipped: Vec::new(),
        allow_unresolved: false,
    };
    assert_eq!(report.code(), crate::exit::Code::Ok);
    let multi = report.uses[0].digest().unwrap().to_string();
    let amd = report.uses[2].digest().unwrap().to_string();
    let outcome = pin::pin(&report, &g.sources).unwrap();
    let want = text
        .replace(
            &format!("\"{a}/app:multi\""),
            &format!("\"{a}/app:multi@{multi}\""),
        )
        .replace(&format!("'{a}/app:amd'"), &format!("'{a}/app:amd@{amd}'"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), want);
    let at: Vec<&str> = outcome.pinned.iter().map(|p| p.at.as_str()).collect();
    assert_eq!(at, ["compose.yaml:4", "compose.yaml:9"]);
    assert_eq!(outcome.not_pinned.len(), 1);
    assert_eq!(outcome.not_pinned[0].at, "compose.yaml:7");
    assert!(
        outcome.not_pinned[0]
            .why
            .starts_with("compose fills in a variable")
    );
    // The file changed since it was read: nothing is written.
    std::fs::write(&file, format!("{text}# edited\n")).unwrap();
    let e = pin::pin(&report, &g.sources).unwrap_err();
    assert!(matches!(e, pin::PinError::Changed { .. }), "{e}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        format!("{text}# edited\n")
    );
}
