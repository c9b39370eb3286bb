//! mpbuild's verification record: an in-toto Statement v1 whose subject is the root the
//! tags move to (the index) and every platform manifest (and each manifest a tag of its
//! own gets: Lambda's, Heroku's Docker one), and whose predicate says what was proven
//! before the tags moved — each platform, which targets required it, its digest, what
//! its config says, the `--deep` and smoke results, the builder node and whether it was
//! built natively or emulated — with the inputs fingerprint, the source commit and
//! mpbuild's version. Its schema is `schema/verification-record.v1.schema.json`
//! (also the predicate type). It is pushed as a referrer of each subject digest, an
//! artifact of type `application/vnd.in-toto+json` holding the statement as its one
//! layer, both annotated with the predicate type.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{IN_TOTO, PREDICATE_ANNOTATION};
use crate::registry::Artifact;
use crate::registry::manifest::Descriptor;

/// The statement's `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The record's predicate type: the URL of its JSON Schema.
pub const PREDICATE_TYPE: &str =
    "https://github.com/acme/mpbuild/blob/main/schema/verification-record.v1.schema.json";
/// The schema itself, as committed.
pub const SCHEMA: &str = include_str!("../../schema/verification-record.v1.schema.json");
/// The most bytes of a record mpbuild reads.
pub const RECORD_LIMIT: u64 = 1 << 20;

/// An in-toto statement (v1) with mpbuild's predicate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub statement_type: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Predicate,
}

/// One digest the statement is about: `index`, a platform (`linux/arm64`), or a tag
/// whose manifest is its own (`v1-heroku`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    /// `{"sha256": "HEX"}`.
    pub digest: BTreeMap<String, String>,
    #[serde(rename = "mediaType")]
    pub media_type: String,
}

impl Subject {
    pub fn new(name: &str, digest: &str, media_type: &str) -> Subject {
        let (algorithm, hex) = digest.split_once(':').unwrap_or(("sha256", digest));
        Subject {
            name: name.to_string(),
            digest: BTreeMap::from([(algorithm.to_string(), hex.to_string())]),
            media_type: media_type.to_string(),
        }
    }

    /// Its digest as `ALGORITHM:HEX` (the first one, when a subject gives several).
    pub fn digest(&self) -> Option<String> {
        self.digest.iter().next().map(|(a, h)| format!("{a}:{h}"))
    }
}

/// What was verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Predicate {
    pub mpbuild: Tool,
    /// The project's image name.
    pub image: String,
    pub repository: String,
    /// The root the index tags point at, and its media type.
    pub digest: String,
    pub media_type: String,
    /// When verification (and smoke) finished, RFC 3339 UTC.
    pub verified_at: String,
    #[serde(default)]
    pub source_commit: Option<String>,
    /// The inputs fingerprint (`dev.mpbuild.inputs`), when the image was fingerprinted.
    #[serde(default)]
    pub inputs_fingerprint: Option<String>,
    /// The image plan's fingerprint (repository, platforms, tags, targets, build).
    pub plan_fingerprint: String,
    /// The buildx builder (`name (driver)`), when this run built the image.
    #[serde(default)]
    pub builder: Option<String>,
    /// `off`, `entrypoint` or `all`: what `--deep` checked.
    pub deep: String,
    /// `index` or `referrers`: where buildx's attestations are.
    pub attestations: String,
    /// Every runnable platform the root holds.
    pub platforms: Vec<PlatformRecord>,
    /// Each tag and the digest it moves to.
    pub tags: Vec<TagRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub version: String,
    pub commit: String,
}

impl Tool {
    /// This mpbuild.
    pub fn this() -> Tool {
        Tool {
            version: crate::version::VERSION.to_string(),
            commit: crate::version::COMMIT.to_string(),
        }
    }
}

