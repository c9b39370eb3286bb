//! `push` as stages: preflight → mirror → which images changed → build → upload → the candidates,
//! built and reused, to [`finish`] (verify → smoke → promote → report). Every stop
//! before promotion is one [`Failure`] naming the stage and the tags that stayed.

use std::path::Path;
use std::time::Instant;

use super::candidate::{self, Candidate, Origin};
use super::finish::{Finish, finish};
use super::report::{self, Failure, Kind, PushReport, Skipped, Stage};
use super::smoke::{Runner, ToolsSource};
use super::unchanged::{self, Skip, Unchanged};
use super::{build, mirror, preflight, upload};
use crate::buildx::Ui;
use crate::config::AttestationMode;
use crate::digest::Digest;
use crate::plan::Plan;
use crate::registry::Client;
use crate::workdir::WorkDir;

/// What a push needs, resolved by the edge.
pub struct Push<'a> {
    pub plan: &'a Plan,
    /// The project directory: buildx runs there and relative layout paths start there.
    pub project_dir: &'a Path,
    /// The project's work directory (its hash cache); the plan's outputs lie in this
    /// run's own directory inside it.
    pub work: &'a WorkDir,
    pub tools: &'a build::Tools,
    pub client: &'a Client,
    /// The project's mirrors, run first.
    pub mirrors: &'a [mirror::Job],
    /// `--deep` on top of each image's own setting.
    pub deep: bool,
    pub verbose: bool,
    /// Skip unchanged images (None for a leg).
    pub skip: Option<Skip<'a>>,
    /// A push, or a leg (which moves no tag).
    pub kind: Kind,
    /// A leg: the selected images that need none of its platforms.
    pub skipped: &'a [Skipped],
    /// Signs the images that have `sign:` before their tags move (a leg signs nothing:
    /// its merge does).
    pub sign: Option<&'a crate::signing::sign::Signing<'a>>,
}

/// Runs the whole push. Never moves a tag unless every image's build, upload and
/// verification succeeded; the report says what happened either way.
pub fn push(p: &Push, ui: &Ui) -> PushReport {
    let mut rep = PushReport {
        kind: p.kind,
        skipped: p.skipped.to_vec(),
        ..PushReport::default()
    };
    let fail = |mut rep: PushReport, stage, error| {
        rep.failure = Some(Failure {
            stage,
            error,
            untouched: report::planned_tags(&p.plan.images),
        });
        rep
    };
    let interrupted = || Some(crate::exit::Interrupted.into());

    // 0. Every destination answers and takes a write: a refusal now, not after the build.
    let destinations = preflight::destinations(p.plan, p.mirrors);
    if let Err(e) = preflight::check(p.client, &destinations) {
        return fail(rep, Stage::Preflight, Some(e));
    }

    // 1. The project's mirrors (base images copied with the platforms they need).
    if let Err((stage, error)) = mirrors(p, ui, &mut rep) {
        return fail(rep, stage, error);
    }

    // 2. Which images changed: the others are reused, not built.
    let split = p
        .skip
        .as_ref()
        .map(|s| unchanged::split(p.client, p.plan, p.project_dir, p.work, s));
    if crate::cancel::requested() {
        // The fingerprints' reads were cut short: nothing is known to be unchanged.
        return fail(rep, Stage::Build, interrupted());
    }
    let (to_build, reused, built) = match split {
        Some(s) => (s.plan, s.reused, s.built),
        None => (p.plan.clone(), Vec::new(), Vec::new()),
    };
    for c in &reused {
        if let Origin::Reused(r) = &c.origin {
            ui.line(&format!(
                "[{}] unchanged since {}:{} ({}): no build",
                c.image.name,
                c.image.repository.as_written(),
                r.since,
                crate::verify::report::short(&c.digest)
            ));
        }
    }

    // 3. Build (and push by digest, or export), no tag moved; upload the layouts of the
    //    docker driver.
    let fresh = if to_build.images.is_empty() {
        Vec::new()
    } else {
        match build_and_upload(p, &to_build, ui) {
            Ok(c) => c,
            Err((stage, e)) => return fail(rep, stage, Some(e)),
        }
    };
    if crate::cancel::requested() {
        return fail(rep, Stage::Upload, interrupted());
    }

    // 4. The built and the reused images go on together, in the plan's order.
    if p.skip.is_some() {
        rep.unchanged = reused.iter().filter_map(Unchanged::of).collect();
        rep.built = built;
    }
    let mut candidates: Vec<Candidate> = fresh.into_iter().chain(reused).collect();
    let order = |name: &str| p.plan.images.iter().position(|i| i.name == name);
    candidates.sort_by_key(|c| order(&c.image.name));
    let smoke = Runner {
        tools: ToolsSource::Ready(p.tools),
        ui,
        verbose: p.verbose,
    };
    // What the verification records name (a leg writes none).
    let records = p.kind != Kind::Leg
        && p.plan
            .images
            .iter()
            .any(|i| i.attestations_mode != AttestationMode::Off);
    let f = Finish {
        client: p.client,
        deep: p.deep,
        smoke: &smoke,
        sign: p.sign.filter(|_| p.kind != Kind::Leg),
        builder: Some(format!(
            "{} ({})",
            p.tools.builder.name, p.tools.builder.driver
        )),
        source_commit: records
            .then(|| super::record::source_commit(p.project_dir))
            .flatten(),
    };
    finish(&f, candidates, rep)
}

