//! The verification record's predicate, made from what the run established: the
//! candidate (its plan, how it was built), its verification (each platform's digest,
//! who required it, `--deep`), its smoke runs and its tag moves.

use crate::emulation::PlatformTiming;
use crate::pipeline::candidate::{Candidate, Origin};
use crate::pipeline::smoke::SmokeResult;
use crate::pipeline::verify::VerifiedImage;
use crate::provenance::record::{
    BuildRecord, DeepRecord, PlatformRecord, Predicate, SmokeRecord, TagRecord, Tool,
};
use crate::registry::Fetched;
use crate::registry::manifest::Manifest;
use crate::registry::referrers::Referring;

/// What the run knows beside the candidate: the builder (`NAME (DRIVER)`), the source
/// commit, and `--deep`.
pub(super) struct Facts<'a> {
    pub builder: Option<&'a str>,
    pub source_commit: Option<&'a str>,
    pub deep: bool,
}

/// The record of candidate `c`, verified as `v`, whose root is `root`.
pub(super) fn of(
    a: &Facts,
    c: &Candidate,
    v: &VerifiedImage,
    root: &Fetched,
    smoke: &[SmokeResult],
) -> Predicate {
    let image = &c.image;
    let (timing, builder): (&[PlatformTiming], Option<String>) = match &c.origin {
        Origin::Built(b) => (&b.timing, a.builder.map(str::to_string)),
        Origin::Assembled(legs) => (&legs.timing, Some(legs.builders.join(", "))),
        Origin::Reused(_) => (&[], None),
    };
    let rows = v.verdicts.first().map_or(&[][..], |v| &v.rows[..]);
    // Every runnable platform of the root, with what verification found of it.
    let held: Vec<(String, String, String)> = match &root.manifest {
        Manifest::Index { manifests, .. } => manifests
            .iter()
            .filter(|e| !e.in_attestation_slot())
            .map(|e| (e.platform_label(), e.digest.clone(), e.media_type.clone()))
            .collect(),
        Manifest::Image { .. } => rows
            .iter()
            .take(1)
            .map(|r| {
                (
                    r.platform.to_string(),
                    root.digest.to_string(),
                    root.media_type.clone(),
                )
            })
            .collect(),
    };
    let platforms = held
        .into_iter()
        .map(|(platform, digest, media_type)| {
            let row = rows.iter().find(|r| r.platform.to_string() == platform);
            PlatformRecord {
                required_by: row.map(|r| r.needed_by.clone()).unwrap_or_default(),
                deep: row.and_then(|r| r.deep.as_ref()).map(|d| DeepRecord {
                    ok: d.ok,
                    summary: d.summary.clone(),
                }),
                smoke: smoke
                    .iter()
                    .find(|s| s.image == image.name && s.platform == platform)
                    .map(|s| SmokeRecord {
                        ok: s.ok,
                        exit_code: s.exit_code,
                        duration_s: s.duration_s,
                        native: s.native,
                        node: s.node.clone(),
                        command: s.command.clone(),
                    }),
                build: timing.iter().find(|t| t.platform == platform).map(build),
                config: platform.clone(),
                platform,
                digest,
                media_type,
            }
        })
        .collect();
    let tags = v
        .moves
        .iter()
        .map(|m| TagRecord {
            tag: m.tag.clone(),
            digest: m.digest.to_string(),
            media_type: m.media_type.clone(),
            platform: m.single.as_ref().map(|(p, _)| p.to_string()),
            service: m.single.as_ref().map(|(_, s)| s.clone()),
        })
        .collect();
    let deep = match (image.deep || a.deep, image.deep_all) {
        (_, true) => "all",
        (true, false) => "entrypoint",
        (false, false) => "off",
    };
    Predicate {
        mpbuild: Tool::this(),
        image: image.name.clone(),
        repository: image.repository.to_string(),
        digest: root.digest.to_string(),
        media_type: root.media_type.clone(),
        verified_at: crate::clock::now_rfc3339(),
        source_commit: a.source_commit.map(str::to_string),
        inputs_fingerprint: Referring::of(&root.bytes)
            .and_then(|r| r.annotations.get(crate::inputs::ANNOTATION).cloned()),
        plan_fingerprint: image.fingerprint.to_string(),
        builder: builder.filter(|b| !b.is_empty()),
        deep: deep.into(),
        attestations: image.attestations_mode.as_str().into(),
        platforms,
        tags,
    }
}

/// How a platform was built: natively, with some step under emulation, or not at all
/// (every step from the cache).
fn build(t: &PlatformTiming) -> BuildRecord {
    BuildRecord {
        node: t.node.clone(),
        built: if t.emulated_s > 0.0 {
            "emulated"
        } else if t.native_s > 0.0 || t.cached < t.steps {
            "native"
        } else {
            "cached"
        }
        .into(),
        total_s: t.total_s,
        native_s: t.native_s,
        emulated_s: t.emulated_s,
        steps: t.steps,
        cached: t.cached,
    }
}
