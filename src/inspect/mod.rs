//! Looking inside an image: is the program it will exec an ELF for the platform it is
//! labelled with? Catches the image labelled arm64 that carries an x86-64 binary (the
//! `FROM --platform=$BUILDPLATFORM` mistake), which no index or config check can see.

pub mod all;
pub mod elf;
pub mod entrypoint;
mod error;
pub mod layers;

use std::io::Read;

use crate::platform::Platform;
use crate::registry::manifest::{Descriptor, ImageConfig, Manifest};
use crate::registry::{Client, RegistryError, Repository};
use crate::verify::Deep;

pub use entrypoint::{DeepCheck, Verdict};
pub use error::InspectError;
pub use layers::{LayerSource, Union};

/// An image's layers, streamed from the registry.
pub struct RegistryLayers<'a> {
    pub client: &'a Client,
    pub repo: &'a Repository,
    pub layers: &'a [Descriptor],
}

impl LayerSource for RegistryLayers<'_> {
    fn count(&self) -> usize {
        self.layers.len()
    }
    fn media_type(&self, index: usize) -> &str {
        &self.layers[index].media_type
    }
    fn name(&self, index: usize) -> String {
        self.layers[index].digest.clone()
    }
    fn open(&self, index: usize) -> Result<Box<dyn Read + '_>, InspectError> {
        Ok(Box::new(
            self.client
                .get_blob(self.repo, &self.layers[index].digest)?,
        ))
    }
}

/// What the deep check of one image found: the entrypoint's programs, and with
/// `deep: all` every executable ELF file.
#[derive(Debug, Clone)]
pub struct ImageCheck {
    pub entrypoint: DeepCheck,
    pub all: Option<all::AllCheck>,
}

impl ImageCheck {
    pub fn ok(&self) -> bool {
        self.entrypoint.ok() && self.all.as_ref().is_none_or(all::AllCheck::ok)
    }

    /// One line: the failures first.
    pub fn summary(&self, platform: &Platform) -> String {
        let entry = self.entrypoint.summary(platform);
        match &self.all {
            None => entry,
            Some(a) if !a.ok() && self.entrypoint.ok() => {
                format!("{}; entrypoint: {entry}", a.summary(platform))
            }
            Some(a) => format!("{entry}; {}", a.summary(platform)),
        }
    }
}

/// The deep check of one image manifest, reading its layers from the registry: the
/// entrypoint, and with `all` every executable ELF file (layers streamed once).
pub fn check_image(
    client: &Client,
    repo: &Repository,
    manifest: &Manifest,
    config: &ImageConfig,
    platform: &Platform,
    all: Option<&[String]>,
) -> Result<ImageCheck, InspectError> {
    let layers: &[Descriptor] = match manifest {
        Manifest::Image { layers, .. } => layers,
        Manifest::Index { .. } => &[],
    };
    let source = RegistryLayers {
        client,
        repo,
        layers,
    };
    let mut union = Union::new(&source);
    let entrypoint = entrypoint::check(
        &mut union,
        &config.config.clone().unwrap_or_default(),
        platform,
    )?;
    let all = match all {
        Some(ignore) if entrypoint.skipped.is_none() => {
            Some(all::check(&mut union, platform, ignore)?)
        }
        _ => None,
    };
    Ok(ImageCheck { entrypoint, all })
}

/// The deep check as verify calls it.
pub fn deep_fn() -> impl Fn(
    &Client,
    &Repository,
    &Manifest,
    &ImageConfig,
    &Platform,
    &crate::verify::Requirements,
) -> Result<Deep, RegistryError>
+ Sync {
    |client, repo, manifest, config, platform, req| {
        let all = req.deep_all.then_some(req.deep_ignore.as_slice());
        match check_image(client, repo, manifest, config, platform, all) {
            Ok(c) => Ok(Deep {
                ok: c.ok(),
                summary: c.summary(platform),
            }),
            Err(InspectError::Registry(e)) => Err(e),
            Err(InspectError::SymlinkLoop { path }) => Ok(Deep {
                ok: false,
                summary: format!("{path}: too many levels of symbolic links"),
            }),
            Err(InspectError::Layer { name, message, .. }) => Err(RegistryError::BadManifest {
                registry: repo.registry.clone(),
                reference: format!("{repo}@{name}"),
                message: format!("cannot read the layer: {message}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::layers::testing::*;
    use super::*;
    use crate::inspect::elf::{EM_AARCH64, EM_X86_64, header};
    use crate::registry::manifest::RunConfig;

    #[test]
    fn deep_all_reports_foreign_files_even_when_the_entrypoint_passes() {
        let arm = header(EM_AARCH64, true, true);
        let x86 = header(EM_X86_64, true, true);
        let src = mem(vec![(
            GZ,
            gzip(&tar(&[E::F("app", &arm), E::F("usr/bin/helper", &x86)])),
        )]);
        let arm64 = Platform::linux("arm64", "");
        let cfg = RunConfig {
            entrypoint: Some(vec!["/app".into()]),
            ..RunConfig::default()
        };
        let mut union = Union::new(&src);
        let entrypoint = entrypoint::check(&mut union, &cfg, &arm64).unwrap();
        let all = Some(all::check(&mut union, &arm64, &[]).unwrap());
        // One stream of the one layer for both checks.
        assert_eq!(*src.opened.borrow(), vec![0]);
        let c = ImageCheck { entrypoint, all };
        assert!(!c.ok());
        assert_eq!(
            c.summary(&arm64),
            "1 of 2 executable ELF file(s) are not for linux/arm64: /usr/bin/helper (x86-64); \
             entrypoint: /app is an ELF for AArch64"
        );
    }
}
