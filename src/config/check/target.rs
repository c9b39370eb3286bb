//! An image's `targets:` — where it runs: a catalog service (with `arch:`), a
//! `platform:`, or `from:` a deployment file whose workloads state their platforms — and
//! `cluster_archs:`, the platforms for Kubernetes workloads that do not. Each target ends
//! up with its platforms, manifest kind (index or single) and tag.

use serde_saphyr::Spanned;

use super::push_unique;
use crate::catalog::{Attestations, Catalog, ManifestKind, Service};
use crate::config::raw::{OneOrMany, RawTarget};
use crate::config::{Checker, ConfigError, Pos, Target};
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

    /// A target: `tag:` first, then either `platform:` or `service:` (with `arch:`);
    /// each error at its own field.
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
            (None, Some(p)) => self.platform_target(t, p, tag, pos),
            (Some(s), None) => self.service_target(catalog, t, s, tag, pos),
        }
    }

    /// A `platform:` target: its platforms as written; with its own `tag:`, one
    /// platform's manifest, so exactly one platform.
    fn platform_target(
        &self,
        t: &RawTarget,
        p: &Spanned<OneOrMany>,
        tag: Option<(String, Pos)>,
        pos: Pos,
    ) -> Result<Target, ConfigError> {
        if let Some(a) = &t.arch {
            return Err(self.err(
                self.pos(a),
                "`arch:` goes with `service:`; with `platform:` write the whole platform",
                None,
            ));
        }
        let mut platforms = Vec::new();
        for item in p.value.items() {
            let parsed =
                Platform::parse(&item).map_err(|e| self.err(self.pos(p), e.to_string(), None))?;
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
            stated_by: None,
        })
    }

    /// A `service:` target: the service from the catalog, its platforms (`arch:` or
    /// its default), and the tag its manifest kind calls for.
    fn service_target(
        &self,
        catalog: &Catalog,
        t: &RawTarget,
        s: &Spanned<String>,
        tag: Option<(String, Pos)>,
        pos: Pos,
    ) -> Result<Target, ConfigError> {
        let Some(service) = catalog.get(&s.value) else {
            let message = format!(
                "unknown service `{}`{}",
                s.value,
                catalog.did_you_mean(&s.value)
            );
            return Err(self.err(
                self.pos(s),
                message,
                Some(
                    "`mpbuild targets` lists the services mpbuild knows; `platform: OS/ARCH` names any other"
                        .into(),
                ),
            ));
        };
        let platforms = match &t.arch {
            None => service.default_platforms(&self.env.host),
            Some(a) => self.service_archs(service, a)?,
        };
        let arch_pos = t.arch.as_ref().map(|a| self.pos(a)).unwrap_or(pos);
        let tag = self.service_tag(service, platforms.len(), tag, pos, arch_pos)?;
        Ok(Target::of_service(service, platforms, tag, pos, None))
    }

    /// `arch:` of a service target: each architecture one the service runs.
    fn service_archs(
        &self,
        service: &Service,
        a: &Spanned<OneOrMany>,
    ) -> Result<Vec<Platform>, ConfigError> {
        let host = &self.env.host;
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
        Ok(out)
    }

    /// The tag of a service target: a single-manifest service needs a `tag:` of the
    /// target's own and one platform; an index service takes the image's `tags:` only.
    fn service_tag(
        &self,
        service: &Service,
        platforms: usize,
        tag: Option<(String, Pos)>,
        pos: Pos,
        arch_pos: Pos,
    ) -> Result<Option<String>, ConfigError> {
        match (service.manifest, tag) {
            (ManifestKind::Single, None) => Err(self.err(
                pos,
                format!(
                    "{} needs a single-platform image manifest, so its target needs a `tag:` of its own",
                    service.name
                ),
                Some(format!(
                    "add `tag: \"${{GIT_SHA}}-{}\"` to this target; deploy {} from that tag",
                    service.name, service.title
                )),
            )),
            (ManifestKind::Single, Some(_)) if platforms != 1 => Err(self.err(
                arch_pos,
                format!(
                    "{} takes one architecture per image; this target lists {platforms}",
                    service.name,
                ),
                Some("write one target per architecture, each with its own tag".into()),
            )),
            (ManifestKind::Single, Some((v, _))) => Ok(Some(v)),
            (ManifestKind::Index, Some((_, tag_pos))) => Err(self.err(
                tag_pos,
                format!(
                    "{} takes the multi-platform index, which gets the image's `tags:`; `tag:` is for single-manifest targets",
                    service.name
                ),
                Some("move this tag to the image's `tags:` list".into()),
            )),
            (ManifestKind::Index, None) => Ok(None),
        }
    }
}
