//! The build plan: pure data computed from a checked [`Project`] — which platforms each
//! image must hold and why, which tags it gets, and the exact `docker buildx build` argv
//! (one image) or `docker buildx bake` file (several). No side effects here: the buildx
//! runner and the registry client carry the plan out.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use crate::catalog::{Attestations, Catalog, Fact, ManifestKind, MediaTypes};
use crate::config::{Image, Project, Target};
use crate::platform::{self, Platform};

/// How the build gets its result to the registry, which depends on the builder's driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    /// The `docker` driver cannot push by digest: export an OCI layout that mpbuild
    /// uploads itself.
    OciLayout,
    /// docker-container, remote, kubernetes: push by digest, no tag.
    PushByDigest,
}

/// Inputs of the plan that are not in the project file.
#[derive(Debug, Clone)]
pub struct Options {
    pub output: Output,
    /// Where buildx writes metadata files and OCI layouts (one directory per project).
    pub work_dir: PathBuf,
    /// The builder (`--builder`), from the flag or the project file.
    pub builder: Option<String>,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub images: Vec<ImagePlan>,
    /// When several images are built: one bake run for all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bake: Option<Bake>,
    /// The declared builder: which node builds which platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<BuilderPlan>,
}

/// Which node of the declared builder builds each platform.
#[derive(Debug, Clone, Serialize)]
pub struct BuilderPlan {
    pub name: String,
    pub driver: String,
    pub assignments: Vec<Assignment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub platform: Platform,
    /// The node that builds it natively, or None (emulated on whichever node buildx picks).
    pub node: Option<String>,
    pub endpoint: Option<String>,
}

/// One bake run.
#[derive(Debug, Clone, Serialize)]
pub struct Bake {
    pub command: Vec<String>,
    /// Where the runner writes `file` before running `command`.
    pub file_path: PathBuf,
    pub file: Value,
    pub metadata_file: PathBuf,
}

/// What one image needs.
#[derive(Debug, Clone, Serialize)]
pub struct ImagePlan {
    pub name: String,
    pub repository: String,
    /// The union of every target's platforms, in the order first named.
    pub platforms: Vec<Platform>,
    /// Tags that will point at the verified index.
    pub tags: Vec<String>,
    pub targets: Vec<TargetPlan>,
    /// Tags that will point at one platform's plain image manifest.
    pub single_tags: Vec<SingleTag>,
    pub attestations: bool,
    /// Why attestations are on or off.
    pub attestations_reason: String,
    /// `media_types: docker`: every tag gets Docker V2 schema 2 media types (buildx's
    /// `oci-mediatypes=false` when pushing by digest; converted at upload otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub docker_media_types: bool,
    pub deep: bool,
    /// With `deep`: every executable ELF file, not only the entrypoint.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deep_all: bool,
    /// With `deep_all`: paths and globs left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deep_ignore: Vec<String>,
    pub context: String,
    pub dockerfile: String,
    /// The `docker buildx build` argv for this image alone.
    pub command: Vec<String>,
    pub metadata_file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oci_dir: Option<PathBuf>,
    pub output: Output,
    /// A digest of what this image's plan promises, independent of the machine and the
    /// builder: repository, platforms, tags, targets and build inputs. Legs built on
    /// separate runners carry it, so `merge` can refuse a leg from another plan.
    #[serde(skip)]
    pub fingerprint: String,
    /// The same without the tags: what the build makes, not where it is published. With
    /// the Dockerfile, the context and the base images' digests it is the image's inputs
    /// fingerprint, which lets `push` skip an unchanged image.
    #[serde(skip)]
    pub build_fingerprint: String,
    /// `rebuild: always`: never skipped as unchanged.
    #[serde(skip)]
    pub rebuild_always: bool,
    /// The build args, as given to buildx (for the Dockerfile's `FROM` expansion).
    #[serde(skip)]
    pub build_args: Vec<(String, String)>,
    /// The smoke run, when the image declares one (not part of the fingerprint: it checks
    /// the image, it does not make it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokePlan>,
}

