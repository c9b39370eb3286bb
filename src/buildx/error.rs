//! Build errors: which image and step failed, its error and the tail of its log, and
//! what to do. Exit code 3.

use crate::exit::{Code, Coded};

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "`docker` is not on PATH\n  = help: install Docker (Docker Desktop on macOS/Windows; on Debian/Ubuntu `apt-get install docker.io docker-buildx`) and make sure `docker version` answers"
    )]
    DockerMissing,

    #[error(
        "the buildx plugin is missing: `docker buildx version` failed ({message})\n  = help: install it (Debian/Ubuntu: `apt-get install docker-buildx`; Docker's repository: docker-buildx-plugin; Docker Desktop has it)"
    )]
    BuildxMissing { message: String },

    #[error(
        "buildx {found} is too old: mpbuild needs {needed} or newer ({why})\n  = help: upgrade the buildx plugin"
    )]
    BuildxTooOld {
        found: String,
        needed: String,
        why: String,
    },

    #[error("`docker buildx inspect{}` failed: {message}\n  = help: is the Docker daemon running (`docker version`)? does the builder exist (`docker buildx ls`)?", .builder.as_deref().map(|b| format!(" {b}")).unwrap_or_default())]
    Inspect {
        builder: Option<String>,
        message: String,
    },

    #[error("{what} failed{}{}{}\n  = help: {hint}",
        .step.as_deref().map(|s| format!(" at step `{s}`")).unwrap_or_default(),
        .error.as_deref().map(|e| format!(": {e}")).unwrap_or_default(),
        if .log.is_empty() { String::new() } else { format!("\n  log (last {} lines):\n{}", .log.len(), .log.iter().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")) })]
    Failed {
        /// "build of image `api`" / "bake of api, worker".
        what: String,
        step: Option<String>,
        error: Option<String>,
        log: Vec<String>,
        hint: String,
    },

    #[error("cannot run `{command}`: {message}")]
    Spawn { command: String, message: String },

    #[error(
        "the build finished but its metadata file {path} is unreadable: {message}\n  = help: this is a buildx problem; run again with --verbose"
    )]
    Metadata { path: String, message: String },
}

impl Coded for BuildError {
    fn code(&self) -> Code {
        Code::Build
    }
}
