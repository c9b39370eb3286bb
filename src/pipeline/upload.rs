//! Uploading an OCI layout (the `docker` driver's build output) with mpbuild's registry
//! client: blobs the registry has are skipped, blobs another repository of the same
//! registry has are mounted, the rest streamed from disk in parallel; then the image
//! manifests and the index, by digest. No tag is touched.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::buildx::{BuildError, Ui};
use crate::digest::Digest;
use crate::heartbeat::{Counted, Progress};
use crate::oci_layout::{Descriptor, Layout};
use crate::plan::Plan;
use crate::registry::{Client, Placed, RegistryError, Repository};

/// How many blobs are uploaded at once.
pub const PARALLEL: usize = 4;

/// What an upload did.
#[derive(Debug, Clone, Serialize)]
pub struct Uploaded {
    /// The digest of the root (index or manifest), now in the repository.
    pub digest: Digest,
    #[serde(skip)]
    pub media_type: String,
    pub blobs_skipped: usize,
    pub blobs_mounted: usize,
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
    /// `media_types: docker`: the layout's own (OCI) root digest, which buildx
    /// reported; `digest` is then the Docker manifest list (or manifest) made from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted_from: Option<String>,
    /// Attestation manifests left out of a Docker manifest list (it cannot hold them).
    #[serde(skip_serializing_if = "is_zero")]
    pub attestations_dropped: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The digests verification and promotion go on with: each image's uploaded root when
/// the upload rewrote it (Docker media types), else what buildx reported.
pub fn published_digests(
    digests: &[Digest],
    uploads: &[Option<(Uploaded, Duration)>],
) -> Vec<Digest> {
    digests
        .iter()
        .zip(uploads)
        .map(|(d, u)| match u {
            Some((up, _)) if up.converted_from.is_some() => up.digest.clone(),
            _ => d.clone(),
        })
        .collect()
}

/// A manifest to PUT: digest, media type, bytes.
type ToPut = (String, String, Vec<u8>);

/// The manifests and root to PUT: as the layout has them, or with Docker media types
/// (each image manifest rewritten, the index made a Docker manifest list without its
/// attestation manifests). Returns (digest, media type, bytes) in PUT order, and how
/// many attestation manifests were dropped.
fn manifests_to_put(
    graph: &crate::oci_layout::Graph,
    docker: bool,
) -> Result<(Vec<ToPut>, usize), anyhow::Error> {
    use crate::registry::convert::{index_to_docker, manifest_to_docker};
    let mut out = Vec::new();
    if !docker {
        for m in graph.manifests.iter().chain(std::iter::once(&graph.root)) {
            out.push((
                m.descriptor.digest.clone(),
                m.descriptor.media_type.clone(),
                m.bytes.clone(),
            ));
        }
        return Ok((out, 0));
    }
    let attestations = layout_attestations(graph);
    let mut renamed: std::collections::HashMap<String, (String, u64)> = Default::default();
    for m in &graph.manifests {
        if attestations.contains(&m.descriptor.digest) {
            continue;
        }
        let c = manifest_to_docker(&m.bytes)?;
        renamed.insert(
            m.descriptor.digest.clone(),
            (c.digest.clone(), c.bytes.len() as u64),
        );
        out.push((c.digest, c.media_type.to_string(), c.bytes));
    }
    let root = &graph.root;
    if crate::registry::manifest::is_index(&root.descriptor.media_type) {
        let (c, dropped) = index_to_docker(&root.bytes, &|d| renamed.get(d).cloned(), &|d| {
            attestations.contains(d)
        })?;
        out.push((c.digest, c.media_type.to_string(), c.bytes));
        Ok((out, dropped))
    } else {
        let c = manifest_to_docker(&root.bytes)?;
        out.push((c.digest, c.media_type.to_string(), c.bytes));
        Ok((out, 0))
    }
}

/// The layout's attestation manifests, by the one rule (`manifest::is_attestation`):
/// digests every root index entry of which is `unknown/unknown` with in-toto layers.
fn layout_attestations(graph: &crate::oci_layout::Graph) -> std::collections::HashSet<String> {
    use crate::registry::manifest::{Manifest, is_attestation};
    let Ok(Manifest::Index {
        manifests: entries, ..
    }) = Manifest::parse(Some(&graph.root.descriptor.media_type), &graph.root.bytes)
    else {
        return Default::default();
    };
    graph
        .manifests
        .iter()
        .filter(|m| {
            let Ok(parsed) = Manifest::parse(Some(&m.descriptor.media_type), &m.bytes) else {
                return false;
            };
            let mut of = entries
                .iter()
                .filter(|e| e.digest == m.descriptor.digest)
                .peekable();
            of.peek().is_some() && of.all(|e| is_attestation(e, &parsed))
        })
        .map(|m| m.descriptor.digest.clone())
        .collect()
}

/// Uploads everything reachable from the layout's image to `repo`, trying mounts before
/// uploading: first from the repository `known` names for a blob (the base image it came
/// from), then from `mount_from` (other repositories of the same registry). With
/// `docker`, the manifests are given Docker media types on the way (blobs unchanged).
/// The bytes streamed are counted in `progress` (blobs placed without streaming are
/// taken off its total).
pub fn upload(
    client: &Client,
    layout: &Layout,
    repo: &Repository,
    (mount_from, known): (&[Repository], &HashMap<String, Repository>),
    docker: bool,
    progress: &dyn Progress,
) -> Result<Uploaded, anyhow::Error> {
    let top = layout.top()?;
    let graph = layout.graph(&top)?;
    // Converted before any blob moves: a layer Docker cannot express fails early.
    let (to_put, attestations_dropped) = manifests_to_put(&graph, docker)?;
    let skipped = AtomicUsize::new(0);
    let mounted = AtomicUsize::new(0);
    let uploaded = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let queue: Mutex<Vec<&Descriptor>> = Mutex::new(graph.blobs.iter().rev().collect());
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    progress.add_total(crate::heartbeat::total(graph.blobs.iter().map(|b| b.size)));
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(graph.blobs.len().max(1)) {
            s.spawn(|| {
                loop {
                    if first_error.lock().unwrap().is_some() || crate::cancel::requested() {
                        return;
                    }
                    let Some(blob) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let result = (|| -> Result<(), anyhow::Error> {
                        let from = known.get(&blob.digest).into_iter().chain(mount_from);
                        let session = match client.place_blob(repo, &blob.digest, from)? {
                            Placed::Present => {
                                skipped.fetch_add(1, Ordering::Relaxed);
                                progress.skip(blob.size);
                                return Ok(());
                            }
                            Placed::Mounted => {
                                mounted.fetch_add(1, Ordering::Relaxed);
                                progress.skip(blob.size);
                                return Ok(());
                            }
                            Placed::Upload(upload) => upload,
                        };
                        let path = layout.blob_path(&blob.digest)?;
                        // A regular file, streamed no further than the size it had when
                        // opened (the upload checks it against the digest anyway),
                        // counted as it goes (a retry takes its count back).
                        let sent = AtomicU64::new(0);
                        let open = || -> std::io::Result<Box<dyn std::io::Read + Send + '_>> {
                            let file = std::io::BufReader::with_capacity(
                                1 << 20,
                                crate::fsread::open_sized(&path)?.0,
                            );
                            Ok(Box::new(Counted::new(file, progress, &sent)))
                        };
                        client.finish_upload(repo, &session, &blob.digest, blob.size, &open)?;
                        uploaded.fetch_add(1, Ordering::Relaxed);
                        crate::heartbeat::add(&bytes, blob.size);
                        Ok(())
                    })();
                    if let Err(e) = result {
                        first_error.lock().unwrap().get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap() {
        return Err(e);
    }
    if crate::cancel::requested() {
        return Err(crate::exit::Interrupted.into());
    }
    let mut root_put = None;
    for (d, mt, bytes) in &to_put {
        let put = client.put_manifest(repo, d, mt, bytes)?;
        if put != *d {
            return Err(RegistryError::DigestMismatch {
                registry: repo.registry.clone(),
                reference: format!("{repo}@{d}"),
                expected: d.clone(),
                actual: put.into(),
            }
            .into());
        }
        // The root comes last.
        root_put = Some((put, mt.clone()));
    }
    let root = &graph.root;
    // The layout's root is the last manifest put (a layout always has one).
    let (digest, media_type) =
        root_put.ok_or_else(|| anyhow::anyhow!("the OCI layout has no root manifest"))?;
    Ok(Uploaded {
        converted_from: (digest != root.descriptor.digest).then(|| root.descriptor.digest.clone()),
        attestations_dropped,
        digest,
        media_type,
        blobs_skipped: skipped.into_inner(),
        blobs_mounted: mounted.into_inner(),
        blobs_uploaded: uploaded.into_inner(),
        bytes_uploaded: bytes.into_inner(),
    })
}

/// The upload stage: each image of the plan that buildx exported as an OCI layout is
/// uploaded and checked against the digest buildx reported; blobs in `known` (from
/// [`base_blobs`]) are mounted from where they are. Returns, per image in plan order,
/// what was uploaded and how long it took (`None` for images pushed by buildx).
pub fn upload_layouts(
    client: &Client,
    plan: &Plan,
    project_dir: &Path,
    digests: &[Digest],
    known: &HashMap<String, Repository>,
    ui: &Ui,
) -> anyhow::Result<Vec<Option<(Uploaded, Duration)>>> {
    let others: Vec<Repository> = plan.images.iter().map(|i| i.repository.clone()).collect();
    let mut out = Vec::new();
    for (image, digest) in plan.images.iter().zip(digests) {
        let Some(dir) = &image.oci_dir else {
            out.push(None);
            continue;
        };
        let t = Instant::now();
        let repo = image.repository.clone();
        let layout = Layout::open(&project_dir.join(dir))?;
        let bar = ui.byte_bar(&format!("[{}] upload", named(image)));
        let up = upload(
            client,
            &layout,
            &repo,
            (&others, known),
            image.docker_media_types,
            &bar,
        )?;
        bar.finish();
        if up.converted_from.as_deref().unwrap_or(&up.digest) != digest.as_str() {
            return Err(BuildError::Metadata {
                path: image.metadata_file.display().to_string(),
                message: format!(
                    "buildx reported {digest} but the OCI layout holds {}",
                    up.digest
                ),
            }
            .into());
        }
        ui.line(&format!(
            "[{}] uploaded {}: {} blob(s) uploaded ({}), {} already there, {} mounted",
            image.name,
            crate::verify::report::short(&up.digest),
            up.blobs_uploaded,
            crate::heartbeat::human_bytes(up.bytes_uploaded),
            up.blobs_skipped,
            up.blobs_mounted
        ));
        if up.converted_from.is_some() {
            let mut line = format!(
                "[{}] Docker media types (media_types: docker): {} made from the built OCI index, blobs unchanged",
                image.name,
                crate::verify::report::short(&up.digest)
            );
            if up.attestations_dropped > 0 {
                line.push_str(&format!(
                    "; {} attestation manifest(s) left out (a Docker manifest list cannot hold them)",
                    up.attestations_dropped
                ));
            }
            ui.line(&line);
        }
        out.push(Some((up, t.elapsed())));
    }
    Ok(out)
}

/// Where the blobs of the images' base images are: for each base image (`FROM`, `COPY
/// --from`) on the same registry as an image of the plan, the config and layer digests of
/// its manifests, mapped to its repository — so a first push to a new repository mounts
/// them instead of uploading them again, as buildx does from its distribution-source
/// labels. Best effort: a base that cannot be read is simply not mounted from.
pub fn base_blobs(client: &Client, plan: &Plan, project_dir: &Path) -> HashMap<String, Repository> {
    use crate::registry::manifest::Manifest;
    let mut out = HashMap::new();
    let mut seen: Vec<String> = Vec::new();
    for image in plan.images.iter().filter(|i| i.oci_dir.is_some()) {
        let repo = image.repository.clone();
        let Ok(text) = image.dockerfile_text(project_dir) else {
            continue;
        };
        let args = image.build_args.iter().cloned().collect();
        for base in crate::inputs::dockerfile::base_refs(&text, &args) {
            if base.unresolved.is_some() || seen.contains(&base.reference) {
                continue;
            }
            seen.push(base.reference.clone());
            let Ok(r) = crate::registry::Reference::parse(&base.reference) else {
                continue;
            };
            if r.repository.registry != repo.registry {
                continue;
            }
            let Ok(root) = client.get_manifest(&r) else {
                continue;
            };
            let children: Vec<String> = match &root.manifest {
                Manifest::Index { manifests, .. } => manifests
                    .iter()
                    .filter(|d| !d.in_attestation_slot())
                    .take(16)
                    .map(|d| d.digest.clone())
                    .collect(),
                Manifest::Image { .. } => vec![root.digest.to_string()],
            };
            for d in children {
                let m = if d == root.digest {
                    Ok(root.clone())
                } else {
                    client.get_manifest(&r.with_target(&d))
                };
                if let Ok(f) = m
                    && let Manifest::Image { config, layers, .. } = &f.manifest
                {
                    for b in std::iter::once(config).chain(layers) {
                        out.entry(b.digest.clone())
                            .or_insert_with(|| r.repository.clone());
                    }
                }
            }
        }
    }
    out
}

/// An image as its progress lines name it: with its platform when it has only one.
fn named(image: &crate::plan::ImagePlan) -> String {
    match image.platforms.as_slice() {
        [one] => format!("{} {one}", image.name),
        _ => image.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci_layout::{Descriptor, Graph, Manifest};

    fn manifest(layer_type: &str, n: u8) -> Manifest {
        let bytes = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c{n}","size":2}},"layers":[{{"mediaType":"{layer_type}","digest":"sha256:l{n}","size":1}}]}}"#
        )
        .into_bytes();
        Manifest {
            descriptor: Descriptor {
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                digest: crate::digest::sha256(&bytes),
                size: bytes.len() as u64,
                annotations: Default::default(),
            },
            bytes,
        }
    }

    #[test]
    fn only_unknown_unknown_in_toto_manifests_are_attestations_of_a_layout() {
        let image = manifest("application/vnd.oci.image.layer.v1.tar+gzip", 1);
        let claim = manifest("application/vnd.oci.image.layer.v1.tar+gzip", 2);
        let statements = manifest("application/vnd.in-toto+json", 3);
        let entry = |m: &Manifest, os: &str, arch: &str, annotated: bool| {
            let mut e = serde_json::json!({
                "mediaType": m.descriptor.media_type, "digest": m.descriptor.digest,
                "size": m.descriptor.size, "platform": {"os": os, "architecture": arch},
            });
            if annotated {
                e["annotations"] =
                    serde_json::json!({"vnd.docker.reference.type": "attestation-manifest"});
            }
            e
        };
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                entry(&image, "linux", "amd64", false),
                entry(&claim, "linux", "arm64", true),
                entry(&statements, "unknown", "unknown", true),
            ],
        })
        .to_string()
        .into_bytes();
        let graph = Graph {
            blobs: Vec::new(),
            manifests: vec![image, claim.clone(), statements.clone()],
            root: Manifest {
                descriptor: Descriptor {
                    media_type: "application/vnd.oci.image.index.v1+json".into(),
                    digest: crate::digest::sha256(&index),
                    size: index.len() as u64,
                    annotations: Default::default(),
                },
                bytes: index,
            },
        };
        let found = layout_attestations(&graph);
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            vec![statements.descriptor.digest.clone()]
        );
        // With Docker media types the claimed one is converted like any image; only
        // the real attestation is left out.
        let (put, dropped) = manifests_to_put(&graph, true).unwrap();
        assert_eq!(dropped, 1);
        assert_eq!(put.len(), 3, "two image manifests and the list");
    }
}