/// A command run in the pushed image on each of `platforms` before a tag moves.
#[derive(Debug, Clone, Serialize)]
pub struct SmokePlan {
    pub run: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    pub timeout_s: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// The image's platforms, or the subset `smoke: platforms:` names.
    pub platforms: Vec<Platform>,
}

impl SmokePlan {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_s)
    }
}

/// One target of an image, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct TargetPlan {
    /// The catalog service, or "platform" for a target spelled as a platform.
    pub service: String,
    pub platforms: Vec<Platform>,
    pub manifest: ManifestKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `FILE:LINE` where the target is declared.
    pub source: String,
}

/// A tag for a single-manifest target (Lambda, Heroku).
#[derive(Debug, Clone, Serialize)]
pub struct SingleTag {
    pub tag: String,
    pub platform: Platform,
    pub service: String,
    /// The tag needs a Docker V2 schema 2 manifest (Heroku; or the image's
    /// `media_types: docker`): made from the built manifest, blobs unchanged.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub docker: bool,
}

impl Plan {
    /// Every image of the project.
    pub fn new(project: &Project, options: &Options) -> Plan {
        Plan::for_images(project, &project.images.iter().collect::<Vec<_>>(), options)
    }

    /// Only the named images (already checked to exist).
    pub fn for_images(project: &Project, images: &[&Image], options: &Options) -> Plan {
        let images: Vec<ImagePlan> = images
            .iter()
            .map(|image| image_plan(project, image, options))
            .collect();
        let bake = (images.len() > 1).then(|| bake(&images, options));
        let builder = project.declared_builder.as_ref().map(|d| {
            let mut assignments: Vec<Assignment> = Vec::new();
            for p in images.iter().flat_map(|i| i.platforms.iter()) {
                if assignments.iter().any(|a| a.platform.matches(p)) {
                    continue;
                }
                let node = d.node_for(p);
                assignments.push(Assignment {
                    platform: p.clone(),
                    node: node.map(|n| n.name.clone()),
                    endpoint: node.and_then(|n| n.endpoint.clone()),
                });
            }
            BuilderPlan {
                name: d.name.clone(),
                driver: d.driver.clone(),
                assignments,
            }
        });
        Plan {
            images,
            bake,
            builder,
        }
    }

    /// `--deep=all` on the command line: every image gets the whole-filesystem check
    /// (each keeps its own `deep_ignore:`).
    pub fn deep_all(&mut self) {
        for image in &mut self.images {
            image.deep = true;
            image.deep_all = true;
        }
    }

    /// The argv lists to run, in order: one bake, or one build.
    pub fn commands(&self) -> Vec<&[String]> {
        match &self.bake {
            Some(b) => vec![b.command.as_slice()],
            None => self.images.iter().map(|i| i.command.as_slice()).collect(),
        }
    }
}

