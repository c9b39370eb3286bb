//! `images:`: one image each: its name, repository, build context and Dockerfile (which
//! must exist), tags, build arguments, secrets and cache, then its targets (checked in
//! `target.rs`) and how the image's tags and the targets' tags fit together.

use std::path::Path;

use serde_saphyr::Spanned;

use super::tags::is_image_name;
use crate::catalog::Catalog;
use crate::config::raw::{RawImage, RawTarget, Scalar};
use crate::config::{AttestationMode, Cache, Checker, ConfigError, Image, Pos, Target, expand};
use crate::platform::Platform;

impl Checker<'_> {
    /// An image's fields, checked in the file's order, each error at its own field's
    /// position; each step reads the values checked before it (the name, the context,
    /// the targets).
    pub(in crate::config) fn image(
        &self,
        catalog: &Catalog,
        dir: &Path,
        name: Spanned<String>,
        raw: RawImage,
        defaults: crate::config::Defaults,
        cluster: Option<&[Platform]>,
    ) -> Result<Image, ConfigError> {
        let image_pos = self.pos(&name);
        let name = name.value;
        if !is_image_name(&name) {
            return Err(self.err(
                image_pos,
                format!("image name `{name}` is not valid"),
                Some("use letters, digits, `-` and `_` (it names a bake target)".into()),
            ));
        }
        let (repository, also) = self.repositories(&name, image_pos, &raw)?;
        let (context, dockerfile) = self.build_files(dir, &name, image_pos, &raw)?;
        let mut left_out = Vec::new();
        let options = self.build_options(dir, &name, &raw, &mut left_out)?;
        let tags = self.image_tags(&raw.tags, &mut left_out)?;
        let build_args = self.build_args(raw.build_args)?;
        let secrets = self.secrets(&raw.secrets)?;
        let cache = match raw.cache {
            Some(c) => self.cache(c)?,
            None => Cache::None,
        };
        let (targets, ignored) = self.image_targets(
            catalog,
            dir,
            &name,
            repository.as_written(),
            &raw.targets,
            cluster,
        )?;
        self.tags_fit(&name, image_pos, &tags, &targets, &left_out)?;
        let smoke = match raw.smoke {
            Some(s) => Some(self.smoke(&name, s, &targets)?),
            None => None,
        };
        let rebuild_always = self.rebuild(raw.rebuild)?;
        let docker_media_types = self.docker_media_types(raw.media_types.as_ref())?;
        let attestations = self.image_attestations(
            &name,
            raw.attestations.as_ref(),
            docker_media_types,
            defaults.attestations,
        )?;
        let (deep, deep_all) = match &raw.deep {
            Some(d) => self.deep(d)?,
            None => defaults.deep,
        };
        let deep_ignore = self.deep_ignore(&name, &raw.deep_ignore, deep_all)?;
        Ok(Image {
            name,
            repository,
            also,
            context,
            dockerfile,
            stage: raw.stage.map(|s| s.value),
            tags,
            build_args,
            secrets,
            cache,
            attestations,
            sbom: raw.sbom.unwrap_or(false),
            docker_media_types,
            deep,
            deep_all,
            deep_ignore,
            targets,
            ignored,
            smoke,
            rebuild_always,
            options,
            left_out,
            sign: None,
            line: image_pos.line,
        })
    }

    /// The build context (a directory) and the Dockerfile (a file, unless written
    /// inline), neither starting with `-`.
    fn build_files(
        &self,
        dir: &Path,
        name: &str,
        image_pos: Pos,
        raw: &RawImage,
    ) -> Result<(String, String), ConfigError> {
        let context = raw
            .context
            .as_ref()
            .map(|c| c.value.clone())
            .unwrap_or_else(|| ".".into());
        // A path starting with `-` reads as an option to buildx (`--output=…`, `-` for
        // standard input); `./-x` names the same directory.
        for (what, field) in [
            ("build context", &raw.context),
            ("Dockerfile", &raw.dockerfile),
        ] {
            if let Some(v) = field.as_ref().filter(|v| v.value.starts_with('-')) {
                return Err(self.err(
                    self.pos(v),
                    format!(
                        "image `{name}`: {what} `{}` starts with `-`, which buildx would read as an option",
                        v.value
                    ),
                    Some(format!("write it as `./{}` if that is its name", v.value)),
                ));
            }
        }
        let context_dir = dir.join(&context);
        if !context_dir.is_dir() {
            let pos = raw
                .context
                .as_ref()
                .map(|c| self.pos(c))
                .unwrap_or(image_pos);
            return Err(self.err(
                pos,
                format!(
                    "image `{name}`: build context `{context}` is not a directory ({})",
                    context_dir.display()
                ),
                Some("`context:` is relative to the directory holding mpbuild.yaml".into()),
            ));
        }
        let dockerfile = match &raw.dockerfile {
            Some(d) => d.value.clone(),
            None => join_rel(&context, "Dockerfile"),
        };
        if raw.dockerfile_inline.is_none() && !dir.join(&dockerfile).is_file() {
            let pos = raw
                .dockerfile
                .as_ref()
                .map(|d| self.pos(d))
                .unwrap_or(image_pos);
            return Err(self.err(
                pos,
                format!("image `{name}`: no Dockerfile at `{dockerfile}`"),
                Some("set `dockerfile:` (relative to the directory holding mpbuild.yaml)".into()),
            ));
        }
        Ok((context, dockerfile))
    }

    /// `build_args:`, variables expanded; a number YAML may have rounded is refused.
    fn build_args(
        &self,
        raw: Vec<(Spanned<String>, Spanned<Scalar>)>,
    ) -> Result<Vec<(String, String)>, ConfigError> {
        let mut build_args = Vec::new();
        for (k, v) in raw {
            let value = match &v.value {
                Scalar::Text(s) => {
                    expand(s, self.env.var).map_err(|u| self.unset(u, self.pos(&v)))?
                }
                Scalar::Float(f) => {
                    return Err(self.err(
                        self.pos(&v),
                        format!(
                            "build argument `{}` is the number {f}, which YAML may have rounded",
                            k.value
                        ),
                        Some(format!("quote it: {}: \"…\"", k.value)),
                    ));
                }
            };
            build_args.push((k.value, value));
        }
        Ok(build_args)
    }

    /// `secrets:`, each as buildx's `--secret` takes it.
    fn secrets(&self, raw: &[Spanned<String>]) -> Result<Vec<String>, ConfigError> {
        let mut secrets = Vec::new();
        for s in raw {
            check_secret(&s.value).map_err(|m| {
                self.err(
                    self.pos(s),
                    m,
                    Some("write `id=NAME,src=FILE` or `id=NAME,env=VAR` (buildx --secret)".into()),
                )
            })?;
            secrets.push(s.value.clone());
        }
        Ok(secrets)
    }

    /// `targets:` (at least one): written ones, and those a deployment file states
    /// (`from:`) with the workloads it leaves out.
    fn image_targets(
        &self,
        catalog: &Catalog,
        dir: &Path,
        name: &str,
        repository: &str,
        raw: &Spanned<Vec<Spanned<RawTarget>>>,
        cluster: Option<&[Platform]>,
    ) -> Result<(Vec<Target>, Vec<String>), ConfigError> {
        if raw.value.is_empty() {
            return Err(self.err(
                self.pos(raw),
                format!("image `{name}` has no targets"),
                Some(
                    "add at least one, e.g. `- service: apprunner` (see `mpbuild targets`)".into(),
                ),
            ));
        }
        let mut targets = Vec::new();
        let mut ignored = Vec::new();
        for t in &raw.value {
            if t.value.from.is_some() {
                let from = self.targets_from_file(catalog, dir, name, repository, t, cluster)?;
                targets.extend(from.targets);
                ignored.extend(from.ignored);
            } else {
                if let Some(r) = &t.value.resource {
                    return Err(self.err(self.pos(r), "`resource:` goes with `from:`", None));
                }
                targets.push(self.target(catalog, name, t)?);
            }
        }
        Ok((targets, ignored))
    }

    /// The image's tags and its targets' own tags fit together: a single-platform tag
    /// names one platform and is none of the image's tags, and something is published.
    fn tags_fit(
        &self,
        name: &str,
        image_pos: Pos,
        tags: &[String],
        targets: &[Target],
        left_out: &[(String, String)],
    ) -> Result<(), ConfigError> {
        self.check_single_tags(name, targets)?;
        for t in targets {
            if let Some(tag) = &t.tag
                && tags.contains(tag)
            {
                return Err(self.err(
                    t.pos,
                    format!(
                        "`{}` target's tag `{tag}` is also one of the image's tags; the two would point at different manifests",
                        t.label()
                    ),
                    Some("give the single-platform target a tag of its own, e.g. \"${GIT_SHA}-lambda\"".into()),
                ));
            }
        }
        if tags.is_empty() && targets.iter().all(|t| t.tag.is_none()) {
            let why: Vec<String> = left_out
                .iter()
                .map(|(t, why)| format!("`{t}` left out: {why}"))
                .collect();
            return Err(self.err(
                image_pos,
                format!(
                    "image `{name}` has no tags{}: nothing would be published",
                    if why.is_empty() { String::new() } else { format!(" for this build ({})", why.join("; ")) }
                ),
                Some("add `tags: [latest, \"${GIT_SHA}\"]`, or one every build makes, such as \"sha-{{short_sha}}\"".into()),
            ));
        }
        Ok(())
    }

    /// `rebuild:` — `always` (true) or `auto` (the default).
    fn rebuild(&self, raw: Option<Spanned<String>>) -> Result<bool, ConfigError> {
        Ok(match raw {
            None => false,
            Some(r) => match r.value.as_str() {
                "always" => true,
                "auto" => false,
                other => {
                    return Err(self.err(
                        self.pos(&r),
                        format!("`rebuild: {other}` is not a choice"),
                        Some("`rebuild: always` (never skip the build) or `rebuild: auto` (the default: skip it when the inputs did not change)".into()),
                    ));
                }
            },
        })
    }

    /// `media_types:` — `docker` (true) or `oci` (the default).
    fn docker_media_types(&self, raw: Option<&Spanned<String>>) -> Result<bool, ConfigError> {
        match raw.map(|m| m.value.as_str()) {
            None | Some("oci") => Ok(false),
            Some("docker") => Ok(true),
            Some(other) => Err(self.err(
                self.pos(raw.unwrap()),
                format!("unknown media_types `{other}`"),
                Some("valid: `docker` (Docker V2 schema 2 manifests and a Docker manifest list on every tag) or `oci` (the default)".into()),
            )),
        }
    }

    /// The image's `attestations:`, else the project's default where it can go: an
    /// image of Docker media types builds none unless it says otherwise (and it cannot
    /// say index or referrers).
    fn image_attestations(
        &self,
        name: &str,
        raw: Option<&Spanned<crate::config::raw::RawAttestations>>,
        docker_media_types: bool,
        default: Option<AttestationMode>,
    ) -> Result<Option<AttestationMode>, ConfigError> {
        let attestations = match raw {
            Some(a) => Some(self.attestations(a)?),
            None if docker_media_types => None,
            None => default,
        };
        if docker_media_types
            && let Some(a) = raw
            && let Some(mode @ (AttestationMode::Index | AttestationMode::Referrers)) = attestations
        {
            return Err(self.err(
                self.pos(a),
                format!(
                    "image `{name}`: `attestations: {}` cannot go with `media_types: docker`",
                    mode.as_str()
                ),
                Some(match mode {
                    AttestationMode::Index => "a Docker manifest list cannot hold attestation manifests; drop one of the two, or write `attestations: off` for this image".into(),
                    _ => "buildx makes attestations only with OCI media types; drop one of the two, or write `attestations: off` for this image".into(),
                }),
            ));
        }
        Ok(attestations)
    }

    /// `deep_ignore:`: absolute paths or globs in the image, only with `deep: all`.
    fn deep_ignore(
        &self,
        name: &str,
        raw: &[Spanned<String>],
        deep_all: bool,
    ) -> Result<Vec<String>, ConfigError> {
        let mut deep_ignore = Vec::new();
        for pattern in raw {
            if !pattern.value.starts_with('/') {
                return Err(self.err(
                    self.pos(pattern),
                    format!(
                        "deep_ignore: `{}` is not an absolute path in the image",
                        pattern.value
                    ),
                    Some("write a path or glob from the image's root, e.g. /usr/bin/qemu-* or /opt/cross".into()),
                ));
            }
            deep_ignore.push(pattern.value.clone());
        }
        if let Some(first) = raw.first()
            && !deep_all
        {
            return Err(self.err(
                self.pos(first),
                format!("image `{name}`: `deep_ignore:` goes with `deep: all`"),
                Some("the entrypoint check follows what the image runs; `deep: all` checks every executable ELF file, and `deep_ignore:` leaves some out".into()),
            ));
        }
        Ok(deep_ignore)
    }
}

