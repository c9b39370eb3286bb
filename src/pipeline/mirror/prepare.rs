//! Working out a copy from the source alone, before anything is written: the platforms
//! chosen, the attestations that come along, the new index when the copy is filtered,
//! and every entry read and checked against what the copy must hold.

use std::collections::HashMap;

use super::selection::{MirrorError, Mirrored, Selection};
use crate::platform::Platform;
use crate::registry::manifest::{Descriptor, Manifest};
use crate::registry::{Client, Fetched, Reference};
use crate::verify::{self, Entry, Kind, Observed, Requirements};

/// A copy worked out from the source alone (nothing written yet).
pub struct Prepared {
    pub(super) top: Fetched,
    /// Child manifests to copy (indexes only), each digest once, with their bytes.
    pub(super) manifests: Vec<(Descriptor, Fetched)>,
    /// The root to put last: the source's own bytes, or a new index.
    pub(super) root_media_type: String,
    pub(super) root_bytes: Vec<u8>,
    pub(super) filtered: bool,
    pub(super) platforms: Vec<String>,
    /// What the copy will hold, as read from the source: checked before writing.
    pub observed: Observed,
}

impl Prepared {
    /// What the copy must hold: the selection's platforms, or with `all` every
    /// platform copied.
    pub fn requirements(&self, sel: &Selection) -> Requirements {
        let mut req = sel.requirements.clone();
        if sel.all {
            for p in &self.platforms {
                if let Ok(p) = Platform::parse(p) {
                    req.need(p, "--all");
                }
            }
        }
        req
    }

    /// The digests a copy keeps (the root, when it is the source's own, then each
    /// manifest copied): those whose signatures come along.
    pub fn kept_digests(&self, root: &str) -> Vec<String> {
        let mut kept: Vec<String> = self
            .manifests
            .iter()
            .map(|(d, _)| d.digest.clone())
            .collect();
        if !self.filtered {
            kept.insert(0, root.to_string());
        }
        kept
    }

    /// The result of a copy that was not made.
    pub(super) fn summary(&self) -> Mirrored {
        Mirrored {
            source_digest: self.top.digest.to_string(),
            digest: crate::digest::sha256(&self.root_bytes),
            filtered: self.filtered,
            platforms: self.platforms.clone(),
            ..Mirrored::default()
        }
    }
}

/// Works out what to copy and what it will hold (reads only), each step using what
/// the one before read: the platforms chosen, the attestations that come along, the new
/// index, every entry read and checked.
pub fn prepare(
    client: &Client,
    src: &Reference,
    sel: &Selection,
) -> Result<Prepared, anyhow::Error> {
    let top = client.get_manifest(src)?;
    match &top.manifest {
        Manifest::Index { manifests, .. } => {
            let chosen = choose(src, sel, manifests)?;
            let filtered = chosen.len() != manifests.len();
            let kept = in_source_order(manifests, &chosen, filtered);
            // Every entry kept is read (attestations too: the rule needs their layers).
            let read = verify::collect::read_index(client, src, &kept, None)?;
            let copies = copies(&kept, &read.children);
            let (root_media_type, root_bytes) = if filtered {
                let index = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": top.media_type,
                    "manifests": kept,
                });
                (top.media_type.clone(), serde_json::to_vec(&index)?)
            } else {
                (top.media_type.clone(), top.bytes.clone())
            };
            let platforms = platforms(&read.entries);
            let observed = Observed {
                reference: src.to_string(),
                digest: crate::digest::sha256(&root_bytes),
                media_type: root_media_type.clone(),
                kind: Kind::Index {
                    entries: read.entries,
                },
            };
            Ok(Prepared {
                top,
                manifests: copies,
                root_media_type,
                root_bytes,
                filtered,
                platforms,
                observed,
            })
        }
        Manifest::Image { media_type, .. } => {
            let cfg = verify::collect::config(client, &src.repository, &top.manifest, &top.digest)?;
            let found = cfg.platform();
            if !sel.all {
                for (p, _) in &sel.requirements.platforms {
                    if !p.matches(&found) {
                        return Err(MirrorError::WrongPlatform {
                            source_ref: src.to_string(),
                            found: found.to_string(),
                            needed: p.to_string(),
                        }
                        .into());
                    }
                }
            }
            let observed = Observed {
                reference: src.to_string(),
                digest: top.digest.to_string(),
                media_type: top.media_type.clone(),
                kind: Kind::Manifest {
                    entry: Box::new(Entry {
                        digest: top.digest.to_string(),
                        media_type: media_type.clone(),
                        declared: None,
                        attestation: false,
                        false_attestation: None,
                        config: Some(found.clone()),
                        deep: None,
                    }),
                },
            };
            Ok(Prepared {
                root_media_type: top.media_type.clone(),
                root_bytes: top.bytes.clone(),
                manifests: Vec::new(),
                filtered: false,
                platforms: vec![found.to_string()],
                observed,
                top,
            })
        }
    }
}