fn image_plan(project: &Project, image: &Image, options: &Options) -> ImagePlan {
    let mut platforms: Vec<Platform> = Vec::new();
    for t in &image.targets {
        for p in &t.platforms {
            if !platforms.iter().any(|q| q.matches(p)) {
                platforms.push(p.clone());
            }
        }
    }
    let file_name = project
        .path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "mpbuild.yaml".into());
    let targets = image
        .targets
        .iter()
        .map(|t| TargetPlan {
            service: t.label(),
            platforms: t.platforms.clone(),
            manifest: t.manifest,
            tag: t.tag.clone(),
            source: t
                .origin
                .clone()
                .unwrap_or_else(|| format!("{file_name}:{}", t.pos.line)),
        })
        .collect();
    let single_tags = image
        .targets
        .iter()
        .filter(|t| t.manifest == ManifestKind::Single)
        .filter_map(|t| {
            Some(SingleTag {
                tag: t.tag.clone()?,
                platform: t.platforms.first()?.clone(),
                service: t.label(),
                docker: image.docker_media_types || t.media_types == Some(MediaTypes::Docker),
            })
        })
        .collect();
    let (attestations, attestations_reason) = attestations(&project.catalog, image);
    let metadata_file = options
        .work_dir
        .join(format!("{}.metadata.json", image.name));
    let oci_dir = (options.output == Output::OciLayout).then(|| options.work_dir.join(&image.name));
    let mut plan = ImagePlan {
        name: image.name.clone(),
        repository: image.repository.clone(),
        platforms,
        tags: image.tags.clone(),
        targets,
        single_tags,
        attestations,
        attestations_reason,
        docker_media_types: image.docker_media_types,
        deep: image.deep,
        deep_all: image.deep_all,
        deep_ignore: image.deep_ignore.clone(),
        context: image.context.clone(),
        dockerfile: image.dockerfile.clone(),
        command: Vec::new(),
        metadata_file,
        oci_dir,
        output: options.output,
        fingerprint: String::new(),
        build_fingerprint: String::new(),
        rebuild_always: image.rebuild_always,
        build_args: image.build_args.clone(),
        smoke: None,
    };
    plan.smoke = image.smoke.as_ref().map(|s| SmokePlan {
        run: s.run.clone(),
        expect: s.expect.clone(),
        timeout_s: s.timeout.as_secs(),
        env: s.env.clone(),
        platforms: if s.platforms.is_empty() {
            plan.platforms.clone()
        } else {
            // In the image's order, as far as a leg's plan still has them.
            plan.platforms
                .iter()
                .filter(|p| s.platforms.iter().any(|q| q.matches(p)))
                .cloned()
                .collect()
        },
    });
    plan.command = build_argv(image, &plan, options);
    plan.fingerprint = fingerprint(&plan, true);
    plan.build_fingerprint = fingerprint(&plan, false);
    plan
}

/// See [`ImagePlan::fingerprint`]. The argv is taken without what depends on the
/// machine (builder, metadata file, output, progress) or is listed apart (platforms);
/// a target's file:line is left out, so a comment added to mpbuild.yaml changes nothing.
fn fingerprint(plan: &ImagePlan, with_tags: bool) -> String {
    let mut argv: Vec<&str> = Vec::new();
    let mut it = plan.command.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--builder" | "--metadata-file" | "--output" | "--platform" => {
                it.next();
            }
            _ if a.starts_with("--progress=") => {}
            _ => argv.push(a),
        }
    }
    let targets: Vec<Value> = plan
        .targets
        .iter()
        .map(|t| json!([t.service, platform::join(&t.platforms), t.manifest, t.tag]))
        .collect();
    let singles: Vec<Value> = plan
        .single_tags
        .iter()
        .map(|s| json!([s.tag, s.platform.to_string(), s.service]))
        .collect();
    let mut doc = if with_tags {
        json!({
            "repository": plan.repository,
            "platforms": platform::join(&plan.platforms),
            "tags": plan.tags,
            "single_tags": singles,
            "targets": targets,
            "attestations": plan.attestations,
            "build": argv,
        })
    } else {
        json!({
            "repository": plan.repository,
            "platforms": platform::join(&plan.platforms),
            "attestations": plan.attestations,
            "build": argv,
        })
    };
    // Only when asked for, so every other plan keeps the fingerprint it had.
    if plan.docker_media_types {
        doc["media_types"] = json!("docker");
    }
    crate::digest::sha256(doc.to_string().as_bytes())
}

/// A CI matrix for native multi-runner builds: one entry per platform any image needs,
/// with a suggested runner label, so the matrix cannot drift from the deploy targets.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub include: Vec<MatrixEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatrixEntry {
    /// Canonical, for `mpbuild push --platform`.
    pub platform: String,
    /// `linux-arm64`: for artifact and job names.
    pub slug: String,
    /// A GitHub-hosted runner that builds this platform natively, or null (build it
    /// emulated on any runner).
    pub runner: Option<&'static str>,
    /// The images that need this platform.
    pub images: Vec<String>,
}

