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
    /// An artifact's type (OCI 1.1), as a referrers list gives it for each referrer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The value of [`REFERENCE_TYPE`] on an attestation manifest.
pub const ATTESTATION_MANIFEST: &str = "attestation-manifest";

/// The media types of in-toto statements, the layers of an attestation manifest
/// (`application/vnd.in-toto+json`, and signed or typed forms such as
/// `application/vnd.in-toto.spdx+dsse`).
pub fn is_in_toto(media_type: &str) -> bool {
    media_type
        .strip_prefix("application/vnd.in-toto")
        .is_some_and(|rest| rest.starts_with('+') || rest.starts_with('.'))
}

impl Descriptor {
    /// Whether the entry's platform is `unknown/unknown`, where an attestation manifest
    /// sits: a runtime never selects it for a real platform. Half of
    /// [`is_attestation`]; on its own it only says where to look.
    pub fn in_attestation_slot(&self) -> bool {
        self.platform
            .as_ref()
            .is_some_and(|p| p.platform().is_unknown())
    }

    /// Whether the entry says it is an attestation
    /// (`vnd.docker.reference.type: attestation-manifest`). Never trusted alone: see
    /// [`is_attestation`].
    pub fn claims_attestation(&self) -> bool {
        self.annotations
            .get(REFERENCE_TYPE)
            .is_some_and(|v| v == ATTESTATION_MANIFEST)
    }

    /// The entry's platform as the index gives it, for messages: `linux/arm64`, or
    /// `no platform` when the entry has none.
    pub fn platform_label(&self) -> String {
        self.platform
            .as_ref()
            .map(|p| p.platform().to_string())
            .unwrap_or_else(|| "no platform".into())
    }
}

/// The one rule for whether an index entry is an attestation manifest (provenance,
/// SBOM): its platform is `unknown/unknown` **and** its manifest is an image manifest
/// whose layers are all in-toto statements. The annotation counts for nothing: an
/// entry with a real platform is an image whatever it says, because a runtime selects
/// it by that platform.
pub fn is_attestation(entry: &Descriptor, manifest: &Manifest) -> bool {
    entry.in_attestation_slot() && manifest.holds_statements()
}

/// Why an entry that says it is an attestation is not one by [`is_attestation`], or
/// `None` (it is one, or it does not say so). `manifest` is the entry's.
pub fn false_attestation(entry: &Descriptor, manifest: &Manifest) -> Option<String> {
    if !entry.claims_attestation() || is_attestation(entry, manifest) {
        return None;
    }
    Some(match &entry.platform {
        _ if entry.in_attestation_slot() => {
            "its layers are not in-toto statements, so it is not an attestation".to_string()
        }
        Some(p) => format!(
            "has the platform {p}: a runtime selects it for {p}, so it is checked as an image",
            p = p.platform()
        ),
        None => "has no platform: a runtime selects it by its image config, so it is checked as an image".into(),
    })
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

    /// An attestation manifest's content: an image manifest with at least one layer,
    /// every layer an in-toto statement.
    pub fn holds_statements(&self) -> bool {
        match self {
            Manifest::Image { layers, .. } => {
                !layers.is_empty() && layers.iter().all(|l| is_in_toto(&l.media_type))
            }
            Manifest::Index { .. } => false,
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

/// A manifest as fetched: its exact bytes, media type and digest (already checked
/// against the bytes), parsed.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: crate::digest::Digest,
    pub manifest: Manifest,
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
        assert!(!manifests[0].in_attestation_slot());
        assert_eq!(
            manifests[0]
                .platform
                .as_ref()
                .unwrap()
                .platform()
                .to_string(),
            "linux/arm64"
        );
        assert!(manifests[1].in_attestation_slot() && manifests[1].claims_attestation());
    }

    fn image_with_layers(layer_type: &str) -> Manifest {
        let json = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:c","size":2}},"layers":[{{"mediaType":"{layer_type}","digest":"sha256:l","size":1}}]}}"#
        );
        Manifest::parse(None, json.as_bytes()).unwrap()
    }

    fn entry(os: &str, arch: &str, annotated: bool) -> Descriptor {
        let mut annotations = BTreeMap::new();
        if annotated {
            annotations.insert(REFERENCE_TYPE.to_string(), ATTESTATION_MANIFEST.to_string());
        }
        Descriptor {
            media_type: OCI_MANIFEST.into(),
            digest: "sha256:m".into(),
            size: 1,
            platform: Some(RawPlatform {
                os: os.into(),
                architecture: arch.into(),
                variant: None,
            }),
            artifact_type: None,
            annotations,
        }
    }

    #[test]
    fn an_attestation_is_unknown_unknown_with_in_toto_layers_whatever_it_says() {
        let statements = image_with_layers("application/vnd.in-toto+json");
        let image = image_with_layers("application/vnd.oci.image.layer.v1.tar+gzip");
        // What buildx writes, with or without the annotation.
        assert!(is_attestation(
            &entry("unknown", "unknown", true),
            &statements
        ));
        assert!(is_attestation(
            &entry("unknown", "unknown", false),
            &statements
        ));
        assert!(false_attestation(&entry("unknown", "unknown", true), &statements).is_none());
        // The annotation on a real platform: an image, and a false claim.
        let claim = entry("linux", "amd64", true);
        assert!(!is_attestation(&claim, &statements));
        assert!(!is_attestation(&claim, &image));
        let why = false_attestation(&claim, &image).unwrap();
        assert!(why.contains("has the platform linux/amd64"), "{why}");
        // unknown/unknown over an image's layers: not an attestation either.
        assert!(!is_attestation(&entry("unknown", "unknown", true), &image));
        let why = false_attestation(&entry("unknown", "unknown", true), &image).unwrap();
        assert!(why.contains("not in-toto statements"), "{why}");
        // No claim, no complaint: a plain image entry.
        assert!(false_attestation(&entry("linux", "arm64", false), &image).is_none());
        // Signed and typed statements count; look-alikes do not.
        assert!(is_in_toto("application/vnd.in-toto.spdx+dsse"));
        assert!(!is_in_toto("application/vnd.in-totoevil"));
        let no_layers = Manifest::parse(
            None,
            br#"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:c","size":2},"layers":[]}"#,
        )
        .unwrap();
        assert!(!no_layers.holds_statements());
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
