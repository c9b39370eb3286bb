//! Command-line arguments, as clap reads them. Checked values are made in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod build_args;
mod help;
mod kinds;
pub mod project_options;
mod registry_args;

pub use build_args::{BuildArgs, MergeArgs, PlanArgs, PushArgs, ReportArgs};
pub use help::ENVIRONMENT_HELP;
use help::*;
pub use kinds::{ColorArg, DeepArg, DriverArg, Format, PlanFormat, ProgressArg};
pub use registry_args::{CheckArgs, MirrorArgs, RegistryArgs, SignedByArgs, SmokeArgs, VerifyArgs};

/// The command that parses the arguments (and prints help and man pages): `Cli`'s, with
/// the project options hidden on the commands that read no project.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    project_options::hidden_where_unused(Cli::command())
}

/// Build multi-platform container images for where they run, and prove every required
/// platform is in the registry before a deploy tag moves.
#[derive(Debug, Parser)]
#[command(
    name = "mpbuild",
    version = crate::version::LONG,
    after_help = top_help(),
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// The project file (default: mpbuild.yaml in this directory or the nearest parent).
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Show each external command and registry request (never credentials).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Errors only: no progress and no report text (a --format json document is still
    /// printed; the exit code tells the result).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Colour in mpbuild's messages and help: auto (on a terminal, unless NO_COLOR is
    /// set), always, or never (which also turns the progress bars into plain lines).
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: ColorArg,
    /// Override a value of mpbuild.yaml for the images IMAGE matches (`*` for every one),
    /// as `docker buildx bake --set` does: build_args.NAME, labels.NAME, contexts.NAME,
    /// no_cache, pull, stage, tags, dockerfile, network, shm_size, … (repeatable).
    #[arg(long = "set", global = true, value_name = "IMAGE.KEY=VALUE")]
    pub set: Vec<String>,
    /// Build without BuildKit's cache (`--set '*.no_cache=true'`): no image is skipped
    /// as unchanged.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Read every base image from its registry again (`--set '*.pull=true'`).
    #[arg(long, global = true)]
    pub pull: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show which platforms each image needs and why, and the exact buildx command.
    #[command(after_help = PLAN_EXAMPLES)]
    Plan(PlanArgs),
    /// List the deployment targets mpbuild knows, with their platforms and sources.
    #[command(after_help = TARGETS_EXAMPLES)]
    Targets(TargetsArgs),
    /// Write a commented mpbuild.yaml (never overwrites one).
    #[command(after_help = INIT_EXAMPLES)]
    Init(InitArgs),
    /// Prove by reading the registry that every required platform is there.
    ///
    /// Without REF: every tag of every image in the project, against its targets.
    /// With REF: any image, no project file needed; say what it must hold with
    /// --target and --platform.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Check the images deployment files run: will this deploy exec?
    ///
    /// Every image reference in ECS task definitions, CloudFormation/SAM templates,
    /// Kubernetes manifests, compose files and Copilot manifests, resolved in its
    /// registry and held to what its workload needs (the platforms the same file says,
    /// the service's, the cluster's; one image manifest for Lambda), with `verify`'s
    /// checks. Findings name FILE:LINE. No project file needed.
    #[command(after_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Build every platform the targets need, push by digest, verify, then move the tags.
    ///
    /// A deploy tag only ever moves to an image verified to hold every platform its
    /// targets need. A failed build or verification moves no tag.
    #[command(after_help = PUSH_EXAMPLES)]
    Push(PushArgs),
    /// Join the legs of a multi-runner build into one index, verify it, then move the tags.
    ///
    /// Each CI runner builds its platforms natively with
    /// `mpbuild push --platform P --digests-dir DIR`; collect the records into one DIR
    /// and run `merge`. A missing platform, a platform recorded twice, or a leg from
    /// another commit or project file is refused and no tag moves.
    #[command(after_help = MERGE_EXAMPLES)]
    Merge(MergeArgs),
    /// Build locally and load into Docker: the host's platform, or those asked for.
    ///
    /// Says so before building when this machine's platform is not one the image's
    /// targets need (e.g. an Apple Silicon laptop building for Cloud Run).
    #[command(after_help = BUILD_EXAMPLES)]
    Build(BuildArgs),
    /// Copy an image to another repository or registry with the platforms the targets
    /// need, verify the copy, then tag it.
    ///
    /// Without SRC and DEST: the project's `mirrors:`.
    #[command(after_help = MIRROR_EXAMPLES)]
    Mirror(MirrorArgs),
    /// Tell why a multi-platform push would fail, before trying it.
    ///
    /// Checks docker, the daemon, buildx, the builder and its platforms, emulation for
    /// every platform the project needs, the containerd image store, credentials for each
    /// registry. Exit 0 when nothing fails, 1 otherwise.
    #[command(after_help = DOCTOR_EXAMPLES)]
    Doctor(DoctorArgs),
    /// Run a command in an image on each platform, as the smoke run before a tag moves.
    ///
    /// `mpbuild smoke REF --platform linux/arm64 -- app --version`: the command (exact
    /// argv, no shell) runs in REF's digest for each platform through the builder —
    /// natively where a node serves the platform, else emulated. No project file needed.
    /// Exit 1 when it fails, times out or its output does not match --expect.
    #[command(after_help = SMOKE_EXAMPLES)]
    Smoke(SmokeArgs),
    /// Print the version, the git commit it was built from, and the catalog's review date.
    #[command(after_help = VERSION_EXAMPLES)]
    Version {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Print the JSON Schema of mpbuild.yaml (draft 2020-12), for editors and linters.
    ///
    /// `mpbuild init` names the published copy in the file's first line
    /// (`# yaml-language-server: $schema=…`), so editors with the YAML language server
    /// complete and check the file.
    #[command(after_help = SCHEMA_EXAMPLES)]
    Schema,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into --dir.
    #[command(after_help = MAN_EXAMPLES)]
    Man {
        /// Write mpbuild.1, mpbuild-plan.1, … into DIR instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Manage the buildx builder declared under `builder:` (one node per platform).
    #[command(subcommand, after_help = BUILDER_EXAMPLES)]
    Builder(BuilderCommand),
    /// Remove the project's work directory, or with --all every one of yours.
    ///
    /// Says what it removed and how much space that freed. A run in progress keeps its
    /// own directory. Where work directories live: the
    /// README's Environment section (MPBUILD_WORK_DIR).
    #[command(after_help = CLEAN_EXAMPLES)]
    Clean(CleanArgs),
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Every mpbuild work directory of this user, not only this project's (no project
    /// file needed).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Subcommand)]
pub enum BuilderCommand {
    /// Create the builder, or change it to match mpbuild.yaml; says what changed.
    Up {
        /// Print the commands; run nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Each node, its platforms and whether it answers.
    Status {
        /// Text for people, JSON for programs.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Remove the builder.
    Rm,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The buildx builder to check (default: the project's, else the current one).
    #[arg(long, value_name = "NAME")]
    pub builder: Option<String>,
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// One line per service: its name, the platforms it runs, what it is.
    #[arg(long)]
    pub short: bool,
    /// Only this service.
    #[arg(value_name = "SERVICE")]
    pub service: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// A deployment target, as SERVICE or SERVICE:ARCH (repeatable), e.g.
    /// `--service ecs-fargate --service cloud-run --service lambda:arm64`.
    #[arg(long = "service", value_name = "SERVICE[:ARCH]")]
    pub services: Vec<String>,
    /// The image repository, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/api.
    #[arg(long, value_name = "REPO")]
    pub repository: Option<String>,
    /// The image's name in the file (default: this directory's name).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
}