/// GitHub's hosted runner label that runs `p` natively, if there is one.
pub fn runner_label(p: &Platform) -> Option<&'static str> {
    match (p.os.as_str(), p.architecture.as_str()) {
        ("linux", "amd64") => Some("ubuntu-24.04"),
        ("linux", "arm64") => Some("ubuntu-24.04-arm"),
        _ => None,
    }
}

impl Plan {
    /// The matrix of this plan's platforms, in the order first needed.
    pub fn matrix(&self) -> Matrix {
        let mut include: Vec<(Platform, MatrixEntry)> = Vec::new();
        for image in &self.images {
            for p in &image.platforms {
                match include.iter_mut().find(|(q, _)| q.matches(p)) {
                    Some((_, e)) => e.images.push(image.name.clone()),
                    None => include.push((
                        p.clone(),
                        MatrixEntry {
                            platform: p.to_string(),
                            slug: p.to_string().replace('/', "-"),
                            runner: runner_label(p),
                            images: vec![image.name.clone()],
                        },
                    )),
                }
            }
        }
        Matrix {
            include: include.into_iter().map(|(_, e)| e).collect(),
        }
    }
}

/// A leg of a multi-runner build: the images of `full` that need any of `platforms`,
/// each restricted to those platforms, with no tags (a leg moves none).
#[derive(Debug, Clone)]
pub struct Leg {
    pub plan: Plan,
    /// Images that need none of the leg's platforms: (name, the platforms they need).
    pub skipped: Vec<(String, Vec<Platform>)>,
}

impl Plan {
    /// The leg of this project's images for `platforms` (every one of which some image
    /// must need: the caller checks). Each image keeps the fingerprint of its full plan.
    pub fn leg(
        project: &Project,
        images: &[&Image],
        options: &Options,
        platforms: &[Platform],
    ) -> Leg {
        let mut kept = Vec::new();
        let mut skipped = Vec::new();
        for image in images {
            let full = image_plan(project, image, options);
            let mine: Vec<Platform> = full
                .platforms
                .iter()
                .filter(|p| platforms.iter().any(|q| q.matches(p)))
                .cloned()
                .collect();
            if mine.is_empty() {
                skipped.push((full.name.clone(), full.platforms.clone()));
                continue;
            }
            let mut leg = full.clone();
            leg.platforms = mine.clone();
            leg.tags = Vec::new();
            leg.single_tags = Vec::new();
            if let Some(s) = &mut leg.smoke {
                s.platforms.retain(|p| mine.iter().any(|q| q.matches(p)));
            }
            leg.smoke = leg.smoke.filter(|s| !s.platforms.is_empty());
            leg.targets = full
                .targets
                .iter()
                .filter_map(|t| {
                    let ps: Vec<Platform> = t
                        .platforms
                        .iter()
                        .filter(|p| mine.iter().any(|q| q.matches(p)))
                        .cloned()
                        .collect();
                    (!ps.is_empty()).then(|| TargetPlan {
                        platforms: ps,
                        ..t.clone()
                    })
                })
                .collect();
            leg.command = build_argv(image, &leg, options);
            kept.push(leg);
        }
        let bake = (kept.len() > 1).then(|| bake(&kept, options));
        Leg {
            plan: Plan {
                images: kept,
                bake,
                builder: None,
            },
            skipped,
        }
    }
}

