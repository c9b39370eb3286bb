//! `push` as stages: mirror → build → digests → upload → verify → smoke → promote. Every stop
//! before promotion is one [`Failure`] naming the stage and the tags that stayed.

use std::path::Path;
use std::time::{Duration, Instant};

use super::report::{self, Failure, ImageReport, PlatformManifest, PushReport, Stage, Times};
use super::smoke::{self, Runner, ToolsSource};
use super::upload::Uploaded;
use super::{build, mirror, promote, unchanged, upload, verify};
use crate::buildx::Ui;
use crate::config::Project;
use crate::emulation::ImageTiming;
use crate::plan::{Options, Plan};
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
}

/// What skipping unchanged images needs: the project to plan the images that are built.
pub struct Skip<'a> {
    pub project: &'a Project,
    pub options: &'a Options,
    /// `--rebuild`: build every image (fingerprints are still recorded).
    pub rebuild: bool,
    /// `--deep`: what a reused image must pass too.
    pub deep: bool,
}

/// Runs the whole push. Never moves a tag unless every image's build, upload and
/// verification succeeded; the report says what happened either way.
pub fn push(p: &Push, ui: &Ui) -> PushReport {
    let mut rep = PushReport::default();
    let fail = |rep: &mut PushReport, stage, error| {
        rep.failure = Some(Failure {
            stage,
            error,
            untouched: report::planned_tags(p.plan),
        });
    };

    // 0. The project's mirrors (base images copied with the platforms it needs).
    if !p.mirrors.is_empty() {
        match mirror::run_jobs(p.client, p.mirrors, ui) {
            Ok(done) => {
                let ok = mirror::all_tagged(&done);
                rep.mirrors = done;
                if !ok {
                    fail(&mut rep, Stage::Mirror, None);
                    return rep;
                }
            }
            Err(e) => {
                fail(&mut rep, Stage::Mirror, Some(e));
                return rep;
            }
        }
    }

    // 1. Which images changed: the others are reused, not built.
    let split = p
        .skip
        .as_ref()
        .map(|s| unchanged::split(p.client, p.plan, p.work, s));
    if crate::cancel::requested() {
        // The fingerprints' reads were cut short: nothing is known to be unchanged.
        fail(
            &mut rep,
            Stage::Build,
            Some(crate::exit::Interrupted.into()),
        );
        return rep;
    }
    let to_build = split.as_ref().map_or(p.plan, |s| &s.plan);
    for s in split.iter().flat_map(|s| &s.reused) {
        ui.line(&format!(
            "[{}] unchanged since {}:{} ({}): no build",
            s.1.image,
            s.0.repository,
            s.1.since,
            crate::verify::report::short(&s.1.digest)
        ));
    }

    // 2. Build (and push by digest, or export), no tag moved; upload the layouts of the
    //    docker driver.
    let (digests, uploads, build_time, timings) = if to_build.images.is_empty() {
        (Vec::new(), Vec::new(), None, Vec::new())
    } else {
        match build_and_upload(p, to_build, ui) {
            Ok((d, u, t, timings)) => (d, u, Some(t), timings),
            Err((stage, e)) => {
                fail(&mut rep, stage, Some(e));
                return rep;
            }
        }
    };
    if crate::cancel::requested() {
        fail(
            &mut rep,
            Stage::Upload,
            Some(crate::exit::Interrupted.into()),
        );
        return rep;
    }

    // 3. The built and the reused images go on together, in the project's order.
    let mut all: Vec<_> = to_build
        .images
        .iter()
        .cloned()
        .zip(digests)
        .zip(uploads)
        .map(|((i, d), u)| (i, d, u))
        .collect();
    let mut reused = Vec::new();
    if let Some(s) = &split {
        for (image, r) in &s.reused {
            all.push((image.clone(), r.digest.clone(), None));
            reused.push(r.clone());
        }
        rep.unchanged = reused.clone();
        rep.built = s.built.clone();
    }
    let order = |name: &str| p.plan.images.iter().position(|i| i.name == name);
    all.sort_by_key(|(i, _, _)| order(&i.name));
    let mut plan = to_build.clone();
    plan.bake = None;
    plan.images = all.iter().map(|(i, _, _)| i.clone()).collect();
    let digests: Vec<String> = all.iter().map(|(_, d, _)| d.clone()).collect();
    let uploads: Vec<_> = all.into_iter().map(|(_, _, u)| u).collect();
    let smoke = Runner {
        tools: ToolsSource::Ready(p.tools),
        ui,
        verbose: p.verbose,
    };
    let mut rep = finish(
        &Finish {
            client: p.client,
            plan: &plan,
            digests: &digests,
            uploads: &uploads,
            build_time,
            deep: p.deep,
            smoke: &smoke,
        },
        rep,
    );
    for image in &mut rep.images {
        if let Some(t) = timings.iter().find(|t| t.image == image.name) {
            image.timing = t.platforms.clone();
        }
        if let Some(r) = reused.iter().find(|r| r.image == image.name) {
            image.built = false;
            image.unchanged_since = Some(r.since.clone());
            image.times.build = None;
        }
    }
    rep
}

