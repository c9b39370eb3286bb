//! Command-line arguments, as clap reads them. Checked values are made in `commands`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::exit::EXIT_CODES_HELP;

pub mod project_options;

/// The command that parses the arguments (and prints help and man pages): `Cli`'s, with
/// the project options hidden on the commands that read no project.
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    project_options::hidden_where_unused(Cli::command())
}

/// The environment variables mpbuild reads, for the top `--help` and the README.
pub const ENVIRONMENT_HELP: &str = "\
Environment:
  DOCKER_CONFIG            Docker's config directory, where registry credentials are read
                           (config.json: auths, credsStore, credHelpers; default ~/.docker)
  DOCKER_HOST              the Docker daemon that docker and buildx talk to
  BUILDX_BUILDER           the buildx builder when neither --builder nor `builder:` names one
  MPBUILD_WORK_DIR         the project's work directory: content hashes, and each run's
                           buildx outputs (default: ~/.cache/mpbuild/PROJECT-HASH, or under
                           $XDG_CACHE_HOME; `mpbuild clean` removes it)
  MPBUILD_REQUEST_TIMEOUT  the deadline of one registry request, in seconds (default 60)
  MPBUILD_HOST_PLATFORM    the platform of this machine for the `local` service (default:
                           Linux on this CPU), e.g. linux/arm64 to plan as an Apple Silicon Mac
  MPBUILD_COSIGN           the cosign program `sign:` and --signed-by run (default: cosign on PATH)
  MPBUILD_HEARTBEAT_MS     how often plain progress prints a line with the bytes a long
                           export, upload or copy has moved, in milliseconds (default 5000;
                           0: never)
  SSL_CERT_FILE            a CA bundle to trust for registries, besides the system's
  NO_COLOR                 no colour and no progress bars (like --color never)
  GIT_SHA, …               any ${VAR} in mpbuild.yaml (repository, tags, tag, build_args)";

/// The top `--help`'s epilogue: the exit codes (once, here) and the environment.
fn top_help() -> String {
    format!("{EXIT_CODES_HELP}\n\n{ENVIRONMENT_HELP}")
}

const PLAN_EXAMPLES: &str = "\
Examples:
  mpbuild plan                               what each image needs, and the buildx command
  mpbuild plan --image api --format json     one image, for a program
  mpbuild plan --format github-matrix        a CI matrix of native runners, one per platform
  mpbuild plan --format gitlab-pipeline      the same as a GitLab child pipeline (legs, merge)";
const TARGETS_EXAMPLES: &str = "\
Examples:
  mpbuild targets                 every service, its platforms and sources
  mpbuild targets lambda          one service
  mpbuild targets --format json";
const INIT_EXAMPLES: &str = "\
Examples:
  mpbuild init --service ecs-fargate:ARM64 --service local
  mpbuild init --service cloud-run --service lambda:arm64 \\
      --repository 123456789012.dkr.ecr.us-east-1.amazonaws.com/api";
const VERIFY_EXAMPLES: &str = "\
Examples:
  mpbuild verify                                      the project's tags against their targets
  mpbuild verify grafana/grafana:11.2.0 --target apprunner --deep
  mpbuild verify REPO@sha256:… --platform linux/arm64 --format json";
const CHECK_EXAMPLES: &str = "\
Examples:
  mpbuild check deploy/ k8s/                       every deployment file under them
  helm template chart | mpbuild check - --cluster-archs amd64,arm64
  kubectl get deploy,sts,ds,cronjob -A -o yaml | mpbuild check -    what the cluster runs
  mpbuild check deploy/ --pin                      then write each verified digest in";
const PUSH_EXAMPLES: &str = "\
Examples:
  GIT_SHA=$(git rev-parse --short HEAD) mpbuild push
  mpbuild push --dry-run                   the commands and steps, nothing run
  mpbuild push --format json --metadata-file push.json";
const MERGE_EXAMPLES: &str = "\
Examples:
  mpbuild push --platform linux/arm64 --digests-dir legs     on each native runner
  mpbuild merge --digests-dir legs                           once, after every leg
  mpbuild merge --digests-dir legs --format json --metadata-file merge.json";
const BUILD_EXAMPLES: &str = "\
Examples:
  mpbuild build                            this machine's platform, loaded into Docker
  mpbuild build --target cloud-run         the platform Cloud Run runs (emulated here)
  mpbuild build --platform linux/amd64 --dry-run";
const MIRROR_EXAMPLES: &str = "\
Examples:
  mpbuild mirror grafana/grafana:11.2.0 ECR_REPO/grafana --target apprunner
  mpbuild mirror SRC DEST --all            every platform, the source digest kept
  mpbuild mirror                           the project's `mirrors:`";
