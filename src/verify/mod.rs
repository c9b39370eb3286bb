//! Verification: prove that what a registry holds contains every platform the targets
//! need. `check` decides (pure); `collect` reads the registry; `report` renders.

pub mod check;
pub mod pool;
pub mod report;
pub mod requirements;

pub use check::{Deep, Entry, Kind, Observed, Requirements, Row, Status, Verdict, check};
pub mod collect;

use crate::registry::{Client, Reference, RegistryError};

/// Checks one reference: observes it and decides. A reference the registry does not
/// have fails with every required platform missing.
pub fn verify_reference(
    client: &Client,
    reference: &Reference,
    requirements: &Requirements,
    deep: Option<&collect::DeepFn>,
) -> Result<Verdict, RegistryError> {
    let deep = if requirements.deep { deep } else { None };
    match collect::observe(client, reference, deep)? {
        Some(observed) => Ok(check(&observed, requirements)),
        None => Ok(Verdict {
            reference: reference.to_string(),
            digest: String::new(),
            kind: "absent",
            rows: requirements
                .platforms
                .iter()
                .map(|(p, why)| Row {
                    platform: p.clone(),
                    needed_by: why.clone(),
                    status: Status::Missing,
                    digest: None,
                    deep: None,
                })
                .collect(),
            extra: Vec::new(),
            attestations: Vec::new(),
            problems: vec!["it does not exist in the registry (no such tag or digest)".to_string()],
        }),
    }
}

/// Checks several references, a few at a time, in order of the input.
pub fn verify_all(
    client: &Client,
    jobs: &[(Reference, Requirements)],
    deep: Option<&collect::DeepFn>,
) -> Result<Vec<Verdict>, RegistryError> {
    // Each reference reads its entries with a pool of its own: keep the product small.
    pool::try_map(jobs, 4, |(r, req)| verify_reference(client, r, req, deep))
}
