//! The sign stage, between smoke and promote: every digest a tag will name or a node
//! will pull — the index (or manifest), each platform manifest in it, each
//! single-manifest tag's manifest (Lambda, and the Docker media-type manifests made for
//! Heroku) — signed with the image's `sign:` before any tag moves. A failure stops the
//! run there, like any failed check: no tag moves. Where the attest stage pushed
//! mpbuild's verification record, its predicate is also attested on each of those
//! digests with the same key (`cosign attest --type <the record's predicate type>`), read back from the
//! registry by digest first, so what is signed is what the registry holds.

use serde::Serialize;

use super::attest::Published;
use super::candidate::Candidate;
use super::verify::VerifiedImage;
use crate::digest::Digest;
use crate::provenance::record::PREDICATE_TYPE;
use crate::registry::Client;
use crate::registry::manifest::Manifest;
use crate::signing::Signer;
use crate::signing::attest::attest_record;
use crate::signing::sign::{Signing, sign_image};

/// One signed digest and what it is.
#[derive(Debug, Clone, Serialize)]
pub struct SignedDigest {
    pub digest: Digest,
    /// `index`, `manifest`, a platform (`linux/arm64`), or `tag TAG (SERVICE)`.
    pub what: String,
}

/// What was signed for one image, and with what.
#[derive(Debug, Clone, Serialize)]
pub struct Signed {
    pub image: String,
    pub signer: Signer,
    pub digests: Vec<SignedDigest>,
    /// The verification record (its referrer's digest) whose predicate was attested on
    /// each of `digests` with the same signer; none when the image has no record
    /// (`attestations: off`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_attested: Option<String>,
}

/// The digests of one verified image that get a signature, each once, root first.
pub fn digests(candidate: &Candidate, verified: &VerifiedImage) -> Vec<SignedDigest> {
    let mut out: Vec<SignedDigest> = Vec::new();
    let mut add = |digest: Digest, what: String| {
        if !out.iter().any(|d| d.digest == digest) {
            out.push(SignedDigest { digest, what });
        }
    };
    match verified.root.as_ref().map(|r| &r.manifest) {
        Some(Manifest::Index { manifests, .. }) => {
            add(candidate.digest.clone(), "index".into());
            for d in manifests.iter().filter(|d| !d.in_attestation_slot()) {
                let what = d
                    .platform
                    .as_ref()
                    .map_or_else(|| "manifest".into(), |p| p.platform().to_string());
                if let Ok(digest) = Digest::parse(&d.digest) {
                    add(digest, what);
                }
            }
        }
        _ => add(candidate.digest.clone(), "manifest".into()),
    }
    for m in &verified.moves {
        if let Some((platform, service)) = &m.single {
            add(
                m.digest.clone(),
                format!("tag {} ({service}, {platform})", m.tag),
            );
        }
    }
    out
}

/// Signs every image that has `sign:`, in order, and attests its verification record
/// (`attested`: what the attest stage published, per image in the same order); stops
/// at the first failure.
pub fn sign_all(
    s: &Signing,
    client: &Client,
    checked: &[(&Candidate, &VerifiedImage)],
    attested: &[(Vec<Published>, std::time::Duration)],
) -> anyhow::Result<Vec<Signed>> {
    let mut done = Vec::new();
    for (i, (candidate, verified)) in checked.iter().enumerate() {
        let Some(signer) = &candidate.image.sign else {
            continue;
        };
        let digests = digests(candidate, verified);
        let repo = &candidate.image.repository;
        let refs: Vec<String> = digests
            .iter()
            .map(|d| repo.at_digest(&d.digest).to_string())
            .collect();
        sign_image(s, &candidate.image.name, repo, signer, &refs)?;
        let published = attested.get(i).map_or(&[][..], |(p, _)| p.as_slice());
        let record_attested = attest(s, client, candidate, verified, signer, published, &refs)?;
        done.push(Signed {
            image: candidate.image.name.clone(),
            signer: signer.clone(),
            digests,
            record_attested,
        });
    }
    Ok(done)
}

/// Attests the verification record of `candidate`'s root (the one the attest stage
/// published or kept), read back by digest and checked against the root, on each of
/// `refs` (the signed digests, root first; one cosign run each, as cosign reads the
/// predicate once per run); the record's digest, or none when there is no record.
fn attest(
    s: &Signing,
    client: &Client,
    candidate: &Candidate,
    verified: &VerifiedImage,
    signer: &Signer,
    published: &[Published],
    refs: &[String],
) -> anyhow::Result<Option<String>> {
    let Some(root) = &verified.root else {
        return Ok(None);
    };
    let Some(record) = published
        .iter()
        .find(|p| p.kind == "record" && p.subject == root.digest.as_str())
    else {
        return Ok(None);
    };
    let image = &candidate.image.name;
    let reference = candidate.image.repository.at_digest(&root.digest);
    let statement = crate::provenance::check::read(client, &reference, root, &record.digest)?
        .map_err(|why| {
            anyhow::anyhow!(
                "image `{image}`: its verification record {} cannot be attested: {why}; no tag moved",
                record.digest
            )
        })?;
    let predicate = serde_json::to_vec(&statement.predicate)?;
    for r in refs {
        attest_record(
            s,
            image,
            &candidate.image.repository,
            signer,
            PREDICATE_TYPE,
            r,
            &predicate,
        )?;
    }
    Ok(Some(record.digest.clone()))
}

/// The text report's line for what was signed of image `name` (empty if nothing).
pub fn render_line(signed: &[Signed], name: &str) -> String {
    let Some(s) = signed.iter().find(|s| s.image == name) else {
        return String::new();
    };
    let what: Vec<&str> = s.digests.iter().map(|d| d.what.as_str()).collect();
    let record = if s.record_attested.is_some() {
        "; verification record attested on each"
    } else {
        ""
    };
    format!(
        "  signed     {} with {}{record}\n",
        what.join(", "),
        s.signer
    )
}

/// What `push --dry-run` and `plan` say an image's signing will cover, and with what;
/// `None` for an unsigned image.
pub fn planned(image: &crate::plan::ImagePlan) -> Option<String> {
    let signer = image.sign.as_ref()?;
    let mut what = vec!["the index".to_string()];
    what.extend(image.platforms.iter().map(ToString::to_string));
    what.extend(
        image
            .single_tags
            .iter()
            .map(|s| format!("tag {}'s manifest", s.tag)),
    );
    let record = if image.attestations_mode == crate::config::AttestationMode::Off {
        ""
    } else {
        " (and the verification record attested on each)"
    };
    Some(format!(
        "{} before a tag moves, with {signer}{record}",
        what.join(", ")
    ))
}
