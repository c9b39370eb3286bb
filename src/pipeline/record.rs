//! Leg records: what a leg of a multi-runner build pushed, one JSON file per image and
//! platform in the digests directory, for `merge` to assemble. The format is stable
//! (`schema_version: 1`) and documented in the README.
//!
//! Records are read as untrusted input: only regular `*.json` files directly in the
//! directory, each at most [`MAX_RECORD_BYTES`], at most [`MAX_RECORDS`] of them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::exit::UsageError;
use crate::platform::Platform;
use crate::registry::Repository;

/// The record format's version.
pub const SCHEMA_VERSION: u32 = 1;
/// The largest record read.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024;
/// The most records read from one directory.
pub const MAX_RECORDS: usize = 4096;

/// One image × platform built by one leg.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub schema_version: u32,
    /// The image's name in mpbuild.yaml.
    pub image: String,
    /// As written in mpbuild.yaml.
    pub repository: Repository,
    /// Written canonically (`linux/arm64`).
    pub platform: Platform,
    /// The platform's image manifest, in `repository`.
    pub digest: Digest,
    pub media_type: String,
    /// The root the leg pushed (an index holding the manifest and its attestation, or
    /// the manifest itself).
    pub leg_digest: Digest,
    /// The image plan's fingerprint: legs of one merge must agree on it.
    pub fingerprint: Digest,
    /// The source commit, when known (`GITHUB_SHA`, `CI_COMMIT_SHA`, or git).
    pub source_commit: Option<String>,
    /// The buildx builder and its driver: `default (docker)`.
    pub builder: String,
    /// When the leg finished, RFC 3339 UTC.
    pub time: String,
    /// Where the leg's build time went on this platform (absent when it built nothing
    /// here, and in records of earlier mpbuild versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<crate::emulation::PlatformTiming>,
}

/// A record as its file holds it, before the fields `merge` trusts are checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecord {
    schema_version: u32,
    image: String,
    repository: String,
    platform: String,
    digest: String,
    media_type: String,
    leg_digest: String,
    fingerprint: String,
    source_commit: Option<String>,
    builder: String,
    time: String,
    #[serde(default)]
    timing: Option<crate::emulation::PlatformTiming>,
}

impl Record {
    /// `api@linux-arm64.json`.
    pub fn file_name(&self) -> String {
        format!(
            "{}@{}.json",
            self.image,
            self.platform.to_string().replace('/', "-")
        )
    }
}

/// A record read back, with the file it came from.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub record: Record,
}

/// Writes each record into `dir` (created if missing), atomically.
pub fn write_all(dir: &Path, records: &[Record]) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for r in records {
        let path = dir.join(r.file_name());
        let tmp = dir.join(format!(".{}.tmp", r.file_name()));
        let mut bytes = serde_json::to_vec_pretty(r).map_err(std::io::Error::other)?;
        bytes.push(b'\n');
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, &path)?;
        out.push(path);
    }
    Ok(out)
}

