//! What the readers find in a deployment file (one container workload: its service,
//! platforms and images, or why a platform is unstated), how they report an error at a
//! file's line, and the architecture values they parse.

use super::image::ImageUse;
use super::node::Node;
use crate::platform::Platform;

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
