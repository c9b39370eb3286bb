//! What can go wrong with cosign: not there, too old, a secret it needs not set, or a
//! run that failed (exit 3; 4 when the registry or the KMS is what failed).

use crate::exit::{Code, Coded};

#[derive(Debug)]
pub enum SignError {
    Missing,
    NotRunnable {
        path: String,
        message: String,
    },
    TooOld {
        found: String,
    },
    Version {
        program: String,
        message: String,
    },
    NoPassword {
        image: String,
        key: String,
        var: String,
    },
    NoKeyFile {
        image: String,
        path: String,
    },
    NoOidc {
        image: String,
    },
    Failed {
        /// "signing image `api` (3 digests)", "verifying the signature of …".
        what: String,
        status: String,
        /// cosign's error line(s), escaped, any secret it was given blanked.
        message: String,
        /// The same lines as cosign printed them, quoted (`tool_output::quoted`).
        output: String,
        /// The registry or the KMS failed, not the signing itself.
        remote: bool,
    },
    TimedOut {
        what: String,
        seconds: u64,
    },
    Spawn {
        what: String,
        message: String,
    },
}

impl SignError {
    /// What went wrong (the help follows it in `Display`).
    pub fn message(&self) -> String {
        match self {
            SignError::Missing => "cosign is not on PATH".into(),
            SignError::NotRunnable { message, path, .. } => {
                format!("MPBUILD_COSIGN names `{path}`, which cannot be run: {message}")
            }
            SignError::TooOld { found, .. } => {
                format!("cosign {found} is too old: mpbuild needs cosign 2.0 or newer")
            }
            SignError::Version {
                message, program, ..
            } => format!("`{program} version --json` did not answer as cosign does: {message}"),
            SignError::NoPassword {
                image, key, var, ..
            } => format!(
                "image `{image}`: the password of the signing key {key} is read from ${var}, which is not set"
            ),
            SignError::NoKeyFile { image, path, .. } => {
                format!("image `{image}`: the signing key {path} is not a file")
            }
            SignError::NoOidc { image, .. } => format!(
                "image `{image}`: keyless signing needs an OIDC token, and none is available here"
            ),
            SignError::Failed {
                output,
                status,
                what,
                ..
            } if output.is_empty() => {
                format!("{what} failed: cosign exited with {status} and printed nothing on stderr")
            }
            SignError::Failed {
                output,
                status,
                what,
                ..
            } => format!("{what} failed: cosign exited with {status}, printing:{output}"),
            SignError::TimedOut { seconds, what, .. } => {
                format!("{what}: cosign did not finish within {seconds} s; stopped")
            }
            SignError::Spawn { message, what, .. } => {
                format!("{what}: cosign could not be run: {message}")
            }
        }
    }
}

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::exit::write_with_help(f, &self.message(), self.help().as_deref())
    }
}

impl std::error::Error for SignError {}

impl Coded for SignError {
    fn code(&self) -> Code {
        match self {
            SignError::NoPassword { .. }
            | SignError::NoOidc { .. }
            | SignError::NoKeyFile { .. } => Code::Usage,
            SignError::Failed { remote: true, .. } | SignError::TimedOut { .. } => Code::Registry,
            _ => Code::Build,
        }
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            SignError::Missing => "install cosign 2 (Debian/Ubuntu: `apt-get install cosign`; or the sigstore/cosign-installer action in CI), or set MPBUILD_COSIGN to its path".into(),
            SignError::NotRunnable { .. } => "set MPBUILD_COSIGN to the cosign program's path, or unset it to use cosign from PATH".into(),
            SignError::TooOld { .. } => "install cosign 2 (it has --tlog-upload and the verify flags mpbuild passes)".into(),
            SignError::Version { .. } => "check that MPBUILD_COSIGN or PATH names the real cosign".into(),
            SignError::NoPassword { var, .. } => format!(
                "export {var} with the key's password (the one given to `cosign generate-key-pair`; empty for none), or name another variable with `sign: {{key: …, password_env: NAME}}`"
            ),
            SignError::NoKeyFile { .. } => "`sign: {key: …}` is relative to mpbuild.yaml; in CI write the key from a secret before the push (`cosign generate-key-pair` makes one)".into(),
            SignError::NoOidc { .. } => "in GitHub Actions give the job `permissions: id-token: write`; elsewhere put a token in SIGSTORE_ID_TOKEN (GitLab: `id_tokens:` with `aud: sigstore`), or sign with a key or KMS (`sign: {key: …}`)".into(),
            SignError::Failed { remote: true, .. } => "check the registry's credentials (docker login) and, for a KMS key, the KMS's credentials and the key's URI; nothing was tagged".into(),
            SignError::Failed { .. } => "check the key and its password (a wrong password reads `decryption failed`); nothing was tagged".into(),
            SignError::TimedOut { .. } => "the registry, KMS or signing service did not answer; run again, or with `--verbose`".into(),
            SignError::Spawn { .. } => "check the cosign program (MPBUILD_COSIGN or PATH)".into(),
        })
    }
}

/// Whether cosign's error text says the registry, the network or a KMS failed (exit 4)
/// rather than the signing (a key, a password: exit 3).
pub fn is_remote(stderr: &str) -> bool {
    const REMOTE: [&str; 14] = [
        "connection refused",
        "no such host",
        "i/o timeout",
        "UNAUTHORIZED",
        "DENIED",
        "401 Unauthorized",
        "403 Forbidden",
        "MANIFEST_UNKNOWN",
        "NAME_UNKNOWN",
        "tls:",
        "awskms",
        "gcpkms",
        "azurekms",
        "hashivault",
    ];
    REMOTE.iter().any(|r| stderr.contains(r))
}
