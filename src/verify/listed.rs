//! What a verdict lists beside its rows: the referrers of one digest as `verify` lists
//! them, and one digest's signature status for one signer (`--signed-by`).

use serde::Serialize;

use crate::provenance::PREDICATE_ANNOTATION;
use crate::registry::Via;
use crate::registry::manifest::Descriptor;
use crate::signing::{Gate, Status};

/// The referrers of one digest.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    /// `index` or `manifest` for the root; the platform of a manifest in an index.
    pub of: String,
    pub digest: String,
    pub via: Via,
    pub referrers: Vec<Referrer>,
}

/// One referrer as the list gives it.
#[derive(Debug, Clone, Serialize)]
pub struct Referrer {
    /// Its artifactType (none: the list gives none).
    pub artifact_type: Option<String>,
    pub digest: String,
    pub size: u64,
    /// The predicate type of an in-toto statement, when the list names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predicate_type: Option<String>,
}

impl Referrer {
    pub(super) fn of(d: &Descriptor) -> Referrer {
        Referrer {
            artifact_type: d.artifact_type.clone(),
            digest: d.digest.clone(),
            size: d.size,
            predicate_type: d.annotations.get(PREDICATE_ANNOTATION).cloned(),
        }
    }
}

/// One digest's signature status for one signer.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCheck {
    /// `index` or `manifest` for the root; the platform of a manifest.
    pub of: String,
    pub digest: String,
    pub signed_by: Gate,
    pub status: Status,
    /// cosign's reason, when not valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
