//! The sign stage, between smoke and promote: every digest a tag will name or a node
//! will pull — the index (or manifest), each platform manifest in it, each
//! single-manifest tag's manifest (Lambda, and the Docker media-type manifests made for
//! Heroku) — signed with the image's `sign:` before any tag moves. A failure stops the
//! run there, like any failed check: no tag moves.

use serde::Serialize;

use super::candidate::Candidate;
use super::verify::VerifiedImage;
use crate::digest::Digest;
use crate::registry::manifest::Manifest;
use crate::signing::sign::{Signing, sign_image};
use crate::signing::{SignError, Signer};

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

/// Signs every image that has `sign:`, in order; stops at the first failure.
pub fn sign_all(
    s: &Signing,
    checked: &[(&Candidate, &VerifiedImage)],
) -> Result<Vec<Signed>, SignError> {
    let mut done = Vec::new();
    for (candidate, verified) in checked {
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
        done.push(Signed {
            image: candidate.image.name.clone(),
            signer: signer.clone(),
            digests,
        });
    }
    Ok(done)
}

/// The text report's line for what was signed of image `name` (empty if nothing).
pub fn render_line(signed: &[Signed], name: &str) -> String {
    let Some(s) = signed.iter().find(|s| s.image == name) else {
        return String::new();
    };
    let what: Vec<&str> = s.digests.iter().map(|d| d.what.as_str()).collect();
    format!("  signed     {} with {}\n", what.join(", "), s.signer)
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
    Some(format!(
        "{} before a tag moves, with {signer}",
        what.join(", ")
    ))
}
