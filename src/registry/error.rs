//! Registry errors: what went wrong, where (registry, repository, request) and what to
//! do. Credentials never appear in them.

use crate::exit::{Code, Coded};

#[derive(Debug, Clone)]
pub enum RegistryError {
    BadReference {
        reference: String,
        reason: String,
    },
    Unauthorized {
        registry: String,
        repository: String,
        action: String,
        request: String,
        hint: String,
    },
    NotFound {
        registry: String,
        what: &'static str,
        reference: String,
        hint: String,
    },
    DigestMismatch {
        registry: String,
        reference: String,
        expected: String,
        actual: String,
    },
    Http {
        registry: String,
        request: String,
        status: u16,
        detail: String,
        hint: String,
    },
    Network {
        registry: String,
        request: String,
        attempts: u32,
        message: String,
        hint: String,
    },
    CredentialHelper {
        registry: String,
        helper: String,
        message: String,
    },
    UnsupportedMediaType {
        registry: String,
        reference: String,
        media_type: String,
    },
    BadManifest {
        registry: String,
        reference: String,
        message: String,
    },
    Config {
        path: String,
        message: String,
    },
    TooLarge {
        registry: String,
        reference: String,
        what: &'static str,
        limit: u64,
    },
    TooManyEntries {
        registry: String,
        reference: String,
        count: usize,
        limit: usize,
    },
    Redirected {
        registry: String,
        request: String,
        status: u16,
        location: String,
        reason: String,
    },
    /// A write that others kept changing under us, each time.
    Contended {
        registry: String,
        reference: String,
        message: String,
        hint: String,
    },
    /// The run was interrupted (Ctrl-C, SIGTERM) while this request waited.
    Interrupted {
        registry: String,
        request: String,
    },
    InsecureAuth {
        registry: String,
        target: String,
        reason: String,
        hint: String,
    },
}

impl RegistryError {
    /// What went wrong, and where.
    pub fn message(&self) -> String {
        use RegistryError as E;
        match self {
            E::BadReference { reference, reason } => {
                format!("`{reference}` is not an image reference: {reason}")
            }
            E::Unauthorized {
                registry,
                repository,
                action,
                request,
                ..
            } => format!("{registry}: not authorized to {action} {repository} ({request})"),
            E::NotFound {
                registry,
                what,
                reference,
                ..
            } => format!("{registry}: {what} not found: {reference}"),
            E::DigestMismatch {
                registry,
                reference,
                expected,
                actual,
            } => format!(
                "{registry}: {reference}: content does not match its digest (expected {expected}, got {actual}); refusing it"
            ),
            E::Http {
                registry,
                request,
                status,
                detail,
                ..
            } => format!("{registry}: {request} answered {status}{detail}"),
            E::Network {
                registry,
                request,
                attempts,
                message,
                ..
            } => format!("{registry}: {request} failed after {attempts} attempt(s): {message}"),
            E::CredentialHelper {
                registry,
                helper,
                message,
            } => format!(
                "{registry}: credential helper `docker-credential-{helper}` failed: {message}"
            ),
            E::UnsupportedMediaType {
                registry,
                reference,
                media_type,
            } => format!(
                "{registry}: {reference} has media type `{media_type}`, which is not an image manifest or index mpbuild reads"
            ),
            E::BadManifest {
                registry,
                reference,
                message,
            } => format!("{registry}: {reference}: {message}"),
            E::Config { path, message } => format!("reading {path}: {message}"),
            E::TooLarge {
                registry,
                reference,
                what,
                limit,
            } => format!(
                "{registry}: {reference}: the {what} is larger than {limit} bytes; refused without reading the rest"
            ),
            E::TooManyEntries {
                registry,
                reference,
                count,
                limit,
            } => format!(
                "{registry}: {reference}: the image index has {count} entries; mpbuild reads at most {limit}"
            ),
            E::Redirected {
                registry,
                request,
                status,
                location,
                reason,
            } => format!(
                "{registry}: {request} answered {status} (a redirect to {location}): {reason}"
            ),
            E::Contended {
                registry,
                reference,
                message,
                ..
            } => format!("{registry}: {reference}: {message}"),
            E::Interrupted { registry, request } => {
                format!("interrupted while waiting for {registry} ({request})")
            }
            E::InsecureAuth {
                registry,
                target,
                reason,
                ..
            } => format!("{registry}: refusing to send credentials to {target}: {reason}"),
        }
    }

    /// What to do about it.
    pub fn help(&self) -> Option<String> {
        use RegistryError as E;
        Some(match self {
            E::BadReference { .. } => "write [HOST[:PORT]/]PATH[:TAG][@sha256:DIGEST], e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:latest".into(),
            E::Unauthorized { hint, .. }
            | E::NotFound { hint, .. }
            | E::Http { hint, .. }
            | E::Network { hint, .. }
            | E::InsecureAuth { hint, .. }
            | E::Contended { hint, .. } => hint.clone(),
            E::DigestMismatch { .. } => "the registry or something between you and it altered the content; try again, and report it if it persists".into(),
            E::CredentialHelper {
                registry, helper, ..
            } => format!(
                "run `docker-credential-{helper} list` to check it, or log in again with `docker login {registry}`"
            ),
            E::UnsupportedMediaType { .. } => "mpbuild reads OCI image indexes and manifests and Docker manifest lists and v2 manifests".into(),
            E::Config { .. } => "fix or remove the file".into(),
            E::TooLarge { what, .. } => format!(
                "{what}s of images are small JSON; check what the registry serves under this name"
            ),
            E::TooManyEntries { .. } => "an image index holds one entry per platform (and attestation); check what the registry serves under this name".into(),
            E::Redirected { .. } => "mpbuild follows no redirect on a write (PUT, POST, PATCH, DELETE) but a 307 or 308 to the same host; nothing was written. Check the registry's address, or the proxy or load balancer in front of it, then try again".into(),
            E::BadManifest { .. } | E::Interrupted { .. } => return None,
        })
    }
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::exit::write_with_help(f, &self.message(), self.help().as_deref())
    }
}

impl std::error::Error for RegistryError {}

impl Coded for RegistryError {
    fn code(&self) -> Code {
        match self {
            RegistryError::BadReference { .. } => Code::Usage,
            RegistryError::Interrupted { .. } => Code::Interrupted,
            _ => Code::Registry,
        }
    }

    fn help(&self) -> Option<String> {
        RegistryError::help(self)
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
