//! Reading what a reference holds from the registry: the index (or manifest), each
//! platform's manifest and image config, in parallel; and, when asked, the deep check
//! of each platform's entrypoint binary.

use crate::platform::Platform;
use crate::registry::manifest::{ImageConfig, Manifest};
use crate::registry::{Client, Reference, RegistryError, Repository};

use super::check::{Deep, Entry, Kind, Observed};

/// Runs the deep check for one platform's image: gets the image manifest's layers and
/// config, and says whether the entrypoint is an ELF for `platform`.
pub type DeepFn<'a> = dyn Fn(&Client, &Repository, &Manifest, &ImageConfig, &Platform) -> Result<Deep, RegistryError>
    + Sync
    + 'a;

/// Image configs are small; anything bigger is refused.
const CONFIG_LIMIT: u64 = 4 << 20;

/// What `reference` holds, or `Ok(None)` when the registry has no such tag or digest.
pub fn observe(
    client: &Client,
    reference: &Reference,
    deep: Option<&DeepFn>,
) -> Result<Option<Observed>, RegistryError> {
    let top = match client.get_manifest(reference) {
        Ok(f) => f,
        Err(RegistryError::NotFound {
            what: "manifest", ..
        }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let repo = &reference.repository;
    let kind = match &top.manifest {
        Manifest::Index { manifests, .. } => {
            let entries: Vec<Result<Entry, RegistryError>> = std::thread::scope(|s| {
                let handles: Vec<_> = manifests
                    .iter()
                    .map(|d| {
                        s.spawn(move || {
                            let declared = d.platform.as_ref().map(|p| p.platform());
                            if d.is_attestation() {
                                return Ok(Entry {
                                    digest: d.digest.clone(),
                                    media_type: d.media_type.clone(),
                                    declared,
                                    attestation: true,
                                    config: None,
                                    deep: None,
                                });
                            }
                            let child = client.get_manifest(&reference.with_target(&d.digest))?;
                            entry(client, repo, &child.manifest, &d.digest, declared, deep)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("verify thread panicked"))
                    .collect()
            });
            Kind::Index {
                entries: entries.into_iter().collect::<Result<_, _>>()?,
            }
        }
        Manifest::Image { .. } => Kind::Manifest {
            entry: Box::new(entry(client, repo, &top.manifest, &top.digest, None, deep)?),
        },
    };
    Ok(Some(Observed {
        reference: reference.to_string(),
        digest: top.digest,
        media_type: top.media_type,
        kind,
    }))
}

fn entry(
    client: &Client,
    repo: &Repository,
    manifest: &Manifest,
    digest: &str,
    declared: Option<Platform>,
    deep: Option<&DeepFn>,
) -> Result<Entry, RegistryError> {
    let Manifest::Image {
        media_type, config, ..
    } = manifest
    else {
        return Err(RegistryError::BadManifest {
            registry: repo.registry.clone(),
            reference: format!("{repo}@{digest}"),
            message: "an index inside an index; mpbuild expects image manifests here".into(),
        });
    };
    let bytes = client.get_blob_bytes(repo, &config.digest, CONFIG_LIMIT)?;
    let cfg: ImageConfig =
        serde_json::from_slice(&bytes).map_err(|e| RegistryError::BadManifest {
            registry: repo.registry.clone(),
            reference: format!("{repo}@{}", config.digest),
            message: format!("the image config is not valid JSON: {e}"),
        })?;
    let config_platform = cfg.platform();
    let deep_result = match deep {
        Some(f) => {
            let target = declared.clone().unwrap_or_else(|| config_platform.clone());
            Some(f(client, repo, manifest, &cfg, &target)?)
        }
        None => None,
    };
    Ok(Entry {
        digest: digest.to_string(),
        media_type: media_type.clone(),
        declared,
        attestation: false,
        config: Some(config_platform),
        deep: deep_result,
    })
}