impl Checker<'_> {
    /// `attestations:` → where they go: `index`/`true`, `referrers`, `off`/`false`.
    pub(in crate::config) fn attestations(
        &self,
        raw: &Spanned<crate::config::raw::RawAttestations>,
    ) -> Result<AttestationMode, ConfigError> {
        use crate::config::raw::RawAttestations;
        match &raw.value {
            RawAttestations::Bool(true) => Ok(AttestationMode::Index),
            RawAttestations::Bool(false) => Ok(AttestationMode::Off),
            RawAttestations::Word(w) => match w.as_str() {
                "index" => Ok(AttestationMode::Index),
                "referrers" => Ok(AttestationMode::Referrers),
                "off" => Ok(AttestationMode::Off),
                _ => Err(self.err(
                    self.pos(raw),
                    format!("attestations: `{w}` is not valid"),
                    Some("write `index` (inside the image index, for targets that accept them there), `referrers` (each one an OCI 1.1 referrer of its platform manifest) or `off`".into()),
                )),
            },
        }
    }

    /// `deep:` → (check, every executable): `true`/`entrypoint`, `all`, or `false`.
    pub(in crate::config) fn deep(
        &self,
        raw: &Spanned<crate::config::raw::RawDeep>,
    ) -> Result<(bool, bool), ConfigError> {
        use crate::config::raw::RawDeep;
        match &raw.value {
            RawDeep::Bool(b) => Ok((*b, false)),
            RawDeep::Word(w) if w == "entrypoint" => Ok((true, false)),
            RawDeep::Word(w) if w == "all" => Ok((true, true)),
            RawDeep::Word(w) => Err(self.err(
                self.pos(raw),
                format!("deep: `{w}` is not valid"),
                Some("write `true` or `entrypoint` (the programs the image runs), `all` (every executable ELF file), or `false`".into()),
            )),
        }
    }
}

fn join_rel(dir: &str, file: &str) -> String {
    if dir == "." || dir.is_empty() {
        file.to_string()
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    }
}

/// `id=NAME,src=FILE` / `id=NAME,env=VAR` / `id=NAME` (buildx `--secret`).
fn check_secret(spec: &str) -> Result<(), String> {
    let mut id = false;
    for part in spec.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("secret `{spec}`: `{part}` is not KEY=VALUE"));
        };
        if v.is_empty() {
            return Err(format!("secret `{spec}`: `{k}` has no value"));
        }
        match k {
            "id" => id = true,
            "src" | "source" | "env" | "type" => {}
            other => return Err(format!("secret `{spec}`: unknown key `{other}`")),
        }
    }
    if id {
        Ok(())
    } else {
        Err(format!("secret `{spec}` has no `id=`"))
    }
}