impl ImagePlan {
    /// The argv of a local developer build: the same build for `platforms`, loaded into
    /// the local Docker (`--load`) under the image's tags, with no registry output,
    /// no attestations and no cache export.
    pub fn local_argv(&self, platforms: &[Platform]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut it = self.command.iter().peekable();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--platform" => {
                    it.next();
                    out.extend(["--platform".into(), platform::join(platforms)]);
                }
                "--metadata-file" | "--output" | "--cache-to" => {
                    it.next();
                }
                "--provenance=false" | "--provenance=mode=min" | "--sbom=false" | "--sbom=true" => {
                }
                _ if it.peek().is_none() => {
                    // The context: the last argument.
                    out.extend(["--provenance=false".into(), "--load".into()]);
                    for t in &self.tags {
                        out.extend(["--tag".into(), format!("{}:{t}", self.repository)]);
                    }
                    out.push(a.clone());
                }
                _ => out.push(a.clone()),
            }
        }
        out
    }
}

/// Attestations are on by default only where every target is *confirmed* to accept
/// attestation manifests in an index: a catalog entry that says `attestations: ok`
/// without a source confirming it counts as unconfirmed, and keeps them off.
fn attestations(catalog: &Catalog, image: &Image) -> (bool, String) {
    if let Some(explicit) = image.attestations {
        let word = if explicit { "on" } else { "off" };
        return (explicit, format!("{word}: set in the project file"));
    }
    if image.docker_media_types {
        return (
            false,
            "off: media_types: docker (a Docker manifest list cannot hold attestation manifests)"
                .into(),
        );
    }
    let unconfirmed = |t: &Target| {
        format!(
            "{}: not confirmed to accept attestation manifests",
            t.label()
        )
    };
    let blockers: Vec<String> = image
        .targets
        .iter()
        .filter_map(|t: &Target| match t.attestations {
            Attestations::Ok => {
                // A `platform:` target names no service: nothing to confirm.
                let confirmed = t.service.as_deref().is_none_or(|name| {
                    catalog
                        .get(name)
                        .is_some_and(|s| s.is_confirmed(Fact::Attestations))
                });
                (!confirmed).then(|| unconfirmed(t))
            }
            Attestations::Break => Some(format!("{} breaks on attestation manifests", t.label())),
            Attestations::Unknown => Some(unconfirmed(t)),
        })
        .collect();
    if blockers.is_empty() {
        (
            true,
            "on: every target is confirmed to accept attestation manifests".into(),
        )
    } else {
        let mut uniq: Vec<String> = Vec::new();
        for b in blockers {
            if !uniq.contains(&b) {
                uniq.push(b);
            }
        }
        (false, format!("off: {}", uniq.join("; ")))
    }
}

fn attest_flags(plan: &ImagePlan, sbom: bool) -> Vec<String> {
    if plan.attestations {
        let mut v = vec!["--provenance=mode=min".to_string()];
        v.push(format!("--sbom={sbom}"));
        v
    } else {
        vec!["--provenance=false".into(), "--sbom=false".into()]
    }
}

fn output_spec(plan: &ImagePlan) -> String {
    match (&plan.output, &plan.oci_dir) {
        (Output::OciLayout, Some(dir)) => format!("type=oci,tar=false,dest={}", dir.display()),
        _ if plan.docker_media_types => format!(
            "type=image,name={},push-by-digest=true,name-canonical=true,push=true,oci-mediatypes=false",
            plan.repository
        ),
        _ => format!(
            "type=image,name={},push-by-digest=true,name-canonical=true,push=true",
            plan.repository
        ),
    }
}

fn cache_ref(repository: &str) -> String {
    format!("{repository}:buildcache")
}

fn build_argv(image: &Image, plan: &ImagePlan, options: &Options) -> Vec<String> {
    let mut argv: Vec<String> = vec!["docker".into(), "buildx".into(), "build".into()];
    if let Some(b) = &options.builder {
        argv.extend(["--builder".into(), b.clone()]);
    }
    argv.extend(["--platform".into(), platform::join(&plan.platforms)]);
    argv.extend(["--file".into(), image.dockerfile.clone()]);
    if let Some(stage) = &image.stage {
        argv.extend(["--target".into(), stage.clone()]);
    }
    for (k, v) in &image.build_args {
        argv.extend(["--build-arg".into(), format!("{k}={v}")]);
    }
    for s in &image.secrets {
        argv.extend(["--secret".into(), s.clone()]);
    }
    argv.extend(attest_flags(plan, image.sbom));
    if image.cache {
        let r = cache_ref(&image.repository);
        argv.extend(["--cache-from".into(), format!("type=registry,ref={r}")]);
        argv.extend([
            "--cache-to".into(),
            format!("type=registry,ref={r},mode=max"),
        ]);
    }
    argv.extend([
        "--metadata-file".into(),
        plan.metadata_file.display().to_string(),
        "--progress=rawjson".into(),
        "--output".into(),
        output_spec(plan),
        image.context.clone(),
    ]);
    argv
}

