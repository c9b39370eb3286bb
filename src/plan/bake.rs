//! The bake file for several images: one target per image, equivalent to its
//! `docker buildx build` argv (re-read from the argv, so the two cannot disagree).

use std::path::{Component, Path};

use serde_json::{Value, json};

use super::{Bake, ImagePlan, Options, output_spec};

pub(super) fn bake(images: &[ImagePlan], options: &Options) -> Bake {
    let file_path = options.work_dir.join("bake.json");
    let metadata_file = options.work_dir.join("bake.metadata.json");
    let mut targets = serde_json::Map::new();
    for plan in images {
        targets.insert(plan.name.clone(), bake_target(plan));
    }
    let file = json!({
        "group": {"default": {"targets": images.iter().map(|i| i.name.clone()).collect::<Vec<_>>()}},
        "target": targets,
    });
    let mut command: Vec<String> = vec!["docker".into(), "buildx".into(), "bake".into()];
    if let Some(b) = &options.builder {
        command.extend(["--builder".into(), b.clone()]);
    }
    command.extend([
        "--file".into(),
        file_path.display().to_string(),
        "--metadata-file".into(),
        metadata_file.display().to_string(),
        "--progress=rawjson".into(),
    ]);
    Bake {
        command,
        file_path,
        file,
        metadata_file,
    }
}

/// A bake target equivalent to the image's `docker buildx build` argv. The argv is
/// re-read here (rather than the config) so that the two can never disagree.
fn bake_target(plan: &ImagePlan) -> Value {
    let mut t = serde_json::Map::new();
    t.insert("context".into(), json!(plan.context));
    t.insert(
        "dockerfile".into(),
        json!(relative_to(&plan.dockerfile, &plan.context)),
    );
    t.insert(
        "platforms".into(),
        json!(
            plan.platforms
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        ),
    );
    let mut args = serde_json::Map::new();
    let mut secrets = Vec::new();
    let mut cache_from = Vec::new();
    let mut cache_to = Vec::new();
    let mut attest = Vec::new();
    let mut it = plan.command.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => {
                t.insert("target".into(), json!(it.next()));
            }
            "--build-arg" => {
                if let Some((k, v)) = it.next().and_then(|kv| kv.split_once('=')) {
                    args.insert(k.into(), json!(v));
                }
            }
            "--secret" => secrets.extend(it.next().cloned()),
            "--cache-from" => cache_from.extend(it.next().cloned()),
            "--cache-to" => cache_to.extend(it.next().cloned()),
            "--provenance=false" => attest.push("type=provenance,disabled=true".to_string()),
            "--sbom=false" => attest.push("type=sbom,disabled=true".to_string()),
            "--sbom=true" => attest.push("type=sbom".to_string()),
            "--provenance=mode=min" => attest.push("type=provenance,mode=min".to_string()),
            _ => {}
        }
    }
    if !args.is_empty() {
        t.insert("args".into(), Value::Object(args));
    }
    for (key, list) in [
        ("secret", secrets),
        ("cache-from", cache_from),
        ("cache-to", cache_to),
    ] {
        if !list.is_empty() {
            t.insert(key.into(), json!(list));
        }
    }
    t.insert("attest".into(), json!(attest));
    t.insert("output".into(), json!([output_spec(plan)]));
    Value::Object(t)
}

/// `file` (relative to the project directory) as seen from `dir` (also relative to it).
/// Bake reads a target's `dockerfile` relative to its context.
pub(super) fn relative_to(file: &str, dir: &str) -> String {
    let norm = |p: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in Path::new(p).components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    if out.last().is_some_and(|l| l != "..") {
                        out.pop();
                    } else {
                        out.push("..".into());
                    }
                }
                other => out.push(other.as_os_str().to_string_lossy().into_owned()),
            }
        }
        out
    };
    if Path::new(file).is_absolute() {
        return file.to_string();
    }
    let f = norm(file);
    let d = norm(dir);
    let common = f.iter().zip(&d).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".into(); d.len() - common];
    parts.extend(f[common..].iter().cloned());
    parts.join("/")
}
