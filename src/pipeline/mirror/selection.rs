//! What a copy is asked for (the selection of platforms), what it made, and why a
//! source is refused.

use super::referrers::CopiedReferrer;
use crate::verify::Requirements;

/// What to copy.
#[derive(Debug, Clone)]
pub struct Selection {
    /// Platforms that must be present and copied; empty with `all`.
    pub requirements: Requirements,
    /// Copy every platform (and keep the source digest).
    pub all: bool,
    /// Copy the referrers of what is copied (attestations, signatures, records).
    pub referrers: bool,
}

/// The result of a mirror.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Mirrored {
    pub source_digest: String,
    pub digest: String,
    /// True when a new index was made (a filtered copy of a larger index).
    pub filtered: bool,
    pub platforms: Vec<String>,
    pub blobs_copied: usize,
    pub blobs_mounted: usize,
    pub blobs_skipped: usize,
    pub bytes_copied: u64,
    /// cosign signature and attestation tags copied with it (`sha256-HEX.sig`/`.att`).
    pub signatures_copied: usize,
    /// The referrers copied with it (each listed at the destination before the tag
    /// moved), and any left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub referrers: Vec<CopiedReferrer>,
}

/// Why a mirror could not start.
#[derive(Debug)]
pub enum MirrorError {
    MissingPlatform {
        source_ref: String,
        platform: String,
        present: String,
    },
    WrongPlatform {
        source_ref: String,
        found: String,
        needed: String,
    },
}

impl std::fmt::Display for MirrorError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::exit::Coded;
        let message = match self {
            MirrorError::MissingPlatform {
                source_ref,
                platform,
                present,
            } => format!(
                "{source_ref} has no {platform} image (it has: {present}); nothing was written"
            ),
            MirrorError::WrongPlatform {
                source_ref,
                found,
                needed,
            } => format!(
                "{source_ref} is a single {found} image; the targets need {needed}; nothing was written"
            ),
        };
        crate::exit::write_with_help(f, &message, self.help().as_deref())
    }
}

impl std::error::Error for MirrorError {}

impl crate::exit::Coded for MirrorError {
    fn code(&self) -> crate::exit::Code {
        crate::exit::Code::VerifyFailed
    }

    fn help(&self) -> Option<String> {
        match self {
            MirrorError::MissingPlatform { .. } => Some(
                "pick a source that holds every platform the targets need, or drop the target"
                    .into(),
            ),
            MirrorError::WrongPlatform { .. } => None,
        }
    }
}
