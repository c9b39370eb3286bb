//! Exit codes, the same for every command, and the few errors that are nothing but a
//! code. A leaf: it imports nothing from the crate, so every typed error can name its
//! code without an import cycle; the mapping from an error chain to a code lives at the
//! edge (`commands::classify`).
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
    /// Interrupted: Ctrl-C, SIGINT, SIGTERM or SIGHUP (130 for each, not 128+N).
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
  1    a check failed: a required platform is missing or wrong, a smoke run failed,
       or merge records lack a platform
  2    usage or configuration error
  3    build or push failed
  4    registry, network or authentication error
  130  interrupted (Ctrl-C, SIGINT, SIGTERM or SIGHUP): nothing moves after the
       signal and the command says which tags stayed where they were; a second
       signal exits at once";

/// Implemented by every typed error that reaches the user, so the edge can pick the
/// exit code without string matching, and say what to do apart from what went wrong.
pub trait Coded {
    fn code(&self) -> Code;

    /// What to do about it, when there is something to say (shown after the message as
    /// `= help: …`).
    fn help(&self) -> Option<String> {
        None
    }
}

/// How an error with help reads: the message, then `\n  = help: HELP`.
pub fn write_with_help(
    f: &mut fmt::Formatter<'_>,
    message: &str,
    help: Option<&str>,
) -> fmt::Result {
    f.write_str(message)?;
    match help {
        Some(h) => write!(f, "\n  = help: {h}"),
        None => Ok(()),
    }
}

/// A message and its help, shown as [`write_with_help`] writes them: for errors whose
/// message thiserror formats (`#[error("{}", WithHelp(&message, HELP))]`).
pub struct WithHelp<'a>(pub &'a str, pub &'a str);

impl fmt::Display for WithHelp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_with_help(f, self.0, Some(self.1))
    }
}

/// A usage error found after clap parsing (conflicting flags, bad values), or a bad
/// file the user named: what is wrong, and what to do when there is more to say.
#[derive(Debug)]
pub struct UsageError {
    pub message: String,
    pub help: Option<String>,
}

impl UsageError {
    pub fn new(message: impl Into<String>) -> UsageError {
        UsageError {
            message: message.into(),
            help: None,
        }
    }

    /// The same error, saying what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> UsageError {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_with_help(f, &self.message, self.help.as_deref())
    }
}

impl std::error::Error for UsageError {}

impl Coded for UsageError {
    fn code(&self) -> Code {
        Code::Usage
    }

    fn help(&self) -> Option<String> {
        self.help.clone()
    }
}

/// The user pressed Ctrl-C (or the process got SIGINT/SIGTERM/SIGHUP).
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
