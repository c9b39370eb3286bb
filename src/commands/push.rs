//! `mpbuild push`: build and push by digest, verify what the registry holds, and only
//! then move the tags. A failed build or verification moves no tag.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::buildx::{self, Job, Mode, Ui};
use crate::cli::{Global, ProgressArg, PushArgs};
use crate::config::Project;
use crate::exit::{Code, Interrupted};
use crate::oci_layout::Layout;
use crate::plan::{Options, Output, Plan};
use crate::publish::{promote, upload};
use crate::registry::{Reference, Repository};
use crate::verify::{self, Requirements, Verdict, report, requirements};

/// Per image: what happened and how long each step took.
#[derive(Debug, Default)]
struct Outcome {
    digest: String,
    upload: Option<upload::Uploaded>,
    upload_time: Duration,
    verify_time: Duration,
    promote_time: Duration,
    moved: Vec<String>,
}

pub fn run(global: &Global, args: &PushArgs) -> anyhow::Result<Code> {
    let project = super::load_project(global)?;
    let images = super::plan::select_images(&project, &args.images)?;
    buildx::install_interrupt_handler();
    let builder_name = args.builder.clone().or_else(|| project.builder.clone());

    // The builder's driver decides how the result reaches the registry.
    let tools = buildx::docker::locate().and_then(|docker| {
        let version = buildx::docker::buildx_version(&docker)?;
        let builder = buildx::docker::inspect(&docker, builder_name.as_deref())?;
        Ok((docker, version, builder))
    });
    let tools = match (tools, args.dry_run) {
        (Ok(t), _) => Some(t),
        (Err(_), true) => None,
        (Err(e), false) => return Err(e.into()),
    };
    let output = match &tools {
        Some((_, _, b)) if b.can_push_by_digest() => Output::PushByDigest,
        _ => Output::OciLayout,
    };
    let work_dir = super::work_dir(&project);
    let plan = Plan::for_images(
        &project,
        &images,
        &Options {
            output,
            work_dir: work_dir.clone(),
            builder: builder_name.clone(),
        },
    );
    if args.dry_run {
        print!("{}", dry_run(&plan, tools.as_ref().map(|t| &t.2)));
        return Ok(Code::Ok);
    }
    let (docker, version, builder) = tools.expect("checked above");
    let mode = if args.progress == ProgressArg::Plain {
        Mode::Plain
    } else {
        Mode::detect(false)
    };
    let ui = Ui::new(mode);
    ui.line(&format!(
        "builder `{}` (driver {}): {}",
        builder.name,
        builder.driver,
        match output {
            Output::PushByDigest => "pushes by digest",
            Output::OciLayout => "exports an OCI layout that mpbuild uploads",
        }
    ));
    prepare_work_dir(&work_dir, &plan)?;
    let client =
        super::verify::client(global, &args.registry, project.insecure_registries.clone())?;

    // 0. The project's mirrors (base images copied with the platforms it needs).
    if !project.mirrors.is_empty() {
        let jobs = project
            .mirrors
            .iter()
            .map(|m| {
                super::mirror::job(
                    &project.catalog,
                    &m.source,
                    &m.destination,
                    &m.targets,
                    &m.platforms,
                    m.all,
                )
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let code = super::mirror::run_jobs(&client, &jobs, mode)?;
        if code != Code::Ok {
            eprintln!("{}", untouched(&plan, "a mirror failed verification"));
            return Ok(code);
        }
    }

    // 1. Build (and push by digest, or export), no tag moved.
    let build_started = Instant::now();
    let built = build(&docker, version, &project, &plan, &ui, global.verbose);
    if let Err(e) = built {
        ui.line(&untouched(&plan, "the build failed"));
        return Err(e);
    }
    let build_time = build_started.elapsed();

    // 2. Digests; upload the layouts of the docker driver.
    let mut outcomes = Vec::new();
    for image in &plan.images {
        let mut o = Outcome {
            digest: match &plan.bake {
                Some(b) => buildx::metadata::bake_digest(&b.metadata_file, &image.name)?,
                None => buildx::metadata::digest(&image.metadata_file)?,
            },
            ..Outcome::default()
        };
        if let Some(dir) = &image.oci_dir {
            let t = Instant::now();
            let repo = Repository::parse(&image.repository)?;
            let others: Vec<Repository> = plan
                .images
                .iter()
                .filter_map(|i| Repository::parse(&i.repository).ok())
                .collect();
            let layout = Layout::open(&project.dir.join(dir))?;
            let up = upload::upload(&client, &layout, &repo, &others).inspect_err(|_| {
                ui.line(&untouched(&plan, "the upload failed"));
            })?;
            if up.digest != o.digest {
                anyhow::bail!(crate::buildx::BuildError::Metadata {
                    path: image.metadata_file.display().to_string(),
                    message: format!(
                        "buildx reported {} but the OCI layout holds {}",
                        o.digest, up.digest
                    ),
                });
            }
            ui.line(&format!(
                "[{}] uploaded {}: {} blob(s) uploaded ({}), {} already there, {} mounted",
                image.name,
                crate::verify::report::short(&up.digest),
                up.blobs_uploaded,
                human_bytes(up.bytes_uploaded),
                up.blobs_skipped,
                up.blobs_mounted
            ));
            o.upload = Some(up);
            o.upload_time = t.elapsed();
        }
        outcomes.push(o);
    }
    check_interrupt(&plan, &ui)?;

    // 3. Verify the pushed digests, and the manifests single-manifest tags will get.
    let deep = crate::inspect::deep_fn();
    let mut verdicts: Vec<Verdict> = Vec::new();
    let mut all_moves = Vec::new();
    for (image, o) in plan.images.iter().zip(outcomes.iter_mut()) {
        let t = Instant::now();
        let repo = Repository::parse(&image.repository)?;
        let mut req = requirements::for_index(image);
        req.deep |= args.deep;
        let reference = Reference::parse(&format!("{}@{}", image.repository, o.digest))?;
        let v = verify::verify_reference(&client, &reference, &req, Some(&deep))?;
        let ok = v.ok();
        verdicts.push(v);
        let singles: Vec<_> = image
            .single_tags
            .iter()
            .map(|s| (s.tag.clone(), s.platform.clone(), s.service.clone()))
            .collect();
        let moves = if ok {
            promote::moves(&client, &repo, &o.digest, &image.tags, &singles)?
        } else {
            Vec::new()
        };
        for m in moves.iter().filter(|m| m.single.is_some()) {
            let (platform, service) = m.single.clone().expect("filtered");
            let mut r = Requirements {
                single: true,
                deep: req.deep,
                ..Requirements::default()
            };
            r.need(platform, service);
            let child = Reference::parse(&format!("{}@{}", image.repository, m.digest))?;
            let mut v = verify::verify_reference(&client, &child, &r, Some(&deep))?;
            v.reference = format!("{}:{} (to be)", image.repository, m.tag);
            verdicts.push(v);
        }
        o.verify_time = t.elapsed();
        all_moves.push((repo, moves));
    }
    print!("{}", report::render_text(&verdicts));
    if !verdicts.iter().all(Verdict::ok) {
        eprintln!("{}", untouched(&plan, "verification failed"));
        return Ok(Code::VerifyFailed);
    }
    check_interrupt(&plan, &ui)?;

    // 4. Promote.
    for ((repo, moves), o) in all_moves.iter().zip(outcomes.iter_mut()) {
        let t = Instant::now();
        o.moved = promote::apply(&client, repo, moves)?;
        o.promote_time = t.elapsed();
    }

    // 5. Report.
    println!();
    for (image, o) in plan.images.iter().zip(&outcomes) {
        println!("pushed {} → {}@{}", image.name, image.repository, o.digest);
        println!("  platforms  {}", crate::platform::list(&image.platforms));
        let moved_index: Vec<&String> = o.moved.iter().filter(|t| image.tags.contains(t)).collect();
        if !moved_index.is_empty() {
            println!(
                "  tags       {}",
                moved_index
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for s in &image.single_tags {
            println!(
                "  single     {} → the {} manifest ({})",
                s.tag, s.platform, s.service
            );
        }
        let upload = if o.upload.is_some() {
            format!(" · upload {:.1}s", o.upload_time.as_secs_f64())
        } else {
            String::new()
        };
        println!(
            "  time       build {:.1}s{} · verify {:.1}s · promote {:.1}s",
            build_time.as_secs_f64(),
            upload,
            o.verify_time.as_secs_f64(),
            o.promote_time.as_secs_f64()
        );
    }
    Ok(Code::Ok)
}

fn build(
    docker: &Path,
    version: buildx::Version,
    project: &Project,
    plan: &Plan,
    ui: &Ui,
    verbose: bool,
) -> anyhow::Result<()> {
    if let Some(b) = &plan.bake {
        std::fs::write(&b.file_path, serde_json::to_vec_pretty(&b.file)?)?;
        let names: Vec<String> = plan.images.iter().map(|i| i.name.clone()).collect();
        if verbose {
            ui.line(&format!("$ {}", crate::shell::join(&b.command)));
        }
        let job = Job {
            argv: &b.command,
            cwd: &project.dir,
            what: format!("bake of {}", names.join(", ")),
            images: names,
        };
        buildx::run::run(docker, version, &job, ui)?;
    } else {
        for image in &plan.images {
            if verbose {
                ui.line(&format!("$ {}", crate::shell::join(&image.command)));
            }
            let job = Job {
                argv: &image.command,
                cwd: &project.dir,
                images: vec![image.name.clone()],
                what: format!("build of image `{}`", image.name),
            };
            buildx::run::run(docker, version, &job, ui)?;
        }
    }
    Ok(())
}

/// Empties the previous run's outputs for these images, so a stale layout or metadata
/// file can never be taken for this build's.
fn prepare_work_dir(work_dir: &Path, plan: &Plan) -> anyhow::Result<()> {
    std::fs::create_dir_all(work_dir)?;
    for image in &plan.images {
        let _ = std::fs::remove_file(&image.metadata_file);
        if let Some(dir) = &image.oci_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    if let Some(b) = &plan.bake {
        let _ = std::fs::remove_file(&b.metadata_file);
    }
    Ok(())
}

fn check_interrupt(plan: &Plan, ui: &Ui) -> anyhow::Result<()> {
    if buildx::interrupted() {
        ui.line(&untouched(plan, "interrupted"));
        return Err(Interrupted.into());
    }
    Ok(())
}

/// "no tag moved: …:latest, …:abc stay where they were".
fn untouched(plan: &Plan, why: &str) -> String {
    let tags: Vec<String> = plan
        .images
        .iter()
        .flat_map(|i| {
            i.tags
                .iter()
                .chain(i.single_tags.iter().map(|s| &s.tag))
                .map(move |t| format!("{}:{t}", i.repository))
        })
        .collect();
    format!(
        "{why}: no tag moved; {} stay where they were",
        tags.join(", ")
    )
}

fn dry_run(plan: &Plan, builder: Option<&buildx::Builder>) -> String {
    let mut out = String::new();
    match builder {
        Some(b) => out.push_str(&format!(
            "# builder `{}` (driver {}): {}\n",
            b.name,
            b.driver,
            if b.can_push_by_digest() {
                "push by digest"
            } else {
                "OCI layout, uploaded by mpbuild"
            }
        )),
        None => {
            out.push_str("# docker/buildx not reachable: assuming the default `docker` driver\n")
        }
    }
    if let Some(b) = &plan.bake {
        out.push_str(&format!("# write {}\n", b.file_path.display()));
        out.push_str(&format!("{}\n", crate::shell::join(&b.command)));
    } else {
        for image in &plan.images {
            out.push_str(&format!("{}\n", crate::shell::join(&image.command)));
        }
    }
    for image in &plan.images {
        if let Some(dir) = &image.oci_dir {
            out.push_str(&format!(
                "# upload {} to {} (blobs, manifests, index by digest)\n",
                dir.display(),
                image.repository
            ));
        }
        out.push_str(&format!(
            "# verify {}@<digest>: {}\n",
            image.repository,
            crate::platform::list(&image.platforms)
        ));
        for t in &image.tags {
            out.push_str(&format!(
                "# tag {}:{t} → the verified index\n",
                image.repository
            ));
        }
        for s in &image.single_tags {
            out.push_str(&format!(
                "# tag {}:{} → the {} image manifest ({})\n",
                image.repository, s.tag, s.platform, s.service
            ));
        }
    }
    out
}

fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}
