//! What `check` works on: each use of an image reference in a deployment file and what
//! its workload needs (`gather`'s output), and what became of it (`resolve`'s).

use std::path::PathBuf;

use serde::Serialize;

use crate::platform::Platform;
use crate::registry::Reference;
use crate::verify::{Requirements, Verdict};

/// How many distinct references were resolved, and distinct images read.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reads {
    pub references: usize,
    pub images: usize,
}

/// A deployment file as read, kept for `--pin`.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name messages show.
    pub shown: String,
    /// Where it is on disk; None for standard input.
    pub path: Option<PathBuf>,
    pub text: String,
}

/// One image reference written in a deployment file, and what its workload needs.
#[derive(Debug, Clone)]
pub struct Use {
    pub file: String,
    pub line: u32,
    /// The workload: task family, logical id, `Kind/name`, compose service.
    pub resource: String,
    pub container: String,
    /// The catalog service the workload runs on (`ecs-fargate`, `lambda`, `kubernetes`).
    pub service: Option<String>,
    /// The reference as the file writes it (after compose's own interpolation).
    pub written: String,
    /// The platforms its workload needs, and the `FILE:LINE` that decided.
    pub platforms: Vec<Platform>,
    pub platforms_from: String,
    /// Why these platforms: `nodeSelector`, a default, the cluster's architectures.
    pub platforms_why: String,
    pub target: Target,
    pub requirements: Requirements,
    /// The file it is written in (index into the gathered sources).
    pub source: usize,
    /// The bytes of the value in its file, for `--pin`.
    pub span: Option<(usize, usize)>,
    /// Compose filled in a `${VAR}` of it (the file does not hold the reference as is).
    pub interpolated: bool,
}

/// What a use names.
#[derive(Debug, Clone)]
pub enum Target {
    Reference(Reference),
    /// A value another tool fills in; why it cannot be checked here.
    Unresolved(String),
    /// Not an image reference; why.
    Invalid(String),
}

/// A workload or image left unchecked, and why (compose builds it, `sam build` does).
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub at: String,
    pub resource: String,
    pub why: String,
}

/// The verdict on one use.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Read from its registry and checked (passed or failed: `Verdict::ok`).
    Checked { verdict: Box<Verdict> },
    /// A value another tool fills in.
    Unresolved { why: String },
    /// Not an image reference.
    Invalid { why: String },
    /// The registry could not be read (network, authentication, bad content).
    Error { error: String },
}

/// One use and its verdict.
#[derive(Debug, Clone)]
pub struct Checked {
    pub use_: Use,
    pub outcome: Outcome,
}

impl Checked {
    pub fn passed(&self) -> bool {
        matches!(&self.outcome, Outcome::Checked { verdict } if verdict.ok())
    }

    /// The digest the reference resolved to, when it did.
    pub fn digest(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Checked { verdict } if !verdict.digest.is_empty() => Some(&verdict.digest),
            _ => None,
        }
    }
}

/// Everything `check` found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files: usize,
    /// Distinct references resolved, distinct images (repository and digest) read.
    pub reads: Reads,
    pub uses: Vec<Checked>,
    pub skipped: Vec<Skipped>,
    pub allow_unresolved: bool,
}

impl Report {
    /// 0 when every reference passed; 1 when one failed (or a value is unresolved,
    /// unless allowed, or is not a reference); else 4 when a registry could not be read.
    pub fn code(&self) -> crate::exit::Code {
        use crate::exit::Code;
        let definite = self.uses.iter().any(|c| match &c.outcome {
            Outcome::Checked { verdict } => !verdict.ok(),
            Outcome::Unresolved { .. } => !self.allow_unresolved,
            Outcome::Invalid { .. } => true,
            Outcome::Error { .. } => false,
        });
        if definite {
            Code::VerifyFailed
        } else if self
            .uses
            .iter()
            .any(|c| matches!(c.outcome, Outcome::Error { .. }))
        {
            Code::Registry
        } else {
            Code::Ok
        }
    }
}