/// Reads every record in `dir`. A file that is not a valid record is a usage error
/// naming it (the directory is the user's input).
pub fn read_all(dir: &Path) -> Result<Vec<Found>, UsageError> {
    let bad = |path: &Path, why: String| UsageError::new(format!("{}: {why}", path.display()));
    let meta = std::fs::metadata(dir).map_err(|e| {
        UsageError::new(format!("digests directory {}: {e}", dir.display())).with_help(
            "each leg (`mpbuild push --platform P --digests-dir DIR`) writes its records there; collect them into one directory before `mpbuild merge`",
        )
    })?;
    if !meta.is_dir() {
        return Err(bad(dir, "not a directory".into()));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| bad(dir, e.to_string()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| bad(dir, e.to_string()))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || !name.ends_with(".json") {
            continue;
        }
        // symlink_metadata: a link is not followed, so a record cannot point elsewhere.
        let meta = std::fs::symlink_metadata(&path).map_err(|e| bad(&path, e.to_string()))?;
        if !meta.file_type().is_file() {
            return Err(bad(&path, "not a regular file".into()));
        }
        if meta.len() > MAX_RECORD_BYTES {
            return Err(bad(
                &path,
                format!(
                    "{} bytes; a record is at most {MAX_RECORD_BYTES}",
                    meta.len()
                ),
            ));
        }
        paths.push(path);
        if paths.len() > MAX_RECORDS {
            return Err(bad(dir, format!("more than {MAX_RECORDS} records")));
        }
    }
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let bytes = read_capped(&path).map_err(|e| bad(&path, e.to_string()))?;
        let record: RawRecord = serde_json::from_slice(&bytes)
            .map_err(|e| bad(&path, format!("not an mpbuild leg record: {e}")))?;
        if record.schema_version != SCHEMA_VERSION {
            return Err(bad(
                &path,
                format!(
                    "record schema_version {} (this mpbuild reads {SCHEMA_VERSION})",
                    record.schema_version
                ),
            ));
        }
        let record = check_fields(record).map_err(|(field, why)| {
            bad(&path, format!("field `{field}`: {why}")).with_help(
                "records are written by `mpbuild push --platform P --digests-dir DIR`; rerun that leg rather than editing its record",
            )
        })?;
        out.push(Found { path, record });
    }
    Ok(out)
}

/// The fields `merge` trusts, checked (and parsed) before it uses any: a platform it can
/// parse (written canonically), digests it can verify, a repository it can reach. On
/// failure: the field and why.
fn check_fields(r: RawRecord) -> Result<Record, (&'static str, String)> {
    let platform = match Platform::parse(&r.platform) {
        Ok(p) if p.to_string() == r.platform => p,
        Ok(p) => {
            return Err((
                "platform",
                format!(
                    "`{}` is not written as mpbuild writes it (`{p}`)",
                    r.platform
                ),
            ));
        }
        Err(e) => return Err(("platform", e.to_string())),
    };
    let digest = |field, value: &str| Digest::parse(value).map_err(|e| (field, e));
    let (digest, leg_digest, fingerprint) = (
        digest("digest", &r.digest)?,
        digest("leg_digest", &r.leg_digest)?,
        digest("fingerprint", &r.fingerprint)?,
    );
    let repository = Repository::parse(&r.repository).map_err(|e| ("repository", e.to_string()))?;
    Ok(Record {
        schema_version: r.schema_version,
        image: r.image,
        repository,
        platform,
        digest,
        media_type: r.media_type,
        leg_digest,
        fingerprint,
        source_commit: r.source_commit,
        builder: r.builder,
        time: r.time,
        timing: r.timing,
    })
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    crate::fsread::read_bytes(path, MAX_RECORD_BYTES)
}

