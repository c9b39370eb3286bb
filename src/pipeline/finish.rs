//! The end every run shares: candidates (built now, reused, or assembled from legs)
//! → verify what has not been verified → smoke → attest (provenance pushed as
//! referrers) → sign (images with `sign:`; their records attested) → promote →
//! report. No tag moves unless every candidate verified, every smoke run passed and
//! its provenance is in the registry; the report is made once, from what each step
//! returned.

use super::attest::{self, Attest, Published};
use super::candidate::{Candidate, Origin};
use super::copies::{self, Copied};
use super::promote::{self, Promoted};
use super::report::{self, Failure, ImageReport, Kind, PlatformManifest, PushReport, Stage, Times};
use super::smoke::{self, Runner, Smoked};
use super::verify::{self, VerifiedImage};
use crate::digest::Digest;
use crate::registry::Client;
use crate::registry::manifest::Manifest;

/// What verify → smoke → promote → report needs.
pub struct Finish<'a> {
    pub client: &'a Client,
    /// `--deep` on top of each image's own setting.
    pub deep: bool,
    /// Runs the images' `smoke:` commands.
    pub smoke: &'a Runner<'a>,
    /// Signs the images that have `sign:` (none for a leg: its merge signs).
    pub sign: Option<&'a crate::signing::sign::Signing<'a>>,
    /// The builder (`NAME (DRIVER)`) and source commit the verification records name.
    pub builder: Option<String>,
    pub source_commit: Option<String>,
}

/// A candidate and what its verification found.
struct Checked {
    candidate: Candidate,
    /// Its verification: the one it came with (reused), or this step's.
    verified: VerifiedImage,
    /// Its copies in the image's other repositories, each verified there.
    copies: Vec<Copied>,
}

/// Verify → smoke → promote → report for `candidates` (in the order of the report);
/// `rep` holds what came before (mirrors, the unchanged split). No tag moves unless
/// every candidate verified and every smoke run passed.
pub fn finish(f: &Finish, candidates: Vec<Candidate>, mut rep: PushReport) -> PushReport {
    let untouched = report::planned_tags(candidates.iter().map(|c| &c.image));
    let fail = |rep: &mut PushReport, stage, error| {
        rep.failure = Some(Failure {
            stage,
            error,
            untouched: untouched.clone(),
        });
    };
    let mut checked = match verify_all(f, candidates) {
        Ok(c) => c,
        Err(e) => {
            fail(&mut rep, Stage::Verify, Some(e));
            return rep;
        }
    };
    rep.verdicts = checked
        .iter()
        .flat_map(|c| c.verified.verdicts.clone())
        .collect();
    if !checked.iter().all(|c| c.verified.ok()) {
        fail(&mut rep, Stage::Verify, None);
        return rep;
    }
    if crate::cancel::requested() {
        fail(
            &mut rep,
            Stage::Verify,
            Some(crate::exit::Interrupted.into()),
        );
        return rep;
    }

    let candidates: Vec<&Candidate> = checked.iter().map(|c| &c.candidate).collect();
    let smoked = smoke::run_candidates(f.smoke, &candidates);
    let smoke_ok = smoked.ok();
    let Smoked {
        results,
        times: smoke_times,
        error,
    } = smoked;
    rep.smoke = results;
    if !smoke_ok {
        fail(&mut rep, Stage::Smoke, error);
        return rep;
    }
    if crate::cancel::requested() {
        fail(
            &mut rep,
            Stage::Smoke,
            Some(crate::exit::Interrupted.into()),
        );
        return rep;
    }

    // A leg moves no tag and records nothing: `merge` does, for the index it makes.
    let attested = if rep.kind == Kind::Leg {
        Vec::new()
    } else {
        let a = Attest {
            client: f.client,
            builder: f.builder.clone(),
            source_commit: f.source_commit.clone(),
            deep: f.deep,
        };
        let pairs: Vec<_> = checked
            .iter()
            .map(|c| (&c.candidate, &c.verified))
            .collect();
        match attest::attest_all(&a, &pairs, &rep.smoke) {
            Ok(done) => done,
            Err(e) => {
                fail(&mut rep, Stage::Attest, Some(e));
                return rep;
            }
        }
    };

    if let Some(s) = f.sign {
        let pairs: Vec<_> = checked
            .iter()
            .map(|c| (&c.candidate, &c.verified))
            .collect();
        match super::sign::sign_all(s, f.client, &pairs, &attested) {
            Ok(signed) => rep.signed = signed,
            Err(e) => {
                fail(&mut rep, Stage::Sign, Some(e));
                return rep;
            }
        }
    }

    // The other repositories: each gets its copy, verified there, before any tag
    // moves in any of them.
    if let Err((stage, error)) = copy_all(f, &mut checked, &mut rep) {
        fail(&mut rep, stage, error);
        return rep;
    }

    let moves: Vec<_> = checked
        .iter()
        .flat_map(|c| {
            std::iter::once((&c.verified.repository, c.verified.moves.as_slice())).chain(
                c.copies
                    .iter()
                    .map(|k| (&k.repository, k.verified.moves.as_slice())),
            )
        })
        .collect();
    let promoted = promote::promote_all(f.client, &moves);
    report_all(&mut rep, checked, &smoke_times, attested, promoted);
    rep
}

