//! Registry errors: what went wrong, where (registry, repository, request) and what to
//! do. Credentials never appear in them.

use crate::exit::{Code, Coded};

#[derive(Debug, Clone, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "`{reference}` is not an image reference: {reason}\n  = help: write [HOST[:PORT]/]PATH[:TAG][@sha256:DIGEST], e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:latest"
    )]
    BadReference { reference: String, reason: String },

    #[error("{registry}: not authorized to {action} {repository} ({request})\n  = help: {hint}")]
    Unauthorized {
        registry: String,
        repository: String,
        action: String,
        request: String,
        hint: String,
    },

    #[error("{registry}: {what} not found: {reference}\n  = help: {hint}")]
    NotFound {
        registry: String,
        what: &'static str,
        reference: String,
        hint: String,
    },

    #[error(
        "{registry}: {reference}: content does not match its digest (expected {expected}, got {actual}); refusing it\n  = help: the registry or something between you and it altered the content; try again, and report it if it persists"
    )]
    DigestMismatch {
        registry: String,
        reference: String,
        expected: String,
        actual: String,
    },

    #[error("{registry}: {request} answered {status}{detail}\n  = help: {hint}")]
    Http {
        registry: String,
        request: String,
        status: u16,
        detail: String,
        hint: String,
    },

    #[error(
        "{registry}: {request} failed after {attempts} attempt(s): {message}\n  = help: {hint}"
    )]
    Network {
        registry: String,
        request: String,
        attempts: u32,
        message: String,
        hint: String,
    },

    #[error(
        "{registry}: credential helper `docker-credential-{helper}` failed: {message}\n  = help: run `docker-credential-{helper} list` to check it, or log in again with `docker login {registry}`"
    )]
    CredentialHelper {
        registry: String,
        helper: String,
        message: String,
    },

    #[error(
        "{registry}: {reference} has media type `{media_type}`, which is not an image manifest or index mpbuild reads\n  = help: mpbuild reads OCI image indexes and manifests and Docker manifest lists and v2 manifests"
    )]
    UnsupportedMediaType {
        registry: String,
        reference: String,
        media_type: String,
    },

    #[error("{registry}: {reference}: {message}")]
    BadManifest {
        registry: String,
        reference: String,
        message: String,
    },

    #[error("reading {path}: {message}\n  = help: fix or remove the file")]
    Config { path: String, message: String },

    #[error(
        "{registry}: {reference}: the {what} is larger than {limit} bytes; refused without reading the rest\n  = help: {what}s of images are small JSON; check what the registry serves under this name"
    )]
    TooLarge {
        registry: String,
        reference: String,
        what: &'static str,
        limit: u64,
    },

    #[error(
        "{registry}: {reference}: the image index has {count} entries; mpbuild reads at most {limit}\n  = help: an image index holds one entry per platform (and attestation); check what the registry serves under this name"
    )]
    TooManyEntries {
        registry: String,
        reference: String,
        count: usize,
        limit: usize,
    },

    #[error(
        "{registry}: {request} answered {status} (a redirect to {location}): {reason}\n  = help: mpbuild follows no redirect on a write (PUT, POST, PATCH, DELETE) but a 307 or 308 to the same host; nothing was written. Check the registry's address, or the proxy or load balancer in front of it, then try again"
    )]
    Redirected {
        registry: String,
        request: String,
        status: u16,
        location: String,
        reason: String,
    },

    /// The run was interrupted (Ctrl-C, SIGTERM) while this request waited.
    #[error("interrupted while waiting for {registry} ({request})")]
    Interrupted { registry: String, request: String },

    #[error("{registry}: refusing to send credentials to {target}: {reason}\n  = help: {hint}")]
    InsecureAuth {
        registry: String,
        target: String,
        reason: String,
        hint: String,
    },
}

impl Coded for RegistryError {
    fn code(&self) -> Code {
        match self {
            RegistryError::BadReference { .. } => Code::Usage,
            RegistryError::Interrupted { .. } => Code::Interrupted,
            _ => Code::Registry,
        }
    }
}

/// A hint for logging in to `registry`, with the ECR and Docker Hub forms.
pub fn login_hint(registry: &str) -> String {
    if let Some(region) = ecr_region(registry) {
        format!(
            "log in first: `aws ecr get-login-password --region {region} | docker login --username AWS --password-stdin {registry}` (ECR tokens last 12 hours)"
        )
    } else if registry == "docker.io" {
        "log in first: `docker login`".to_string()
    } else {
        format!(
            "log in first: `docker login {registry}`, or check that your account may access this repository"
        )
    }
}

/// `123456789012.dkr.ecr.REGION.amazonaws.com` → REGION.
pub fn ecr_region(registry: &str) -> Option<&str> {
    let host = registry.split(':').next()?;
    let parts: Vec<&str> = host.split('.').collect();
    if parts.len() >= 6 && parts[1] == "dkr" && parts[2] == "ecr" && parts[4] == "amazonaws" {
        Some(parts[3])
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_hosts_get_the_aws_hint() {
        assert_eq!(
            ecr_region("123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"),
            Some("ap-northeast-1")
        );
        assert!(
            login_hint("123456789012.dkr.ecr.us-east-1.amazonaws.com")
                .contains("aws ecr get-login-password --region us-east-1")
        );
        assert_eq!(ecr_region("ghcr.io"), None);
        assert!(login_hint("ghcr.io").contains("docker login ghcr.io"));
    }
}
