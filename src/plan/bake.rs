//! The bake file for several images: one target per image, equivalent to its
//! `docker buildx build` argv (re-read from the argv, so the two cannot disagree).

use std::path::{Component, Path};

use serde_json::{Value, json};

use super::image::output_spec;
use super::types::{Bake, ImagePlan, Options};

pub(super) fn bake(images: &[ImagePlan], options: &Options) -> Bake {
    let file_path = options.work_dir.join("bake.json");
    let metadata_file = options.work_dir.join("bake.metadata.json");
    let mut targets = serde_json::Map::new();
    for plan in images {
        targets.insert(plan.name.clone(), bake_target(plan));
        linked_targets(plan, &mut targets);
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

/// The targets of the images `plan` takes as `target:` contexts (and theirs), by the
/// names its contexts give them. They are in no group: bake builds them only as
/// contexts, and exports nothing of them.
fn linked_targets(plan: &ImagePlan, targets: &mut serde_json::Map<String, Value>) {
    for l in &plan.linked {
        let mut t = bake_target(&l.plan);
        if let Some(m) = t.as_object_mut() {
            m.remove("output");
        }
        targets.insert(l.target.clone(), t);
        linked_targets(&l.plan, targets);
    }
}

/// A bake target equivalent to the image's `docker buildx build` argv. The argv is
/// re-read here (rather than the config) so that the two can never disagree.
fn bake_target(plan: &ImagePlan) -> Value {
    let mut t = serde_json::Map::new();
    t.insert("context".into(), json!(plan.context));
    match &plan.options.dockerfile_inline {
        Some(text) => t.insert("dockerfile-inline".into(), json!(text)),
        None => t.insert(
            "dockerfile".into(),
            json!(relative_to(&plan.dockerfile, &plan.context)),
        ),
    };
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
    let mut options = OptionAttrs::default();
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
            _ => options.read(a, &mut it, plan),
        }
    }
    options.insert(&mut t);
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

/// The bake attributes of the build options' flags, re-read from the argv.
#[derive(Default)]
struct OptionAttrs {
    ssh: Vec<String>,
    contexts: serde_json::Map<String, Value>,
    labels: serde_json::Map<String, Value>,
    annotations: Vec<String>,
    shm_size: Option<String>,
    ulimits: Vec<String>,
    network: Option<String>,
    entitlements: Vec<String>,
    extra_hosts: serde_json::Map<String, Value>,
    no_cache: bool,
    pull: bool,
}

impl OptionAttrs {
    /// Takes `flag` (and its value from `it`) when it is a build option's.
    fn read<'a>(
        &mut self,
        flag: &str,
        it: &mut impl Iterator<Item = &'a String>,
        plan: &ImagePlan,
    ) {
        let mut value = || it.next().cloned().unwrap_or_default();
        match flag {
            "--ssh" => self.ssh.push(value()),
            "--build-context" => {
                let v = value();
                if let Some((name, spec)) = v.split_once('=') {
                    let spec = super::options::bake_context(plan, name, spec);
                    self.contexts.insert(name.into(), json!(spec));
                }
            }
            "--label" => {
                let v = value();
                if let Some((k, val)) = v.split_once('=') {
                    self.labels.insert(k.into(), json!(val));
                }
            }
            "--annotation" => self.annotations.push(value()),
            "--shm-size" => self.shm_size = Some(value()),
            "--ulimit" => self.ulimits.push(value()),
            "--network" => self.network = Some(value()),
            "--allow" => self.entitlements.push(value()),
            "--add-host" => {
                let v = value();
                if let Some((host, ip)) = v.split_once('=') {
                    self.extra_hosts.insert(host.into(), json!(ip));
                }
            }
            "--no-cache" => self.no_cache = true,
            "--pull" => self.pull = true,
            _ => {}
        }
    }

    fn insert(self, t: &mut serde_json::Map<String, Value>) {
        let mut put = |k: &str, v: Value, present: bool| {
            if present {
                t.insert(k.into(), v);
            }
        };
        put("ssh", json!(self.ssh), !self.ssh.is_empty());
        put("contexts", json!(self.contexts), !self.contexts.is_empty());
        put("labels", json!(self.labels), !self.labels.is_empty());
        put(
            "annotations",
            json!(self.annotations),
            !self.annotations.is_empty(),
        );
        put("shm-size", json!(self.shm_size), self.shm_size.is_some());
        put("ulimits", json!(self.ulimits), !self.ulimits.is_empty());
        put("network", json!(self.network), self.network.is_some());
        put(
            "entitlements",
            json!(self.entitlements),
            !self.entitlements.is_empty(),
        );
        put(
            "extra-hosts",
            json!(self.extra_hosts),
            !self.extra_hosts.is_empty(),
        );
        put("no-cache", json!(true), self.no_cache);
        put("pull", json!(true), self.pull);
    }
}

/// The buildx version a bake file needs for the attributes it uses, and which: bake
/// took `network` (and `entitlements`) from 0.17 and `extra-hosts` from 0.25; a
/// plain `buildx build` takes the flags from far older versions.
pub fn needs_version(file: &Value) -> Option<(crate::buildx::Version, &'static str)> {
    use crate::buildx::Version;
    let targets = file["target"].as_object()?;
    let uses = |k: &str| targets.values().any(|t| t.get(k).is_some());
    if uses("extra-hosts") {
        Some((
            Version(0, 25, 0),
            "`add_hosts:` in a bake file (several images, or a `target:` build context)",
        ))
    } else if uses("network") || uses("entitlements") {
        Some((
            Version(0, 17, 0),
            "`network:` in a bake file (several images, or a `target:` build context)",
        ))
    } else {
        None
    }
}
