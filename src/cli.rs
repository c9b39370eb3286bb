//! Command-line arguments, as clap reads them. Checked values are made in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;

/// Build multi-platform container images for where they run, and prove every required
/// platform is in the registry before a deploy tag moves.
#[derive(Debug, Parser)]
#[command(name = "mpbuild", version = crate::version::LONG, after_help = EXIT_CODES_HELP, max_term_width = 100)]
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
}

/// When mpbuild uses colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorArg {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show which platforms each image needs and why, and the exact buildx command.
    #[command(after_help = EXIT_CODES_HELP)]
    Plan(PlanArgs),
    /// List the deployment targets mpbuild knows, with their platforms and sources.
    #[command(after_help = EXIT_CODES_HELP)]
    Targets(TargetsArgs),
    /// Write a commented mpbuild.yaml (never overwrites one).
    #[command(after_help = EXIT_CODES_HELP)]
    Init(InitArgs),
    /// Prove by reading the registry that every required platform is there.
    ///
    /// Without REF: every tag of every image in the project, against its targets.
    /// With REF: any image, no project file needed; say what it must hold with
    /// --target and --platform.
    #[command(after_help = EXIT_CODES_HELP)]
    Verify(VerifyArgs),
    /// Build every platform the targets need, push by digest, verify, then move the tags.
    ///
    /// A deploy tag only ever moves to an image verified to hold every platform its
    /// targets need. A failed build or verification moves no tag.
    #[command(after_help = EXIT_CODES_HELP)]
    Push(PushArgs),
    /// Join the legs of a multi-runner build into one index, verify it, then move the tags.
    ///
    /// Each CI runner builds its platforms natively with
    /// `mpbuild push --platform P --digests-dir DIR`; collect the records into one DIR
    /// and run `merge`. A missing platform, a platform recorded twice, or a leg from
    /// another commit or project file is refused and no tag moves.
    #[command(after_help = EXIT_CODES_HELP)]
    Merge(MergeArgs),
    /// Build locally and load into Docker: the host's platform, or those asked for.
    ///
    /// Says so before building when this machine's platform is not one the image's
    /// targets need (e.g. an Apple Silicon laptop building for Cloud Run).
    #[command(after_help = EXIT_CODES_HELP)]
    Build(BuildArgs),
    /// Copy an image to another repository or registry with the platforms the targets
    /// need, verify the copy, then tag it.
    ///
    /// Without SRC and DEST: the project's `mirrors:`.
    #[command(after_help = EXIT_CODES_HELP)]
    Mirror(MirrorArgs),
    /// Tell why a multi-platform push would fail, before trying it.
    ///
    /// Checks docker, the daemon, buildx, the builder and its platforms, emulation for
    /// every platform the project needs, the containerd image store, credentials for each
    /// registry. Exit 0 when nothing fails, 1 otherwise.
    #[command(after_help = EXIT_CODES_HELP)]
    Doctor(DoctorArgs),
    /// Print the version, the git commit it was built from, and the catalog's review date.
    Version {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Print the JSON Schema of mpbuild.yaml (draft 2020-12), for editors and linters.
    ///
    /// `mpbuild init` names the published copy in the file's first line
    /// (`# yaml-language-server: $schema=…`), so editors with the YAML language server
    /// complete and check the file.
    Schema,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into --dir.
    Man {
        /// Write mpbuild.1, mpbuild-plan.1, … into DIR instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Manage the buildx builder declared under `builder:` (one node per platform).
    #[command(subcommand, after_help = EXIT_CODES_HELP)]
    Builder(BuilderCommand),
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
pub struct MirrorArgs {
    /// The source image (REPO:TAG or REPO@sha256:…).
    #[arg(value_name = "SRC", requires = "dest")]
    pub src: Option<String>,
    /// The destination (REPO or REPO:TAG; the source's tag by default).
    #[arg(value_name = "DEST")]
    pub dest: Option<String>,
    /// Copy the platforms of this target, SERVICE or SERVICE:ARCH (repeatable).
    #[arg(long = "target", value_name = "SERVICE[:ARCH]")]
    pub targets: Vec<String>,
    /// Copy this platform (repeatable).
    #[arg(long = "platform", value_name = "OS/ARCH[/VARIANT]")]
    pub platforms: Vec<String>,
    /// Copy every platform, keeping the source digest.
    #[arg(long, conflicts_with_all = ["targets", "platforms"])]
    pub all: bool,
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressArg,
    /// The report on stdout as text or JSON (progress stays on stderr).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Only these images (repeatable).
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    /// Build for this platform instead of the host's (repeatable).
    #[arg(long = "platform", value_name = "OS/ARCH[/VARIANT]")]
    pub platforms: Vec<String>,
    /// Build the platforms of this target, SERVICE or SERVICE:ARCH (repeatable).
    #[arg(long = "target", value_name = "SERVICE[:ARCH]")]
    pub targets: Vec<String>,
    /// The buildx builder.
    #[arg(long, value_name = "NAME")]
    pub builder: Option<String>,
    /// Print the command; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressArg,
    /// What was built on stdout as text or JSON (progress stays on stderr).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
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

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Print the exact commands and steps; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these images (repeatable).
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    /// The buildx builder (default: the project's `builder:`, else the current one).
    #[arg(long, value_name = "NAME")]
    pub builder: Option<String>,
    /// Also check each platform's entrypoint binary before moving tags.
    #[arg(long)]
    pub deep: bool,
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressArg,
    /// Build only these platforms: one leg of a multi-runner build (repeatable; needs
    /// --digests-dir, moves no tag; `mpbuild merge` joins the legs).
    #[arg(long = "platform", value_name = "OS/ARCH[/VARIANT]")]
    pub platforms: Vec<String>,
    /// With --platform: write one record per image and platform into DIR for `merge`.
    #[arg(long, value_name = "DIR")]
    pub digests_dir: Option<PathBuf>,
    /// The report on stdout as text or JSON (progress stays on stderr).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also write the JSON report to FILE (written on failure too).
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The directory holding the legs' records (`push --platform P --digests-dir DIR`).
    #[arg(long, value_name = "DIR")]
    pub digests_dir: PathBuf,
    /// Only these images (repeatable).
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    /// Also check each platform's entrypoint binary before moving tags.
    #[arg(long)]
    pub deep: bool,
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressArg,
    /// The report on stdout as text or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also write the JSON report to FILE (written on failure too).
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// How mpbuild reaches registries.
#[derive(Debug, Args, Clone, Default)]
pub struct RegistryArgs {
    /// A registry (HOST[:PORT]) reached over plain HTTP (loopback always is).
    #[arg(long = "insecure-registry", value_name = "HOST[:PORT]")]
    pub insecure: Vec<String>,
    /// An extra CA certificate bundle (PEM) to trust for registries.
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Image references (REPO:TAG or REPO@sha256:…). Default: the project's tags.
    #[arg(value_name = "REF")]
    pub refs: Vec<String>,
    /// A deployment target the image must serve, as SERVICE or SERVICE:ARCH (repeatable).
    #[arg(long = "target", value_name = "SERVICE[:ARCH]")]
    pub targets: Vec<String>,
    /// A platform the image must hold, e.g. linux/arm64 (repeatable).
    #[arg(long = "platform", value_name = "OS/ARCH[/VARIANT]")]
    pub platforms: Vec<String>,
    /// Also check that each platform's entrypoint is an ELF binary for that CPU.
    #[arg(long)]
    pub deep: bool,
    /// Only these images of the project (repeatable).
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Text for people, JSON for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
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
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
    /// Only these images (repeatable).
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    /// Write commands for this kind of builder (default: the declared builder's driver,
    /// else the `docker` driver).
    #[arg(long, value_enum)]
    pub driver: Option<DriverArg>,
    /// The buildx builder to name in the commands.
    #[arg(long, value_name = "NAME")]
    pub builder: Option<String>,
}

#[derive(Debug, Args)]
pub struct TargetsArgs {
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
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
