//! Every distinct reference resolved once (a tag read, or a digest checked), then every
//! distinct image (repository and digest) read once — entries, manifests, configs, the
//! deep check when asked — with `verify`'s own collection, a few at a time through its
//! bounded pool; then each use decided with `verify`'s rules against what its own
//! workload needs. A registry that cannot be reached (or refuses the credentials) fails
//! its other references with the same error instead of being asked again.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Mutex;

use super::uses::{Checked, Outcome, Reads, Target, Use};
use crate::provenance::check::RecordCheck;
use crate::registry::{Client, Fetched, Reference, RegistryError};
use crate::verify::{self, DeepCheckFn, Observed, Requirements, pool};

/// What one image holds, and its verification record when asked for.
type Image = (Observed, Option<RecordCheck>);

/// How many images are read at once; each reads its entries with a pool of its own.
const IMAGES_AT_ONCE: usize = 4;

/// Checks every use; returns the verdicts in the order of `uses`, and what was read.
/// With `require_record` (`--require-record`), each image's verification record is
/// looked for once and every use of it fails without one that agrees.
pub fn resolve(
    client: &Client,
    uses: Vec<Use>,
    deep: Option<&DeepCheckFn>,
    require_record: bool,
) -> (Vec<Checked>, Reads) {
    // Distinct references, in order of first use.
    let mut refs: Vec<Reference> = Vec::new();
    let mut ref_index: HashMap<String, usize> = HashMap::new();
    for u in &uses {
        if let Target::Reference(r) = &u.target {
            ref_index.entry(r.to_string()).or_insert_with(|| {
                refs.push(r.clone());
                refs.len() - 1
            });
        }
    }
    let failed: Mutex<HashMap<String, RegistryError>> = Mutex::default();
    let resolved = pool::try_map(&refs, pool::WORKERS, |r| {
        Ok::<_, Infallible>(resolve_one(client, r, &failed))
    })
    .unwrap_or_else(|e| match e {});

    // Distinct images: (repository, digest) → the references that resolved to it.
    let mut images: Vec<(Reference, Fetched, Requirements)> = Vec::new();
    let mut image_index: HashMap<(String, String), usize> = HashMap::new();
    let mut image_of_ref: Vec<Option<usize>> = vec![None; refs.len()];
    for (i, top) in resolved.iter().enumerate() {
        let Ok(Some(top)) = top else { continue };
        let key = (refs[i].repository.to_string(), top.digest.to_string());
        let at = *image_index.entry(key).or_insert_with(|| {
            images.push((refs[i].clone(), top.clone(), Requirements::default()));
            images.len() - 1
        });
        image_of_ref[i] = Some(at);
    }
    // What every use of an image needs, for its deep check.
    for u in &uses {
        if let Target::Reference(r) = &u.target
            && let Some(at) = image_of_ref[ref_index[&r.to_string()]]
        {
            merge(&mut images[at].2, &u.requirements);
        }
    }
    let observed = pool::try_map(&images, IMAGES_AT_ONCE, |(r, top, req)| {
        Ok::<_, Infallible>(read_image(client, r, top, req, deep, require_record))
    })
    .unwrap_or_else(|e| match e {});

    let checked = uses
        .into_iter()
        .map(|u| {
            let outcome = match &u.target {
                Target::Unresolved(why) => Outcome::Unresolved { why: why.clone() },
                Target::Invalid(why) => Outcome::Invalid { why: why.clone() },
                Target::Reference(r) => {
                    let i = ref_index[&r.to_string()];
                    decide(
                        r,
                        &u.requirements,
                        &resolved[i],
                        image_of_ref[i].map(|at| &observed[at]),
                    )
                }
            };
            Checked { use_: u, outcome }
        })
        .collect();
    let reads = Reads {
        references: refs.len(),
        images: images.len(),
    };
    (checked, reads)
}

/// What one image holds, and with `require_record` its verification record.
fn read_image(
    client: &Client,
    r: &Reference,
    top: &Fetched,
    req: &Requirements,
    deep: Option<&DeepCheckFn>,
    require_record: bool,
) -> Result<Image, RegistryError> {
    let observed = verify::observe_resolved(client, r, top.clone(), req, deep)?;
    let record = if require_record {
        Some(verify::referrers::find_record(client, r, top)?)
    } else {
        None
    };
    Ok((observed, record))
}

/// Resolves one reference, unless its registry already failed for another.
pub(super) fn resolve_one(
    client: &Client,
    r: &Reference,
    failed: &Mutex<HashMap<String, RegistryError>>,
) -> Result<Option<Fetched>, RegistryError> {
    let registry = r.repository.registry.clone();
    if let Some(e) = failed.lock().unwrap().get(&registry) {
        return Err(e.clone());
    }
    let result = verify::collect::resolve(client, r);
    if let Err(e) = &result
        && whole_registry(e)
    {
        failed
            .lock()
            .unwrap()
            .entry(registry)
            .or_insert_with(|| e.clone());
    }
    result
}

/// Errors that say the registry itself cannot be used, not this one reference.
fn whole_registry(e: &RegistryError) -> bool {
    matches!(
        e,
        RegistryError::Network { .. }
            | RegistryError::CredentialHelper { .. }
            | RegistryError::InsecureAuth { .. }
    )
}

/// Adds what `req` needs to what an image must be read for.
fn merge(into: &mut Requirements, req: &Requirements) {
    for (p, why) in &req.platforms {
        for w in why {
            into.need(p.clone(), w.clone());
        }
    }
    into.deep |= req.deep;
    into.deep_all |= req.deep_all;
}

fn decide(
    r: &Reference,
    req: &Requirements,
    resolved: &Result<Option<Fetched>, RegistryError>,
    observed: Option<&Result<Image, RegistryError>>,
) -> Outcome {
    match (resolved, observed) {
        (Err(e), _) | (_, Some(Err(e))) => Outcome::Error {
            error: e.to_string(),
        },
        (Ok(None), _) => Outcome::Checked {
            verdict: Box::new(verify::absent(&r.to_string(), req)),
        },
        (Ok(Some(_)), Some(Ok((o, record)))) => {
            let mut o = o.clone();
            o.reference = r.to_string();
            let mut verdict = verify::check(&o, req);
            if let Some(found) = record {
                verify::referrers::add_record(&mut verdict, found.clone());
            }
            Outcome::Checked {
                verdict: Box::new(verdict),
            }
        }
        (Ok(Some(_)), None) => unreachable!("every resolved reference has its image read"),
    }
}
