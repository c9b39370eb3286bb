//! The options of the commands that read registries and images: `verify`, `check`,
//! `mirror`, `smoke`, with how registries are reached and the signature gate.

use std::path::PathBuf;

use clap::Args;

use super::kinds::{DeepArg, Format, ProgressArg};

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
