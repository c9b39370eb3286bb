//! Moving tags, only after verification: each index tag gets the verified index, each
//! single-manifest tag gets its platform's plain image manifest — manifest PUTs by tag,
//! no rebuild, no layer pushed again.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::digest::Digest;
use crate::platform::Platform;
use crate::registry::manifest::Manifest;
use crate::registry::{Client, RegistryError, Repository};

/// A tag to move and what it will point at.
#[derive(Debug, Clone)]
pub struct Move {
    pub tag: String,
    pub digest: Digest,
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
    let r = repo.at_digest(digest);
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
            Manifest::Image { .. } => root.digest.to_string(),
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
            actual: put.into(),
        }
        .into());
    }
    // The digest of the bytes just put (what `c.digest` says).
    m.digest = Digest::sha256(&c.bytes);
    m.media_type = c.media_type.to_string();
    m.bytes = c.bytes;
    Ok(())
}

/// Where a tag now points.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    pub tag: String,
    pub digest: Digest,
    /// For a single-manifest tag: the platform whose plain manifest it got.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
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
/// already points at its digest is left alone (a second `merge` writes nothing). Every
/// tag written is then read back (one HEAD each, in parallel): one that does not
/// resolve to its digest did not move, and stops the promotion with [`NotLanded`].
pub fn promote_all(client: &Client, images: &[(&Repository, &[Move])]) -> Promoted {
    let mut out = Promoted::default();
    'images: for (i, (repo, moves)) in images.iter().enumerate() {
        let t = Instant::now();
        let mut moved = Vec::new();
        for (j, m) in moves.iter().enumerate() {
            let unchanged = client
                .tag_digest(repo, &m.tag)
                .is_ok_and(|d| d.as_ref() == Some(&m.digest));
            let result = if crate::cancel::requested() {
                Err(crate::exit::Interrupted.into())
            } else if unchanged {
                Ok(())
            } else {
                client
                    .put_manifest(repo, &m.tag, &m.media_type, &m.bytes)
                    .map(drop)
                    .map_err(anyhow::Error::from)
            };
            if let Err(e) = result {
                // A write the signal cut short may have landed: it is neither moved nor
                // unmoved, and the error says so.
                let cut = matches!(
                    e.downcast_ref::<RegistryError>(),
                    Some(RegistryError::Interrupted { .. })
                );
                let e = if cut {
                    e.context(format!(
                        "{repo}:{tag} may have moved: its write was under way when the signal came (`mpbuild verify {repo}:{tag} --inventory` shows what it holds)",
                        tag = m.tag
                    ))
                } else {
                    e
                };
                let not_moved = moves[j + usize::from(cut)..]
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
                break 'images;
            }
            moved.push(Moved {
                tag: m.tag.clone(),
                digest: m.digest.clone(),
                platform: m.single.as_ref().map(|(p, _)| p.clone()),
                unchanged,
            });
        }
        out.images.push((moved, t.elapsed()));
    }
    check_landed(client, images, &mut out);
    out
}

/// Reads back every tag `promote_all` wrote; those that do not resolve to their
/// digest leave the moved lists for the not-moved one, and stop the promotion (unless
/// something else already did).
fn check_landed(client: &Client, images: &[(&Repository, &[Move])], out: &mut Promoted) {
    if crate::cancel::requested() {
        // Stopped by a signal: what moved is reported as the stop left it.
        return;
    }
    if crate::cancel::requested() {
        // No request goes out after a signal: the tags the registry acknowledged are
        // reported as moved, unread.
        return;
    }
    let mut written: Vec<(usize, &Repository, String, Digest)> = Vec::new();
    for (i, (moved, _)) in out.images.iter().enumerate() {
        for m in moved.iter().filter(|m| !m.unchanged) {
            written.push((i, images[i].0, m.tag.clone(), m.digest.clone()));
        }
    }
    let found = crate::verify::pool::try_map(
        &written,
        crate::verify::pool::WORKERS,
        |(_, repo, tag, _)| client.tag_digest(repo, tag),
    );
    let found = match found {
        Ok(f) => f,
        Err(e) => {
            // Written, but unreadable: neither moved nor unmoved, and the error says so.
            let names: Vec<String> = written
                .iter()
                .map(|(_, r, t, _)| format!("{r}:{t}"))
                .collect();
            for (moved, _) in &mut out.images {
                moved.retain(|m| m.unchanged);
            }
            let e = anyhow::Error::from(e).context(format!(
                "{} may have moved: written, but reading them back failed (`mpbuild verify REPO:TAG --inventory` shows what a tag holds)",
                names.join(", ")
            ));
            add_stop(out, e, Vec::new());
            return;
        }
    };
    let mut missed = Vec::new();
    for ((i, repo, tag, expected), found) in written.iter().zip(found) {
        if found.as_ref() != Some(expected) {
            out.images[*i].0.retain(|m| &m.tag != tag);
            missed.push(Landing {
                tag: format!("{repo}:{tag}"),
                expected: expected.clone(),
                found,
            });
        }
    }
    if !missed.is_empty() {
        let tags = missed.iter().map(|l| l.tag.clone()).collect();
        add_stop(out, NotLanded(missed).into(), tags);
    }
}

/// Records why promotion stopped: the first reason is kept; the tags join the list of
/// those that did not move, first.
fn add_stop(out: &mut Promoted, e: anyhow::Error, tags: Vec<String>) {
    match &mut out.stopped {
        Some((_, not_moved)) => {
            let rest = std::mem::take(not_moved);
            *not_moved = tags.into_iter().chain(rest).collect();
        }
        None => out.stopped = Some((e, tags)),
    }
}

/// A tag that was written but, read back, does not resolve to what was written.
#[derive(Debug, Clone)]
pub struct Landing {
    /// `REPO:TAG`.
    pub tag: String,
    pub expected: Digest,
    /// What it resolves to (`None`: no such tag).
    pub found: Option<Digest>,
}

/// Tags the registry acknowledged but does not serve as written (a redirect taken for
/// success, a proxy or cache that answered without storing): a failed promotion.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "{}",
    crate::exit::WithHelp(
        &format!(
            "the registry acknowledged {} tag(s) that, read back, do not point at what was written:{}",
            .0.len(),
            .0.iter().map(|l| format!("\n  {}: expected {}, {}", l.tag, l.expected, match &l.found {
                Some(d) => format!("resolves to {d}"),
                None => "does not exist".to_string(),
            })).collect::<String>()
        ),
        NOT_LANDED
    )
)]
pub struct NotLanded(pub Vec<Landing>);

/// What to do about tags that did not land.
const NOT_LANDED: &str = "the registry, or a proxy or cache in front of it, did not keep what it answered with success; these tags did not move. Check the registry (`mpbuild verify REPO:TAG --inventory` shows what a tag holds), then run again";

impl crate::exit::Coded for NotLanded {
    fn code(&self) -> crate::exit::Code {
        crate::exit::Code::Registry
    }

    fn help(&self) -> Option<String> {
        Some(NOT_LANDED.into())
    }
}
