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
        add_record(v, check::check(client, reference, root, &lists[0])?);
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

/// `--require-record` (`verify`'s and `check`'s): mpbuild's verification record of
/// `root` (what `reference` resolved to) among the referrers of that digest, read and
/// checked against what the registry holds now.
pub fn find_record(
    client: &Client,
    reference: &Reference,
    root: &Fetched,
) -> Result<RecordCheck, RegistryError> {
    let listed = client.referrers(&reference.repository, root.digest.as_ref())?;
    check::check(client, reference, root, &listed)
}

/// What to do about a missing or disagreeing record (or its attestation).
pub const RECORD_HELP: &str = "publish the image with `mpbuild push` (or `mpbuild merge`): it pushes the verification record before any tag moves and, with `sign:` in mpbuild.yaml naming the private key of the --signed-by key, attests it; then deploy that digest";

/// Puts `found` into `v`: a record that is missing or disagrees fails the verdict,
/// saying why and what to do.
pub fn add_record(v: &mut Verdict, found: RecordCheck) {
    if let Some(p) = &found.problem {
        v.problems
            .push(format!("verification record: {p}\n  to fix: {RECORD_HELP}"));
    }
    v.record = Some(found);
}

/// `--require-record` found a record for every reference it checked.
pub fn records_ok(verdicts: &[Verdict]) -> bool {
    verdicts
        .iter()
        .all(|v| v.record.as_ref().is_some_and(RecordCheck::ok))
}
