//! The options of the commands that plan, build and push: `plan`, `build`, `push`,
//! `merge`, and the kinds they share (progress, `--deep`, the report's destinations).

use std::path::PathBuf;

use clap::Args;

use super::kinds::{DeepArg, DriverArg, Format, PlanFormat, ProgressArg};
use super::registry_args::RegistryArgs;

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
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// Where `push` and `merge` put their report: stdout (text or JSON), the JSON also to a
/// file, the markdown summary to another.
#[derive(Debug, Args)]
pub struct ReportArgs {
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
    #[command(flatten)]
    pub report: ReportArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
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