/// Each candidate's verification, in order: a reused one keeps its own; the others are
/// verified now. Stops at the first that cannot be read.
fn verify_all(f: &Finish, candidates: Vec<Candidate>) -> anyhow::Result<Vec<Checked>> {
    let mut out = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let verified = match candidate.verified() {
            Some(v) => v.clone(),
            None => verify::verify_pushed(f.client, &candidate.image, &candidate.digest, f.deep)?,
        };
        out.push(Checked {
            candidate,
            verified,
            copies: Vec::new(),
        });
    }
    Ok(out)
}

/// Copies each candidate to its image's other repositories and verifies each copy
/// there (its verdicts join the report's); the stage and error of the first that fails.
fn copy_all(
    f: &Finish,
    checked: &mut [Checked],
    rep: &mut PushReport,
) -> Result<(), (Stage, Option<anyhow::Error>)> {
    for c in checked.iter_mut() {
        for repo in &c.candidate.image.also {
            if crate::cancel::requested() {
                return Err((Stage::Copy, Some(crate::exit::Interrupted.into())));
            }
            let signed = f.sign.is_some();
            let copied = copies::copy_to(f.client, &c.candidate, repo, f.deep, signed, f.smoke.ui)
                .map_err(|e| (Stage::Copy, Some(e)))?;
            rep.verdicts
                .extend(copied.verified.verdicts.iter().cloned());
            let ok = copied.verified.ok();
            c.copies.push(copied);
            if !ok {
                return Err((Stage::Verify, None));
            }
        }
    }
    Ok(())
}

/// The report's images, each made once from its candidate, its verification, its smoke
/// time and the tags promotion moved; and the stop promotion reported, if any.
fn report_all(
    rep: &mut PushReport,
    checked: Vec<Checked>,
    smoke_times: &[Option<std::time::Duration>],
    attested: Vec<(Vec<Published>, std::time::Duration)>,
    promoted: Promoted,
) {
    let Promoted { images, stopped } = promoted;
    let mut images = images.into_iter();
    let mut attested = attested.into_iter();
    for (i, c) in checked.into_iter().enumerate() {
        let (tags, promote_time) = images.next().unwrap_or_default();
        let smoke = smoke_times.get(i).copied().flatten();
        let copies = c
            .copies
            .iter()
            .map(|k| k.report(images.next().unwrap_or_default().0))
            .collect();
        let mut image = image_report(c, tags, smoke, promote_time);
        image.copies = copies;
        if let Some((referrers, t)) = attested.next() {
            image.times.attest = Some(report::secs(t)).filter(|_| !referrers.is_empty());
            image.referrers = referrers;
        }
        rep.images.push(image);
    }
    if let Some((e, not_moved)) = stopped {
        rep.failure = Some(Failure {
            stage: Stage::Promote,
            error: Some(e),
            untouched: not_moved,
        });
    }
}

fn image_report(
    c: Checked,
    tags: Vec<promote::Moved>,
    smoke: Option<std::time::Duration>,
    promote_time: std::time::Duration,
) -> ImageReport {
    let Checked {
        candidate,
        verified,
        ..
    } = c;
    let image = candidate.image;
    let index_verdict = &verified.verdicts[0];
    // A verdict that passed found every platform, each with its manifest's digest.
    let platforms = image
        .platforms
        .iter()
        .filter_map(|pl| {
            let row = index_verdict.rows.iter().find(|r| r.platform.matches(pl))?;
            let digest = Digest::parse(row.digest.as_deref()?).ok()?;
            Some(PlatformManifest {
                platform: pl.clone(),
                media_type: media_type(verified.root.as_ref(), &digest),
                digest,
            })
        })
        .collect();
    let (built, unchanged_since, (build, export), upload, timing, cache) = match candidate.origin {
        Origin::Built(b) => (
            true,
            None,
            (Some(b.seconds), b.export),
            b.upload,
            b.timing,
            b.cache.map(|c| *c),
        ),
        Origin::Reused(r) => (false, Some(r.since), (None, None), None, Vec::new(), None),
        Origin::Assembled(legs) => (true, None, (None, None), None, legs.timing, None),
    };
    ImageReport {
        name: image.name.clone(),
        repository: image.repository.clone(),
        digest: candidate.digest,
        platforms,
        tags,
        upload: upload.as_ref().map(|(u, _)| u.clone()),
        built,
        unchanged_since,
        timing,
        cache,
        times: Times {
            build,
            export,
            upload: upload.as_ref().map(|(_, t)| report::secs(*t)),
            verify: report::secs(verified.time),
            smoke: smoke.map(report::secs),
            attest: None,
            promote: report::secs(promote_time),
        },
        referrers: Vec::new(),
        singles: image
            .single_tags
            .iter()
            .map(|s| (s.tag.clone(), s.platform.clone(), s.service.clone()))
            .collect(),
        index_tags: image.tags,
        copies: Vec::new(),
    }
}

/// The media type of the manifest `digest` names in `root`: its descriptor's in an
/// index, the root's own when the root is that manifest.
fn media_type(root: Option<&crate::registry::Fetched>, digest: &str) -> String {
    match root.map(|r| (r, &r.manifest)) {
        Some((_, Manifest::Index { manifests, .. })) => manifests
            .iter()
            .find(|d| d.digest == digest)
            .map(|d| d.media_type.clone())
            .unwrap_or_default(),
        Some((r, Manifest::Image { .. })) => r.media_type.clone(),
        None => String::new(),
    }
}
