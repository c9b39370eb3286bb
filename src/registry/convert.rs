//! Docker media types made from OCI ones, without a rebuild: the blobs stay as they
//! are (an OCI image config is a Docker image config; a gzip OCI layer is a gzip
//! Docker layer), only the manifests are rewritten, so they get new digests. Heroku's
//! registry takes Docker Image Manifest V2 schema 2 only; an image may also ask for
//! Docker media types on every tag (`media_types: docker`).
//!
//! What cannot be expressed is refused, never approximated: a zstd layer (Docker V2
//! schema 2 has no zstd), a config that is not a container image's. Attestation
//! manifests cannot be entries of a Docker manifest list; [`index_to_docker`] drops
//! them and says how many (they describe the OCI manifests by digest, which the list
//! no longer names, so they would be stale anyway).

use serde::Serialize;
use serde_json::Value;

use super::manifest::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use crate::exit::{Code, Coded};

pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const OCI_FOREIGN_GZIP: &str = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_FOREIGN_GZIP: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// Why a manifest cannot be given Docker media types.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConvertError(pub String);

impl Coded for ConvertError {
    fn code(&self) -> Code {
        Code::Build
    }
}

/// A rewritten manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub bytes: Vec<u8>,
    pub digest: String,
    pub media_type: &'static str,
    /// False when the input already had Docker media types (bytes unchanged).
    pub changed: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DockerManifest {
    schema_version: u32,
    media_type: &'static str,
    config: DockerDescriptor,
    layers: Vec<DockerDescriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DockerDescriptor {
    media_type: String,
    size: u64,
    digest: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    urls: Vec<String>,
}

fn parse(bytes: &[u8]) -> Result<Value, ConvertError> {
    serde_json::from_slice(bytes).map_err(|e| ConvertError(format!("not valid manifest JSON: {e}")))
}

fn descriptor(v: &Value, media_type: String) -> Result<DockerDescriptor, ConvertError> {
    Ok(DockerDescriptor {
        media_type,
        size: v["size"]
            .as_u64()
            .ok_or_else(|| ConvertError("a descriptor without `size`".into()))?,
        digest: v["digest"]
            .as_str()
            .ok_or_else(|| ConvertError("a descriptor without `digest`".into()))?
            .to_string(),
        urls: v["urls"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The Docker media type of a layer, or why there is none.
pub fn docker_layer_type(media_type: &str, digest: &str) -> Result<&'static str, ConvertError> {
    match media_type {
        OCI_LAYER_GZIP | DOCKER_LAYER_GZIP => Ok(DOCKER_LAYER_GZIP),
        OCI_LAYER_TAR | DOCKER_LAYER_TAR => Ok(DOCKER_LAYER_TAR),
        OCI_FOREIGN_GZIP | DOCKER_FOREIGN_GZIP => Ok(DOCKER_FOREIGN_GZIP),
        OCI_LAYER_ZSTD => Err(ConvertError(format!(
            "layer {digest} is zstd-compressed ({OCI_LAYER_ZSTD}), which a Docker V2 schema 2 manifest cannot express; build this image with gzip layers (buildx's default: drop `compression=zstd`)"
        ))),
        other => Err(ConvertError(format!(
            "layer {digest} has media type `{other}`, which has no Docker V2 schema 2 equivalent"
        ))),
    }
}

/// An image manifest with Docker V2 schema 2 media types: the manifest, its config and
/// its layers. A manifest that already has them is returned unchanged.
pub fn manifest_to_docker(bytes: &[u8]) -> Result<Converted, ConvertError> {
    let v = parse(bytes)?;
    let media_type = v["mediaType"].as_str().unwrap_or(OCI_MANIFEST);
    if media_type == DOCKER_MANIFEST {
        return Ok(Converted {
            bytes: bytes.to_vec(),
            digest: crate::digest::sha256(bytes),
            media_type: DOCKER_MANIFEST,
            changed: false,
        });
    }
    if media_type != OCI_MANIFEST || v.get("config").is_none() {
        return Err(ConvertError(format!(
            "media type `{media_type}` is not an OCI image manifest"
        )));
    }
    let config_type = v["config"]["mediaType"].as_str().unwrap_or_default();
    if config_type != OCI_CONFIG && config_type != DOCKER_CONFIG {
        return Err(ConvertError(format!(
            "its config has media type `{config_type}`, not a container image config; a Docker V2 schema 2 manifest cannot hold it"
        )));
    }
    let mut layers = Vec::new();
    for l in v["layers"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let digest = l["digest"].as_str().unwrap_or("?");
        let t = docker_layer_type(l["mediaType"].as_str().unwrap_or_default(), digest)?;
        layers.push(descriptor(l, t.to_string())?);
    }
    let out = DockerManifest {
        schema_version: 2,
        media_type: DOCKER_MANIFEST,
        config: descriptor(&v["config"], DOCKER_CONFIG.to_string())?,
        layers,
    };
    let bytes = serde_json::to_vec(&out).expect("a manifest serialises");
    Ok(Converted {
        digest: crate::digest::sha256(&bytes),
        bytes,
        media_type: DOCKER_MANIFEST,
        changed: true,
    })
}

/// An image index as a Docker manifest list. `child` gives, for each entry's digest,
/// the digest and size of its Docker-typed manifest. The entries `attestation` names
/// (the caller decides, by `manifest::is_attestation`) are dropped (a manifest list
/// cannot hold them); returns how many.
pub fn index_to_docker(
    bytes: &[u8],
    child: &dyn Fn(&str) -> Option<(String, u64)>,
    attestation: &dyn Fn(&str) -> bool,
) -> Result<(Converted, usize), ConvertError> {
    let v = parse(bytes)?;
    let media_type = v["mediaType"].as_str().unwrap_or(OCI_INDEX);
    if media_type != OCI_INDEX && media_type != DOCKER_LIST {
        return Err(ConvertError(format!(
            "media type `{media_type}` is not an image index"
        )));
    }
    let mut dropped = 0;
    let mut manifests = Vec::new();
    for d in v["manifests"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let old = d["digest"].as_str().unwrap_or_default();
        if attestation(old) {
            dropped += 1;
            continue;
        }
        let (digest, size) = child(old)
            .ok_or_else(|| ConvertError(format!("entry {old}: no Docker-typed manifest for it")))?;
        let mut entry = serde_json::Map::new();
        entry.insert("mediaType".into(), Value::from(DOCKER_MANIFEST));
        entry.insert("size".into(), Value::from(size));
        entry.insert("digest".into(), Value::from(digest));
        if let Some(p) = d.get("platform") {
            entry.insert("platform".into(), p.clone());
        }
        manifests.push(Value::Object(entry));
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct List {
        schema_version: u32,
        media_type: &'static str,
        manifests: Vec<Value>,
    }
    let bytes = serde_json::to_vec(&List {
        schema_version: 2,
        media_type: DOCKER_LIST,
        manifests,
    })
    .expect("a list serialises");
    let changed = bytes != v.to_string().into_bytes() || media_type != DOCKER_LIST;
    Ok((
        Converted {
            digest: crate::digest::sha256(&bytes),
            bytes,
            media_type: DOCKER_LIST,
            changed,
        },
        dropped,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::manifest::REFERENCE_TYPE;

    fn d(n: char) -> String {
        format!("sha256:{}", n.to_string().repeat(64))
    }

    fn oci_manifest(layer_type: &str) -> Vec<u8> {
        serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": d('c'), "size": 10},
            "layers": [
                {"mediaType": OCI_LAYER_GZIP, "digest": d('1'), "size": 100},
                {"mediaType": layer_type, "digest": d('2'), "size": 200, "annotations": {"x": "y"}},
            ],
            "annotations": {"org.opencontainers.image.created": "2026-01-01"},
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn an_oci_manifest_becomes_docker_v2_schema_2_with_the_same_blobs() {
        let c = manifest_to_docker(&oci_manifest(OCI_LAYER_GZIP)).unwrap();
        assert!(c.changed);
        assert_eq!(c.media_type, DOCKER_MANIFEST);
        assert_eq!(c.digest, crate::digest::sha256(&c.bytes));
        let v: Value = serde_json::from_slice(&c.bytes).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": DOCKER_CONFIG, "size": 10, "digest": d('c')},
                "layers": [
                    {"mediaType": DOCKER_LAYER_GZIP, "size": 100, "digest": d('1')},
                    {"mediaType": DOCKER_LAYER_GZIP, "size": 200, "digest": d('2')},
                ],
            })
        );
        // The registry reads it as a Docker v2 manifest.
        let m = crate::registry::Manifest::parse(None, &c.bytes).unwrap();
        assert_eq!(m.media_type(), DOCKER_MANIFEST);
        // Converting again changes nothing.
        let again = manifest_to_docker(&c.bytes).unwrap();
        assert!(!again.changed);
        assert_eq!(again.digest, c.digest);
        // Uncompressed layers have a Docker type too.
        let c = manifest_to_docker(&oci_manifest(OCI_LAYER_TAR)).unwrap();
        assert!(
            String::from_utf8(c.bytes)
                .unwrap()
                .contains(DOCKER_LAYER_TAR)
        );
    }

    #[test]
    fn zstd_layers_and_foreign_configs_cannot_be_expressed() {
        let e = manifest_to_docker(&oci_manifest(OCI_LAYER_ZSTD)).unwrap_err();
        assert!(
            e.0.contains(&format!("layer {} is zstd-compressed", d('2')))
                && e.0.contains("cannot express"),
            "{e}"
        );
        assert_eq!(e.code(), Code::Build);
        let artifact = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": d('c'), "size": 1},
            "layers": [],
        })
        .to_string();
        assert!(
            manifest_to_docker(artifact.as_bytes())
                .unwrap_err()
                .0
                .contains("not a container image config")
        );
    }

    #[test]
    fn an_index_becomes_a_manifest_list_without_attestations() {
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {"mediaType": OCI_MANIFEST, "digest": d('a'), "size": 1, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                {"mediaType": OCI_MANIFEST, "digest": d('b'), "size": 1, "platform": {"os": "unknown", "architecture": "unknown"},
                 "annotations": {REFERENCE_TYPE: "attestation-manifest", "vnd.docker.reference.digest": d('a')}},
            ],
        })
        .to_string();
        let child = |old: &str| (old == d('a')).then(|| (d('e'), 42));
        let attestation = |old: &str| old == d('b');
        let (c, dropped) = index_to_docker(index.as_bytes(), &child, &attestation).unwrap();
        assert_eq!(dropped, 1);
        assert_eq!(c.media_type, DOCKER_LIST);
        let v: Value = serde_json::from_slice(&c.bytes).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "schemaVersion": 2,
                "mediaType": DOCKER_LIST,
                "manifests": [
                    {"mediaType": DOCKER_MANIFEST, "size": 42, "digest": d('e'), "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                ],
            })
        );
        let none = |_: &str| None;
        assert!(index_to_docker(index.as_bytes(), &none, &attestation).is_err());
    }
}
