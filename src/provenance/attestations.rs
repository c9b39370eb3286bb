//! buildx's attestation manifests (provenance, SBOM) as OCI 1.1 referrers. buildx puts
//! them into the index as `unknown/unknown` entries, which Lambda rejects and platform
//! checks trip over; with `attestations: referrers` mpbuild takes them out of the index
//! the tags point at (`detach`) and re-publishes each as an artifact whose `subject` is
//! the platform manifest it describes (`artifact`), in the shape BuildKit gives them
//! with `oci-artifact=true`: artifactType `application/vnd.docker.attestation.manifest.v1+json`,
//! the empty config, the same in-toto layers (blobs unchanged). The same attestation
//! always gives the same artifact (and digest), so publishing it again adds nothing.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{BUILDX_ATTESTATION, PREDICATE_ANNOTATION};
use crate::digest::Digest;
use crate::registry::manifest::{Descriptor, Manifest, is_attestation};
use crate::registry::{Artifact, Client, Reference, RegistryError, Repository};

/// buildx's annotation naming the manifest an attestation describes.
pub const REFERENCE_DIGEST: &str = "vnd.docker.reference.digest";
/// The annotation on a re-published attestation whose subject is a manifest converted
/// to Docker media types: the OCI manifest it was converted from (the one the
/// statements name).
pub const CONVERTED_FROM: &str = "dev.mpbuild.converted-from";

/// An attestation manifest taken out of an index, and the platform manifest it
/// describes.
#[derive(Debug, Clone)]
pub struct Detached {
    /// Its entry in buildx's index.
    pub entry: Descriptor,
    /// The platform manifest's entry in that index.
    pub subject: Descriptor,
}

/// What `detach` made: the root the tags will point at, and the attestations that
/// left it.
#[derive(Debug, Clone)]
pub struct Split {
    pub digest: Digest,
    pub detached: Vec<Detached>,
}

/// Takes buildx's attestation manifests out of the index `digest` of `repo` (by the one
/// rule, `is_attestation`): the index without them — every other field and entry as
/// buildx wrote it — is put by its digest, and returned with what left it. An index
/// without attestations (or a plain manifest) stays as it is. An attestation that
/// names no image of the index is an error.
pub fn detach(client: &Client, repo: &Repository, digest: &Digest) -> anyhow::Result<Split> {
    let at = Reference {
        repository: repo.clone(),
        tag: None,
        digest: Some(digest.to_string()),
    };
    let root = client.get_manifest(&at)?;
    let unchanged = || Split {
        digest: digest.clone(),
        detached: Vec::new(),
    };
    let Manifest::Index { manifests, .. } = &root.manifest else {
        return Ok(unchanged());
    };
    let mut detached = Vec::new();
    for e in manifests.iter().filter(|e| e.in_attestation_slot()) {
        let m = client.get_manifest(&at.with_target(&e.digest))?;
        if !is_attestation(e, &m.manifest) {
            continue;
        }
        let named = e.annotations.get(REFERENCE_DIGEST);
        let subject = manifests
            .iter()
            .find(|s| !s.in_attestation_slot() && Some(&s.digest) == named)
            .ok_or_else(|| RegistryError::BadManifest {
                registry: repo.registry.clone(),
                reference: at.to_string(),
                message: format!(
                    "the attestation manifest {} names {} ({REFERENCE_DIGEST}), which is no image of the index",
                    e.digest,
                    named.map_or("nothing", String::as_str)
                ),
            })?;
        detached.push(Detached {
            entry: e.clone(),
            subject: subject.clone(),
        });
    }
    if detached.is_empty() {
        return Ok(unchanged());
    }
    let mut doc: Value = serde_json::from_slice(&root.bytes)?;
    if let Some(list) = doc["manifests"].as_array_mut() {
        list.retain(|e| {
            !detached
                .iter()
                .any(|d| e["digest"].as_str() == Some(d.entry.digest.as_str()))
        });
    }
    let bytes = serde_json::to_vec(&doc)?;
    let put = client.put_manifest(repo, &Digest::sha256(&bytes), &root.media_type, &bytes)?;
    Ok(Split {
        digest: put,
        detached,
    })
}

/// The artifact that re-publishes `attestation` (the manifest of `d.entry`, buildx's)
/// for `subject`: the platform manifest, or a manifest converted from it (then
/// `converted_from` names the original, which the statements name).
pub fn artifact(
    attestation: &Manifest,
    subject: &Descriptor,
    converted_from: Option<&str>,
) -> Option<Artifact> {
    let Manifest::Image { layers, .. } = attestation else {
        return None;
    };
    let mut annotations = BTreeMap::from([
        (
            crate::registry::manifest::REFERENCE_TYPE.to_string(),
            crate::registry::manifest::ATTESTATION_MANIFEST.to_string(),
        ),
        (REFERENCE_DIGEST.to_string(), subject.digest.clone()),
    ]);
    let types: Vec<&String> = layers
        .iter()
        .filter_map(|l| l.annotations.get(PREDICATE_ANNOTATION))
        .collect();
    if let Some(first) = types.first()
        && types.len() == layers.len()
        && types.iter().all(|t| t == first)
    {
        annotations.insert(PREDICATE_ANNOTATION.to_string(), first.to_string());
    }
    if let Some(from) = converted_from {
        annotations.insert(CONVERTED_FROM.to_string(), from.to_string());
    }
    Some(Artifact {
        artifact_type: BUILDX_ATTESTATION.into(),
        layers: layers.clone(),
        subject: Descriptor {
            media_type: subject.media_type.clone(),
            digest: subject.digest.clone(),
            size: subject.size,
            platform: None,
            artifact_type: None,
            annotations: BTreeMap::new(),
        },
        annotations,
    })
}

#[cfg(test)]
mod tests;
