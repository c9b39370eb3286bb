//! Uploading an OCI layout (the `docker` driver's build output) with mpbuild's registry
//! client: blobs the registry has are skipped, blobs another repository of the same
//! registry has are mounted, the rest streamed from disk in parallel; then the image
//! manifests and the index, by digest. No tag is touched.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::oci_layout::{Descriptor, Layout};
use crate::registry::{Client, RegistryError, Repository};

/// How many blobs are uploaded at once.
pub const PARALLEL: usize = 4;

/// What an upload did.
#[derive(Debug, Clone, Default)]
pub struct Uploaded {
    /// The digest of the root (index or manifest), now in the repository.
    pub digest: String,
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
