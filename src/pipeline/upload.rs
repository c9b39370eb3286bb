//! Uploading an OCI layout (the `docker` driver's build output) with mpbuild's registry
//! client: blobs the registry has are skipped, blobs another repository of the same
//! registry has are mounted, the rest streamed from disk in parallel; then the image
//! manifests and the index, by digest. No tag is touched.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::buildx::{BuildError, Ui};
use crate::oci_layout::{Descriptor, Layout};
use crate::plan::Plan;
use crate::registry::{Client, RegistryError, Repository};

/// How many blobs are uploaded at once.
pub const PARALLEL: usize = 4;

/// What an upload did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Uploaded {
    /// The digest of the root (index or manifest), now in the repository.
    pub digest: String,
    #[serde(skip)]
    pub media_type: String,
    pub blobs_skipped: usize,
    pub blobs_mounted: usize,
    pub blobs_uploaded: usize,
    pub bytes_uploaded: u64,
}

/// Uploads everything reachable from the layout's image to `repo`, trying mounts from
/// `mount_from` (other repositories of the same registry) before uploading.
pub fn upload(
    client: &Client,
    layout: &Layout,
    repo: &Repository,
    mount_from: &[Repository],
) -> Result<Uploaded, anyhow::Error> {
    let top = layout.top()?;
    let graph = layout.graph(&top)?;
    let skipped = AtomicUsize::new(0);
    let mounted = AtomicUsize::new(0);
    let uploaded = AtomicUsize::new(0);
    let bytes = AtomicU64::new(0);
    let queue: Mutex<Vec<&Descriptor>> = Mutex::new(graph.blobs.iter().rev().collect());
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..PARALLEL.min(graph.blobs.len().max(1)) {
            s.spawn(|| {
                loop {
                    if first_error.lock().unwrap().is_some() || crate::buildx::interrupted() {
                        return;
                    }
                    let Some(blob) = queue.lock().unwrap().pop() else {
                        return;
                    };
                    let result = (|| -> Result<(), anyhow::Error> {
                        if client.blob_exists(repo, &blob.digest, true)? {
                            skipped.fetch_add(1, Ordering::Relaxed);
                            return Ok(());
                        }
                        for from in mount_from
                            .iter()
                            .filter(|f| *f != repo && f.registry == repo.registry)
                        {
                            if client.mount_blob(repo, &blob.digest, from)? {
                                mounted.fetch_add(1, Ordering::Relaxed);
                                return Ok(());
                            }
                        }
                        let path = layout.blob_path(&blob.digest)?;
                        let open = || -> std::io::Result<Box<dyn std::io::Read + Send>> {
                            Ok(Box::new(std::io::BufReader::with_capacity(
                                1 << 20,
                                std::fs::File::open(&path)?,
                            )))
                        };
                        client.upload_blob(repo, &blob.digest, blob.size, &open)?;
                        uploaded.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(blob.size, Ordering::Relaxed);
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
    if crate::buildx::interrupted() {
        return Err(crate::exit::Interrupted.into());
    }
    for m in &graph.manifests {
        client.put_manifest(
            repo,
            &m.descriptor.digest,
            &m.descriptor.media_type,
            &m.bytes,
        )?;
    }
    let root = &graph.root;
    let digest = client.put_manifest(
        repo,
        &root.descriptor.digest,
        &root.descriptor.media_type,
        &root.bytes,
    )?;
    if digest != root.descriptor.digest {
        return Err(RegistryError::DigestMismatch {
            registry: repo.registry.clone(),
            reference: format!("{repo}@{}", root.descriptor.digest),
            expected: root.descriptor.digest.clone(),
            actual: digest,
        }
        .into());
    }
    Ok(Uploaded {
        digest,
        media_type: root.descriptor.media_type.clone(),
        blobs_skipped: skipped.into_inner(),
        blobs_mounted: mounted.into_inner(),
        blobs_uploaded: uploaded.into_inner(),
        bytes_uploaded: bytes.into_inner(),
    })
}

/// The upload stage: each image of the plan that buildx exported as an OCI layout is
/// uploaded and checked against the digest buildx reported. Returns, per image in plan
/// order, what was uploaded and how long it took (`None` for images pushed by buildx).
pub fn upload_layouts(
    client: &Client,
    plan: &Plan,
    project_dir: &Path,
    digests: &[String],
    ui: &Ui,
) -> anyhow::Result<Vec<Option<(Uploaded, Duration)>>> {
    let others: Vec<Repository> = plan
        .images
        .iter()
        .filter_map(|i| Repository::parse(&i.repository).ok())
        .collect();
    let mut out = Vec::new();
    for (image, digest) in plan.images.iter().zip(digests) {
        let Some(dir) = &image.oci_dir else {
            out.push(None);
            continue;
        };
        let t = Instant::now();
        let repo = Repository::parse(&image.repository)?;
        let layout = Layout::open(&project_dir.join(dir))?;
        let up = upload(client, &layout, &repo, &others)?;
        if &up.digest != digest {
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
            human_bytes(up.bytes_uploaded),
            up.blobs_skipped,
            up.blobs_mounted
        ));
        out.push(Some((up, t.elapsed())));
    }
    Ok(out)
}

fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}
