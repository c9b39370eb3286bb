//! An image's inputs fingerprint: everything its build can see. The plan's build
//! fingerprint (repository, platforms, attestations, build args, stage, secret ids — never
//! values), the Dockerfile, the context as the build sees it (`context`, with the
//! `.dockerignore` honoured) and every base image resolved to its digest through the
//! registry (`dockerfile`). Equal fingerprints mean the build would make the same image
//! from the same inputs; `push` uses that to skip unchanged images.

pub mod context;
pub mod dockerfile;
mod expand;
pub mod ignore;
mod lines;
mod named;
pub mod stages;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::plan::ImagePlan;
use crate::registry::Client;

/// The annotation that carries the fingerprint on what `push` pushes.
pub const ANNOTATION: &str = "dev.mpbuild.inputs";

/// An image's inputs, fingerprinted, or why they cannot be.
#[derive(Debug, Clone)]
pub enum Inputs {
    Known(Fingerprint),
    /// The image is always built: a base image that cannot be resolved, `rebuild:
    /// always`, a context that cannot be read…
    Unknown(String),
}

#[derive(Debug, Clone)]
pub struct Fingerprint {
    pub digest: crate::digest::Digest,
    /// Each base image and the digest it resolved to.
    pub bases: Vec<(String, String)>,
    pub files: usize,
    pub bytes: u64,
    /// Files read (not in the hash cache).
    pub hashed: usize,
    pub time: Duration,
}

/// Fingerprints `image`'s inputs. `cache` keeps content hashes between runs.
pub fn fingerprint(
    client: &Client,
    project_dir: &Path,
    work_dir: &Path,
    image: &ImagePlan,
    cache: &mut context::HashCache,
) -> Inputs {
    let started = Instant::now();
    if image.rebuild_always {
        return Inputs::Unknown("`rebuild: always`".into());
    }
    if image.options.no_cache {
        return Inputs::Unknown("`no_cache`: every step is built again".into());
    }
    let dockerfile = project_dir.join(&image.dockerfile);
    let text = match image.dockerfile_text(project_dir) {
        Ok(t) => t,
        Err(e) => return Inputs::Unknown(format!("the Dockerfile cannot be read: {e}")),
    };
    // A linked image (`target:`) counts by its own inputs.
    let linked = |plan: &ImagePlan, cache: &mut context::HashCache| {
        let inputs = fingerprint(client, project_dir, work_dir, plan, cache);
        match inputs {
            Inputs::Known(f) => Ok(f.digest),
            Inputs::Unknown(why) => Err(why),
        }
    };
    let named = match named::fingerprint(client, project_dir, work_dir, image, cache, &linked) {
        Ok(n) => n,
        Err(why) => return Inputs::Unknown(why),
    };
    let args: BTreeMap<String, String> = image.build_args.iter().cloned().collect();
    let mut bases = Vec::new();
    for b in dockerfile::base_refs(&text, &args) {
        // A name a named context answers is no registry image.
        if named.names.contains(&b.reference) {
            continue;
        }
        if let Some(why) = b.unresolved {
            return Inputs::Unknown(format!("{}:{}: base image {why}", image.dockerfile, b.line));
        }
        let digest = match dockerfile::resolve(client, &b.reference) {
            Ok(d) => d,
            Err(e) => {
                return Inputs::Unknown(format!(
                    "{}:{}: base image `{}` could not be resolved: {e:#}",
                    image.dockerfile, b.line, b.reference
                ));
            }
        };
        bases.push((b.reference, digest));
    }
    let ctx = match context::digest(
        &project_dir.join(&image.context),
        &dockerfile,
        Some(work_dir),
        cache,
    ) {
        Ok(c) => c,
        Err(e) => return Inputs::Unknown(format!("the build context cannot be read: {e}")),
    };
    let mut h = Sha256::new();
    h.update(b"mpbuild inputs v1\n");
    h.update(format!("plan {}\n", image.build_fingerprint));
    h.update(format!(
        "dockerfile {}\n",
        crate::digest::sha256(text.as_bytes())
    ));
    h.update(format!("context {}\n", ctx.digest));
    for (r, d) in &bases {
        h.update(format!("from {r} {d}\n"));
    }
    // Only images with named contexts hash them: every other fingerprint stays as it was.
    for line in &named.lines {
        h.update(format!("{line}\n"));
    }
    Inputs::Known(Fingerprint {
        digest: crate::digest::Digest::from_sha256_hash(&h.finalize()),
        bases,
        files: ctx.files,
        bytes: ctx.bytes,
        hashed: ctx.hashed,
        time: started.elapsed(),
    })
}

/// A file every build of an image reads that cannot be read as one: buildx reads it
/// too, and would wait on a FIFO for ever or read a device without end.
#[derive(Debug, thiserror::Error)]
#[error(
    "image `{image}`: {}: {source} (buildx reads it too, and would wait on it for ever)",
    .path.display()
)]
pub struct InputFileError {
    pub image: String,
    /// As the project file names it (relative to its directory).
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

impl crate::exit::Coded for InputFileError {
    fn code(&self) -> crate::exit::Code {
        crate::exit::Code::Usage
    }
}

/// Checks, before anything runs, the files every build of `image` reads: the
/// Dockerfile and the ignore files that may apply (`DOCKERFILE.dockerignore`, the
/// context's `.dockerignore`): each, when it exists, a regular file of at most
/// [`crate::fsread::MAX_TEXT_BYTES`].
pub fn check_files(project_dir: &Path, image: &ImagePlan) -> Result<(), InputFileError> {
    let context = Path::new(&image.context);
    let inline = image.options.dockerfile_inline.is_some();
    let files = [
        // An inline Dockerfile is written by mpbuild into the run's directory.
        PathBuf::from(if inline { "" } else { &image.dockerfile }),
        PathBuf::from(format!("{}.dockerignore", image.dockerfile)),
        context.join(".dockerignore"),
    ];
    for shown in files.into_iter().filter(|f| !f.as_os_str().is_empty()) {
        match crate::fsread::read_bytes(&project_dir.join(&shown), crate::fsread::MAX_TEXT_BYTES) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(InputFileError {
                    image: image.name.clone(),
                    path: shown,
                    source,
                });
            }
        }
    }
    Ok(())
}
