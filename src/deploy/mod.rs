//! The deployment files a project already has, read for what they say about images:
//! ECS task definitions, CloudFormation/SAM (Lambda, ECS, App Runner, Batch), Kubernetes
//! manifests, docker compose files and AWS Copilot manifests. For each container
//! workload: the platforms it needs (and the file and line that decided), and every
//! image reference it runs (and where it is written). `from:` targets take the
//! platforms; `mpbuild check` takes both.

mod cloudformation;
mod compose;
mod copilot;
mod ecs;
mod image;
mod interpolate;
mod kubernetes;
pub mod node;
mod select;

use std::path::Path;

use crate::platform::Platform;

pub use image::{Image, ImageUse, repository_of};
pub use node::Node;
pub use select::{Ignored, Selection, read_for_image, select_for_image};

/// One container workload found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The catalog service (`ecs-fargate`, `lambda`, `kubernetes`, `apprunner`…), or
    /// None for a platform stated directly (compose).
    pub service: Option<String>,
    /// The platforms it needs; empty when `unstated` says where they come from.
    pub platforms: Vec<Platform>,
    /// Why the file states no platform, when it does not.
    pub unstated: Option<Unstated>,
    /// The resource's name: task family, logical id, `kind/name`, compose service.
    pub resource: String,
    /// The file, as shown in messages.
    pub file: String,
    /// `FILE:LINE` of the field that decided (or of the resource when a default applied).
    pub source: String,
    /// True when the platform is a default (the field is absent).
    pub defaulted: bool,
    /// The images its containers run, in file order.
    pub images: Vec<ImageUse>,
    /// Why its images are not for `check` to verify (compose builds it, `sam build`
    /// does), when they are not.
    pub unchecked: Option<String>,
}

/// Where the platforms of a workload that states none come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unstated {
    /// The service has no architecture field: the catalog's platforms for it (App
    /// Runner runs x86-64 only; Batch on EC2 runs what its instances are).
    ServiceDefault,
    /// Compose without `platform:` runs the host's platform.
    Host,
}