/// Builds `plan`'s images and uploads the docker driver's layouts: per image, the
/// digest and what was uploaded, the build's time and where it went (also kept in the
/// work directory for `plan`); or the stage that failed.
#[allow(clippy::type_complexity)]
fn build_and_upload(
    p: &Push,
    plan: &Plan,
    ui: &Ui,
) -> Result<
    (
        Vec<String>,
        Vec<Option<(Uploaded, Duration)>>,
        f64,
        Vec<ImageTiming>,
    ),
    (Stage, anyhow::Error),
> {
    let started = Instant::now();
    // Where the base images' blobs are (for mounting them at upload) is read while
    // buildx builds, so the upload starts without those round trips.
    let (built, known) = std::thread::scope(|s| {
        let known = plan
            .images
            .iter()
            .any(|i| i.oci_dir.is_some())
            .then(|| s.spawn(|| upload::base_blobs(p.client, plan, p.project_dir)));
        let built = build::build(p.tools, p.project_dir, plan, ui, p.verbose);
        let known = known
            .map(|k| k.join().expect("base blob lookup panicked"))
            .unwrap_or_default();
        (built, known)
    });
    let timings = built.map_err(|e| (Stage::Build, e))?;
    let build_time = report::secs(started.elapsed());
    crate::emulation::history::record(p.work, &timings);
    let digests = build::digests(plan).map_err(|e| (Stage::Build, e.into()))?;
    let uploads = upload::upload_layouts(p.client, plan, p.project_dir, &digests, &known, ui)
        .map_err(|e| (Stage::Upload, e))?;
    // An upload that gave the image Docker media types published other digests.
    let digests = upload::published_digests(&digests, &uploads);
    Ok((digests, uploads, build_time, timings))
}

/// What verify → smoke → promote → report needs, for digests already in the registry
/// (built by this push, or assembled by `merge` from legs built elsewhere).
pub struct Finish<'a> {
    pub client: &'a Client,
    pub plan: &'a Plan,
    /// Per image in plan order.
    pub digests: &'a [String],
    /// Per image in plan order (`None` where nothing was uploaded by mpbuild).
    pub uploads: &'a [Option<(Uploaded, Duration)>],
    /// In seconds; `None` for a merge.
    pub build_time: Option<f64>,
    pub deep: bool,
    /// Runs the images' `smoke:` commands.
    pub smoke: &'a Runner<'a>,
}

/// Verify → smoke → promote → report. No tag moves unless every image verified and
/// every smoke run passed.
pub fn finish(f: &Finish, mut rep: PushReport) -> PushReport {
    let Finish {
        client,
        plan,
        digests,
        uploads,
        build_time,
        deep,
        ..
    } = *f;
    let fail = |rep: &mut PushReport, stage, error| {
        rep.failure = Some(Failure {
            stage,
            error,
            untouched: report::planned_tags(plan),
        });
    };
    // 3. Verify the pushed digests, and the manifests single-manifest tags will get.
    let verified = match verify::verify_plan(client, plan, digests, deep) {
        Ok(v) => v,
        Err(e) => {
            fail(&mut rep, Stage::Verify, Some(e));
            return rep;
        }
    };
    rep.verdicts = verified.iter().flat_map(|v| v.verdicts.clone()).collect();
    if !verified.iter().all(verify::VerifiedImage::ok) {
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

    // 4. Smoke: the image's own command on each platform, in the verified digest.
    let smoked = smoke::run_plan(f.smoke, plan, digests);
    let smoke_times = smoked.times.clone();
    let smoke_ok = smoked.ok();
    rep.smoke = smoked.results;
    if !smoke_ok {
        fail(&mut rep, Stage::Smoke, smoked.error);
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

    // 5. Promote.
    let moves: Vec<_> = verified
        .iter()
        .map(|v| (&v.repository, v.moves.as_slice()))
        .collect();
    let promoted = promote::promote_all(client, &moves);

    // 6. Report.
    for (i, image) in plan.images.iter().enumerate() {
        let (tags, promote_time) = promoted.images.get(i).cloned().unwrap_or_default();
        let index_verdict = &verified[i].verdicts[0];
        rep.images.push(ImageReport {
            name: image.name.clone(),
            repository: image.repository.clone(),
            digest: digests[i].clone(),
            platforms: image
                .platforms
                .iter()
                .map(|pl| PlatformManifest {
                    platform: pl.to_string(),
                    digest: index_verdict
                        .rows
                        .iter()
                        .find(|r| r.platform.matches(pl))
                        .and_then(|r| r.digest.clone())
                        .unwrap_or_default(),
                })
                .collect(),
            tags,
            upload: uploads[i].as_ref().map(|(u, _)| u.clone()),
            built: true,
            unchanged_since: None,
            timing: Vec::new(),
            times: Times {
                build: build_time,
                upload: uploads[i].as_ref().map(|(_, t)| report::secs(*t)),
                verify: report::secs(verified[i].time),
                smoke: smoke_times.get(i).copied().flatten().map(report::secs),
                promote: report::secs(promote_time),
            },
            singles: image
                .single_tags
                .iter()
                .map(|s| (s.tag.clone(), s.platform.to_string(), s.service.clone()))
                .collect(),
            index_tags: image.tags.clone(),
        });
    }
    if let Some((e, not_moved)) = promoted.stopped {
        rep.failure = Some(Failure {
            stage: Stage::Promote,
            error: Some(e),
            untouched: not_moved,
        });
    }
    rep
}
