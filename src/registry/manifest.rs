//! The four manifest formats mpbuild reads, and image configs. Raw bytes are kept by the
//! caller so digests stay exact; these are the parsed views.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::Platform;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// What mpbuild asks for: every index and manifest type it reads.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// The most entries an image index may have: real ones hold one per platform and
/// attestation, a few dozen at most.
pub const MAX_INDEX_ENTRIES: usize = 1000;

/// The annotation buildx puts on attestation manifests.
pub const REFERENCE_TYPE: &str = "vnd.docker.reference.type";

pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

pub fn is_image_manifest(media_type: &str) -> bool {
    media_type == OCI_MANIFEST || media_type == DOCKER_MANIFEST
}

/// A platform as a registry writes it (not normalised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawPlatform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl RawPlatform {
    /// Normalised (containerd rules).
    pub fn platform(&self) -> Platform {
        Platform::new(
            &self.os,
            &self.architecture,
            self.variant.as_deref().unwrap_or(""),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<RawPlatform>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// An attestation manifest (buildx provenance/SBOM): the annotation, or the
    /// `unknown/unknown` platform.
    pub fn is_attestation(&self) -> bool {
        self.annotations
            .get(REFERENCE_TYPE)
            .is_some_and(|v| v == "attestation-manifest")
            || self
                .platform
                .as_ref()
                .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
    }
}

/// A parsed manifest.
#[derive(Debug, Clone)]
pub enum Manifest {
    Index {
        media_type: String,
        manifests: Vec<Descriptor>,
    },
    Image {
        media_type: String,
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Any {
    #[serde(default)]
    schema_version: Option<u32>,
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

impl Manifest {
    /// Parses manifest bytes; `content_type` is the response's header (used when the
    /// JSON has no `mediaType`, which OCI allows).
    pub fn parse(content_type: Option<&str>, bytes: &[u8]) -> Result<Manifest, String> {
        let any: Any =
            serde_json::from_slice(bytes).map_err(|e| format!("not valid manifest JSON: {e}"))?;
        if any.schema_version == Some(1) {
            return Err("a Docker schema 1 manifest (deprecated); push the image again with a current Docker".into());
        }
        let media_type = any
            .media_type
            .clone()
            .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string()))
            .unwrap_or_default();
        let guessed = if is_index(&media_type) || is_image_manifest(&media_type) {
            media_type
        } else if any.manifests.is_some() {
            OCI_INDEX.to_string()
        } else if any.config.is_some() {
            OCI_MANIFEST.to_string()
        } else {
            return Err(format!(
                "media type `{media_type}` is not an image index or manifest"
            ));
        };
        if is_index(&guessed) {
            Ok(Manifest::Index {
                media_type: guessed,
                manifests: any.manifests.unwrap_or_default(),
            })
        } else {
            Ok(Manifest::Image {
                media_type: guessed,
                config: any.config.ok_or("an image manifest without `config`")?,
                layers: any.layers.unwrap_or_default(),
            })
        }
    }

    pub fn media_type(&self) -> &str {
        match self {
            Manifest::Index { media_type, .. } | Manifest::Image { media_type, .. } => media_type,
        }
    }
}

/// The parts of an image config mpbuild reads.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ImageConfig {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<RunConfig>,
}

/// `config.config`: what the container runs.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RunConfig {
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default)]
    pub working_dir: Option<String>,
}

impl ImageConfig {
    pub fn platform(&self) -> Platform {
        Platform::new(
            &self.os,
            &self.architecture,
            self.variant.as_deref().unwrap_or(""),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_oci_index_with_attestations() {
        let json = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:a","size":1,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},
          {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:b","size":1,"annotations":{"vnd.docker.reference.digest":"sha256:a","vnd.docker.reference.type":"attestation-manifest"},"platform":{"architecture":"unknown","os":"unknown"}}]}"#;
        let Manifest::Index { manifests, .. } = Manifest::parse(None, json.as_bytes()).unwrap()
        else {
            panic!()
        };
        assert!(!manifests[0].is_attestation());
        assert_eq!(
            manifests[0]
                .platform
                .as_ref()
                .unwrap()
                .platform()
                .to_string(),
            "linux/arm64"
        );
        assert!(manifests[1].is_attestation());
    }

    #[test]
    fn docker_v2_and_media_type_from_header() {
        let json = r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:c","size":2},"layers":[]}"#;
        let m = Manifest::parse(Some(DOCKER_MANIFEST), json.as_bytes()).unwrap();
        assert_eq!(m.media_type(), DOCKER_MANIFEST);
        assert!(Manifest::parse(None, br#"{"schemaVersion":1,"name":"x"}"#).is_err());
        assert!(Manifest::parse(None, b"[]").is_err());
    }
}
