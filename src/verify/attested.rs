//! `verify --signed-by KEY --require-record`: the verification record that agrees with
//! the registry must also be attested on the root, signed by every signer named
//! (`cosign verify-attestation --type <the record's predicate type>`), and one attested
//! predicate must agree with that record: the same root digest, and the same platform
//! manifests. Each status goes into the verdict's `signatures[]` as `of: "record"`; a
//! root without one fails the verdict, naming its digest.

use super::check::Verdict;
use super::listed::SignatureCheck;
use super::referrers::RECORD_HELP;
use super::signatures::{Answers, not_done};
use crate::provenance::record::{PREDICATE_TYPE, Predicate};
use crate::registry::Reference;
use crate::signing::attest::{self, Attested};
use crate::signing::{Cosign, Gate, SignError, Status};

/// Checks, for each verdict whose record agrees, that every gate attested it. A digest
/// several verdicts share (check's uses of one image) is asked about once per gate.
pub fn check_all<'v>(
    tool: &Cosign,
    gates: &[Gate],
    verdicts: impl IntoIterator<Item = &'v mut Verdict>,
    insecure: &[String],
) -> Result<(), SignError> {
    let mut answers = Answers::default();
    for v in verdicts {
        let Some(record) = v.record.as_ref().and_then(|r| r.statement.clone()) else {
            continue;
        };
        let Ok(reference) = Reference::parse(&v.reference) else {
            continue;
        };
        let repo = &reference.repository;
        let at = repo.at_digest(&v.digest).to_string();
        let http = crate::signing::sign::is_insecure(insecure, repo);
        for (i, g) in gates.iter().enumerate() {
            let (status, detail) = answers.ask(&at, i, || {
                attested(tool, g, &at, http, &v.digest, &record.predicate)
            })?;
            if status != Status::Valid {
                v.problems.push(format!(
                    "the verification record of {} is {}\n  to fix: {RECORD_HELP}",
                    v.digest,
                    not_done(&status, "attested", g, detail.as_deref())
                ));
            }
            v.signatures.push(SignatureCheck {
                of: "record".into(),
                digest: v.digest.clone(),
                signed_by: g.clone(),
                status,
                detail,
            });
        }
    }
    Ok(())
}

/// cosign's word on the record's attestation at `at` by `g`, and whether one verified
/// predicate agrees with `record`.
fn attested(
    tool: &Cosign,
    g: &Gate,
    at: &str,
    http: bool,
    digest: &str,
    record: &Predicate,
) -> Result<(Status, Option<String>), SignError> {
    let (status, detail, found) = attest::check(tool, g, PREDICATE_TYPE, at, http)?;
    if status == Status::Valid
        && let Err(why) = agreeing(&found, digest, record)
    {
        return Ok((Status::Invalid, Some(why)));
    }
    Ok((status, detail))
}

/// Whether one of the verified statements is about `digest` and its predicate agrees
/// with `record`'s; why none does.
pub fn agreeing(
    found: &[Result<Attested, String>],
    digest: &str,
    record: &Predicate,
) -> Result<(), String> {
    let mut why = Vec::new();
    for f in found {
        match f {
            Ok(a) if a.predicate_type != PREDICATE_TYPE => {
                why.push(format!("an attestation of type {}", a.predicate_type));
            }
            Ok(a) if !a.names(digest) => {
                why.push(format!("an attestation whose subject is not {digest}"));
            }
            Ok(a) => match agrees(&a.predicate, record) {
                Ok(()) => return Ok(()),
                Err(w) => why.push(w),
            },
            Err(w) => why.push(w.clone()),
        }
    }
    if why.is_empty() {
        why.push("cosign verified no attestation".into());
    }
    Err(format!(
        "no attested predicate agrees with the record in the registry ({})",
        why.join("; ")
    ))
}

/// The attested predicate names the record's root and exactly its platform manifests.
fn agrees(attested: &Predicate, record: &Predicate) -> Result<(), String> {
    if attested.digest != record.digest {
        return Err(format!(
            "the attested predicate records {}, the record {}",
            attested.digest, record.digest
        ));
    }
    let set = |p: &Predicate| {
        let mut v: Vec<(String, String)> = p
            .platforms
            .iter()
            .map(|r| (r.platform.clone(), r.digest.clone()))
            .collect();
        v.sort();
        v
    };
    if set(attested) != set(record) {
        return Err(format!(
            "the attested predicate lists the platforms {:?}, the record {:?}",
            set(attested),
            set(record)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provenance::record::tests::{digest, predicate};
    use crate::signing::attest::AttestedSubject;

    fn attested(about: &str, p: Predicate) -> Result<Attested, String> {
        let (a, h) = about.split_once(':').unwrap();
        Ok(Attested {
            subject: vec![AttestedSubject {
                name: "r/app".into(),
                digest: [(a.to_string(), h.to_string())].into(),
            }],
            predicate_type: PREDICATE_TYPE.into(),
            predicate: p,
        })
    }

    #[test]
    fn only_an_attested_predicate_of_the_same_index_and_platforms_agrees() {
        let record = predicate();
        let index = record.digest.clone();
        assert!(agreeing(&[attested(&index, record.clone())], &index, &record).is_ok());

        // Another index's record, attested on this one.
        let mut other = record.clone();
        other.digest = digest('9');
        let e = agreeing(&[attested(&index, other)], &index, &record).unwrap_err();
        assert!(e.contains(&digest('9')), "{e}");

        // The same index, a platform manifest that is not the record's.
        let mut moved = record.clone();
        moved.platforms[0].digest = digest('8');
        let e = agreeing(&[attested(&index, moved)], &index, &record).unwrap_err();
        assert!(e.contains("platforms"), "{e}");

        // About another digest, or of another type.
        let e = agreeing(&[attested(&digest('7'), record.clone())], &index, &record).unwrap_err();
        assert!(e.contains("subject is not"), "{e}");
        let mut typed = attested(&index, record.clone()).unwrap();
        typed.predicate_type = "https://slsa.dev/provenance/v1".into();
        let e = agreeing(&[Ok(typed)], &index, &record).unwrap_err();
        assert!(e.contains("slsa"), "{e}");

        // One agreeing among others is enough; none at all is not.
        let mut other = record.clone();
        other.digest = digest('9');
        let found = [attested(&index, other), attested(&index, record.clone())];
        assert!(agreeing(&found, &index, &record).is_ok());
        assert!(agreeing(&[], &index, &record).is_err());
    }
}
