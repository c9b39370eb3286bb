//! Writing a prepared copy: blobs (mounted or streamed, digest-checked), child manifests
//! by digest, then the root; and, once it verified, the tag.

use super::blobs::{self, Progress};
use super::prepare::Prepared;
use super::selection::Mirrored;
use crate::registry::manifest::{Descriptor, Manifest};
use crate::registry::{Client, Reference};
use crate::verify;

/// Copies what `prepare` worked out from `src` to `dest` (by digest; no tag moves).
/// Blobs streamed across registries are checked against their digest and size before
/// their last byte reaches the destination.
pub fn copy(
    client: &Client,
    src: &Reference,
    dest: &Reference,
    plan: &Prepared,
    progress: &dyn Progress,
) -> Result<Mirrored, anyhow::Error> {
    let top = &plan.top;
    // Blobs: configs and layers of every manifest copied (or of the single manifest).
    let mut blobs: Vec<Descriptor> = Vec::new();
    let manifests_for_blobs: Vec<&Manifest> = if plan.manifests.is_empty() {
        vec![&top.manifest]
    } else {
        plan.manifests.iter().map(|(_, f)| &f.manifest).collect()
    };
    for m in manifests_for_blobs {
        if let Manifest::Image { config, layers, .. } = m {
            for b in std::iter::once(config).chain(layers.iter()) {
                if !blobs.iter().any(|x| x.digest == b.digest) {
                    blobs.push(b.clone());
                }
            }
        }
    }
    let (src_repo, dest_repo) = (&src.repository, &dest.repository);
    let counts = blobs::copy(client, src_repo, dest_repo, &blobs, progress)?;
    // The child manifests at once (each names only blobs now there), then the root;
    // while the root goes in, each child and config is read back from the destination
    // (and kept for the run), so the verification that follows reads only the root.
    verify::pool::try_map(&plan.manifests, verify::pool::WORKERS, |(d, f)| {
        client.put_manifest(dest_repo, &d.digest, &f.media_type, &f.bytes)
    })?;
    let digest = crate::digest::sha256(&plan.root_bytes);
    let mut last = vec![Last::Root];
    for (d, f) in &plan.manifests {
        last.push(Last::Child(&d.digest));
        if let Manifest::Image { config, .. } = &f.manifest {
            last.push(Last::Config(&config.digest));
        }
    }
    if let Manifest::Image { config, .. } = &top.manifest {
        last.push(Last::Config(&config.digest));
    }
    verify::pool::try_map(&last, verify::pool::WORKERS, |step| match step {
        Last::Root => client
            .put_manifest(dest_repo, &digest, &plan.root_media_type, &plan.root_bytes)
            .map(drop),
        Last::Child(d) => client.get_manifest(&dest.with_target(d)).map(drop),
        Last::Config(d) => client
            .get_blob_bytes(dest_repo, d, verify::collect::CONFIG_LIMIT)
            .map(drop),
    })?;
    Ok(Mirrored {
        source_digest: top.digest.to_string(),
        digest,
        filtered: plan.filtered,
        platforms: plan.platforms.clone(),
        blobs_copied: counts.copied,
        blobs_mounted: counts.mounted,
        blobs_skipped: counts.skipped,
        bytes_copied: counts.bytes,
        signatures_copied: 0,
        referrers: Vec::new(),
    })
}

/// The last writes of a copy and the read-backs that go beside them.
enum Last<'a> {
    Root,
    Child(&'a str),
    Config(&'a str),
}

/// Puts the mirrored root under `dest`'s tag (after verification), then reads the tag
/// back: one that does not resolve to `digest` did not move ([`promote::NotLanded`]).
pub fn tag(client: &Client, dest: &Reference, digest: &str) -> anyhow::Result<()> {
    let Some(tag) = &dest.tag else { return Ok(()) };
    let root = client.get_manifest(&dest.with_target(digest))?;
    client.put_manifest(&dest.repository, tag, &root.media_type, &root.bytes)?;
    let found = client.tag_digest(&dest.repository, tag)?;
    if found.as_deref() != Some(digest) {
        return Err(
            crate::pipeline::promote::NotLanded(vec![crate::pipeline::promote::Landing {
                tag: format!("{}:{tag}", dest.repository),
                expected: root.digest,
                found,
            }])
            .into(),
        );
    }
    Ok(())
}
