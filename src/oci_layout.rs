//! Reading an OCI image layout directory (what `docker buildx build --output
//! type=oci,tar=false,dest=DIR` writes): `oci-layout`, `index.json`, `blobs/sha256/…`.
//! The push path of the `docker` driver uploads it with mpbuild's registry client, since
//! that driver cannot push by digest.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::exit::{Code, Coded, WithHelp};

/// The most read of `index.json` or a manifest or config blob: what the registry
/// client reads of a manifest from a registry.
const MAX_JSON_BLOB: u64 = 8 << 20;

/// A descriptor as it appears in an index or manifest.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default)]
    pub annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("{}", WithHelp(&format!("{}: not an OCI image layout ({what})", .dir.display()), NOT_A_LAYOUT))]
    NotALayout { dir: PathBuf, what: String },
    #[error("{}", WithHelp(&format!("{}: blob {digest} is missing", .dir.display()), MISSING_BLOB))]
    MissingBlob { dir: PathBuf, digest: String },
    #[error("{}: blob {digest} does not match its digest (got {actual})", .dir.display())]
    Corrupt {
        dir: PathBuf,
        digest: String,
        actual: String,
    },
    #[error("{}: {digest} is not a valid manifest: {message}", .dir.display())]
    BadManifest {
        dir: PathBuf,
        digest: String,
        message: String,
    },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What to do about a directory that is not a layout.
const NOT_A_LAYOUT: &str = "the build's output is missing or incomplete; run the build again";
/// What to do about a layout that lacks a blob.
const MISSING_BLOB: &str = "the build's output is incomplete; run the build again";

impl Coded for LayoutError {
    fn code(&self) -> Code {
        Code::Build
    }

    fn help(&self) -> Option<String> {
        match self {
            LayoutError::NotALayout { .. } => Some(NOT_A_LAYOUT.into()),
            LayoutError::MissingBlob { .. } => Some(MISSING_BLOB.into()),
            _ => None,
        }
    }
}

/// An opened layout.
#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

/// A manifest (index or image manifest) with its exact bytes.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub descriptor: Descriptor,
    pub bytes: Vec<u8>,
}

/// Everything reachable from the layout's top manifest, in upload order: blobs first,
/// then image manifests, then the root (an index, or the one manifest).
#[derive(Debug, Clone)]
pub struct Graph {
    pub blobs: Vec<Descriptor>,
    pub manifests: Vec<Manifest>,
    pub root: Manifest,
}

impl Graph {
    pub fn total_blob_bytes(&self) -> u64 {
        self.blobs.iter().map(|b| b.size).sum()
    }
}

