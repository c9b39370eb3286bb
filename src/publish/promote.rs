//! Moving tags, only after verification: each index tag gets the verified index, each
//! single-manifest tag gets its platform's plain image manifest — manifest PUTs by tag,
//! no rebuild, no layer pushed again.

use crate::platform::Platform;
use crate::registry::manifest::Manifest;
use crate::registry::{Client, Reference, RegistryError, Repository};

/// A tag to move and what it will point at.
#[derive(Debug, Clone)]
pub struct Move {
    pub tag: String,
    pub digest: String,
    pub media_type: String,
    pub bytes: Vec<u8>,
    /// For single-manifest tags: the platform and the service.
    pub single: Option<(Platform, String)>,
}

/// Works out the tag moves for one verified image (nothing is written).
pub fn moves(
    client: &Client,
    repo: &Repository,
    digest: &str,
    tags: &[String],
    singles: &[(String, Platform, String)],
) -> Result<Vec<Move>, RegistryError> {
    let r = Reference {
        repository: repo.clone(),
        tag: None,
        digest: Some(digest.to_string()),
    };
    let root = client.get_manifest(&r)?;
    let mut out: Vec<Move> = tags
        .iter()
        .map(|t| Move {
            tag: t.clone(),
            digest: root.digest.clone(),
            media_type: root.media_type.clone(),
            bytes: root.bytes.clone(),
            single: None,
        })
        .collect();
    for (tag, platform, service) in singles {
        let child_digest = match &root.manifest {
            Manifest::Index { manifests, .. } => manifests
                .iter()
                .filter(|d| !d.is_attestation())
                .find(|d| {
                    d.platform
                        .as_ref()
                        .is_some_and(|p| p.platform().matches(platform))
                })
                .map(|d| d.digest.clone())
                .ok_or_else(|| RegistryError::BadManifest {
                    registry: repo.registry.clone(),
                    reference: r.to_string(),
                    message: format!("no {platform} manifest for the {service} tag `{tag}`"),
                })?,
            Manifest::Image { .. } => root.digest.clone(),
        };
        let child = client.get_manifest(&r.with_target(&child_digest))?;
        out.push(Move {
            tag: tag.clone(),
            digest: child.digest,
            media_type: child.media_type,
            bytes: child.bytes,
            single: Some((platform.clone(), service.clone())),
        });
    }
    Ok(out)
}

/// Puts each move. Returns the tags moved, in order.
pub fn apply(
    client: &Client,
    repo: &Repository,
    moves: &[Move],
) -> Result<Vec<String>, RegistryError> {
    let mut done = Vec::new();
    for m in moves {
        client.put_manifest(repo, &m.tag, &m.media_type, &m.bytes)?;
        done.push(m.tag.clone());
    }
    Ok(done)
}