/// One platform of the root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformRecord {
    pub platform: String,
    pub digest: String,
    pub media_type: String,
    /// The targets that need it (empty: present, needed by none).
    pub required_by: Vec<String>,
    /// The platform its image config says (checked equal to the index entry's).
    pub config: String,
    #[serde(default)]
    pub deep: Option<DeepRecord>,
    #[serde(default)]
    pub smoke: Option<SmokeRecord>,
    /// How this run built it (none: not built by this run — reused or merged without
    /// timing).
    #[serde(default)]
    pub build: Option<BuildRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeepRecord {
    pub ok: bool,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmokeRecord {
    pub ok: bool,
    pub exit_code: Option<i32>,
    pub duration_s: f64,
    /// Whether the smoke node ran the platform natively.
    pub native: bool,
    pub node: String,
    pub command: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// The builder node that built it.
    #[serde(default)]
    pub node: Option<String>,
    /// `native`, `emulated` when some step ran under QEMU, or `cached` when no step
    /// ran (all from the build cache).
    pub built: String,
    pub total_s: f64,
    pub native_s: f64,
    pub emulated_s: f64,
    pub steps: usize,
    pub cached: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagRecord {
    pub tag: String,
    pub digest: String,
    pub media_type: String,
    /// For a tag on one platform's manifest (Lambda, Heroku): the platform and service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

impl Statement {
    /// The statement about `predicate`: its subject is the root (`index`), each
    /// platform, and each tag's manifest that is neither (a converted one), each digest
    /// once.
    pub fn new(predicate: Predicate) -> Statement {
        let mut subject: Vec<Subject> = vec![Subject::new(
            "index",
            &predicate.digest,
            &predicate.media_type,
        )];
        let mut seen = vec![predicate.digest.clone()];
        for p in &predicate.platforms {
            if !seen.contains(&p.digest) {
                seen.push(p.digest.clone());
                subject.push(Subject::new(&p.platform, &p.digest, &p.media_type));
            }
        }
        for t in &predicate.tags {
            if !seen.contains(&t.digest) {
                seen.push(t.digest.clone());
                subject.push(Subject::new(&t.tag, &t.digest, &t.media_type));
            }
        }
        Statement {
            statement_type: STATEMENT_TYPE.into(),
            subject,
            predicate_type: PREDICATE_TYPE.into(),
            predicate,
        }
    }

    /// The statement's bytes (the artifact's layer).
    pub fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("a statement serialises")
    }

    /// Reads a statement mpbuild wrote: an in-toto v1 statement with mpbuild's predicate
    /// type and predicate.
    pub fn parse(bytes: &[u8]) -> Result<Statement, String> {
        let s: Statement = serde_json::from_slice(bytes)
            .map_err(|e| format!("not a verification record mpbuild reads: {e}"))?;
        if s.statement_type != STATEMENT_TYPE {
            return Err(format!(
                "its `_type` is {}, not {STATEMENT_TYPE}",
                s.statement_type
            ));
        }
        if s.predicate_type != PREDICATE_TYPE {
            return Err(format!(
                "its predicate type is {}, not {PREDICATE_TYPE}",
                s.predicate_type
            ));
        }
        Ok(s)
    }

    /// Whether `digest` is one of its subjects.
    pub fn names(&self, digest: &str) -> bool {
        self.subject
            .iter()
            .any(|s| s.digest().as_deref() == Some(digest))
    }

    /// The referrer that carries this statement for `subject` (the descriptor of one of
    /// its subjects): an artifact whose one layer (`layer`, the statement's bytes,
    /// already put) is the statement, annotated with the predicate type.
    pub fn artifact(&self, subject: &Descriptor, layer: &str, layer_size: u64) -> Artifact {
        let predicate =
            BTreeMap::from([(PREDICATE_ANNOTATION.to_string(), PREDICATE_TYPE.to_string())]);
        let mut annotations = predicate.clone();
        annotations.insert(
            "org.opencontainers.image.created".into(),
            self.predicate.verified_at.clone(),
        );
        Artifact {
            artifact_type: IN_TOTO.into(),
            layers: vec![Descriptor {
                media_type: IN_TOTO.into(),
                digest: layer.to_string(),
                size: layer_size,
                platform: None,
                artifact_type: None,
                annotations: predicate,
            }],
            subject: subject.clone(),
            annotations,
        }
    }
}

/// Whether a referrers-list entry is (says it is) a verification record.
pub fn is_record_entry(d: &Descriptor) -> bool {
    d.artifact_type.as_deref() == Some(IN_TOTO)
        && d.annotations.get(PREDICATE_ANNOTATION).map(String::as_str) == Some(PREDICATE_TYPE)
}

#[cfg(test)]
pub(crate) mod tests;
