//! Platforms read from the deployment files a project already has, so `mpbuild.yaml`
//! need not restate them: ECS task definitions, CloudFormation/SAM (Lambda and ECS),
//! Kubernetes manifests, docker compose files and AWS Copilot manifests. Each finding
//! says which file and line decided it.

mod cloudformation;
mod compose;
mod copilot;
mod ecs;
mod kubernetes;
mod text;

use std::path::Path;

use serde_json::Value;

use crate::platform::Platform;

/// One container workload found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The catalog service (`ecs-fargate`, `lambda`, `kubernetes`, `apprunner`…), or
    /// None for a platform stated directly (compose).
    pub service: Option<String>,
    pub platforms: Vec<Platform>,
    /// The resource's name: task family, logical id, `kind/name`, compose service.
    pub resource: String,
    /// `FILE:LINE` of the field that decided (or of the resource when a default applied).
    pub source: String,
    /// True when the platform is the service's default (the field is absent).
    pub defaulted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{message}")]
    Walk { message: String },
    #[error("{path}: not valid YAML/JSON: {message}")]
    Parse { path: String, message: String },
    #[error(
        "{path}: no container workload found (ECS task definition, Lambda image function, Kubernetes workload, compose service or Copilot manifest)"
    )]
    Nothing { path: String },
    #[error("{path}: no resource `{resource}`; it has: {available}")]
    NoSuchResource {
        path: String,
        resource: String,
        available: String,
    },
    #[error("{at}: {message}")]
    At { at: String, message: String },
}

/// A parsed document with what is needed to find lines.
pub(crate) struct Doc<'a> {
    pub value: Value,
    pub file: &'a str,
    pub text: &'a str,
    /// First line (1-based) of this document in the file.
    pub start: u32,
}

impl Doc<'_> {
    /// `FILE:LINE` of `key` at or after `from` (falls back to `from`).
    pub fn at(&self, from: u32, key: &str) -> String {
        let line = text::line_of(self.text, from, key).unwrap_or(from);
        format!("{}:{line}", self.file)
    }
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
    read_for_image(path, display, resource, cluster_archs, None)
}

/// [`read`] for one image of the project: in compose files, only the services whose
/// `image:` is `repository` decide (unless `resource:` names one).
pub fn read_for_image(
    path: &Path,
    display: &str,
    resource: Option<&str>,
    cluster_archs: Option<&[Platform]>,
    repository: Option<&str>,
) -> Result<Vec<Found>, DeployError> {
    // A resource named by the user decides on its own.
    let repository = if resource.is_some() { None } else { repository };
    let mut found = Vec::new();
    if path.is_dir() {
        let files = crate::fsread::walk(path, &|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .map_err(|e| DeployError::Walk {
            message: e.shown_as(path, Path::new(display)).to_string(),
        })?;
        for f in files {
            let rel = f.strip_prefix(path).unwrap_or(&f);
            let shown = format!("{}/{}", display.trim_end_matches('/'), rel.display());
            found.extend(read_file(&f, &shown, cluster_archs, repository)?);
        }
    } else {
        found = read_file(path, display, cluster_archs, repository)?;
    }
    if found.is_empty() {
        return Err(DeployError::Nothing {
            path: display.to_string(),
        });
    }
    if let Some(r) = resource {
        let available: Vec<String> = found.iter().map(|f| f.resource.clone()).collect();
        found.retain(|f| f.resource == r || f.resource.rsplit('/').next() == Some(r));
        if found.is_empty() {
            return Err(DeployError::NoSuchResource {
                path: display.to_string(),
                resource: r.to_string(),
                available: available.join(", "),
            });
        }
    }
    Ok(found)
}

fn read_file(
    path: &Path,
    display: &str,
    cluster_archs: Option<&[Platform]>,
    repository: Option<&str>,
) -> Result<Vec<Found>, DeployError> {
    let text = crate::fsread::read_text(path, crate::fsread::MAX_TEXT_BYTES).map_err(|e| {
        DeployError::Read {
            path: display.to_string(),
            message: e.to_string(),
        }
    })?;
    read_text(&text, display, cluster_archs, repository)
}

/// Reads the workloads of one deployment file's text (`display` names it in messages);
/// `repository` picks the compose services that run this image.
pub fn read_text(
    text: &str,
    display: &str,
    cluster_archs: Option<&[Platform]>,
    repository: Option<&str>,
) -> Result<Vec<Found>, DeployError> {
    let docs: Vec<Value> =
        serde_saphyr::from_str_multiple(text).map_err(|e| DeployError::Parse {
            path: display.to_string(),
            message: e.without_snippet().to_string(),
        })?;
    let starts = text::doc_starts(text);
    let mut out = Vec::new();
    for (i, value) in docs.into_iter().enumerate() {
        if value.is_null() {
            continue;
        }
        let doc = Doc {
            value,
            file: display,
            text,
            start: starts.get(i).copied().unwrap_or(1),
        };
        let found = if ecs::is(&doc.value) {
            ecs::read(&doc)?
        } else if cloudformation::is(&doc.value) {
            cloudformation::read(&doc)?
        } else if kubernetes::is(&doc.value) {
            kubernetes::read(&doc, cluster_archs)?
        } else if compose::is(&doc.value) {
            compose::read(&doc, repository)?
        } else if copilot::is(&doc.value) {
            copilot::read(&doc)?
        } else {
            // Not a workload (a ConfigMap, a Service, …): nothing to read from it.
            Vec::new()
        };
        out.extend(found);
    }
    Ok(out)
}

/// Parses an architecture value found at `at`.
pub(crate) fn arch(at: &str, value: &str) -> Result<Platform, DeployError> {
    Platform::parse(value).map_err(|e| DeployError::At {
        at: at.to_string(),
        message: format!("{e} (a computed value such as !Ref or !If cannot be read; add `arch:` in mpbuild.yaml instead)"),
    })
}

/// A JSON string, or the strings of an array.
pub(crate) fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
