//! Which workloads of a deployment file decide an image's platforms (`from:`): the one
//! named with `resource:`; else, in compose files and Kubernetes manifests (which run
//! databases, caches and sidecars built elsewhere beside the image), only the workloads
//! whose image is the image's repository, any tag or digest. The others are listed as
//! ignored, with why. ECS, CloudFormation and Copilot files describe the image's own
//! service and count whole.

use std::path::Path;

use super::found::{DeployError, Found, Unstated};
use super::image::{Image, repository_of};
use crate::platform::Platform;

/// The workloads that decide, and those left out.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub found: Vec<Found>,
    pub ignored: Vec<Ignored>,
}

/// A workload left out, where it is, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub at: String,
    pub resource: String,
    pub why: String,
}

/// [`super::read`] for one image of the project: `resource` picks a workload by name;
/// else compose services and Kubernetes workloads count only when they run
/// `repository`.
pub fn read_for_image(
    path: &Path,
    display: &str,
    resource: Option<&str>,
    cluster_archs: Option<&[Platform]>,
    repository: &str,
) -> Result<Selection, DeployError> {
    let found = super::read::read_path(path, display, cluster_archs)?;
    if found.is_empty() {
        return Err(DeployError::Nothing {
            path: display.to_string(),
        });
    }
    let selection = match resource {
        Some(r) => {
            let all = found.clone();
            let picked = pick(found, display, r)?;
            let ignored = all
                .iter()
                .filter(|f| !picked.contains(f))
                .map(|f| Ignored {
                    at: f.source.clone(),
                    resource: f.resource.clone(),
                    why: format!("`resource: {r}` names another workload"),
                })
                .collect();
            Selection {
                found: picked,
                ignored,
            }
        }
        None => select_for_image(found, display, repository)?,
    };
    for f in &selection.found {
        if f.unstated == Some(Unstated::Host) {
            let runs = f
                .images
                .first()
                .map(|i| match &i.image {
                    Image::Literal { text, .. } => format!(" runs {text} but"),
                    Image::Unresolved { .. } => String::new(),
                })
                .unwrap_or_default();
            return Err(DeployError::At {
                at: f.source.clone(),
                message: format!(
                    "compose service `{}`{runs} states no `platform:` (compose would run the host's); add `platform: linux/amd64` (or the one it needs) there, or name the platforms in mpbuild.yaml instead of `from:`",
                    f.resource
                ),
            });
        }
    }
    Ok(selection)
}

/// The workloads named `resource` (`kind/name` or the name alone).
pub(super) fn pick(
    found: Vec<Found>,
    display: &str,
    resource: &str,
) -> Result<Vec<Found>, DeployError> {
    let available: Vec<String> = found.iter().map(|f| f.resource.clone()).collect();
    let picked: Vec<Found> = found
        .into_iter()
        .filter(|f| f.resource == resource || f.resource.rsplit('/').next() == Some(resource))
        .collect();
    if picked.is_empty() {
        return Err(DeployError::NoSuchResource {
            path: display.to_string(),
            resource: resource.to_string(),
            available: available.join(", "),
        });
    }
    Ok(picked)
}

/// Compose services and Kubernetes workloads that run `repository` (others ignored);
/// every other workload as it is.
pub fn select_for_image(
    found: Vec<Found>,
    display: &str,
    repository: &str,
) -> Result<Selection, DeployError> {
    let wanted = repository_of(repository);
    let mut selection = Selection::default();
    let mut others: Vec<String> = Vec::new();
    for f in found {
        let by_image = f.service.is_none() || f.service.as_deref() == Some("kubernetes");
        if !by_image {
            selection.found.push(f);
            continue;
        }
        let runs = f.images.iter().any(|u| match &u.image {
            Image::Literal { text, .. } => repository_of(text) == wanted,
            Image::Unresolved { .. } => false,
        });
        if runs {
            selection.found.push(f);
            continue;
        }
        let why = match f.images.first().map(|u| &u.image) {
            Some(Image::Literal { text, .. }) => format!("runs {text}"),
            Some(Image::Unresolved { written, .. }) => {
                format!("runs {written}, which is not a literal reference")
            }
            None => "runs no image".to_string(),
        };
        others.push(format!("{} {why}", f.resource));
        let at = f
            .images
            .first()
            .map(|u| format!("{}:{}", f.file, u.line))
            .unwrap_or_else(|| f.source.clone());
        selection.ignored.push(Ignored {
            at,
            resource: f.resource,
            why,
        });
    }
    if selection.found.is_empty() {
        return Err(DeployError::At {
            at: display.to_string(),
            message: format!(
                "no workload here runs {wanted} ({}); name the one that runs this image with `resource: NAME` on the `from:` target",
                others.join(", ")
            ),
        });
    }
    Ok(selection)
}
/// Reads `path` (a file, or a directory: every *.yaml, *.yml and *.json under it).
/// `resource` picks one workload by name; `cluster_archs` serves Kubernetes workloads
/// without an architecture constraint.
///
/// Files are read through [`crate::fsread`]: regular files only, each at most
/// [`crate::fsread::MAX_TEXT_BYTES`]. Under a directory, symlinked directories are not
/// followed (a link loop cannot list a file twice); a symlinked file is read like a file
/// (and refused unless it resolves to a regular file); the walk is bounded in depth and
/// entries.
pub fn read(
    path: &Path,
    display: &str,
    resource: Option<&str>,
    cluster_archs: Option<&[Platform]>,
) -> Result<Vec<Found>, DeployError> {
    let found = super::read::read_path(path, display, cluster_archs)?;
    if found.is_empty() {
        return Err(DeployError::Nothing {
            path: display.to_string(),
        });
    }
    match resource {
        Some(r) => pick(found, display, r),
        None => Ok(found),
    }
}
