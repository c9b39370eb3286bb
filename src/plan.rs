//! The build plan: pure data computed from a checked [`Project`] — which platforms each
//! image must hold and why, which tags it gets, and the exact `docker buildx build` argv
//! (one image) or `docker buildx bake` file (several). No side effects here: the buildx
//! runner and the registry client carry the plan out.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Value, json};

use crate::catalog::{Attestations, Catalog, Fact, ManifestKind, MediaTypes};
use crate::config::{Image, Project, Target};
use crate::digest::Digest;
use crate::platform::{self, Platform};
use crate::registry::Repository;

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
    /// What the plan was made with (for a part of it: [`Plan::only`]).
    #[serde(skip)]
    pub options: Options,
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
    /// Serialised as written in the project file.
    pub repository: Repository,
    /// The union of every target's platforms, in the order first named.
    pub platforms: Vec<Platform>,
    /// Tags that will point at the verified index.
    pub tags: Vec<String>,
    /// Tags and labels this build does not make (a git part it has no value for, a
    /// `when:` it is not): (as written, why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<(String, String)>,
    pub targets: Vec<TargetPlan>,
    /// Workloads of its `from:` files that run other images: `FILE:LINE resource: why`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
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
    pub fingerprint: Digest,
    /// The same without the tags: what the build makes, not where it is published. With
    /// the Dockerfile, the context and the base images' digests it is the image's inputs
    /// fingerprint, which lets `push` skip an unchanged image.
    #[serde(skip)]
    pub build_fingerprint: Digest,
    /// `rebuild: always`: never skipped as unchanged.
    #[serde(skip)]
    pub rebuild_always: bool,
    /// The build args, as given to buildx (for the Dockerfile's `FROM` expansion).
    #[serde(skip)]
    pub build_args: Vec<(String, String)>,
    /// `cache: local`: the image's directory in the project's work directory (one
    /// directory per platform in it).
    #[serde(skip)]
    pub local_cache: PathBuf,
    /// The smoke run, when the image declares one (not part of the fingerprint: it checks
    /// the image, it does not make it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokePlan>,
    /// How its digests are signed before a tag moves (not part of the fingerprint: a
    /// signature is about the image, not in it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign: Option<crate::signing::Signer>,
    /// The build options (`ssh`, `contexts`, `labels`, …), as the argv carries them.
    #[serde(skip)]
    pub options: crate::config::BuildOptions,
    /// Other images of the project built as named contexts of this one (`target:`).
    #[serde(skip)]
    pub linked: Vec<Linked>,
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
        let bake =
            (images.len() > 1 || options::needs_bake(&images)).then(|| bake(&images, options));
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
            options: options.clone(),
        }
    }

    /// The part of this plan that makes the images named in `names`, in that order: their
    /// plans as they are (with what the command changed on them), and the bake and
    /// builder assignments a plan of those images alone has. Nothing is planned again.
    pub fn only(&self, names: &[&str]) -> Plan {
        let images: Vec<ImagePlan> = names
            .iter()
            .filter_map(|n| self.images.iter().find(|i| i.name == *n))
            .cloned()
            .collect();
        let bake = (images.len() > 1 || options::needs_bake(&images))
            .then(|| bake(&images, &self.options));
        let builder = self.builder.as_ref().map(|b| {
            let mut assignments: Vec<Assignment> = Vec::new();
            for p in images.iter().flat_map(|i| i.platforms.iter()) {
                if !assignments.iter().any(|a| a.platform.matches(p))
                    && let Some(a) = b.assignments.iter().find(|a| a.platform.matches(p))
                {
                    assignments.push(a.clone());
                }
            }
            BuilderPlan {
                assignments,
                ..b.clone()
            }
        });
        Plan {
            images,
            bake,
            builder,
            options: self.options.clone(),
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
        left_out: image.left_out.clone(),
        targets,
        ignored: image.ignored.clone(),
        single_tags,
        attestations,
        attestations_reason,
        docker_media_types: image.docker_media_types,
        deep: image.deep,
        deep_all: image.deep_all,
        deep_ignore: image.deep_ignore.clone(),
        context: image.context.clone(),
        dockerfile: match &image.options.dockerfile_inline {
            Some(_) => options::inline_path(options, &image.name)
                .display()
                .to_string(),
            None => image.dockerfile.clone(),
        },
        command: Vec::new(),
        metadata_file,
        oci_dir,
        output: options.output,
        // Both made below, once the argv is known.
        fingerprint: Digest::sha256(b""),
        build_fingerprint: Digest::sha256(b""),
        rebuild_always: image.rebuild_always,
        build_args: image.build_args.clone(),
        local_cache: crate::workdir::location(&project.dir)
            .path
            .join("buildcache")
            .join(&image.name),
        smoke: None,
        sign: image.sign.clone(),
        options: image.options.clone(),
        linked: Vec::new(),
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
    options::link(project, image, &mut plan, options);
    plan.command = build_argv(image, &plan, options);
    plan.fingerprint = fingerprint(&plan, true);
    plan.build_fingerprint = fingerprint(&plan, false);
    plan
}

/// See [`ImagePlan::fingerprint`]. The argv is taken without what depends on the
/// machine (builder, metadata file, output, progress) or is listed apart (platforms);
/// a target's file:line is left out, so a comment added to mpbuild.yaml changes nothing.
fn fingerprint(plan: &ImagePlan, with_tags: bool) -> Digest {
    let mut argv: Vec<&str> = Vec::new();
    let mut it = plan.command.iter();
    while let Some(a) = it.next() {
        if let Some(values) = options::not_an_input(a) {
            for _ in 0..values {
                it.next();
            }
            continue;
        }
        match a.as_str() {
            // An inline Dockerfile's path is the run's; its text is the input (below).
            "--file" if plan.options.dockerfile_inline.is_some() => {
                it.next();
            }
            // Where the cache lives changes nothing the build makes.
            "--builder" | "--metadata-file" | "--output" | "--platform" | "--cache-from"
            | "--cache-to" => {
                it.next();
            }
            // The end of options before the context (added later): not an input.
            _ if a.starts_with("--progress=") || a == "--" => {}
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
            "repository": plan.repository.as_written(),
            "platforms": platform::join(&plan.platforms),
            "tags": plan.tags,
            "single_tags": singles,
            "targets": targets,
            "attestations": plan.attestations,
            "build": argv,
        })
    } else {
        json!({
            "repository": plan.repository.as_written(),
            "platforms": platform::join(&plan.platforms),
            "attestations": plan.attestations,
            "build": argv,
        })
    };
    // Only when asked for, so every other plan keeps the fingerprint it had.
    if plan.docker_media_types {
        doc["media_types"] = json!("docker");
    }
    if let Some(text) = &plan.options.dockerfile_inline {
        doc["dockerfile_inline"] = json!(Digest::sha256(text.as_bytes()));
    }
    Digest::sha256(doc.to_string().as_bytes())
}