/// The index entries to copy: every one with `all`, else the first image entry of each
/// platform the selection needs (one missing is refused) and the attestations that
/// describe a chosen image. What each entry is (`is_attestation`) is decided when it is
/// read, and checked before anything is written.
fn choose<'m>(
    src: &Reference,
    sel: &Selection,
    manifests: &'m [Descriptor],
) -> Result<Vec<&'m Descriptor>, MirrorError> {
    if sel.all {
        return Ok(manifests.iter().collect());
    }
    let images: Vec<&Descriptor> = manifests
        .iter()
        .filter(|d| !d.in_attestation_slot())
        .collect();
    let mut chosen: Vec<&Descriptor> = Vec::new();
    for (p, _) in &sel.requirements.platforms {
        let Some(d) = images.iter().find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|dp| dp.platform().matches(p))
        }) else {
            let present: Vec<String> = images
                .iter()
                .filter_map(|d| d.platform.as_ref().map(|p| p.platform().to_string()))
                .collect();
            return Err(MirrorError::MissingPlatform {
                source_ref: src.to_string(),
                platform: p.to_string(),
                present: present.join(", "),
            });
        };
        if !chosen.iter().any(|c| c.digest == d.digest) {
            chosen.push(d);
        }
    }
    // Attestations that describe a chosen image come along.
    for d in manifests.iter().filter(|d| d.in_attestation_slot()) {
        let subject = d.annotations.get("vnd.docker.reference.digest");
        if subject.is_some_and(|s| chosen.iter().any(|c| &c.digest == s)) {
            chosen.push(d);
        }
    }
    Ok(chosen)
}

/// The entries of the new index: the chosen ones in the source's order, each manifest
/// once when the copy is filtered; a whole copy keeps the source's list as it is (and
/// its bytes, so its digest).
fn in_source_order(
    manifests: &[Descriptor],
    chosen: &[&Descriptor],
    filtered: bool,
) -> Vec<Descriptor> {
    let mut kept: Vec<Descriptor> = Vec::new();
    for d in manifests {
        if chosen.iter().any(|c| c.digest == d.digest)
            && !(filtered && kept.iter().any(|k| k.digest == d.digest))
        {
            kept.push(d.clone());
        }
    }
    kept
}

/// The child manifests to copy, each digest once, with the bytes read.
fn copies(kept: &[Descriptor], children: &HashMap<String, Fetched>) -> Vec<(Descriptor, Fetched)> {
    let mut copies: Vec<(Descriptor, Fetched)> = Vec::new();
    for d in kept {
        if !copies.iter().any(|(c, _)| c.digest == d.digest)
            && let Some(f) = children.get(&d.digest)
        {
            copies.push((d.clone(), f.clone()));
        }
    }
    copies
}

/// The platforms of the image entries read, each once, in order.
fn platforms(entries: &[Entry]) -> Vec<String> {
    let mut platforms: Vec<String> = Vec::new();
    for p in entries
        .iter()
        .filter(|e| !e.attestation)
        .filter_map(|e| e.platform().map(ToString::to_string))
    {
        if !platforms.contains(&p) {
            platforms.push(p);
        }
    }
    platforms
}
