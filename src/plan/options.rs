//! An image's build options in the plan: the buildx flags they become (the argv is the
//! one description; the bake target is re-read from it), which of them are part of the
//! fingerprint, and the other images of the project a build takes as named contexts
//! (`target:IMAGE`), each planned for the platforms of the image that takes it.

use std::path::PathBuf;

use super::types::{ImagePlan, Options};
use crate::config::Image;

/// Whether the plan's root will be an index (several platforms, or attestations):
/// index annotations need one.
pub(super) fn has_index(plan: &ImagePlan) -> bool {
    plan.platforms.len() > 1 || plan.attestations
}

/// The flags of `image`'s build options, in a fixed order, before the attestation and
/// cache flags.
pub(super) fn flags(image: &Image, plan: &ImagePlan) -> Vec<String> {
    let o = &image.options;
    let mut argv: Vec<String> = Vec::new();
    for s in &o.ssh {
        argv.extend(["--ssh".into(), s.clone()]);
    }
    for (name, c) in &o.contexts {
        argv.extend(["--build-context".into(), format!("{name}={}", c.spec())]);
    }
    for (k, v) in &o.labels {
        argv.extend(["--label".into(), format!("{k}={v}")]);
    }
    for a in &o.annotations {
        if let Some(flag) = a.flag(has_index(plan)) {
            argv.extend(["--annotation".into(), flag]);
        }
    }
    if let Some(s) = &o.shm_size {
        argv.extend(["--shm-size".into(), s.clone()]);
    }
    for u in &o.ulimits {
        argv.extend(["--ulimit".into(), u.clone()]);
    }
    if let Some(n) = &o.network {
        argv.extend(["--network".into(), n.clone()]);
        if n == "host" {
            argv.extend(["--allow".into(), "network.host".into()]);
        }
    }
    for (host, ip) in &o.add_hosts {
        argv.extend(["--add-host".into(), format!("{host}={ip}")]);
    }
    if o.no_cache {
        argv.push("--no-cache".into());
    }
    if o.pull {
        argv.push("--pull".into());
    }
    argv
}

/// Flags that change how the build runs but not what it makes: left out of the
/// fingerprint, so `no_cache: true` or a larger `/dev/shm` does not make an unchanged
/// image look changed. The number says how many values follow the flag.
pub(super) fn not_an_input(flag: &str) -> Option<usize> {
    match flag {
        "--no-cache" | "--pull" => Some(0),
        "--shm-size" | "--ulimit" | "--allow" => Some(1),
        _ => None,
    }
}

/// Where the build of an image with `dockerfile_inline:` reads it: a file the build
/// writes into the run's directory first (`write_inline`); bake takes the text itself.
pub(super) fn inline_path(options: &Options, image: &str) -> PathBuf {
    options.work_dir.join(format!("{image}.Dockerfile"))
}

/// Writes the inline Dockerfiles of `images` where their argv reads them.
pub fn write_inline<'a>(images: impl IntoIterator<Item = &'a ImagePlan>) -> std::io::Result<()> {
    for i in images {
        if let Some(text) = &i.options.dockerfile_inline {
            std::fs::write(&i.dockerfile, text)?;
        }
    }
    Ok(())
}

/// A context name as a bake target name (letters, digits, `-`, `_`).
pub(super) fn bake_name(context: &str) -> String {
    context
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Whether any of the plan's images needs bake even alone: a `target:` context.
pub(super) fn needs_bake(images: &[ImagePlan]) -> bool {
    images.iter().any(|i| !i.linked.is_empty())
}

/// The bake target's value for a `--build-context NAME=VALUE` of `plan`: `target:IMAGE`
/// becomes the linked target's name.
pub(super) fn bake_context(plan: &ImagePlan, name: &str, value: &str) -> String {
    match value.strip_prefix("target:") {
        Some(_) => plan
            .linked
            .iter()
            .find(|l| l.context == name)
            .map(|l| format!("target:{}", l.target))
            .unwrap_or_else(|| value.to_string()),
        None => value.to_string(),
    }
}

impl ImagePlan {
    /// The Dockerfile's text: `dockerfile_inline:`, or the file (bounded, as every file
    /// mpbuild reads).
    pub fn dockerfile_text(&self, project_dir: &std::path::Path) -> std::io::Result<String> {
        match &self.options.dockerfile_inline {
            Some(text) => Ok(text.clone()),
            None => crate::fsread::read_text(
                &project_dir.join(&self.dockerfile),
                crate::fsread::MAX_TEXT_BYTES,
            ),
        }
    }
}
