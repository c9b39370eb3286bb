//! The deployment-file readers over real files public projects wrote for their own
//! users (tests/fixtures/corpus, sources and licences in its SOURCES.md): Kubernetes
//! examples, docker's compose samples, AWS's ECS task definition samples, SAM
//! translator inputs, CloudFormation templates and Copilot manifests. What each file
//! yields — workloads, the platforms they need and the line that decided, every image
//! reference and its line, or the error — is a snapshot.

use std::path::PathBuf;

use mpbuild::deploy::{self, Context, Found, Image};
use mpbuild::platform::Platform;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

/// Every file of the corpus (not SOURCES.md), each with its name under the corpus and
/// what the readers make of it.
fn read_corpus() -> Vec<(String, String, Result<Vec<Found>, String>)> {
    let root = corpus();
    let cluster = [
        Platform::parse("linux/amd64").unwrap(),
        Platform::parse("linux/arm64").unwrap(),
    ];
    let env = |_: &str| None;
    deploy::files(&root, "corpus")
        .unwrap()
        .into_iter()
        .map(|(path, shown)| {
            let text = deploy::read_file(&path, &shown).unwrap();
            let ctx = Context {
                file: &shown,
                cluster: Some(&cluster),
                env: &env,
            };
            let read = deploy::read_text(&text, &ctx).map_err(|e| e.to_string());
            (shown, text, read)
        })
        .collect()
}

fn describe(found: &[Found]) -> String {
    let mut out = String::new();
    for f in found {
        let platforms: Vec<String> = f.platforms.iter().map(ToString::to_string).collect();
        out.push_str(&format!(
            "  {} {} [{}] {}{}{}\n",
            f.service.as_deref().unwrap_or("compose"),
            f.resource,
            platforms.join(","),
            f.source,
            if f.defaulted { " (default)" } else { "" },
            f.unchecked
                .as_deref()
                .map(|u| format!(" unchecked: {u}"))
                .unwrap_or_default(),
        ));
        for u in &f.images {
            let what = match &u.image {
                Image::Literal { text, .. } => text.clone(),
                Image::Unresolved { written, why } => format!("unresolved {written}: {why}"),
            };
            let built = if u.built { " (built)" } else { "" };
            out.push_str(&format!(
                "    {}:{} {}: {what}{built}\n",
                f.file, u.line, u.container
            ));
        }
    }
    out
}

#[test]
fn what_the_readers_make_of_real_files() {
    let mut out = String::new();
    for (shown, _, read) in read_corpus() {
        match read {
            Ok(found) if found.is_empty() => out.push_str(&format!("{shown}: no workload\n")),
            Ok(found) => out.push_str(&format!("{shown}:\n{}", describe(&found))),
            Err(e) => out.push_str(&format!("{shown}: error: {e}\n")),
        }
    }
    insta::assert_snapshot!(out);
}

#[test]
fn every_replication_controller_is_a_workload_with_its_image() {
    let mut seen = 0;
    for (shown, text, read) in read_corpus() {
        let rcs = text.matches("ReplicationController").count();
        if rcs == 0 || shown.contains("duplicate-key") {
            continue;
        }
        let found = read.unwrap_or_else(|e| panic!("{shown}: {e}"));
        let rc: Vec<&Found> = found
            .iter()
            .filter(|f| f.resource.starts_with("ReplicationController/"))
            .collect();
        assert!(!rc.is_empty(), "{shown}: no ReplicationController read");
        assert!(rc.iter().all(|f| !f.images.is_empty()), "{shown}: {rc:?}");
        seen += rc.len();
    }
    assert_eq!(seen, 5, "the corpus holds five ReplicationControllers");
}

#[test]
fn every_kubernetes_file_with_containers_yields_their_images() {
    for (shown, text, read) in read_corpus() {
        if !shown.starts_with("corpus/kubernetes/") || shown.contains("duplicate-key") {
            continue;
        }
        let found = read.unwrap_or_else(|e| panic!("{shown}: {e}"));
        let images: usize = found.iter().map(|f| f.images.len()).sum();
        // Lines that set an image (not comments).
        let written = text
            .lines()
            .map(|l| l.trim_start().trim_start_matches("- "))
            .filter(|l| l.starts_with("image:") || l.starts_with("\"image\":"))
            .count();
        assert_eq!(images, written, "{shown}: {}", describe(&found));
    }
}

#[test]
fn errors_speak_of_the_file_not_of_the_yaml_library() {
    let mut errors = 0;
    for (shown, _, read) in read_corpus() {
        let Err(e) = read else { continue };
        errors += 1;
        assert!(e.starts_with(&shown), "{e}");
        for leak in ["Options", "DuplicateKeyPolicy", "Option<"] {
            assert!(!e.contains(leak), "{e}");
        }
    }
    assert_eq!(errors, 2, "the duplicate key and the wasi platform");
}
