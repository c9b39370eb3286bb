//! What `verify` says about referrers: the referrers of each digest a reference holds
//! (the root, then each platform manifest of an index) — type, digest, size, and how
//! the registry lists them — and, with `--require-record`, whether mpbuild's
//! verification record of the root exists and agrees with what the registry holds now.

use super::check::{Requirements, Verdict};
use super::listed::{Listed, Referrer};
use super::pool;
use super::reference::{DeepCheckFn, verify_root};
use crate::provenance::check::{self, RecordCheck};
use crate::registry::manifest::Manifest;
use crate::registry::{Client, Fetched, Reference, Referrers, RegistryError};

/// Verifies each reference (a few at a time, in order) and adds what it says about
/// referrers: the lists, and with `require_record` the record check (a reference
/// without an agreeing record fails).
pub fn verify_all(
    client: &Client,
    jobs: &[(Reference, Requirements)],
    deep: Option<&DeepCheckFn>,
    require_record: bool,
) -> Result<Vec<Verdict>, RegistryError> {
    pool::try_map(jobs, 4, |(r, req)| {
        let (mut v, root) = verify_root(client, r, req, deep)?;
        if let Some(root) = root {
            add(client, r, &root, require_record, &mut v)?;
        }
        Ok(v)
    })
}

/// Lists the referrers of `root` and its platform manifests into `v`, and checks the
/// record when asked.
fn add(
    client: &Client,
    reference: &Reference,
    root: &Fetched,
    require_record: bool,
    v: &mut Verdict,
) -> Result<(), RegistryError> {
    let mut digests: Vec<(String, String)> = vec![(
        match root.manifest {
            Manifest::Index { .. } => "index".to_string(),
            Manifest::Image { .. } => "manifest".to_string(),
        },
        root.digest.to_string(),
    )];
    if let Manifest::Index { manifests, .. } = &root.manifest {
        for e in manifests.iter().filter(|e| !e.in_attestation_slot()) {
            if !digests.iter().any(|(_, d)| d == &e.digest) {
                digests.push((e.platform_label(), e.digest.clone()));
            }
        }
    }
    let repo = &reference.repository;
    let lists: Vec<Referrers> =
        pool::try_map(&digests, pool::WORKERS, |(_, d)| client.referrers(repo, d))?;
    if require_record {
        let found = check::check(client, reference, root, &lists[0])?;
        if let Some(p) = &found.problem {
            v.problems.push(format!("verification record: {p}"));
        }
        v.record = Some(found);
    }
    v.referrers = digests
        .into_iter()
        .zip(lists)
        .filter(|(_, l)| !l.manifests.is_empty())
        .map(|((of, digest), l)| Listed {
            of,
            digest,
            via: l.via,
            referrers: l.manifests.iter().map(Referrer::of).collect(),
        })
        .collect();
    Ok(())
}

/// `--require-record` found a record for every reference it checked.
pub fn records_ok(verdicts: &[Verdict]) -> bool {
    verdicts
        .iter()
        .all(|v| v.record.as_ref().is_some_and(RecordCheck::ok))
}
