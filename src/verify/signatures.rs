//! The gate's signature check (`verify --signed-by`, `check --signed-by`): the root
//! digest and every platform manifest the targets need must carry a valid cosign
//! signature by every signer named; a digest that does not fails the verdict, naming
//! its platform. Each digest's status per signer goes into the verdict (JSON:
//! `signatures[]`).

use std::collections::HashMap;

use super::check::Status as RowStatus;
use super::check::Verdict;
pub use super::listed::SignatureCheck;
use crate::registry::Reference;
use crate::signing::{Cosign, Gate, SignError, Status, gate};

/// The digests of `v` a signature is required on: the root, then each required
/// platform's manifest (found; a missing platform already fails the verdict).
pub fn required_digests(v: &Verdict) -> Vec<(String, String)> {
    let mut out = vec![(v.kind.to_string(), v.digest.clone())];
    for r in &v.rows {
        if let (RowStatus::Found, Some(d)) = (&r.status, &r.digest)
            && !out.iter().any(|(_, known)| known == d)
        {
            out.push((r.platform.to_string(), d.clone()));
        }
    }
    out
}

/// Checks every required digest of each verdict against every gate, adding the
/// statuses and, for each digest not validly signed, a problem naming it. A digest
/// several verdicts share (check's uses of one image) is asked about once per gate.
pub fn check_all<'v>(
    tool: &Cosign,
    gates: &[Gate],
    verdicts: impl IntoIterator<Item = &'v mut Verdict>,
    insecure: &[String],
) -> Result<(), SignError> {
    let mut known: HashMap<(String, usize), (Status, Option<String>)> = HashMap::new();
    for v in verdicts {
        if v.digest.is_empty() {
            continue;
        }
        let Ok(reference) = Reference::parse(&v.reference) else {
            continue;
        };
        let repo = &reference.repository;
        let http = crate::signing::sign::is_insecure(insecure, repo);
        for (of, digest) in required_digests(v) {
            let at = repo.at_digest(&digest).to_string();
            for (i, g) in gates.iter().enumerate() {
                let (status, detail) = match known.get(&(at.clone(), i)) {
                    Some(found) => found.clone(),
                    None => {
                        let found = gate::check(tool, g, &at, http)?;
                        known.insert((at.clone(), i), found.clone());
                        found
                    }
                };
                if status != Status::Valid {
                    v.problems.push(format!(
                        "{of} ({}) is {} signed by {g}{}",
                        crate::digest::short(&digest),
                        match status {
                            Status::Missing => "not",
                            _ => "not validly",
                        },
                        detail
                            .as_deref()
                            .map(|d| format!(": {d}"))
                            .unwrap_or_default()
                    ));
                }
                v.signatures.push(SignatureCheck {
                    of: of.clone(),
                    digest: digest.clone(),
                    signed_by: g.clone(),
                    status,
                    detail,
                });
            }
        }
    }
    Ok(())
}

/// cosign, when `gates` asks for signatures, after checking each key file named is one
/// (a KMS URI is cosign's to reach).
pub fn prepare(gates: &[Gate]) -> anyhow::Result<Option<Cosign>> {
    if gates.is_empty() {
        return Ok(None);
    }
    for g in gates {
        if let Gate::Key { key } = g
            && !key.contains("://")
            && !std::path::Path::new(key).is_file()
        {
            return Err(crate::exit::UsageError::new(format!(
                "--signed-by {key}: no such file"
            ))
            .with_help(
                "name the signer's public key file (`cosign.pub`) or a KMS URI (awskms://, gcpkms://, azurekms://, hashivault://)",
            )
            .into());
        }
    }
    Ok(Some(Cosign::find()?))
}
