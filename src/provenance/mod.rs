//! Provenance that travels with an image as OCI 1.1 referrers, never inside the index
//! the tags point at: buildx's attestation manifests re-published as artifacts whose
//! `subject` is their platform manifest (`attestations`), and mpbuild's own
//! verification record — an in-toto statement of what was verified before the tags
//! moved (`record`) — with the check that a record exists for a digest and agrees with
//! what the registry holds now (`check`).

pub mod attestations;
pub mod check;
pub mod record;

/// The media type of an in-toto statement (a layer, and the record's artifactType).
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
/// The annotation naming a statement's predicate type (buildx sets it on each layer).
pub const PREDICATE_ANNOTATION: &str = "in-toto.io/predicate-type";
/// The artifactType BuildKit gives an attestation manifest in its OCI artifact form
/// (`oci-artifact=true`); mpbuild gives the attestations it re-publishes the same.
pub const BUILDX_ATTESTATION: &str = "application/vnd.docker.attestation.manifest.v1+json";
