//! The verification record as a signed attestation: `cosign attest` puts the record's
//! predicate, signed with the image's `sign:` key, beside the index (cosign's
//! `sha256-HEX.att` tag, which Kyverno's `attestations:` and policy-controller read),
//! and the gate's `cosign verify-attestation` reads it back for a signer. The predicate
//! goes to cosign on its stdin (`--predicate=-`): no file to leave behind.

use base64::Engine;
use serde::Deserialize;

use super::Signer;
use super::error::SignError;
use super::gate::{Gate, Status};
use super::sign::{Signing, is_insecure, sign_env};
use super::tool::{Cosign, failure};
use crate::provenance::record::Predicate;

/// `cosign attest`'s arguments for `reference` (`REPOSITORY@DIGEST`), the predicate
/// read from stdin. No secret is ever among them.
pub fn attest_args(
    signer: &Signer,
    predicate_type: &str,
    reference: &str,
    insecure: bool,
) -> Vec<String> {
    let mut args = vec!["attest".to_string(), "--yes".to_string()];
    args.extend(super::sign::key_flags(signer));
    args.push(format!("--type={predicate_type}"));
    args.push("--predicate=-".into());
    super::tool::end_with(&mut args, insecure, [reference.to_string()]);
    args
}

/// Attests `predicate` (its JSON) of type `predicate_type` on `reference` (image
/// `image`'s index) with `signer`.
pub fn attest_record(
    s: &Signing,
    image: &str,
    repository: &crate::registry::Repository,
    signer: &Signer,
    predicate_type: &str,
    reference: &str,
    predicate: &[u8],
) -> Result<(), SignError> {
    let env = sign_env(image, signer, s.env)?;
    let args = attest_args(
        signer,
        predicate_type,
        reference,
        is_insecure(s.insecure, repository),
    );
    let what = format!("attesting image `{image}`'s verification record on {reference}");
    let out = s.tool.run_with_input(&what, &args, &env, Some(predicate))?;
    if out.status.success() {
        return Ok(());
    }
    let secrets: Vec<&str> = env.iter().map(|(_, v)| v.as_str()).collect();
    Err(failure(&what, &out, &secrets))
}

/// `cosign verify-attestation`'s arguments: attestations of `predicate_type` on
/// `reference` signed by `gate`.
pub fn verify_args(
    gate: &Gate,
    predicate_type: &str,
    reference: &str,
    insecure: bool,
) -> Vec<String> {
    let mut args = super::gate::verify_args(gate, reference, insecure);
    args[0] = "verify-attestation".into();
    args.insert(2, format!("--type={predicate_type}"));
    args
}

/// One attested statement as cosign wraps a predicate: the subject cosign names, the
/// predicate type, and mpbuild's predicate.
#[derive(Debug, Deserialize)]
pub struct Attested {
    pub subject: Vec<AttestedSubject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Predicate,
}

/// A subject as cosign writes it: a name and its digests (`{"sha256": "HEX"}`).
#[derive(Debug, Deserialize)]
pub struct AttestedSubject {
    #[serde(default)]
    pub name: String,
    pub digest: std::collections::BTreeMap<String, String>,
}

impl Attested {
    /// Whether the statement is about `digest` (`ALGORITHM:HEX`).
    pub fn names(&self, digest: &str) -> bool {
        self.subject.iter().any(|s| {
            s.digest
                .iter()
                .any(|(a, h)| digest.split_once(':') == Some((a.as_str(), h.as_str())))
        })
    }
}

/// What the gate found: the status, cosign's reason when not valid, and (valid) each
/// verified statement of the type, or why one could not be read as mpbuild's.
pub type Found = (Status, Option<String>, Vec<Result<Attested, String>>);