const SMOKE_EXAMPLES: &str = "\
Examples:
  mpbuild smoke REPO:TAG -- app --version                every platform the image holds
  mpbuild smoke REPO:TAG --platform linux/arm64 --expect 'v1\\.' -- app --version
  mpbuild smoke REPO@sha256:… --format json -- /bin/true";
const DOCTOR_EXAMPLES: &str = "\
Examples:
  mpbuild doctor
  mpbuild doctor --builder ci --format json";
const BUILDER_EXAMPLES: &str = "\
Examples:
  mpbuild builder up --dry-run             what would be created or changed
  mpbuild builder up
  mpbuild builder status --format json";
const VERSION_EXAMPLES: &str = "\
Examples:
  mpbuild version
  mpbuild version --format json";
const SCHEMA_EXAMPLES: &str = "\
Examples:
  mpbuild schema > mpbuild.schema.json
  (first line of mpbuild.yaml) # yaml-language-server: $schema=./mpbuild.schema.json";
const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  mpbuild completions bash > /etc/bash_completion.d/mpbuild
  mpbuild completions zsh > \"${fpath[1]}/_mpbuild\"
  mpbuild completions fish > ~/.config/fish/completions/mpbuild.fish";
const CLEAN_EXAMPLES: &str = "\
Examples:
  mpbuild clean             this project's work directory
  mpbuild clean --all       every project's, and what earlier versions left in the temp dir";
const MAN_EXAMPLES: &str = "\
Examples:
  mpbuild man | man -l -
  mpbuild man --dir /usr/local/share/man/man1";

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
    /// Leave the referrers (attestations, signatures, verification records) of what is
    /// copied behind; by default they come along, before the tag moves.
    #[arg(long)]
    pub no_referrers: bool,
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
    /// Also check each platform's entrypoint binary before moving tags; `--deep=all`:
    /// every executable ELF file of the image.
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "entrypoint"
    )]
    pub deep: Option<DeepArg>,
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressArg,
    /// Build only these platforms: one leg of a multi-runner build (repeatable; needs
    /// --digests-dir, moves no tag; `mpbuild merge` joins the legs).
    #[arg(long = "platform", value_name = "OS/ARCH[/VARIANT]")]
    pub platforms: Vec<String>,
    /// Build every image, even those whose inputs (Dockerfile, context, build args, base
    /// images) are unchanged since a tag already holding them.
    #[arg(long)]
    pub rebuild: bool,
    /// With --platform: write one record per image and platform into DIR for `merge`.
    #[arg(long, value_name = "DIR")]
    pub digests_dir: Option<PathBuf>,
    /// The report on stdout as text or JSON (progress stays on stderr).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also write the JSON report to FILE (written on failure too).
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Append the run's markdown summary (image, platform, digest, native or emulated,
    /// time, smoke run, tags moved or why not) to FILE; default $GITHUB_STEP_SUMMARY
    /// when GitHub Actions sets it.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct SmokeArgs {
    /// The image (REPO:TAG or REPO@sha256:…); the command runs in its digest.
    #[arg(value_name = "REF")]
    pub reference: String,
    /// Run on this platform (repeatable; default: every platform the image holds).
    #[arg(long = "platform", value_name = "OS/ARCH[/VARIANT]")]
    pub platforms: Vec<String>,
    /// Stop the command after this long: seconds (`30`, `30s`) or minutes (`2m`).
    #[arg(long, value_name = "S", default_value = "60")]
    pub timeout: String,
    /// A regular expression the output (stdout and stderr) must match.
    #[arg(long, value_name = "RE")]
    pub expect: Option<String>,
    /// An environment variable for the command (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// The buildx builder (default: the current one).
    #[arg(long, value_name = "NAME")]
    pub builder: Option<String>,
    /// The report on stdout as text or JSON (progress stays on stderr).
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressArg,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The directory holding the legs' records (`push --platform P --digests-dir DIR`).
    #[arg(long, value_name = "DIR")]
    pub digests_dir: PathBuf,
    /// Only these images (repeatable).
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    /// Also check each platform's entrypoint binary before moving tags; `--deep=all`:
    /// every executable ELF file of the image.
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "entrypoint"
    )]
    pub deep: Option<DeepArg>,
    #[arg(long, value_enum, default_value_t)]
    pub progress: ProgressArg,
    /// The report on stdout as text or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Also write the JSON report to FILE (written on failure too).
    #[arg(long, value_name = "FILE")]
    pub metadata_file: Option<PathBuf>,
    /// Append the run's markdown summary (image, platform, digest, native or emulated,
    /// time, smoke run, tags moved or why not) to FILE; default $GITHUB_STEP_SUMMARY
    /// when GitHub Actions sets it.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
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
    /// Also check that each platform's entrypoint is an ELF binary for that CPU;
    /// `--deep=all`: every executable ELF file of the image.
    #[arg(
        long,
        value_enum,
        value_name = "WHAT",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "entrypoint"
    )]
    pub deep: Option<DeepArg>,
    /// Only these images of the project (repeatable).
    #[arg(long = "image", value_name = "NAME")]
    pub images: Vec<String>,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// With REF and no --target/--platform: list what REF holds and check only that it
    /// is consistent (each config agrees with its index entry); exit 0 when it is.
    #[arg(long, conflicts_with_all = ["targets", "platforms", "deep"])]
    pub inventory: bool,
    /// Require mpbuild's verification record of each digest: a referrer that exists
    /// and agrees with what the registry holds now (exit 1 otherwise).
    #[arg(long)]
    pub require_record: bool,
    #[command(flatten)]
    pub signed: SignedByArgs,
}

