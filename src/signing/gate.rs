//! The gate's cosign invocations: does a digest carry a valid signature by a given
//! signer? `cosign verify` against a public key file or KMS URI (signatures made
//! without a transparency log: `--insecure-ignore-tlog=true`), or, for keyless, the
//! certificate's identity and OIDC issuer (Rekor and Fulcio checked as cosign does).

use serde::Serialize;

use super::error::SignError;
use super::tool::{Cosign, failure};

/// Who must have signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Gate {
    /// A public key file or a KMS URI (`--signed-by`).
    Key { key: String },
    /// Keyless: the certificate's identity and issuer, as cosign takes them.
    Keyless { identity: String, issuer: String },
}

/// `--signed-by` and `--certificate-identity`: the flags are clap's (`cli/`); what they
/// ask for is said here, so `cli/` imports nothing of signing.
impl crate::cli::SignedByArgs {
    /// The signers asked for, in order: each key, then the keyless identity.
    pub fn gates(&self) -> Vec<Gate> {
        let mut out: Vec<Gate> = self
            .signed_by
            .iter()
            .map(|k| Gate::Key { key: k.clone() })
            .collect();
        if let (Some(identity), Some(issuer)) =
            (&self.certificate_identity, &self.certificate_oidc_issuer)
        {
            out.push(Gate::Keyless {
                identity: identity.clone(),
                issuer: issuer.clone(),
            });
        }
        out
    }
}

impl std::fmt::Display for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gate::Key { key } => f.write_str(key),
            Gate::Keyless { identity, issuer } => write!(f, "{identity} (issuer {issuer})"),
        }
    }
}

/// A digest's signature status for one gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A signature that verifies.
    Valid,
    /// No signature at all.
    Missing,
    /// Signatures, none by this signer (or none that verifies).
    Invalid,
}

/// `cosign verify`'s arguments for `reference` (`REPOSITORY@DIGEST`).
pub fn verify_args(gate: &Gate, reference: &str, insecure: bool) -> Vec<String> {
    let mut args = vec!["verify".to_string(), "--output=json".to_string()];
    match gate {
        Gate::Key { key } => {
            args.push(format!("--key={key}"));
            args.push("--insecure-ignore-tlog=true".into());
        }
        Gate::Keyless { identity, issuer } => {
            args.push(format!("--certificate-identity={identity}"));
            args.push(format!("--certificate-oidc-issuer={issuer}"));
        }
    }
    super::tool::end_with(&mut args, insecure, [reference.to_string()]);
    args
}

/// Whether `reference` carries a valid signature by `gate`: valid, missing, or invalid
/// (with cosign's reason); an error when cosign could not tell (the registry failed).
pub fn check(
    tool: &Cosign,
    gate: &Gate,
    reference: &str,
    insecure: bool,
) -> Result<(Status, Option<String>), SignError> {
    let what = format!("verifying the signature of {reference}");
    let out = tool.run(&what, &verify_args(gate, reference, insecure), &[])?;
    if out.status.success() {
        return Ok((Status::Valid, None));
    }
    let err = failure(&what, &out, &[]);
    let SignError::Failed {
        message, remote, ..
    } = &err
    else {
        return Err(err);
    };
    if *remote {
        return Err(err);
    }
    if message.contains("no signatures found") {
        return Ok((Status::Missing, Some(message.clone())));
    }
    Ok((Status::Invalid, Some(message.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_keyless_verify_argv() {
        let k = Gate::Key {
            key: "cosign.pub".into(),
        };
        assert_eq!(
            verify_args(&k, "r/app@sha256:aa", false),
            [
                "verify",
                "--output=json",
                "--key=cosign.pub",
                "--insecure-ignore-tlog=true",
                "--",
                "r/app@sha256:aa"
            ]
        );
        let kl = Gate::Keyless {
            identity: "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"
                .into(),
            issuer: "https://token.actions.githubusercontent.com".into(),
        };
        assert_eq!(
            verify_args(&kl, "r/app@sha256:aa", false),
            [
                "verify",
                "--output=json",
                "--certificate-identity=https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main",
                "--certificate-oidc-issuer=https://token.actions.githubusercontent.com",
                "--",
                "r/app@sha256:aa"
            ]
        );
    }
}