impl Plan {
    /// Adds an annotation to `image`'s build (`--annotation` before the context, and the
    /// bake target's `annotations`), on the root buildx will push: the index when there is
    /// one (several platforms, or attestations), else the manifest.
    pub fn annotate(&mut self, image: &str, key: &str, value: &str) {
        let Some(i) = self.images.iter_mut().find(|i| i.name == image) else {
            return;
        };
        let level = if i.platforms.len() > 1 || i.attestations {
            "index"
        } else {
            "manifest"
        };
        let annotation = format!("{level}:{key}={value}");
        // Before the `--` that ends the options (the context follows it).
        let at = i.command.len().saturating_sub(2);
        i.command
            .splice(at..at, ["--annotation".to_string(), annotation.clone()]);
        if let Some(b) = &mut self.bake
            && let Some(t) = b.file["target"].get_mut(image)
        {
            match t.get_mut("annotations").and_then(Value::as_array_mut) {
                Some(list) => list.push(json!(annotation)),
                None => t["annotations"] = json!([annotation]),
            }
        }
    }
}

/// The repository local builds are loaded into (`mpbuild build`).
pub const LOCAL_REPOSITORY: &str = "localhost";

impl ImagePlan {
    /// The name a local build is loaded under: `localhost/NAME:PLATFORMS`
    /// (`localhost/api:linux-arm64`). Never the deploy repository's: a habitual `docker
    /// push` of it cannot put one platform over a deploy tag (`localhost` is no
    /// registry a deploy reads), and the tag says which platform it holds.
    pub fn local_name(&self, platforms: &[Platform]) -> String {
        let tag: Vec<String> = platforms
            .iter()
            .map(|p| p.to_string().replace('/', "-"))
            .collect();
        let name = self.name.to_lowercase();
        let name = name.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        format!("{LOCAL_REPOSITORY}/{name}:{}", tag.join("_"))
    }

    /// The argv of a local developer build: the same build for `platforms`, loaded into
    /// the local Docker (`--load`) under its [local name](ImagePlan::local_name), with
    /// no registry output, no attestations and no cache export.
    pub fn local_argv(&self, platforms: &[Platform]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut it = self.command.iter().peekable();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--platform" => {
                    it.next();
                    out.extend(["--platform".into(), platform::join(platforms)]);
                }
                // A local load keeps no annotations (Docker's image store has no index).
                "--metadata-file" | "--output" | "--cache-to" | "--annotation" => {
                    it.next();
                }
                "--provenance=false" | "--provenance=mode=min" | "--sbom=false" | "--sbom=true" => {
                }
                "--" => {
                    // The end of the options; the context follows.
                    out.extend(["--provenance=false".into(), "--load".into()]);
                    out.extend(["--tag".into(), self.local_name(platforms)]);
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
            plan.repository.as_written()
        ),
        _ => format!(
            "type=image,name={},push-by-digest=true,name-canonical=true,push=true",
            plan.repository.as_written()
        ),
    }
}

fn build_argv(image: &Image, plan: &ImagePlan, options: &Options) -> Vec<String> {
    let mut argv: Vec<String> = vec!["docker".into(), "buildx".into(), "build".into()];
    if let Some(b) = &options.builder {
        argv.extend(["--builder".into(), b.clone()]);
    }
    argv.extend(["--platform".into(), platform::join(&plan.platforms)]);
    argv.extend(["--file".into(), plan.dockerfile.clone()]);
    if let Some(stage) = &image.stage {
        argv.extend(["--target".into(), stage.clone()]);
    }
    for (k, v) in &image.build_args {
        argv.extend(["--build-arg".into(), format!("{k}={v}")]);
    }
    for s in &image.secrets {
        argv.extend(["--secret".into(), s.clone()]);
    }
    argv.extend(options::flags(image, plan));
    argv.extend(attest_flags(plan, image.sbom));
    argv.extend(cache::flags(
        &image.cache,
        image.repository.as_written(),
        &image.name,
        &plan.platforms,
        &plan.local_cache,
    ));
    argv.extend([
        "--metadata-file".into(),
        plan.metadata_file.display().to_string(),
        "--progress=rawjson".into(),
        "--output".into(),
        output_spec(plan),
        // The context after `--`: whatever it is spelled like, never an option.
        "--".into(),
        image.context.clone(),
    ]);
    argv
}

mod bake;
pub mod cache;
mod leg;
mod options;

use bake::bake;
pub use bake::needs_version;
pub use leg::{Leg, Matrix, MatrixEntry, runner_label};
pub use options::{Linked, write_inline};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_options;
