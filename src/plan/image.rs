//! An image's plan, made from the project: its platforms and tags, the buildx argv
//! (build options as flags, attestations, output), its fingerprints, and the images it
//! takes as `target:` contexts, each planned the same way for its platforms.

use serde_json::{Value, json};

use super::cache;
use super::options::{self, bake_name};
use super::types::*;
use crate::catalog::{Attestations, Catalog, Fact, ManifestKind, MediaTypes};
use crate::config::{AttestationMode, Image, Project, Target};
use crate::digest::Digest;
use crate::platform::{self, Platform};

pub(super) fn image_plan(project: &Project, image: &Image, options: &Options) -> ImagePlan {
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
            in_catalog: t.service.is_some(),
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
    let (attestations_mode, attestations_reason) = attestations(&project.catalog, image);
    let attestations = attestations_mode != AttestationMode::Off;
    let metadata_file = options
        .work_dir
        .join(format!("{}.metadata.json", image.name));
    let oci_dir = (options.output == Output::OciLayout).then(|| options.work_dir.join(&image.name));
    let mut plan = ImagePlan {
        name: image.name.clone(),
        repository: image.repository.clone(),
        also: image.also.clone(),
        platforms,
        tags: image.tags.clone(),
        left_out: image.left_out.clone(),
        targets,
        ignored: image.ignored.clone(),
        single_tags,
        attestations,
        attestations_mode,
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
    link(project, image, &mut plan, options);
    plan.command = build_argv(image, &plan, options);
    plan.fingerprint = fingerprint(&plan, true);
    plan.build_fingerprint = fingerprint(&plan, false);
    plan
}

/// See [`ImagePlan::fingerprint`]. The argv is taken without what depends on the
/// machine (builder, metadata file, output, progress) or is listed apart (platforms);
/// a target's file:line is left out, so a comment added to mpbuild.yaml changes nothing.
pub(super) fn fingerprint(plan: &ImagePlan, with_tags: bool) -> Digest {
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
    if plan.attestations_mode == AttestationMode::Referrers {
        doc["attestations_mode"] = json!("referrers");
    }
    if plan.docker_media_types {
        doc["media_types"] = json!("docker");
    }
    if with_tags && !plan.also.is_empty() {
        doc["also"] = json!(plan.also.iter().map(|r| r.as_written()).collect::<Vec<_>>());
    }
    if let Some(text) = &plan.options.dockerfile_inline {
        doc["dockerfile_inline"] = json!(Digest::sha256(text.as_bytes()));
    }
    Digest::sha256(doc.to_string().as_bytes())
}

/// Where an image's attestations go. Explicit in the project file, else: inside the
/// index only where every target is *confirmed* to accept attestation manifests there
/// (a catalog entry that says `attestations: ok` without a source confirming it counts
/// as unconfirmed); otherwise out of it, as referrers of each platform manifest — so no
/// image goes without provenance. `media_types: docker` builds none (buildx makes them
/// only with OCI media types).
fn attestations(catalog: &Catalog, image: &Image) -> (AttestationMode, String) {
    if let Some(explicit) = image.attestations {
        return (
            explicit,
            format!("{}: set in the project file", explicit.as_str()),
        );
    }
    if image.docker_media_types {
        return (
            AttestationMode::Off,
            "off: media_types: docker (buildx makes attestations only with OCI media types, and a Docker manifest list cannot hold them)"
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
        return (
            AttestationMode::Index,
            "index: every target is confirmed to accept attestation manifests in an index".into(),
        );
    }
    let mut uniq: Vec<String> = Vec::new();
    for b in blockers {
        if !uniq.contains(&b) {
            uniq.push(b);
        }
    }
    (
        AttestationMode::Referrers,
        format!(
            "referrers of each platform manifest, out of the index ({})",
            uniq.join("; ")
        ),
    )
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

pub(super) fn output_spec(plan: &ImagePlan) -> String {
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

pub(super) fn build_argv(image: &Image, plan: &ImagePlan, options: &Options) -> Vec<String> {
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

/// Plans the images `plan` takes as `target:` contexts, for `plan`'s platforms. The
/// project's checker has refused loops and unknown images.
pub(super) fn link(project: &Project, image: &Image, plan: &mut ImagePlan, options: &Options) {
    plan.linked = image
        .options
        .project_contexts()
        .filter_map(|(context, other)| {
            let dep = project.images.iter().find(|i| i.name == other)?;
            let mut p = image_plan(project, dep, options);
            p.platforms = plan.platforms.clone();
            p.tags = Vec::new();
            p.single_tags = Vec::new();
            p.also = Vec::new();
            p.smoke = None;
            link(project, dep, &mut p, options);
            p.command = build_argv(dep, &p, options);
            p.fingerprint = fingerprint(&p, true);
            p.build_fingerprint = fingerprint(&p, false);
            let target = format!("{}--{}", plan.name, bake_name(context));
            for l in &mut p.linked {
                l.target = format!("{target}--{}", bake_name(&l.context));
            }
            Some(Linked {
                context: context.to_string(),
                target,
                plan: Box::new(p),
            })
        })
        .collect();
}
