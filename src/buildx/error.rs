//! Build errors: which image and step failed, its error and the tail of its log, and
//! what to do. Exit code 3.

use std::fmt;

use crate::exit::{Code, Coded};

#[derive(Debug)]
pub enum BuildError {
    DockerMissing,
    BuildxMissing {
        message: String,
    },
    BuildxTooOld {
        found: String,
        needed: String,
        why: String,
    },
    Inspect {
        builder: Option<String>,
        message: String,
    },
    Failed {
        /// "build of image `api`" / "bake of api, worker", and the platform when the
        /// failing step's name does not say it: "build of image `api` for linux/arm64".
        what: String,
        step: Option<String>,
        error: Option<String>,
        log: Vec<String>,
        /// What to do, and where the whole log is.
        hint: String,
    },
    Spawn {
        command: String,
        message: String,
    },
    Metadata {
        path: String,
        message: String,
    },
}

impl BuildError {
    /// What went wrong.
    pub fn message(&self) -> String {
        match self {
            BuildError::DockerMissing => "`docker` is not on PATH".into(),
            BuildError::BuildxMissing { message } => {
                format!("the buildx plugin is missing: `docker buildx version` failed: {message}")
            }
            BuildError::BuildxTooOld { found, needed, why } => {
                format!("buildx {found} is too old: mpbuild needs {needed} or newer ({why})")
            }
            BuildError::Inspect { builder, message } => format!(
                "`docker buildx inspect{}` failed: {message}",
                builder
                    .as_deref()
                    .map(|b| format!(" {b}"))
                    .unwrap_or_default()
            ),
            BuildError::Failed {
                what,
                step,
                error,
                log,
                ..
            } => format!(
                "{what} failed{}{}{}",
                step.as_deref()
                    .map(|s| format!(" at step `{s}`"))
                    .unwrap_or_default(),
                error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default(),
                if log.is_empty() {
                    String::new()
                } else {
                    format!(
                        "\n  log (last {} lines):\n{}",
                        log.len(),
                        log.iter()
                            .map(|l| format!("    | {l}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                }
            ),
            BuildError::Spawn { command, message } => format!("cannot run `{command}`: {message}"),
            BuildError::Metadata { path, message } => {
                format!("the build finished but its metadata file {path} is unreadable: {message}")
            }
        }
    }

    /// What to do about it.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            BuildError::DockerMissing => "install Docker (Docker Desktop on macOS/Windows; on Debian/Ubuntu `apt-get install docker.io docker-buildx`) and make sure `docker version` answers".into(),
            BuildError::BuildxMissing { .. } => "install it (Debian/Ubuntu: `apt-get install docker-buildx`; Docker's repository: docker-buildx-plugin; Docker Desktop has it)".into(),
            BuildError::BuildxTooOld { .. } => "upgrade the buildx plugin".into(),
            BuildError::Inspect { .. } => "is the Docker daemon running (`docker version`)? does the builder exist (`docker buildx ls`)?".into(),
            BuildError::Failed { hint, .. } => hint.clone(),
            BuildError::Spawn { .. } => return None,
            BuildError::Metadata { .. } => "this is a buildx problem; run again with --verbose".into(),
        })
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::exit::write_with_help(f, &self.message(), self.help().as_deref())
    }
}

impl std::error::Error for BuildError {}

impl Coded for BuildError {
    fn code(&self) -> Code {
        Code::Build
    }

    fn help(&self) -> Option<String> {
        BuildError::help(self)
    }
}
