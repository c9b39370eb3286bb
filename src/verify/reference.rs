//! Verifying a reference: what `collect` reads of it, and `check`'s verdict; a reference
//! the registry does not have is a verdict too (every required platform missing).

use super::check::{Deep, Observed, Requirements, Row, Status, Verdict, check};
use super::{collect, pool};
use crate::platform::Platform;
use crate::registry::manifest::{ImageConfig, Manifest};
use crate::registry::{Client, Reference, RegistryError, Repository};

/// The deep check of one platform's image, told what the reference must hold (whether
/// to look at every executable or only the entrypoint, what to ignore).
pub type DeepCheckFn<'a> = dyn Fn(
        &Client,
        &Repository,
        &Manifest,
        &ImageConfig,
        &Platform,
        &Requirements,
    ) -> Result<Deep, RegistryError>
    + Sync
    + 'a;

/// Checks one reference: observes it and decides. A reference the registry does not
/// have fails with every required platform missing. The deep check runs only for the
/// platforms the requirements name.
pub fn verify_reference(
    client: &Client,
    reference: &Reference,
    requirements: &Requirements,
    deep: Option<&DeepCheckFn>,
) -> Result<Verdict, RegistryError> {
    verify_root(client, reference, requirements, deep).map(|(verdict, _)| verdict)
}

/// [`verify_reference`], and the root it read (none when the registry has no such
/// reference).
pub fn verify_root(
    client: &Client,
    reference: &Reference,
    requirements: &Requirements,
    deep: Option<&DeepCheckFn>,
) -> Result<(Verdict, Option<crate::registry::Fetched>), RegistryError> {
    match collect::resolve(client, reference)? {
        Some(top) => {
            let observed = observe_resolved(client, reference, top.clone(), requirements, deep)?;
            Ok((check(&observed, requirements), Some(top)))
        }
        None => Ok((absent(&reference.to_string(), requirements), None)),
    }
}

/// What `top` (what `reference` resolved to) holds, the deep check run (when the
/// requirements ask for it) on the platforms they name.
pub fn observe_resolved(
    client: &Client,
    reference: &Reference,
    top: crate::registry::Fetched,
    requirements: &Requirements,
    deep: Option<&DeepCheckFn>,
) -> Result<Observed, RegistryError> {
    let deep = if requirements.deep { deep } else { None };
    let bound = deep.map(|f| {
        move |c: &Client, r: &Repository, m: &Manifest, cfg: &ImageConfig, p: &Platform| {
            if requirements.needs(p) {
                f(c, r, m, cfg, p, requirements)
            } else {
                Ok(Deep {
                    ok: true,
                    summary: format!("not checked: no target needs {p}"),
                })
            }
        }
    });
    let bound = bound.as_ref().map(|b| b as &collect::DeepFn);
    collect::observe_top(client, reference, top, bound)
}

/// The verdict on a reference the registry does not have: every required platform
/// missing.
pub fn absent(reference: &str, requirements: &Requirements) -> Verdict {
    Verdict {
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
        referrers: Vec::new(),
        record: None,
        signatures: Vec::new(),
    }
}

/// Checks several references, a few at a time, in order of the input.
pub fn verify_all(
    client: &Client,
    jobs: &[(Reference, Requirements)],
    deep: Option<&DeepCheckFn>,
) -> Result<Vec<Verdict>, RegistryError> {
    // Each reference reads its entries with a pool of its own: keep the product small.
    pool::try_map(jobs, 4, |(r, req)| verify_reference(client, r, req, deep))
}
