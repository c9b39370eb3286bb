//! The sign stage's cosign invocations: every digest of an image (its index, each
//! platform manifest, each single-manifest tag's manifest) in one `cosign sign` run,
//! before any tag moves. Signatures go where cosign puts them by default (the
//! `sha256-HEX.sig` tag beside the image), which every admission controller reads.

use super::error::SignError;
use super::tool::{Cosign, failure};
use super::{Signer, oidc_source};

/// What signing needs from the run: the tool, the environment (for the key's password;
/// a test hands in its own), and the registries reached over plain HTTP or unverified
/// TLS (`insecure_registries:`).
pub struct Signing<'a> {
    pub tool: &'a Cosign,
    pub env: &'a dyn Fn(&str) -> Option<String>,
    pub insecure: &'a [String],
}

/// `cosign sign`'s arguments for `refs` (each `REPOSITORY@DIGEST`). No secret is ever
/// among them.
pub fn sign_args(signer: &Signer, refs: &[String], insecure: bool) -> Vec<String> {
    let mut args = vec!["sign".to_string(), "--yes".to_string()];
    args.extend(key_flags(signer));
    super::tool::end_with(&mut args, insecure, refs.iter().cloned());
    args
}

/// How cosign signs with `signer`: a key file or KMS key without the transparency log;
/// keyless, nothing (cosign's own flow).
pub(super) fn key_flags(signer: &Signer) -> Vec<String> {
    let key = match signer {
        Signer::Key { path, .. } => path.display().to_string(),
        Signer::Kms { uri } => uri.clone(),
        Signer::Keyless => return Vec::new(),
    };
    vec![format!("--key={key}"), "--tlog-upload=false".into()]
}

/// What cosign's environment gets on top of mpbuild's: a key's password as
/// `COSIGN_PASSWORD` (read from the variable `sign:` names). Checks what signing needs
/// is there: the password variable set, or for keyless an OIDC token source.
pub fn sign_env(
    image: &str,
    signer: &Signer,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(&'static str, String)>, SignError> {
    match signer {
        Signer::Key { path, password_env } => {
            let password = env(password_env).ok_or_else(|| SignError::NoPassword {
                image: image.into(),
                key: path.display().to_string(),
                var: password_env.clone(),
            })?;
            Ok(vec![("COSIGN_PASSWORD", password)])
        }
        Signer::Kms { .. } => Ok(Vec::new()),
        Signer::Keyless => match oidc_source(env) {
            Some(_) => Ok(Vec::new()),
            None => Err(SignError::NoOidc {
                image: image.into(),
            }),
        },
    }
}

/// Before anything is built: cosign, when an image of `images` (name and signer) is
/// signed, found and its version checked; each signer's key file, password variable or
/// OIDC token there. `None` when no image is signed.
pub fn preflight(
    images: &[(&str, Option<&Signer>)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Cosign>, SignError> {
    if images.iter().all(|(_, s)| s.is_none()) {
        return Ok(None);
    }
    for (image, signer) in images {
        let Some(signer) = signer else { continue };
        if let Signer::Key { path, .. } = signer
            && !path.is_file()
        {
            return Err(SignError::NoKeyFile {
                image: image.to_string(),
                path: path.display().to_string(),
            });
        }
        sign_env(image, signer, env)?;
    }
    Cosign::find_with(env).map(Some)
}

/// Whether `repository`'s registry is one of `insecure`.
pub fn is_insecure(insecure: &[String], repository: &crate::registry::Repository) -> bool {
    insecure.contains(&repository.registry)
}

/// Signs `refs` of image `image` (all in one repository) with `signer`.
pub fn sign_image(
    s: &Signing,
    image: &str,
    repository: &crate::registry::Repository,
    signer: &Signer,
    refs: &[String],
) -> Result<(), SignError> {
    let env = sign_env(image, signer, s.env)?;
    let args = sign_args(signer, refs, is_insecure(s.insecure, repository));
    let what = format!(
        "signing image `{image}` ({} digest{})",
        refs.len(),
        if refs.len() == 1 { "" } else { "s" }
    );
    let out = s.tool.run(&what, &args, &env)?;
    if out.status.success() {
        return Ok(());
    }
    let secrets: Vec<&str> = env.iter().map(|(_, v)| v.as_str()).collect();
    Err(failure(&what, &out, &secrets))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn key() -> Signer {
        Signer::Key {
            path: PathBuf::from("./cosign.key"),
            password_env: "SIGN_PW".into(),
        }
    }

    #[test]
    fn key_argv_turns_the_tlog_off_and_holds_no_secret() {
        let refs = vec!["r.example/app@sha256:aa".to_string()];
        let args = sign_args(&key(), &refs, false);
        assert_eq!(
            args,
            [
                "sign",
                "--yes",
                "--key=./cosign.key",
                "--tlog-upload=false",
                "--",
                "r.example/app@sha256:aa"
            ]
        );
        let env = sign_env("app", &key(), &|v| {
            (v == "SIGN_PW").then(|| "s3cret".to_string())
        })
        .unwrap();
        assert_eq!(env, [("COSIGN_PASSWORD", "s3cret".to_string())]);
        assert!(!args.iter().any(|a| a.contains("s3cret")));
    }

    #[test]
    fn kms_and_keyless_argv() {
        let refs = vec!["h:5000/app@sha256:aa".to_string()];
        let kms = Signer::Kms {
            uri: "awskms:///alias/release".into(),
        };
        assert_eq!(
            sign_args(&kms, &refs, true),
            [
                "sign",
                "--yes",
                "--key=awskms:///alias/release",
                "--tlog-upload=false",
                "--allow-insecure-registry",
                "--allow-http-registry",
                "--",
                "h:5000/app@sha256:aa"
            ]
        );
        assert_eq!(
            sign_args(&Signer::Keyless, &refs, false),
            ["sign", "--yes", "--", "h:5000/app@sha256:aa"]
        );
    }

    #[test]
    fn missing_secrets_are_refused_before_cosign_runs() {
        assert!(matches!(
            sign_env("app", &key(), &|_| None),
            Err(SignError::NoPassword { var, .. }) if var == "SIGN_PW"
        ));
        assert!(matches!(
            sign_env("app", &Signer::Keyless, &|_| None),
            Err(SignError::NoOidc { .. })
        ));
        // GitHub Actions needs both of its variables.
        let half = |v: &str| (v == "ACTIONS_ID_TOKEN_REQUEST_URL").then(|| "u".to_string());
        assert!(sign_env("app", &Signer::Keyless, &half).is_err());
        let github = |v: &str| {
            v.starts_with("ACTIONS_ID_TOKEN_REQUEST_")
                .then(|| "x".to_string())
        };
        assert_eq!(sign_env("app", &Signer::Keyless, &github).unwrap(), []);
    }
}