/// The signature gate: who must have signed the index and every platform manifest the
/// targets need (cosign signatures).
#[derive(Debug, Args, Clone, Default)]
pub struct SignedByArgs {
    /// Require a valid cosign signature by this public key file or KMS URI on the index
    /// and on every platform manifest the targets need (repeatable: each must have
    /// signed). Signatures made without a transparency log are accepted.
    #[arg(long = "signed-by", value_name = "KEY")]
    pub signed_by: Vec<String>,
    /// Keyless: require a signature whose certificate names this identity (with
    /// --certificate-oidc-issuer), e.g. the CI workflow's URL.
    #[arg(long, value_name = "IDENTITY", requires = "certificate_oidc_issuer")]
    pub certificate_identity: Option<String>,
    /// Keyless: the OIDC issuer of that identity, e.g.
    /// https://token.actions.githubusercontent.com.
    #[arg(long, value_name = "URL", requires = "certificate_identity")]
    pub certificate_oidc_issuer: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Deployment files, directories (every *.yaml, *.yml, *.json under them), or `-`
    /// for standard input.
    #[arg(value_name = "FILE|DIR|-", required = true)]
    pub paths: Vec<PathBuf>,
    /// The cluster's node architectures, for Kubernetes workloads without a
    /// kubernetes.io/arch constraint (default: the project's `cluster_archs:`).
    #[arg(long = "cluster-archs", value_name = "ARCH,…", value_delimiter = ',')]
    pub cluster_archs: Vec<String>,
    /// Also check each platform's entrypoint is an ELF for its CPU (`=all`: every
    /// executable ELF file).
    #[arg(long, value_enum, value_name = "WHAT", num_args = 0..=1, require_equals = true, default_missing_value = "entrypoint")]
    pub deep: Option<DeepArg>,
    /// Report values another tool fills in (`!Sub`, `${VAR}`, `{{ }}`) without failing.
    #[arg(long)]
    pub allow_unresolved: bool,
    /// Once every reference passed, write each into its file as REPO:TAG@sha256:…, the
    /// digest verified (only that text changes; a second --pin changes nothing).
    #[arg(long)]
    pub pin: bool,
    /// Require mpbuild's verification record of each digest (a referrer that exists and
    /// agrees with what the registry holds now); with --signed-by, attested by each
    /// signer (exit 1 otherwise).
    #[arg(long)]
    pub require_record: bool,
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Append a markdown summary (each reference: FILE:LINE, image, digest, platforms
    /// needed and found, verdict) to FILE; default $GITHUB_STEP_SUMMARY when GitHub
    /// Actions sets it.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub signed: SignedByArgs,
}

/// What `--deep` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeepArg {
    /// The programs the image runs (Entrypoint + Cmd, through scripts, env, sh -c).
    Entrypoint,
    /// Every executable ELF file of the image's final filesystem.
    All,
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
    /// A GitLab child pipeline (YAML): a leg job per platform, on a runner of its CPU
    /// where GitLab hosts one, then merge; every job extends `.mpbuild`.
    GitlabPipeline,
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
    /// The CI runner that builds PLATFORM natively (repeatable): its label in the
    /// github-matrix, its tag in the gitlab-pipeline; `PLATFORM=` for none (built under
    /// QEMU). Default: the CI's hosted runners of that CPU.
    #[arg(long = "runner", value_name = "PLATFORM=NAME")]
    pub runners: Vec<String>,
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
