//! The kinds of values options take, shared by several commands: output format,
//! progress, colour, `--deep`, and `plan`'s driver and format.

use clap::ValueEnum;

/// When mpbuild uses colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

/// Text for people, JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ProgressArg {
    /// Bars on a terminal, plain lines otherwise (or with NO_COLOR).
    #[default]
    Auto,
    /// Plain lines.
    Plain,
    /// No progress at all (errors and the report only).
    Quiet,
}

/// What `--deep` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeepArg {
    /// The programs the image runs (Entrypoint + Cmd, through scripts, env, sh -c).
    Entrypoint,
    /// Every executable ELF file of the image's final filesystem.
    All,
}

/// The builder driver the plan's commands are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum DriverArg {
    /// The default `docker` driver: OCI layout export, uploaded by mpbuild.
    #[default]
    Docker,
    /// docker-container, remote, kubernetes: push by digest.
    PushByDigest,
}

/// `plan` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum PlanFormat {
    #[default]
    Text,
    Json,
    /// `{"include": [{platform, slug, runner, images}]}` for a CI matrix of native
    /// runners, one entry per platform.
    GithubMatrix,
    /// A GitLab child pipeline (YAML): a leg job per platform, on a runner of its CPU
    /// where GitLab hosts one, then merge; every job extends `.mpbuild`.
    GitlabPipeline,
}
