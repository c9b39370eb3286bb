//! The push's first step: every destination repository (each image's, each mirror's)
//! answers and takes a write from the credentials in use, checked in parallel before
//! anything is mirrored or built. An unreachable registry or a token without push scope
//! stops the push in about a second (exit 4), with the message the first upload would
//! have failed with.

use super::mirror;
use crate::plan::Plan;
use crate::registry::{Client, Repository};

/// Every repository the push writes to, each once, in the plan's order, then the
/// mirrors'.
pub fn destinations(plan: &Plan, mirrors: &[mirror::Job]) -> Vec<Repository> {
    let mut out: Vec<Repository> = Vec::new();
    let all = plan
        .images
        .iter()
        .flat_map(|i| std::iter::once(&i.repository).chain(&i.also))
        .chain(mirrors.iter().map(|m| &m.dest.repository));
    for r in all {
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    out
}

/// Checks that each of `repos` takes a push ([`Client::check_push`]); the first refusal.
pub fn check(client: &Client, repos: &[Repository]) -> anyhow::Result<()> {
    crate::verify::pool::try_map(repos, crate::verify::pool::WORKERS, |r| {
        client.check_push(r)
    })?;
    Ok(())
}
