//! What `--target SERVICE[:ARCH]` and `--platform OS/ARCH` ask for, checked against the
//! catalog: the platforms (each with the service or flag that needs it), whether a
//! single-manifest service is among them, and whether one takes Docker media types
//! only. `verify` builds its requirements from this; `config` checks a mirror's
//! `targets:` and `platforms:` with it.

use super::{Catalog, ManifestKind, MediaTypes};
use crate::exit::UsageError;
use crate::platform::Platform;

/// What the specs ask for, in the order they name it.
#[derive(Debug, Default)]
pub struct Asked {
    /// Each platform and who needs it (a service's name, or `--platform`).
    pub platforms: Vec<(Platform, String)>,
    /// A target takes a single-platform manifest.
    pub single: bool,
    /// A target that takes Docker V2 schema 2 media types only.
    pub docker: Option<String>,
}

/// Resolves `targets` (SERVICE or SERVICE:ARCH[,ARCH]) and `platforms` (OS/ARCH) on
/// `host`; a usage error says which spec is wrong and why.
pub fn resolve(
    catalog: &Catalog,
    targets: &[String],
    platforms: &[String],
    host: &Platform,
) -> Result<Asked, UsageError> {
    let mut out = Asked::default();
    for spec in targets {
        let (name, arch) = match spec.split_once(':') {
            Some((s, a)) => (s, Some(a)),
            None => (spec.as_str(), None),
        };
        let service = catalog.get(name).ok_or_else(|| {
            let hint = catalog.did_you_mean(name);
            UsageError::new(format!("--target {spec}: unknown service `{name}`{hint}"))
                .with_help("`mpbuild targets` lists the services")
        })?;
        let list = match arch {
            None => service.default_platforms(host),
            Some(a) => {
                let mut list = Vec::new();
                for item in a.split(',') {
                    let p = service.parse_arch(item).map_err(|e| {
                        UsageError::new(format!("--target {spec}: {e}"))
                            .with_help(service.rule(host))
                    })?;
                    if !service.can_run(&p, host) {
                        return Err(UsageError::new(format!(
                            "--target {spec}: {} cannot run {p}",
                            service.name
                        ))
                        .with_help(service.rule(host)));
                    }
                    list.push(p);
                }
                list
            }
        };
        if service.manifest == ManifestKind::Single {
            if list.len() != 1 {
                return Err(UsageError::new(format!(
                    "--target {spec}: {} takes one architecture per image",
                    service.name
                )));
            }
            out.single = true;
        }
        if service.media_types == Some(MediaTypes::Docker) {
            out.docker = Some(service.name.clone());
        }
        for p in list {
            out.platforms.push((p, service.name.clone()));
        }
    }
    for spec in platforms {
        let p = Platform::parse(spec)
            .map_err(|e| UsageError::new(format!("--platform {spec}: {e}")))?;
        out.platforms.push((p, "--platform".to_string()));
    }
    Ok(out)
}
