//! buildx's `--metadata-file`: the digest of what a build produced (for bake, one
//! object per target).

use std::path::Path;

use super::error::BuildError;
use crate::digest::Digest;

/// The image (index) digest of a single build.
pub fn digest(path: &Path) -> Result<Digest, BuildError> {
    let v = read(path)?;
    digest_of(&v).ok_or_else(|| BuildError::Metadata {
        path: path.display().to_string(),
        message: "no `containerimage.digest`".into(),
    })
}

/// The digest of each bake target.
pub fn bake_digest(path: &Path, target: &str) -> Result<Digest, BuildError> {
    let v = read(path)?;
    v.get(target)
        .and_then(digest_of)
        .ok_or_else(|| BuildError::Metadata {
            path: path.display().to_string(),
            message: format!("no `containerimage.digest` for target `{target}`"),
        })
}

fn digest_of(v: &serde_json::Value) -> Option<Digest> {
    v.get("containerimage.digest")
        .and_then(|d| d.as_str())
        .filter(|d| crate::digest::is_sha256(d))
        .and_then(|d| Digest::parse(d).ok())
}

fn read(path: &Path) -> Result<serde_json::Value, BuildError> {
    let text = crate::fsread::read_text(path, crate::fsread::MAX_TEXT_BYTES).map_err(|e| {
        BuildError::Metadata {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    })?;
    serde_json::from_str(&text).map_err(|e| BuildError::Metadata {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_and_bake() {
        let d = format!("sha256:{}", "a".repeat(64));
        let dir = tempfile::tempdir().unwrap();
        let one = dir.path().join("one.json");
        std::fs::write(
            &one,
            format!(r#"{{"containerimage.digest":"{d}","buildx.build.ref":"x"}}"#),
        )
        .unwrap();
        assert_eq!(digest(&one).unwrap(), d);
        let bake = dir.path().join("bake.json");
        std::fs::write(
            &bake,
            format!(r#"{{"api":{{"containerimage.digest":"{d}"}},"worker":{{}}}}"#),
        )
        .unwrap();
        assert_eq!(bake_digest(&bake, "api").unwrap(), d);
        assert!(bake_digest(&bake, "worker").is_err());
        assert!(digest(&dir.path().join("missing.json")).is_err());
    }
}