fn bake(images: &[ImagePlan], options: &Options) -> Bake {
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
fn relative_to(file: &str, dir: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Env, parse};

    fn project(yaml: &str, files: &[&str]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        for f in files {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "FROM scratch\n").unwrap();
        }
        let env = Env {
            host: Platform::linux("arm64", ""),
            var: &|n| (n == "GIT_SHA").then(|| "abc123".into()),
        };
        let p = parse(&dir.path().join("mpbuild.yaml"), yaml, &env).unwrap();
        (dir, p)
    }

    fn options(output: Output) -> Options {
        Options {
            output,
            work_dir: PathBuf::from("/work"),
            builder: None,
        }
    }

    const ISSUE: &str = r#"version: 1
images:
  api:
    repository: 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api
    tags: [latest, "${GIT_SHA}"]
    build_args: {RUST_VERSION: "1.83"}
    targets:
      - service: apprunner
      - service: ecs-fargate
        arch: arm64
      - service: lambda
        arch: arm64
        tag: "${GIT_SHA}-lambda"
      - service: local
      - platform: linux/arm/v7
"#;

    #[test]
    fn union_tags_and_single_manifest_targets() {
        let (_d, p) = project(ISSUE, &["Dockerfile"]);
        let plan = Plan::new(&p, &options(Output::OciLayout));
        let img = &plan.images[0];
        assert_eq!(
            platform::join(&img.platforms),
            "linux/amd64,linux/arm64,linux/arm/v7"
        );
        assert_eq!(img.tags, vec!["latest", "abc123"]);
        assert_eq!(img.single_tags.len(), 1);
        assert_eq!(img.single_tags[0].tag, "abc123-lambda");
        assert_eq!(img.single_tags[0].platform.to_string(), "linux/arm64");
        assert!(!img.attestations, "{}", img.attestations_reason);
        assert!(img.attestations_reason.contains("apprunner"));
        assert!(plan.bake.is_none());
    }

    #[test]
    fn exact_argv_for_the_docker_driver() {
        let (_d, p) = project(ISSUE, &["Dockerfile"]);
        let plan = Plan::new(&p, &options(Output::OciLayout));
        assert_eq!(
            crate::shell::join(&plan.images[0].command),
            "docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 --file Dockerfile \
             --build-arg RUST_VERSION=1.83 --provenance=false --sbom=false \
             --metadata-file /work/api.metadata.json --progress=rawjson \
             --output type=oci,tar=false,dest=/work/api ."
        );
    }

    #[test]
    fn exact_argv_for_push_by_digest_with_cache_and_builder() {
        let yaml = "version: 1\nimages:\n  web:\n    repository: ghcr.io/acme/web\n    context: web\n    stage: runtime\n    cache: registry\n    secrets: [\"id=npm,env=NPM_TOKEN\"]\n    tags: [latest]\n    targets:\n      - service: gke\n        arch: [amd64, arm64]\n";
        let (_d, p) = project(yaml, &["web/Dockerfile"]);
        let mut o = options(Output::PushByDigest);
        o.builder = Some("acme".into());
        let plan = Plan::new(&p, &o);
        let img = &plan.images[0];
        // gke says `attestations: ok`, but no source confirms it: off.
        assert!(!img.attestations);
        assert_eq!(
            img.attestations_reason,
            "off: gke: not confirmed to accept attestation manifests"
        );
        assert_eq!(
            crate::shell::join(&img.command),
            "docker buildx build --builder acme --platform linux/amd64,linux/arm64 --file web/Dockerfile \
             --target runtime --secret id=npm,env=NPM_TOKEN --provenance=false --sbom=false \
             --cache-from type=registry,ref=ghcr.io/acme/web:buildcache \
             --cache-to type=registry,ref=ghcr.io/acme/web:buildcache,mode=max \
             --metadata-file /work/web.metadata.json --progress=rawjson \
             --output type=image,name=ghcr.io/acme/web,push-by-digest=true,name-canonical=true,push=true web"
        );
    }

    #[test]
    fn attestations_only_where_every_target_is_confirmed() {
        let on = |targets: &str| {
            let yaml = format!(
                "version: 1\nimages:\n  web:\n    repository: r.example.com/web\n    tags: [v1]\n    targets: {targets}\n"
            );
            let (_d, p) = project(&yaml, &["Dockerfile"]);
            let plan = Plan::new(&p, &options(Output::PushByDigest));
            let img = &plan.images[0];
            (img.attestations, img.attestations_reason.clone())
        };
        // ok and confirmed with a source: on.
        assert_eq!(
            on("[{service: cloud-run}, {service: apple-silicon}, {service: local}]"),
            (
                true,
                "on: every target is confirmed to accept attestation manifests".into()
            )
        );
        // ok but unconfirmed counts as unconfirmed.
        assert_eq!(
            on("[{service: cloud-run}, {service: ecs-fargate}]"),
            (
                false,
                "off: ecs-fargate: not confirmed to accept attestation manifests".into()
            )
        );
        // unknown, break and unconfirmed are all named, once each.
        let (att, why) = on(
            "[{service: eks}, {service: apprunner}, {service: lambda, tag: l}, {service: eks, arch: arm64}]",
        );
        assert!(!att);
        assert_eq!(
            why,
            "off: eks: not confirmed to accept attestation manifests; apprunner: not confirmed to accept attestation manifests; lambda breaks on attestation manifests"
        );
        // A project override that confirms the fact turns them on.
        let yaml = "version: 1\nservices:\n  ecs-fargate:\n    platforms: [linux/amd64, linux/arm64]\n    attestations: ok\n    confirmed: [attestations]\n    sources: [{url: 'https://example.com/ours', for: [attestations, platforms]}]\nimages:\n  web:\n    repository: r.example.com/web\n    tags: [v1]\n    targets: [{service: ecs-fargate}]\n";
        let (_d, p) = project(yaml, &["Dockerfile"]);
        assert!(Plan::new(&p, &options(Output::PushByDigest)).images[0].attestations);
    }

    #[test]
    fn docker_media_types_for_heroku_and_for_a_whole_image() {
        let yaml = "version: 1\nimages:\n  web:\n    repository: r.example.com/web\n    tags: [v1]\n    targets:\n      - service: cloud-run\n      - service: heroku\n        tag: v1-heroku\n      - service: lambda\n        tag: v1-lambda\n";
        let (_d, p) = project(yaml, &["Dockerfile"]);
        let plan = Plan::new(&p, &options(Output::PushByDigest));
        let img = &plan.images[0];
        let singles: Vec<(&str, bool)> = img
            .single_tags
            .iter()
            .map(|s| (s.tag.as_str(), s.docker))
            .collect();
        assert_eq!(singles, vec![("v1-heroku", true), ("v1-lambda", false)]);
        assert!(!img.docker_media_types);
        assert!(!crate::shell::join(&img.command).contains("oci-mediatypes"));
        // The whole image: buildx writes Docker media types when pushing by digest…
        let yaml = yaml.replace(
            "    tags: [v1]\n",
            "    tags: [v1]\n    media_types: docker\n",
        );
        let (_d, p) = project(&yaml, &["Dockerfile"]);
        let plan = Plan::new(&p, &options(Output::PushByDigest));
        let img = &plan.images[0];
        assert!(img.docker_media_types);
        assert!(img.single_tags.iter().all(|s| s.docker));
        assert!(!img.attestations);
        assert!(img.attestations_reason.contains("media_types: docker"));
        assert!(
            crate::shell::join(&img.command).contains(
                "--output type=image,name=r.example.com/web,push-by-digest=true,name-canonical=true,push=true,oci-mediatypes=false"
            ),
            "{}",
            crate::shell::join(&img.command)
        );
        // …and the OCI layout of the docker driver is converted at upload.
        let plan = Plan::new(&p, &options(Output::OciLayout));
        assert!(plan.images[0].docker_media_types);
        assert!(!crate::shell::join(&plan.images[0].command).contains("oci-mediatypes"));
    }

    #[test]
    fn several_images_make_one_bake_file() {
        let yaml = "version: 1\nimages:\n  api:\n    repository: r.example.com/api\n    context: api\n    dockerfile: docker/api.Dockerfile\n    build_args: {A: b}\n    tags: [v1]\n    targets: [{service: apprunner}]\n  worker:\n    repository: r.example.com/worker\n    context: worker\n    tags: [v1]\n    targets: [{service: apple-silicon, arch: [amd64, arm64]}]\n";
        let (_d, p) = project(
            yaml,
            &["docker/api.Dockerfile", "api/main.go", "worker/Dockerfile"],
        );
        let plan = Plan::new(&p, &options(Output::OciLayout));
        let bake = plan.bake.as_ref().unwrap();
        assert_eq!(
            crate::shell::join(&bake.command),
            "docker buildx bake --file /work/bake.json --metadata-file /work/bake.metadata.json --progress=rawjson"
        );
        let f = &bake.file;
        assert_eq!(f["group"]["default"]["targets"], json!(["api", "worker"]));
        assert_eq!(
            f["target"]["api"]["dockerfile"],
            json!("../docker/api.Dockerfile")
        );
        assert_eq!(f["target"]["api"]["args"], json!({"A": "b"}));
        assert_eq!(
            f["target"]["api"]["attest"],
            json!(["type=provenance,disabled=true", "type=sbom,disabled=true"])
        );
        assert_eq!(f["target"]["worker"]["dockerfile"], json!("Dockerfile"));
        assert_eq!(
            f["target"]["worker"]["platforms"],
            json!(["linux/amd64", "linux/arm64"])
        );
        assert_eq!(
            f["target"]["worker"]["attest"],
            json!(["type=provenance,mode=min", "type=sbom,disabled=true"])
        );
        assert_eq!(
            f["target"]["worker"]["output"],
            json!(["type=oci,tar=false,dest=/work/worker"])
        );
        assert_eq!(plan.commands().len(), 1);
    }

    #[test]
    fn local_builds_load_the_host_platform_under_the_tags() {
        let (_d, p) = project(ISSUE, &["Dockerfile"]);
        let plan = Plan::new(&p, &options(Output::OciLayout));
        let argv = plan.images[0].local_argv(&[Platform::linux("arm64", "")]);
        assert_eq!(
            crate::shell::join(&argv),
            "docker buildx build --platform linux/arm64 --file Dockerfile --build-arg RUST_VERSION=1.83 \
             --progress=rawjson --provenance=false --load \
             --tag 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api:latest \
             --tag 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api:abc123 ."
        );
    }

    #[test]
    fn relative_paths_for_bake() {
        assert_eq!(relative_to("Dockerfile", "."), "Dockerfile");
        assert_eq!(relative_to("api/Dockerfile", "api"), "Dockerfile");
        assert_eq!(
            relative_to("docker/x.Dockerfile", "api"),
            "../docker/x.Dockerfile"
        );
        assert_eq!(relative_to("./a/b/Dockerfile", "a/c"), "../b/Dockerfile");
    }
}