/// The source commit of this run, when known: CI's variables, else `git rev-parse`.
pub fn source_commit(project_dir: &Path) -> Option<String> {
    for var in [
        "GITHUB_SHA",
        "CI_COMMIT_SHA",
        "BUILDKITE_COMMIT",
        "GIT_COMMIT",
    ] {
        if let Ok(v) = std::env::var(var)
            && !v.is_empty()
        {
            return Some(v);
        }
    }
    let git = duct::cmd("git", ["rev-parse", "HEAD"]).dir(project_dir);
    let crate::child::Waited::Exited(out) = crate::child::run(
        &git,
        Some(std::time::Duration::from_secs(10)),
        crate::child::ANSWER_CAP,
    ) else {
        return None;
    };
    let sha = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !sha.is_empty()).then_some(sha)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(platform: &str) -> Record {
        let digest = |c: &str| Digest::parse(&format!("sha256:{}", c.repeat(64))).unwrap();
        Record {
            schema_version: 1,
            image: "api".into(),
            repository: Repository::parse("r.example/api").unwrap(),
            platform: Platform::parse(platform).unwrap(),
            digest: digest("a"),
            media_type: crate::registry::manifest::OCI_MANIFEST.into(),
            leg_digest: digest("b"),
            fingerprint: digest("c"),
            source_commit: Some("abc".into()),
            builder: "default (docker)".into(),
            time: "2026-11-28T01:25:39Z".into(),
            timing: None,
        }
    }

    /// A record carries its platform's timing, and one written without it (by an
    /// earlier mpbuild) still reads.
    #[test]
    fn timing_travels_with_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = record("linux/arm64");
        r.timing = Some(crate::emulation::PlatformTiming {
            platform: "linux/arm64".into(),
            node: None,
            total_s: 9.5,
            native_s: 0.4,
            emulated_s: 9.1,
            steps: 2,
            cached: 1,
            slowest: vec![crate::emulation::StepTiming {
                step: "RUN make".into(),
                at: Some("Dockerfile:3".into()),
                seconds: 9.0,
                emulated: true,
            }],
        });
        write_all(dir.path(), std::slice::from_ref(&r)).unwrap();
        assert_eq!(read_all(dir.path()).unwrap()[0].record, r);
        let mut old = serde_json::to_value(record("linux/amd64")).unwrap();
        old.as_object_mut().unwrap().remove("timing");
        std::fs::write(dir.path().join("old.json"), old.to_string()).unwrap();
        assert_eq!(read_all(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let written =
            write_all(dir.path(), &[record("linux/amd64"), record("linux/arm64")]).unwrap();
        assert_eq!(
            written[1].file_name().unwrap().to_str().unwrap(),
            "api@linux-arm64.json"
        );
        let read = read_all(dir.path()).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].record, record("linux/amd64"));

        // An unknown field, a wrong version, an oversized file, a symlink: each refused.
        let bad = dir.path().join("x.json");
        let mut v = serde_json::to_value(record("linux/amd64")).unwrap();
        v["extra"] = serde_json::json!(1);
        std::fs::write(&bad, v.to_string()).unwrap();
        assert!(
            read_all(dir.path())
                .unwrap_err()
                .message
                .contains("not an mpbuild leg record")
        );
        v.as_object_mut().unwrap().remove("extra");
        v["schema_version"] = serde_json::json!(2);
        std::fs::write(&bad, v.to_string()).unwrap();
        assert!(
            read_all(dir.path())
                .unwrap_err()
                .message
                .contains("schema_version 2")
        );
        std::fs::write(&bad, vec![b' '; MAX_RECORD_BYTES as usize + 1]).unwrap();
        assert!(
            read_all(dir.path())
                .unwrap_err()
                .message
                .contains("at most")
        );
        std::fs::remove_file(&bad).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &bad).unwrap();
        assert!(
            read_all(dir.path())
                .unwrap_err()
                .message
                .contains("not a regular file")
        );
    }

    #[test]
    fn fields_merge_trusts_are_checked_naming_the_field() {
        let cases: [(&str, &str, &str); 6] = [
            ("platform", "", "field `platform`: "),
            ("platform", "linux/amd64/v8/x", "field `platform`: "),
            (
                "platform",
                "linux/aarch64",
                "field `platform`: `linux/aarch64` is not written as mpbuild writes it (`linux/arm64`)",
            ),
            (
                "leg_digest",
                "latest",
                "field `leg_digest`: `latest` is not a digest",
            ),
            (
                "digest",
                "sha256:abc",
                "field `digest`: `sha256:abc` is not a sha256 digest",
            ),
            ("repository", "UPPER/Case", "field `repository`: "),
        ];
        for (field, value, want) in cases {
            let dir = tempfile::tempdir().unwrap();
            let mut v = serde_json::to_value(record("linux/amd64")).unwrap();
            v[field] = serde_json::json!(value);
            let path = dir.path().join("api@linux-amd64.json");
            std::fs::write(&path, v.to_string()).unwrap();
            let e = read_all(dir.path()).unwrap_err().message;
            assert!(
                e.starts_with(&format!("{}: {want}", path.display())),
                "{field}={value}: {e}"
            );
        }
    }
}