/// The attestations of `predicate_type` on `reference` that `gate` signed.
pub fn check(
    tool: &Cosign,
    gate: &Gate,
    predicate_type: &str,
    reference: &str,
    insecure: bool,
) -> Result<Found, SignError> {
    let what = format!("verifying the attestation of {reference}");
    let args = verify_args(gate, predicate_type, reference, insecure);
    let out = tool.run(&what, &args, &[])?;
    if out.status.success() {
        return Ok((Status::Valid, None, statements(&out.stdout)));
    }
    let err = failure(&what, &out, &[]);
    let SignError::Failed {
        message, remote, ..
    } = &err
    else {
        return Err(err);
    };
    if *remote {
        return Err(err);
    }
    Ok((status_of(message), Some(message.clone()), Vec::new()))
}

/// What cosign 2.5's failure says: no attestation of the type at all (`no matching
/// attestations: ` with no reason, or none of that type) is missing; attestations
/// none of which verifies with the key (`accepted signatures do not match threshold`)
/// or anything else, invalid.
fn status_of(message: &str) -> Status {
    let m = message.trim();
    if m == "no matching attestations:"
        || m.contains("none of the attestations matched the predicate type")
        || m.contains("no signatures found")
    {
        Status::Missing
    } else {
        Status::Invalid
    }
}

/// The statements of cosign's output: one DSSE envelope per line, its payload base64.
pub fn statements(stdout: &[u8]) -> Vec<Result<Attested, String>> {
    #[derive(Deserialize)]
    struct Envelope {
        payload: String,
    }
    String::from_utf8_lossy(stdout)
        .lines()
        .filter(|l| l.trim_start().starts_with('{'))
        .map(|line| {
            let env: Envelope = serde_json::from_str(line)
                .map_err(|e| format!("cosign's output is not a DSSE envelope: {e}"))?;
            let payload = base64::engine::general_purpose::STANDARD
                .decode(env.payload.trim())
                .map_err(|e| format!("the envelope's payload is not base64: {e}"))?;
            serde_json::from_slice::<Attested>(&payload)
                .map_err(|e| format!("the attested statement is not mpbuild's record: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn attest_argv_reads_the_predicate_from_stdin_and_holds_no_secret() {
        let key = Signer::Key {
            path: PathBuf::from("./cosign.key"),
            password_env: "SIGN_PW".into(),
        };
        assert_eq!(
            attest_args(&key, "https://x/record.json", "h:5000/app@sha256:aa", true),
            [
                "attest",
                "--yes",
                "--key=./cosign.key",
                "--tlog-upload=false",
                "--type=https://x/record.json",
                "--predicate=-",
                "--allow-insecure-registry",
                "--allow-http-registry",
                "--",
                "h:5000/app@sha256:aa"
            ]
        );
        let gate = Gate::Key {
            key: "cosign.pub".into(),
        };
        assert_eq!(
            verify_args(&gate, "https://x/record.json", "r/app@sha256:aa", false),
            [
                "verify-attestation",
                "--output=json",
                "--type=https://x/record.json",
                "--key=cosign.pub",
                "--insecure-ignore-tlog=true",
                "--",
                "r/app@sha256:aa"
            ]
        );
    }

    #[test]
    fn cosign_failures_tell_missing_from_invalid() {
        assert_eq!(status_of("no matching attestations: "), Status::Missing);
        assert_eq!(
            status_of("none of the attestations matched the predicate type: x, found: y"),
            Status::Missing
        );
        assert_eq!(
            status_of(
                "no matching attestations: accepted signatures do not match threshold, Found: 0, Expected 1"
            ),
            Status::Invalid
        );
    }

    #[test]
    fn an_envelope_that_is_not_a_record_is_said_so() {
        let payload = base64::engine::general_purpose::STANDARD.encode(br#"{"a":1}"#);
        let out = format!("{{\"payload\":\"{payload}\"}}\n");
        let found = statements(out.as_bytes());
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .as_ref()
                .unwrap_err()
                .contains("not mpbuild's record")
        );
    }
}
