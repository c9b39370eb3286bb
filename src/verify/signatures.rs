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
    let mut answers = Answers::default();
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
                let (status, detail) = answers.ask(&at, i, || gate::check(tool, g, &at, http))?;
                if status != Status::Valid {
                    v.problems.push(format!(
                        "{of} ({}) is {}",
                        crate::digest::short(&digest),
                        not_done(&status, "signed", g, detail.as_deref())
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

/// cosign's answers, asked once per (reference at digest, gate): a digest several
/// verdicts share (check's uses of one image) costs one cosign run per gate.
#[derive(Default)]
pub(super) struct Answers(HashMap<(String, usize), (Status, Option<String>)>);

impl Answers {
    /// The answer for `at` and the gate at index `gate`, asking `ask` the first time.
    pub(super) fn ask(
        &mut self,
        at: &str,
        gate: usize,
        ask: impl FnOnce() -> Result<(Status, Option<String>), SignError>,
    ) -> Result<(Status, Option<String>), SignError> {
        let key = (at.to_string(), gate);
        if let Some(found) = self.0.get(&key) {
            return Ok(found.clone());
        }
        let found = ask()?;
        self.0.insert(key, found.clone());
        Ok(found)
    }
}

/// How a status other than valid reads after "is": `not signed by G` or `not validly
/// signed by G: cosign's detail` (`verb`: signed, attested).
pub(super) fn not_done(status: &Status, verb: &str, g: &Gate, detail: Option<&str>) -> String {
    format!(
        "{} {verb} by {g}{}",
        match status {
            Status::Missing => "not",
            _ => "not validly",
        },
        detail.map(|d| format!(": {d}")).unwrap_or_default()
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosign_is_asked_once_per_digest_and_gate() {
        let mut answers = Answers::default();
        let mut asked = 0;
        for (at, gate) in [
            ("r@sha256:a", 0),
            ("r@sha256:a", 0),
            ("r@sha256:a", 1),
            ("r@sha256:b", 0),
        ] {
            let (status, _) = answers
                .ask(at, gate, || {
                    asked += 1;
                    Ok((Status::Missing, None))
                })
                .unwrap();
            assert_eq!(status, Status::Missing);
        }
        assert_eq!(asked, 3, "the second (r@sha256:a, 0) is the first answer");
    }

    #[test]
    fn a_status_other_than_valid_reads_after_is() {
        let g = Gate::Key {
            key: "k.pub".into(),
        };
        assert_eq!(
            not_done(&Status::Missing, "signed", &g, None),
            format!("not signed by {g}")
        );
        assert_eq!(
            not_done(
                &Status::Invalid,
                "attested",
                &g,
                Some("no matching signatures")
            ),
            format!("not validly attested by {g}: no matching signatures")
        );
    }
}