/// Runs the project's mirrors into `rep`; the stage and error that stop the push, if any.
fn mirrors(p: &Push, ui: &Ui, rep: &mut PushReport) -> Result<(), (Stage, Option<anyhow::Error>)> {
    if p.mirrors.is_empty() {
        return Ok(());
    }
    let done = mirror::run_jobs(p.client, p.mirrors, ui).map_err(|e| (Stage::Mirror, Some(e)))?;
    let ok = mirror::all_tagged(&done);
    rep.mirrors = done;
    if ok {
        Ok(())
    } else {
        Err((Stage::Mirror, None))
    }
}

/// Builds `plan`'s images and uploads the docker driver's layouts: a candidate per
/// image, with its digest, what was uploaded, the build's time and where it went (also
/// kept in the work directory for `plan`); or the stage that failed.
fn build_and_upload(
    p: &Push,
    plan: &Plan,
    ui: &Ui,
) -> Result<Vec<Candidate>, (Stage, anyhow::Error)> {
    let started = Instant::now();
    // Where the base images' blobs are (for mounting them at upload) is read while
    // buildx builds, so the upload starts without those round trips.
    let (built, known) = std::thread::scope(|s| {
        let known = plan
            .images
            .iter()
            .any(|i| i.oci_dir.is_some())
            .then(|| s.spawn(|| upload::base_blobs(p.client, plan, p.project_dir)));
        let built = build::build(p.tools, p.project_dir, plan, ui, p.verbose, p.work);
        let known = known
            .map(|k| k.join().expect("base blob lookup panicked"))
            .unwrap_or_default();
        (built, known)
    });
    let timings = built.map_err(|e| (Stage::Build, e))?;
    let seconds = report::secs(started.elapsed());
    crate::emulation::history::record(p.work, &timings);
    let digests = build::digests(plan).map_err(|e| (Stage::Build, e.into()))?;
    let uploads = upload::upload_layouts(p.client, plan, p.project_dir, &digests, &known, ui)
        .map_err(|e| (Stage::Upload, e))?;
    // An upload that gave the image Docker media types published other digests.
    let digests = upload::published_digests(&digests, &uploads);
    let detached = detach(p, plan, digests).map_err(|e| (Stage::Upload, e))?;
    let candidates = plan
        .images
        .iter()
        .zip(detached)
        .zip(uploads)
        .map(|((image, split), upload)| Candidate {
            image: image.clone(),
            digest: split.digest,
            attestations: split.detached,
            origin: Origin::Built(candidate::Built {
                seconds,
                upload,
                timing: timings
                    .iter()
                    .find(|t| t.image == image.name)
                    .map(|t| t.platforms.clone())
                    .unwrap_or_default(),
                // What became of the cache, for an image that has one.
                cache: timings
                    .iter()
                    .find(|t| t.image == image.name)
                    .filter(|_| image.command.iter().any(|a| a.starts_with("--cache-")))
                    .map(|t| Box::new(t.cache.clone())),
                export: timings
                    .iter()
                    .find(|t| t.image == image.name)
                    .and_then(|t| t.export),
            }),
        })
        .collect();
    Ok(candidates)
}

/// Takes buildx's attestations out of the roots of images whose attestations go to
/// referrers (`attestations: referrers`): the root each image's tags will point at.
/// A leg keeps them in its root; `merge` takes them out of the index it assembles.
fn detach(
    p: &Push,
    plan: &Plan,
    digests: Vec<Digest>,
) -> anyhow::Result<Vec<crate::provenance::attestations::Split>> {
    use crate::provenance::attestations::{Split, detach};
    plan.images
        .iter()
        .zip(digests)
        .map(|(image, digest)| {
            if p.kind == Kind::Leg || image.attestations_mode != AttestationMode::Referrers {
                return Ok(Split {
                    digest,
                    detached: Vec::new(),
                });
            }
            detach(p.client, &image.repository, &digest)
        })
        .collect()
}
