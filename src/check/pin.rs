//! `--pin`: each verified reference written back into its file as
//! `REPO:TAG@sha256:…`, the digest just verified.

use serde::Serialize;

/// One reference pinned: where, what it was, what it is now.
#[derive(Debug, Clone, Serialize)]
pub struct Pinned {
    pub at: String,
    pub from: String,
    pub to: String,
}
