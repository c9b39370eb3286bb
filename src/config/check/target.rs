//! An image's `targets:` — where it runs: a catalog service (with `arch:`), a
//! `platform:`, or `from:` a deployment file whose workloads state their platforms — and
//! `cluster_archs:`, the platforms for Kubernetes workloads that do not. Each target ends
//! up with its platforms, manifest kind (index or single) and tag.

use std::path::Path;

use serde_saphyr::Spanned;

use super::push_unique;
use crate::catalog::{Attestations, Catalog, ManifestKind};
use crate::config::raw::{OneOrMany, RawTarget};
use crate::config::{Checker, ConfigError, Target};
use crate::platform::Platform;

impl Checker<'_> {
    /// `cluster_archs:`, if given.
    pub(in crate::config) fn cluster_archs(
        &self,
        raw: Option<&Spanned<OneOrMany>>,
    ) -> Result<Option<Vec<Platform>>, ConfigError> {
        Ok(match raw {
            None => None,
            Some(c) => {
                let mut v = Vec::new();
                for a in c.value.items() {
                    let p = Platform::parse(&a).map_err(|e| {
                        self.err(
                            self.pos(c),
                            format!("cluster_archs: {e}"),
                            Some("e.g. `cluster_archs: [amd64, arm64]`".into()),
                        )
                    })?;
                    push_unique(&mut v, p);
                }
                Some(v)
            }
        })
    }

    pub(super) fn target(
        &self,
        catalog: &Catalog,
        image: &str,
        raw: &Spanned<RawTarget>,
    ) -> Result<Target, ConfigError> {
        let pos = self.pos(raw);
        let t = &raw.value;
        let tag = match &t.tag {
            Some(tag) => {
                let v = self.expand(tag)?;
                self.check_tag(&v, self.pos(tag))?;
                Some((v, self.pos(tag)))
            }
            None => None,
        };
        match (&t.service, &t.platform) {
            (Some(_), Some(p)) => Err(self.err(
                self.pos(p),
                "a target has either `service:` or `platform:`, not both",
                Some("use `service:` with `arch:` to pick the service's architecture".into()),
            )),
            (None, None) => Err(self.err(
                pos,
                format!("image `{image}`: a target needs `service:` or `platform:`"),
                Some("e.g. `- service: apprunner` or `- platform: linux/arm/v7`".into()),
            )),
            (None, Some(p)) => {
                if let Some(a) = &t.arch {
                    return Err(self.err(
                        self.pos(a),
                        "`arch:` goes with `service:`; with `platform:` write the whole platform",
                        None,
                    ));
                }
                let mut platforms = Vec::new();
                for item in p.value.items() {
                    let parsed = Platform::parse(&item)
                        .map_err(|e| self.err(self.pos(p), e.to_string(), None))?;
                    push_unique(&mut platforms, parsed);
                }
                let manifest = if tag.is_some() {
                    ManifestKind::Single
                } else {
                    ManifestKind::Index
                };
                if manifest == ManifestKind::Single && platforms.len() != 1 {
                    return Err(self.err(
                        self.pos(p),
                        "a target with its own `tag:` points at one platform's manifest; this one lists several",
                        Some("split it into one target per platform, each with its own tag".into()),
                    ));
                }
                Ok(Target {
                    service: None,
                    platforms,
                    manifest,
                    attestations: Attestations::Ok,
                    media_types: None,
                    tag: tag.map(|(v, _)| v),
                    pos,
                    origin: None,
                })
            }
            (Some(s), None) => {
                let Some(service) = catalog.get(&s.value) else {
                    let mut message = format!("unknown service `{}`", s.value);
                    if let Some(near) = catalog.suggest(&s.value) {
                        message.push_str(&format!("; did you mean `{near}`?"));
                    }
                    return Err(self.err(
                        self.pos(s),
                        message,
                        Some(
                            "`mpbuild targets` lists the services mpbuild knows; `platform: OS/ARCH` names any other"
                                .into(),
                        ),
                    ));
                };
                let host = &self.env.host;
                let platforms = match &t.arch {
                    None => service.default_platforms(host),
                    Some(a) => {
                        let items = a.value.items();
                        if items.is_empty() {
                            return Err(self.err(self.pos(a), "`arch:` is empty", None));
                        }
                        let mut out = Vec::new();
                        for item in items {
                            let p = service.parse_arch(&item).map_err(|e| {
                                self.err(
                                    self.pos(a),
                                    format!("{}: {e}", service.name),
                                    Some(format!(
                                        "{} runs {}; its setting: {}",
                                        service.title,
                                        service.runs_display(host),
                                        service.arch_field
                                    )),
                                )
                            })?;
                            if !service.can_run(&p, host) {
                                return Err(self.err(
                                    self.pos(a),
                                    format!("{} cannot run {p}", service.name),
                                    Some(service.rule(host)),
                                ));
                            }
                            push_unique(&mut out, p);
                        }
                        out
                    }
                };
                let manifest = service.manifest;
                let tag = match (manifest, tag) {
                    (ManifestKind::Single, None) => {
                        return Err(self.err(
                            pos,
                            format!(
                                "{} needs a single-platform image manifest, so its target needs a `tag:` of its own",
                                service.name
                            ),
                            Some(format!(
                                "add `tag: \"${{GIT_SHA}}-{}\"` to this target; deploy {} from that tag",
                                service.name, service.title
                            )),
                        ));
                    }
                    (ManifestKind::Single, Some((v, _))) => {
                        if platforms.len() != 1 {
                            return Err(self.err(
                                t.arch.as_ref().map(|a| self.pos(a)).unwrap_or(pos),
                                format!(
                                    "{} takes one architecture per image; this target lists {}",
                                    service.name,
                                    platforms.len()
                                ),
                                Some(
                                    "write one target per architecture, each with its own tag"
                                        .into(),
                                ),
                            ));
                        }
                        Some(v)
                    }
                    (ManifestKind::Index, Some((_, tag_pos))) => {
                        return Err(self.err(
                            tag_pos,
                            format!(
                                "{} takes the multi-platform index, which gets the image's `tags:`; `tag:` is for single-manifest targets",
                                service.name
                            ),
                            Some("move this tag to the image's `tags:` list".into()),
                        ));
                    }
                    (ManifestKind::Index, None) => None,
                };
                Ok(Target {
                    service: Some(service.name.clone()),
                    platforms,
                    manifest,
                    attestations: service.attestations,
                    media_types: service.media_types,
                    tag,
                    pos,
                    origin: None,
                })
            }
        }
    }

    /// Targets read from a deployment file (`from:`), checked like written ones.
    pub(super) fn targets_from_file(
        &self,
        catalog: &Catalog,
        dir: &Path,
        image: &str,
        repository: &str,
        raw: &Spanned<RawTarget>,
        cluster: Option<&[Platform]>,
    ) -> Result<Vec<Target>, ConfigError> {
        let t = &raw.value;
        let from = t.from.as_ref().expect("checked by the caller");
        let at = self.pos(from);
        if let Some(other) = t
            .service
            .as_ref()
            .map(|s| self.pos(s))
            .or(t.platform.as_ref().map(|p| self.pos(p)))
            .or(t.arch.as_ref().map(|a| self.pos(a)))
        {
            return Err(self.err(
                other,
                "a `from:` target takes its platforms from the file; drop `service:`, `platform:` and `arch:`",
                None,
            ));
        }
        let path = dir.join(&from.value);
        if !path.exists() {
            return Err(self.err(
                at,
                format!("image `{image}`: `{}` does not exist", from.value),
                Some("`from:` is relative to the directory holding mpbuild.yaml".into()),
            ));
        }
        let found = crate::deploy::read_for_image(
            &path,
            &from.value,
            t.resource.as_ref().map(|r| r.value.as_str()),
            cluster,
            Some(repository),
        )
        .map_err(|e| {
            let pos = t
                .resource
                .as_ref()
                .filter(|_| matches!(e, crate::deploy::DeployError::NoSuchResource { .. }))
                .map(|r| self.pos(r))
                .unwrap_or(at);
            self.err(
                pos,
                e.to_string(),
                Some("check the deployment file, or pick a resource with `resource:`".into()),
            )
        })?;
        let tag = match &t.tag {
            Some(tag) => {
                let v = self.expand(tag)?;
                self.check_tag(&v, self.pos(tag))?;
                Some((v, self.pos(tag)))
            }
            None => None,
        };
        let singles = found
            .iter()
            .filter(|f| {
                f.service
                    .as_deref()
                    .and_then(|s| catalog.get(s))
                    .is_some_and(|s| s.manifest == ManifestKind::Single)
            })
            .count();
        if singles > 1 && tag.is_some() {
            let names: Vec<&str> = found.iter().map(|f| f.resource.as_str()).collect();
            return Err(self.err(
                at,
                format!(
                    "{} holds {singles} functions that each need their own tag ({})",
                    from.value,
                    names.join(", ")
                ),
                Some("write one target per function with `resource:` and its own `tag:`".into()),
            ));
        }
        let mut out = Vec::new();
        for f in found {
            let target = match &f.service {
                None => Target {
                    service: None,
                    platforms: f.platforms.clone(),
                    manifest: ManifestKind::Index,
                    attestations: Attestations::Ok,
                    media_types: None,
                    tag: None,
                    pos: at,
                    origin: Some(f.source.clone()),
                },
                Some(name) => {
                    let Some(service) = catalog.get(name) else {
                        return Err(self.err(
                            at,
                            format!("{}: service `{name}` is not in the catalog", f.source),
                            None,
                        ));
                    };
                    for p in &f.platforms {
                        if !service.can_run(p, &self.env.host) {
                            return Err(self.err(
                                at,
                                format!(
                                    "{}: {} `{}` asks for {p}, which {} cannot run",
                                    f.source, service.name, f.resource, service.name
                                ),
                                Some(service.rule(&self.env.host)),
                            ));
                        }
                    }
                    let tag = match (service.manifest, &tag) {
                        (ManifestKind::Single, None) => {
                            return Err(self.err(
                                at,
                                format!("{}: {} `{}` needs a single-platform image manifest, so this target needs a `tag:` of its own", f.source, service.name, f.resource),
                                Some(format!("add `tag: \"${{GIT_SHA}}-{}\"` to this target", service.name)),
                            ));
                        }
                        (ManifestKind::Single, Some((v, _))) => {
                            if f.platforms.len() != 1 {
                                return Err(self.err(
                                    at,
                                    format!(
                                        "{}: {} takes one architecture per function",
                                        f.source, service.name
                                    ),
                                    None,
                                ));
                            }
                            Some(v.clone())
                        }
                        (ManifestKind::Index, _) => None,
                    };
                    Target {
                        service: Some(service.name.clone()),
                        platforms: f.platforms.clone(),
                        manifest: service.manifest,
                        attestations: service.attestations,
                        media_types: service.media_types,
                        tag,
                        pos: at,
                        origin: Some(f.source.clone()),
                    }
                }
            };
            out.push(target);
        }
        if let Some((_, tag_pos)) = &tag
            && !out.iter().any(|t| t.tag.is_some())
        {
            return Err(self.err(
                *tag_pos,
                "`tag:` is for single-manifest targets; this file's workloads take the image index",
                Some("move this tag to the image's `tags:` list".into()),
            ));
        }
        Ok(out)
    }
}