impl Found {
    /// The platforms this workload needs, the catalog's default for its service filled
    /// in where the file states none (`Unstated::ServiceDefault`). Empty for
    /// `Unstated::Host`: that is the caller's to decide.
    pub fn platforms_with(
        &self,
        catalog: &crate::catalog::Catalog,
        host: &Platform,
    ) -> Vec<Platform> {
        match (self.unstated, &self.service) {
            (Some(Unstated::ServiceDefault), Some(s)) => catalog
                .get(s)
                .map(|s| s.default_platforms(host))
                .unwrap_or_default(),
            _ => self.platforms.clone(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{message}")]
    Walk { message: String },
    #[error("{path}:{line}:{column}: not valid YAML or JSON: {message}{hint}")]
    Parse {
        path: String,
        line: u32,
        column: u32,
        message: String,
        hint: String,
    },
    #[error(
        "{path}: no container workload found (ECS task definition, Lambda image function, App Runner service, Batch job definition, Kubernetes workload, compose service or Copilot manifest)"
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

impl crate::exit::Coded for DeployError {
    fn code(&self) -> crate::exit::Code {
        crate::exit::Code::Usage
    }
}

/// What the readers need besides the document: the file's name for messages, the
/// cluster's architectures for Kubernetes workloads without a constraint, and the
/// environment compose interpolates `${VAR}` from.
pub struct Context<'a> {
    pub file: &'a str,
    pub cluster: Option<&'a [Platform]>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Context<'_> {
    /// `FILE:LINE`.
    pub fn at(&self, line: u32) -> String {
        format!("{}:{line}", self.file)
    }

    /// An error at `FILE:LINE:COLUMN`.
    pub(crate) fn err_at(&self, node: &Node, message: impl Into<String>) -> DeployError {
        DeployError::At {
            at: format!("{}:{}:{}", self.file, node.line, node.column),
            message: message.into(),
        }
    }

    pub(crate) fn err(&self, line: u32, message: impl Into<String>) -> DeployError {
        DeployError::At {
            at: self.at(line),
            message: message.into(),
        }
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
    let found = read_path(path, display, cluster_archs)?;
    if found.is_empty() {
        return Err(DeployError::Nothing {
            path: display.to_string(),
        });
    }
    match resource {
        Some(r) => select::pick(found, display, r),
        None => Ok(found),
    }
}

/// Every workload of a file or directory, with no selection.
pub fn read_path(
    path: &Path,
    display: &str,
    cluster_archs: Option<&[Platform]>,
) -> Result<Vec<Found>, DeployError> {
    let mut found = Vec::new();
    for (file, shown) in files(path, display)? {
        let text = read_file(&file, &shown)?;
        let env = |name: &str| std::env::var(name).ok();
        let ctx = Context {
            file: &shown,
            cluster: cluster_archs,
            env: &env,
        };
        found.extend(read_text(&text, &ctx)?);
    }
    Ok(found)
}

/// The deployment files at `path`, each with the name messages show: the file itself,
/// or every *.yaml, *.yml and *.json under a directory, sorted.
pub fn files(path: &Path, display: &str) -> Result<Vec<(std::path::PathBuf, String)>, DeployError> {
    if !path.is_dir() {
        return Ok(vec![(path.to_path_buf(), display.to_string())]);
    }
    let files = crate::fsread::walk(path, &|p| {
        p.extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
    })
    .map_err(|e| DeployError::Walk {
        message: e.shown_as(path, Path::new(display)).to_string(),
    })?;
    Ok(files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(path).unwrap_or(&f);
            let shown = match display.trim_end_matches('/') {
                "." => rel.display().to_string(),
                dir => format!("{dir}/{}", rel.display()),
            };
            (f, shown)
        })
        .collect())
}

/// A deployment file's text, read bounded (see [`read`]).
pub fn read_file(path: &Path, display: &str) -> Result<String, DeployError> {
    crate::fsread::read_text(path, crate::fsread::MAX_TEXT_BYTES).map_err(|e| DeployError::Read {
        path: display.to_string(),
        message: e.to_string(),
    })
}

/// The workloads of one deployment file's text (every document of it).
pub fn read_text(text: &str, ctx: &Context) -> Result<Vec<Found>, DeployError> {
    let docs = node::parse(text).map_err(|e| {
        let hint = if text.contains("{{") {
            "; it looks like a Helm or Go template: render it first (`helm template … | mpbuild check -`)"
        } else {
            ""
        };
        DeployError::Parse {
            path: ctx.file.to_string(),
            line: e.line,
            column: e.column,
            message: e.message,
            hint: hint.to_string(),
        }
    })?;
    let mut out = Vec::new();
    for doc in &docs {
        out.extend(read_doc(doc, ctx)?);
    }
    Ok(out)
}

fn read_doc(doc: &Node, ctx: &Context) -> Result<Vec<Found>, DeployError> {
    if ecs::is(doc) {
        ecs::read(doc, ctx)
    } else if cloudformation::is(doc) {
        cloudformation::read(doc, ctx)
    } else if kubernetes::is(doc) {
        kubernetes::read(doc, ctx)
    } else if compose::is(doc) {
        compose::read(doc, ctx)
    } else if copilot::is(doc) {
        copilot::read(doc, ctx)
    } else {
        // Not a workload (a ConfigMap, a Service, …): nothing to read from it.
        Ok(Vec::new())
    }
}

/// Parses an architecture value found at `line`.
pub(crate) fn arch(ctx: &Context, line: u32, value: &str) -> Result<Platform, DeployError> {
    Platform::parse(value).map_err(|e| ctx.err(line, e.to_string()))
}

/// Parses a platform or architecture value written at `node` (errors at its line and
/// column).
pub(crate) fn arch_at(ctx: &Context, node: &Node, value: &str) -> Result<Platform, DeployError> {
    Platform::parse(value).map_err(|e| ctx.err_at(node, e.to_string()))
}

/// The literal architecture at `node`, or an error saying a computed one cannot be read.
pub(crate) fn literal_arch(
    ctx: &Context,
    node: &Node,
    field: &str,
) -> Result<Platform, DeployError> {
    match node.scalar() {
        Some(v) => arch_at(ctx, node, &v),
        None => Err(ctx.err(
            node.line,
            format!(
                "{field} is {}, which only the deploy computes; write the architecture itself, or name the platforms in mpbuild.yaml instead of `from:`",
                node.describe()
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
