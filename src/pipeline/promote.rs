//! Moving tags, only after verification: each index tag gets the verified index, each
//! single-manifest tag gets its platform's plain image manifest — manifest PUTs by tag,
//! no rebuild, no layer pushed again.

use std::time::{Duration, Instant};

use serde::Serialize;

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
                .filter(|d| !d.in_attestation_slot())
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

/// Gives a single-manifest tag's move Docker V2 schema 2 media types (Heroku): the
/// plain manifest is rewritten from the built one — blobs unchanged, no rebuild — and
/// PUT by its new digest, so that it is verified like any other before the tag moves.
/// A manifest that already has Docker media types is left as it is. A layer Docker
/// V2 schema 2 cannot express (zstd) is an error saying so.
pub fn to_docker(client: &Client, repo: &Repository, m: &mut Move) -> anyhow::Result<()> {
    use crate::registry::convert::{ConvertError, manifest_to_docker};
    let c = manifest_to_docker(&m.bytes).map_err(|e| {
        ConvertError(format!(
            "{repo}:{}: cannot give the {} manifest Docker media types: {e}",
            m.tag,
            m.single
                .as_ref()
                .map(|(p, s)| format!("{s} {p}"))
                .unwrap_or_default()
        ))
    })?;
    if !c.changed {
        return Ok(());
    }
    let put = client.put_manifest(repo, &c.digest, c.media_type, &c.bytes)?;
    if put != c.digest {
        return Err(RegistryError::DigestMismatch {
            registry: repo.registry.clone(),
            reference: format!("{repo}@{}", c.digest),
            expected: c.digest,
            actual: put,
        }
        .into());
    }
    m.digest = c.digest;
    m.media_type = c.media_type.to_string();
    m.bytes = c.bytes;
    Ok(())
}

/// Where a tag now points.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub tag: String,
    pub digest: String,
    /// For a single-manifest tag: the platform whose plain manifest it got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The tag already pointed there: nothing was written.
    pub unchanged: bool,
}

/// What the promote stage did for every image, in order.
#[derive(Debug, Default)]
pub struct Promoted {
    /// Per image: the tags moved, and how long it took.
    pub images: Vec<(Vec<Moved>, Duration)>,
    /// Why promotion stopped part-way (Ctrl-C or a registry error), with the tags that
    /// were not moved as `REPO:TAG`.
    pub stopped: Option<(anyhow::Error, Vec<String>)>,
}

/// The promote stage: puts each image's moves in order, checking for Ctrl-C before
/// each one; a stop part-way says which tags moved and which did not. A tag that
/// already points at its digest is left alone (a second `merge` writes nothing).
pub fn promote_all(client: &Client, images: &[(&Repository, &[Move])]) -> Promoted {
    let mut out = Promoted::default();
    for (i, (repo, moves)) in images.iter().enumerate() {
        let t = Instant::now();
        let mut moved = Vec::new();
        for (j, m) in moves.iter().enumerate() {
            let tag_ref = Reference {
                repository: (*repo).clone(),
                tag: Some(m.tag.clone()),
                digest: None,
            };
            let unchanged = client
                .get_manifest(&tag_ref)
                .is_ok_and(|f| f.digest == m.digest);
            let result = if crate::buildx::interrupted() {
                Err(crate::exit::Interrupted.into())
            } else if unchanged {
                Ok(String::new())
            } else {
                client
                    .put_manifest(repo, &m.tag, &m.media_type, &m.bytes)
                    .map_err(anyhow::Error::from)
            };
            if let Err(e) = result {
                let not_moved = moves[j..]
                    .iter()
                    .map(|m| format!("{repo}:{}", m.tag))
                    .chain(
                        images[i + 1..]
                            .iter()
                            .flat_map(|(r, ms)| ms.iter().map(move |m| format!("{r}:{}", m.tag))),
                    )
                    .collect();
                out.images.push((moved, t.elapsed()));
                out.stopped = Some((e, not_moved));
                return out;
            }
            moved.push(Moved {
                tag: m.tag.clone(),
                digest: m.digest.clone(),
                platform: m.single.as_ref().map(|(p, _)| p.to_string()),
                unchanged,
            });
        }
        out.images.push((moved, t.elapsed()));
    }
    out
}
