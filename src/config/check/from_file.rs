//! `from:` targets: the platforms an image needs, read from the deployment file that
//! runs it (see `crate::deploy`), checked like written targets. Workloads of the file
//! that do not run the image are kept as ignored, with why, for `mpbuild plan` to show.

use std::path::Path;

use serde_saphyr::Spanned;

use crate::catalog::{Attestations, Catalog, ManifestKind};
use crate::config::raw::RawTarget;
use crate::config::{Checker, ConfigError, Pos, Target};
use crate::deploy::{DeployError, Found, Selection};
use crate::platform::Platform;

/// What a `from:` target gave: its targets, and the workloads left out (`FILE:LINE
/// resource: why`).
pub(in crate::config) struct FromFile {
    pub targets: Vec<Target>,
    pub ignored: Vec<String>,
}

impl Checker<'_> {
    /// Targets read from a deployment file (`from:`), checked like written ones.
    pub(in crate::config) fn targets_from_file(
        &self,
        catalog: &Catalog,
        dir: &Path,
        image: &str,
        repository: &str,
        raw: &Spanned<RawTarget>,
        cluster: Option<&[Platform]>,
    ) -> Result<FromFile, ConfigError> {
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
        let resource = t.resource.as_ref();
        let Selection { found, ignored } = crate::deploy::read_for_image(
            &path,
            &from.value,
            resource.map(|r| r.value.as_str()),
            cluster,
            repository,
        )
        .map_err(|e| {
            let pos = resource
                .filter(|_| matches!(e, DeployError::NoSuchResource { .. }))
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
        self.one_tag_per_function(catalog, &found, &from.value, tag.is_some(), at)?;
        let mut targets = Vec::new();
        for f in &found {
            targets.push(self.target_of(catalog, f, tag.as_ref().map(|(v, _)| v), at)?);
        }
        if let Some((_, tag_pos)) = &tag
            && !targets.iter().any(|t| t.tag.is_some())
        {
            return Err(self.err(
                *tag_pos,
                "`tag:` is for single-manifest targets; this file's workloads take the image index",
                Some("move this tag to the image's `tags:` list".into()),
            ));
        }
        let ignored = ignored
            .into_iter()
            .map(|i| format!("{} {}: {}", i.at, i.resource, i.why))
            .collect();
        Ok(FromFile { targets, ignored })
    }

    fn one_tag_per_function(
        &self,
        catalog: &Catalog,
        found: &[Found],
        file: &str,
        tagged: bool,
        at: Pos,
    ) -> Result<(), ConfigError> {
        let singles = found
            .iter()
            .filter(|f| {
                f.service
                    .as_deref()
                    .and_then(|s| catalog.get(s))
                    .is_some_and(|s| s.manifest == ManifestKind::Single)
            })
            .count();
        if singles > 1 && tagged {
            let names: Vec<&str> = found.iter().map(|f| f.resource.as_str()).collect();
            return Err(self.err(
                at,
                format!(
                    "{file} holds {singles} functions that each need their own tag ({})",
                    names.join(", ")
                ),
                Some("write one target per function with `resource:` and its own `tag:`".into()),
            ));
        }
        Ok(())
    }

    /// The target of one workload: a platform stated directly (compose), or a catalog
    /// service whose rules the platforms must keep.
    fn target_of(
        &self,
        catalog: &Catalog,
        f: &Found,
        tag: Option<&String>,
        at: Pos,
    ) -> Result<Target, ConfigError> {
        let Some(name) = &f.service else {
            return Ok(Target {
                service: None,
                platforms: f.platforms.clone(),
                manifest: ManifestKind::Index,
                attestations: Attestations::Ok,
                media_types: None,
                tag: None,
                pos: at,
                origin: Some(f.source.clone()),
                // Only compose states a platform without a service (deploy::compose).
                stated_by: Some("compose"),
            });
        };
        let Some(service) = catalog.get(name) else {
            return Err(self.err(
                at,
                format!("{}: service `{name}` is not in the catalog", f.source),
                None,
            ));
        };
        let platforms = f.platforms_with(catalog, &self.env.host);
        for p in &platforms {
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
        let tag = match (service.manifest, tag) {
            (ManifestKind::Single, None) => {
                return Err(self.err(
                    at,
                    format!("{}: {} `{}` needs a single-platform image manifest, so this target needs a `tag:` of its own", f.source, service.name, f.resource),
                    Some(format!("add `tag: \"${{GIT_SHA}}-{}\"` to this target", service.name)),
                ));
            }
            (ManifestKind::Single, Some(v)) => {
                if platforms.len() != 1 {
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
        Ok(Target::of_service(
            service,
            platforms,
            tag,
            at,
            Some(f.source.clone()),
        ))
    }
}
