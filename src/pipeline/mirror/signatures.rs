//! cosign's signatures and attestations copied with a mirrored image: for each digest
//! the copy keeps (the root when it is the source's own, each manifest copied), the
//! `sha256-HEX.sig` and `sha256-HEX.att` tags cosign writes beside an image, when the
//! source has them — their blobs first, then the manifest under the same tag — so the
//! copy verifies at the destination with the same key. Signatures made in OCI 1.1
//! referrers mode are not copied (cosign writes the tag scheme by default).

use super::blobs;
use crate::registry::manifest::Manifest;
use crate::registry::{Client, Reference};

/// The suffixes of cosign's tags.
const KINDS: [&str; 2] = ["sig", "att"];

/// cosign's tag for `digest` (`sha256:HEX` → `sha256-HEX.KIND`).
pub fn tag_of(digest: &str, kind: &str) -> String {
    format!("{}.{kind}", digest.replacen(':', "-", 1))
}

/// Copies the signature and attestation tags of `digests` from `src` to `dest`'s
/// repository; how many tags were copied.
pub(crate) fn copy(
    client: &Client,
    src: &Reference,
    dest: &Reference,
    digests: &[String],
) -> Result<usize, anyhow::Error> {
    let mut copied = 0;
    for d in digests {
        for kind in KINDS {
            let tag = tag_of(d, kind);
            if client.tag_digest(&src.repository, &tag)?.is_none() {
                continue;
            }
            let fetched = client.get_manifest(&src.with_target(&tag))?;
            if let Manifest::Image { config, layers, .. } = &fetched.manifest {
                let mut all = vec![config.clone()];
                all.extend(layers.iter().cloned());
                blobs::copy(
                    client,
                    &src.repository,
                    &dest.repository,
                    &all,
                    &super::blobs::Silent,
                )?;
            }
            client.put_manifest(&dest.repository, &tag, &fetched.media_type, &fetched.bytes)?;
            copied += 1;
        }
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cosign_tag_names() {
        assert_eq!(super::tag_of("sha256:ab12", "sig"), "sha256-ab12.sig");
        assert_eq!(super::tag_of("sha256:ab12", "att"), "sha256-ab12.att");
    }
}
