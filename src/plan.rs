//! The build plan: pure data computed from a checked [`Project`] — which platforms each
//! image must hold and why, which tags it gets, and the exact `docker buildx build` argv
//! (one image) or `docker buildx bake` file (several). No side effects here: the buildx
//! runner and the registry client carry the plan out.

use serde_json::{Value, json};

use crate::config::{Image, Project};
use crate::platform::{self, Platform};

impl Plan {
    /// Every image of the project.
    pub fn new(project: &Project, options: &Options) -> Plan {
        Plan::for_images(project, &project.images.iter().collect::<Vec<_>>(), options)
    }

    /// Only the named images (already checked to exist).
    pub fn for_images(project: &Project, images: &[&Image], options: &Options) -> Plan {
        let images: Vec<ImagePlan> = images
            .iter()
            .map(|image| image_plan(project, image, options))
            .collect();
        let bake =
            (images.len() > 1 || options::needs_bake(&images)).then(|| bake(&images, options));
        let builder = project.declared_builder.as_ref().map(|d| {
            let mut assignments: Vec<Assignment> = Vec::new();
            for p in images.iter().flat_map(|i| i.platforms.iter()) {
                if assignments.iter().any(|a| a.platform.matches(p)) {
                    continue;
                }
                let node = d.node_for(p);
                assignments.push(Assignment {
                    platform: p.clone(),
                    node: node.map(|n| n.name.clone()),
                    endpoint: node.and_then(|n| n.endpoint.clone()),
                });
            }
            BuilderPlan {
                name: d.name.clone(),
                driver: d.driver.clone(),
                assignments,
            }
        });
        Plan {
            images,
            bake,
            builder,
            options: options.clone(),
        }
    }

    /// The part of this plan that makes the images named in `names`, in that order: their
    /// plans as they are (with what the command changed on them), and the bake and
    /// builder assignments a plan of those images alone has. Nothing is planned again.
    pub fn only(&self, names: &[&str]) -> Plan {
        let images: Vec<ImagePlan> = names
            .iter()
            .filter_map(|n| self.images.iter().find(|i| i.name == *n))
            .cloned()
            .collect();
        let bake = (images.len() > 1 || options::needs_bake(&images))
            .then(|| bake(&images, &self.options));
        let builder = self.builder.as_ref().map(|b| {
            let mut assignments: Vec<Assignment> = Vec::new();
            for p in images.iter().flat_map(|i| i.platforms.iter()) {
                if !assignments.iter().any(|a| a.platform.matches(p))
                    && let Some(a) = b.assignments.iter().find(|a| a.platform.matches(p))
                {
                    assignments.push(a.clone());
                }
            }
            BuilderPlan {
                assignments,
                ..b.clone()
            }
        });
        Plan {
            images,
            bake,
            builder,
            options: self.options.clone(),
        }
    }

    /// `--deep=all` on the command line: every image gets the whole-filesystem check
    /// (each keeps its own `deep_ignore:`).
    pub fn deep_all(&mut self) {
        for image in &mut self.images {
            image.deep = true;
            image.deep_all = true;
        }
    }

    /// The argv lists to run, in order: one bake, or one build.
    pub fn commands(&self) -> Vec<&[String]> {
        match &self.bake {
            Some(b) => vec![b.command.as_slice()],
            None => self.images.iter().map(|i| i.command.as_slice()).collect(),
        }
    }
}

impl Plan {
    /// Adds an annotation to `image`'s build (`--annotation` before the context, and the
    /// bake target's `annotations`), on the root buildx will push: the index when there is
    /// one (several platforms, or attestations), else the manifest.
    pub fn annotate(&mut self, image: &str, key: &str, value: &str) {
        let Some(i) = self.images.iter_mut().find(|i| i.name == image) else {
            return;
        };
        let level = if i.platforms.len() > 1 || i.attestations {
            "index"
        } else {
            "manifest"
        };
        let annotation = format!("{level}:{key}={value}");
        // Before the `--` that ends the options (the context follows it).
        let at = i.command.len().saturating_sub(2);
        i.command
            .splice(at..at, ["--annotation".to_string(), annotation.clone()]);
        if let Some(b) = &mut self.bake
            && let Some(t) = b.file["target"].get_mut(image)
        {
            match t.get_mut("annotations").and_then(Value::as_array_mut) {
                Some(list) => list.push(json!(annotation)),
                None => t["annotations"] = json!([annotation]),
            }
        }
    }
}

/// The repository local builds are loaded into (`mpbuild build`).
pub const LOCAL_REPOSITORY: &str = "localhost";

impl ImagePlan {
    /// The name a local build is loaded under: `localhost/NAME:PLATFORMS`
    /// (`localhost/api:linux-arm64`). Never the deploy repository's: a habitual `docker
    /// push` of it cannot put one platform over a deploy tag (`localhost` is no
    /// registry a deploy reads), and the tag says which platform it holds.
    pub fn local_name(&self, platforms: &[Platform]) -> String {
        let tag: Vec<String> = platforms
            .iter()
            .map(|p| p.to_string().replace('/', "-"))
            .collect();
        let name = self.name.to_lowercase();
        let name = name.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        format!("{LOCAL_REPOSITORY}/{name}:{}", tag.join("_"))
    }

    /// The argv of a local developer build: the same build for `platforms`, loaded into
    /// the local Docker (`--load`) under its [local name](ImagePlan::local_name), with
    /// no registry output, no attestations and no cache export.
    pub fn local_argv(&self, platforms: &[Platform]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut it = self.command.iter().peekable();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--platform" => {
                    it.next();
                    out.extend(["--platform".into(), platform::join(platforms)]);
                }
                // A local load keeps no annotations (Docker's image store has no index).
                "--metadata-file" | "--output" | "--cache-to" | "--annotation" => {
                    it.next();
                }
                "--provenance=false" | "--provenance=mode=min" | "--sbom=false" | "--sbom=true" => {
                }
                "--" => {
                    // The end of the options; the context follows.
                    out.extend(["--provenance=false".into(), "--load".into()]);
                    out.extend(["--tag".into(), self.local_name(platforms)]);
                    out.push(a.clone());
                }
                _ => out.push(a.clone()),
            }
        }
        out
    }
}

mod bake;
pub mod cache;
pub mod gitlab;
mod image;
mod leg;
mod options;
mod types;

use bake::bake;
pub use bake::needs_version;
use image::image_plan;
pub use leg::{Leg, Matrix, MatrixEntry, runner_label};
pub use options::write_inline;
pub use types::*;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_options;
