//! Named build contexts in the inputs fingerprint: a `docker-image://` context by the
//! digest its reference resolves to, a directory by its content (hashed as the main
//! context is), another image of the project (`target:`) by its own inputs
//! fingerprint. A URL context cannot be fingerprinted: the image is always built.

use std::path::Path;

use super::context::HashCache;
use super::{context, dockerfile};
use crate::config::NamedContext;
use crate::digest::Digest;
use crate::plan::ImagePlan;
use crate::registry::Client;

/// What an image's named contexts add to its fingerprint.
#[derive(Debug, Default)]
pub(super) struct Named {
    /// The context names: a `FROM` naming one reads the context, not a registry.
    pub names: Vec<String>,
    /// One line per context, for the hash.
    pub lines: Vec<String>,
}

/// The named contexts of `image`, or why its inputs cannot be known. A linked image
/// counts by its own fingerprint, which `fingerprint_linked` works out (the caller's
/// [`super::fingerprint`], so this file does not import it back).
pub(super) fn fingerprint(
    client: &Client,
    project_dir: &Path,
    work_dir: &Path,
    image: &ImagePlan,
    cache: &mut HashCache,
    fingerprint_linked: &dyn Fn(&ImagePlan, &mut HashCache) -> Result<Digest, String>,
) -> Result<Named, String> {
    let mut out = Named::default();
    for (name, c) in &image.options.contexts {
        out.names.push(name.clone());
        let line = match c {
            NamedContext::Image(r) => {
                let digest = dockerfile::resolve(client, r).map_err(|e| {
                    format!(
                        "build context `{name}` (docker-image://{r}) could not be resolved: {e:#}"
                    )
                })?;
                format!("context {name} image {r} {digest}")
            }
            NamedContext::Dir(d) => {
                let dir = project_dir.join(d);
                // No Dockerfile goes with a named context: only its own .dockerignore.
                let s = context::digest(
                    &dir,
                    &dir.join(".mpbuild-named-context"),
                    Some(work_dir),
                    cache,
                )
                .map_err(|e| format!("build context `{name}` ({d}) cannot be read: {e}"))?;
                format!("context {name} dir {d} {}", s.digest)
            }
            NamedContext::Url(u) => {
                return Err(format!(
                    "build context `{name}` is `{u}`, whose content mpbuild cannot fingerprint"
                ));
            }
            NamedContext::Project(other) => {
                let linked = image
                    .linked
                    .iter()
                    .find(|l| &l.context == name)
                    .ok_or_else(|| {
                        format!("build context `{name}`: image `{other}` is not planned")
                    })?;
                match fingerprint_linked(&linked.plan, cache) {
                    Ok(digest) => format!("context {name} project-image {other} {digest}"),
                    Err(why) => {
                        return Err(format!("build context `{name}` (image `{other}`): {why}"));
                    }
                }
            }
        };
        out.lines.push(line);
    }
    Ok(out)
}
