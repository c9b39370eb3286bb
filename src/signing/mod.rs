//! Signing with cosign, the tool admission controllers (Kyverno, Sigstore's
//! policy-controller, Ratify) read: how an image is signed (`sign:` in mpbuild.yaml,
//! checked into a [`Signer`]), the `cosign` program (found on PATH or through
//! `MPBUILD_COSIGN`, its version checked: [`tool`]), the sign stage's invocations
//! ([`sign`]; the verification record's attestation: [`attest`]) and the gate's
//! ([`gate`]).
//!
//! Secrets never reach an argv, an output or a file of mpbuild's: a key's password is
//! read from the environment variable `sign:` names and handed to cosign as
//! `COSIGN_PASSWORD` in its environment; keyless signing leaves the CI's OIDC token
//! where the CI put it (cosign reads `SIGSTORE_ID_TOKEN` or GitHub's
//! `ACTIONS_ID_TOKEN_REQUEST_*` itself). Signing with a key or KMS does not upload to a
//! transparency log (`--tlog-upload=false`): it works offline, and verifying it takes
//! `--insecure-ignore-tlog=true`. Keyless signing needs Fulcio and Rekor.

pub mod attest;
mod error;
pub mod gate;
pub mod sign;
pub mod tool;

use std::path::PathBuf;

use serde::Serialize;

pub use error::SignError;
pub use gate::{Gate, Status};
pub use tool::Cosign;

/// The KMS URI schemes cosign takes as `--key`.
pub const KMS_SCHEMES: [&str; 4] = ["awskms://", "gcpkms://", "azurekms://", "hashivault://"];

/// The password variable of a key file when `sign:` names none (cosign's own).
pub const DEFAULT_PASSWORD_ENV: &str = "COSIGN_PASSWORD";

/// How an image is signed (`sign:`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Signer {
    /// A cosign private key file (the path as mpbuild opens it: relative to the project
    /// directory) and the environment variable holding its password.
    Key { path: PathBuf, password_env: String },
    /// A key in a KMS (`awskms://`, `gcpkms://`, `azurekms://`, `hashivault://`); the
    /// KMS's own credentials come from cosign's environment as usual.
    Kms { uri: String },
    /// Keyless: a short-lived certificate from Fulcio for the CI's OIDC identity, the
    /// signature logged in Rekor.
    Keyless,
}

impl std::fmt::Display for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signer::Key { path, password_env } => write!(
                f,
                "key {} (password from ${password_env}; no transparency log)",
                path.display()
            ),
            Signer::Kms { uri } => write!(f, "KMS key {uri} (no transparency log)"),
            Signer::Keyless => f.write_str("keyless (the CI's OIDC identity; Fulcio and Rekor)"),
        }
    }
}

/// The variables through which cosign finds an OIDC token by itself, each set of which
/// is enough (GitHub Actions with `id-token: write`; any CI that puts a token in
/// `SIGSTORE_ID_TOKEN`, as GitLab's `id_tokens:` can; Buildkite's agent).
pub const OIDC_SOURCES: [(&str, &[&str]); 3] = [
    ("SIGSTORE_ID_TOKEN", &["SIGSTORE_ID_TOKEN"]),
    (
        "GitHub Actions (id-token: write)",
        &[
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ],
    ),
    ("Buildkite", &["BUILDKITE_AGENT_ACCESS_TOKEN"]),
];

/// Which OIDC token source keyless signing would use here, if any (by its name, never
/// its value).
pub fn oidc_source(env: &dyn Fn(&str) -> Option<String>) -> Option<&'static str> {
    OIDC_SOURCES
        .iter()
        .find(|(_, vars)| {
            vars.iter()
                .all(|v| env(v).is_some_and(|value| !value.is_empty()))
        })
        .map(|(name, _)| *name)
}