#[derive(Deserialize)]
struct Children {
    #[serde(default)]
    manifests: Vec<Descriptor>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

fn is_index(media_type: &str) -> bool {
    matches!(
        media_type,
        "application/vnd.oci.image.index.v1+json"
            | "application/vnd.docker.distribution.manifest.list.v2+json"
    )
}

impl Layout {
    pub fn open(root: &Path) -> Result<Layout, LayoutError> {
        let marker = root.join("oci-layout");
        if !marker.is_file() {
            return Err(LayoutError::NotALayout {
                dir: root.to_path_buf(),
                what: "no oci-layout file".into(),
            });
        }
        Ok(Layout {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The path of a blob (`blobs/ALG/HEX`), refusing anything that is not a digest.
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, LayoutError> {
        if !crate::digest::is_sha256(digest) {
            return Err(LayoutError::BadManifest {
                dir: self.root.clone(),
                digest: digest.to_string(),
                message: "not a sha256 digest".into(),
            });
        }
        Ok(self.root.join("blobs/sha256").join(&digest[7..]))
    }

    /// Reads a (small) blob whole and checks its digest.
    pub fn read_verified(&self, digest: &str) -> Result<Vec<u8>, LayoutError> {
        let path = self.blob_path(digest)?;
        let bytes = crate::fsread::read_bytes(&path, MAX_JSON_BLOB).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                LayoutError::MissingBlob {
                    dir: self.root.clone(),
                    digest: digest.to_string(),
                }
            } else {
                LayoutError::Io { path, source: e }
            }
        })?;
        let actual = crate::digest::sha256(&bytes);
        if actual != digest {
            return Err(LayoutError::Corrupt {
                dir: self.root.clone(),
                digest: digest.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// The top descriptor of `index.json` (buildx writes exactly one: the image).
    pub fn top(&self) -> Result<Descriptor, LayoutError> {
        let path = self.root.join("index.json");
        let bytes =
            crate::fsread::read_bytes(&path, MAX_JSON_BLOB).map_err(|source| LayoutError::Io {
                path: path.clone(),
                source,
            })?;
        let index: Children =
            serde_json::from_slice(&bytes).map_err(|e| LayoutError::NotALayout {
                dir: self.root.clone(),
                what: format!("index.json: {e}"),
            })?;
        match index.manifests.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(LayoutError::NotALayout {
                dir: self.root.clone(),
                what: "index.json lists no image".into(),
            }),
            many => Err(LayoutError::NotALayout {
                dir: self.root.clone(),
                what: format!("index.json lists {} images; expected one", many.len()),
            }),
        }
    }

    /// Walks everything reachable from `top`.
    pub fn graph(&self, top: &Descriptor) -> Result<Graph, LayoutError> {
        let root_bytes = self.read_verified(&top.digest)?;
        let mut blobs: Vec<Descriptor> = Vec::new();
        let mut manifests: Vec<Manifest> = Vec::new();
        let add_blob = |d: Descriptor, blobs: &mut Vec<Descriptor>| {
            if !blobs.iter().any(|b| b.digest == d.digest) {
                blobs.push(d);
            }
        };
        let parse = |digest: &str, bytes: &[u8]| -> Result<Children, LayoutError> {
            serde_json::from_slice(bytes).map_err(|e| LayoutError::BadManifest {
                dir: self.root.clone(),
                digest: digest.to_string(),
                message: e.to_string(),
            })
        };
        let mut root_children = parse(&top.digest, &root_bytes)?;
        let mut image_children = Vec::new();
        if is_index(&top.media_type) {
            for d in std::mem::take(&mut root_children.manifests) {
                if is_index(&d.media_type) {
                    return Err(LayoutError::BadManifest {
                        dir: self.root.clone(),
                        digest: d.digest,
                        message: "nested indexes are not supported".into(),
                    });
                }
                let bytes = self.read_verified(&d.digest)?;
                image_children.push(parse(&d.digest, &bytes)?);
                if !manifests.iter().any(|m| m.descriptor.digest == d.digest) {
                    manifests.push(Manifest {
                        descriptor: d,
                        bytes,
                    });
                }
            }
        } else {
            image_children.push(root_children);
        }
        for c in image_children {
            if let Some(cfg) = c.config {
                add_blob(cfg, &mut blobs);
            }
            for l in c.layers {
                add_blob(l, &mut blobs);
            }
        }
        for b in &blobs {
            let path = self.blob_path(&b.digest)?;
            if !path.is_file() {
                return Err(LayoutError::MissingBlob {
                    dir: self.root.clone(),
                    digest: b.digest.clone(),
                });
            }
        }
        Ok(Graph {
            blobs,
            manifests,
            root: Manifest {
                descriptor: top.clone(),
                bytes: root_bytes,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, bytes: &[u8]) -> String {
        let digest = crate::digest::sha256(bytes);
        let dir = root.join("blobs/sha256");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(&digest[7..]), bytes).unwrap();
        digest
    }

    fn desc(mt: &str, digest: &str, size: usize) -> serde_json::Value {
        serde_json::json!({"mediaType": mt, "digest": digest, "size": size})
    }

    /// A two-platform index with a shared layer and an attestation manifest.
    fn layout() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let layer = put(root, b"shared layer");
        let mut manifests = Vec::new();
        for arch in ["amd64", "arm64"] {
            let cfg = format!(r#"{{"architecture":"{arch}","os":"linux"}}"#);
            let cfg_d = put(root, cfg.as_bytes());
            let m = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": desc("application/vnd.oci.image.config.v1+json", &cfg_d, cfg.len()),
                "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", &layer, 12)],
            })
            .to_string();
            let d = put(root, m.as_bytes());
            manifests.push(desc(
                "application/vnd.oci.image.manifest.v1+json",
                &d,
                m.len(),
            ));
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        })
        .to_string();
        let idx = put(root, index.as_bytes());
        let top = serde_json::json!({"schemaVersion": 2, "manifests": [desc("application/vnd.oci.image.index.v1+json", &idx, index.len())]});
        std::fs::write(root.join("index.json"), top.to_string()).unwrap();
        (dir, idx)
    }

    #[test]
    fn walks_an_index_in_upload_order() {
        let (dir, idx) = layout();
        let l = Layout::open(dir.path()).unwrap();
        let top = l.top().unwrap();
        assert_eq!(top.digest, idx);
        let g = l.graph(&top).unwrap();
        assert_eq!(g.blobs.len(), 3, "two configs + one shared layer");
        assert_eq!(g.manifests.len(), 2);
        assert_eq!(g.root.descriptor.digest, idx);
        assert_eq!(
            g.total_blob_bytes(),
            g.blobs.iter().map(|b| b.size).sum::<u64>()
        );
    }

    #[test]
    fn refuses_missing_and_corrupt_blobs() {
        let (dir, _) = layout();
        let l = Layout::open(dir.path()).unwrap();
        let top = l.top().unwrap();
        let g = l.graph(&top).unwrap();
        let layer = g.blobs.iter().find(|b| b.size == 12).unwrap().clone();
        std::fs::write(
            l.blob_path(&g.manifests[0].descriptor.digest).unwrap(),
            b"tampered",
        )
        .unwrap();
        assert!(matches!(l.graph(&top), Err(LayoutError::Corrupt { .. })));
        let (dir, _) = layout();
        let l = Layout::open(dir.path()).unwrap();
        std::fs::remove_file(l.blob_path(&layer.digest).unwrap()).unwrap();
        assert!(matches!(
            l.graph(&l.top().unwrap()),
            Err(LayoutError::MissingBlob { .. })
        ));
        assert!(l.blob_path("sha256:../../etc/passwd").is_err());
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            Layout::open(empty.path()),
            Err(LayoutError::NotALayout { .. })
        ));
    }
}
