//! Signing's findings: the cosign program (where, which version) and whether keyless
//! signing can work here (an OIDC token source cosign reads). A failure only when the
//! project's `sign:` needs what is missing.

use super::finding::{Finding, Status, finding};
use crate::config::Project;
use crate::signing::{Cosign, Signer, oidc_source};

/// The cosign and keyless findings for `project` (if any), with `env` as the environment.
pub fn findings(project: Option<&Project>, env: &dyn Fn(&str) -> Option<String>) -> Vec<Finding> {
    let signers: Vec<&Signer> = project
        .map(|p| p.images.iter().filter_map(|i| i.sign.as_ref()).collect())
        .unwrap_or_default();
    let needed = if signers.is_empty() {
        Status::Ok
    } else {
        Status::Fail
    };
    let cosign = match Cosign::find_with(env) {
        Ok(c) => finding(
            Status::Ok,
            "cosign",
            format!("{} ({})", c.version, c.program.display()),
            None,
        ),
        Err(e) => finding(
            needed,
            "cosign",
            if signers.is_empty() {
                format!("{} (needed only for `sign:` and --signed-by)", e.message())
            } else {
                format!("{}: the project's `sign:` needs it", e.message())
            },
            crate::exit::Coded::help(&e),
        ),
    };
    let keyless_needed = signers.iter().any(|s| **s == Signer::Keyless);
    let keyless = match oidc_source(env) {
        Some(source) => finding(
            Status::Ok,
            "keyless signing",
            format!("possible here: an OIDC token from {source}"),
            None,
        ),
        None => finding(
            if keyless_needed {
                Status::Fail
            } else {
                Status::Ok
            },
            "keyless signing",
            "not possible here: no OIDC token (SIGSTORE_ID_TOKEN, GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, Buildkite)",
            keyless_needed.then(|| {
                "in GitHub Actions give the job `permissions: id-token: write`; elsewhere put a token in SIGSTORE_ID_TOKEN, or sign with a key (`sign: {key: …}`)".to_string()
            }),
        ),
    };
    vec![cosign, keyless]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyless_is_reported_from_the_token_sources_and_cosign_from_mpbuild_cosign() {
        let f = findings(None, &|v| {
            (v == "MPBUILD_COSIGN").then(|| "/nonexistent/cosign".into())
        });
        assert_eq!(f[0].status, Status::Ok, "not needed without a project");
        assert!(f[0].detail.contains("/nonexistent/cosign"), "{:?}", f[0]);
        assert_eq!(f[1].status, Status::Ok);
        assert!(f[1].detail.starts_with("not possible here"), "{:?}", f[1]);
        let gh = |v: &str| {
            v.starts_with("ACTIONS_ID_TOKEN_REQUEST_")
                .then(|| "x".to_string())
        };
        let f = findings(None, &gh);
        assert_eq!(
            f[1].detail,
            "possible here: an OIDC token from GitHub Actions (id-token: write)"
        );
    }
}
