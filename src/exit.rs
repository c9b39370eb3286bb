//! Exit codes, the same for every command, and the mapping from typed errors to them.
//!
//! 0 ok · 1 a verification failed · 2 usage or config error · 3 build or push failed ·
//! 4 registry, network or auth error · 130 interrupted.

use std::fmt;

/// The documented exit codes of `mpbuild`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// Everything asked for was done and every check passed.
    Ok = 0,
    /// A verification failed: a required platform is missing or wrong.
    VerifyFailed = 1,
    /// Bad command-line usage or a bad project file.
    Usage = 2,
    /// `docker buildx` failed to build or push.
    Build = 3,
    /// A registry, network or authentication error.
    Registry = 4,
    /// Interrupted (Ctrl-C).
    Interrupted = 130,
}

impl Code {
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// Text for `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes (the same for every command):
  0    ok
  1    a verification failed (a required platform is missing or wrong)
  2    usage or configuration error
  3    build or push failed
  4    registry, network or authentication error
  130  interrupted";

/// Implemented by every typed error that reaches the user, so the edge can pick the
/// exit code without string matching.
pub trait Coded {
    fn code(&self) -> Code;
}

/// A usage error found after clap parsing (conflicting flags, bad values).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl Coded for UsageError {
    fn code(&self) -> Code {
        Code::Usage
    }
}

/// The user pressed Ctrl-C (or the process got SIGINT/SIGTERM).
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

impl Coded for Interrupted {
    fn code(&self) -> Code {
        Code::Interrupted
    }
}

/// A check failed; the report was already printed, so the message is short.
#[derive(Debug, thiserror::Error)]
pub struct ChecksFailed(pub String);

impl fmt::Display for ChecksFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Coded for ChecksFailed {
    fn code(&self) -> Code {
        Code::VerifyFailed
    }
}

macro_rules! classify_types {
    ($err:expr, $($ty:ty),* $(,)?) => {{
        let mut found = None;
        'chain: for cause in $err.chain() {
            $(
                if let Some(e) = cause.downcast_ref::<$ty>() {
                    found = Some(e.code());
                    break 'chain;
                }
            )*
        }
        found
    }};
}

/// The exit code for an error that reached the top: the first typed error in its chain
/// decides; anything untyped is treated as a usage/config problem only if nothing else
/// matches (it should not happen: every error path returns a typed error).
pub fn classify(err: &anyhow::Error) -> Code {
    classify_types!(
        err,
        UsageError,
        Interrupted,
        ChecksFailed,
        crate::platform::PlatformError,
        crate::config::ConfigError,
        crate::oci_layout::LayoutError,
        crate::registry::RegistryError,
        crate::inspect::InspectError,
        crate::buildx::BuildError,
        crate::publish::mirror::MirrorError,
    )
    .unwrap_or(Code::Usage)
}
