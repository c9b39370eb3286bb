//! `mpbuild mirror`: copy an image with the platforms the targets need, verify the copy,
//! then tag it. Also run by `mpbuild push` for the project's `mirrors:`.

use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::buildx::{Mode, Ui};
use crate::catalog::Catalog;
use crate::cli::{Global, MirrorArgs, ProgressArg};
use crate::exit::{Code, UsageError};
use crate::platform::Platform;
use crate::publish::mirror::{self, Progress, Selection};
use crate::registry::{Client, Reference};
use crate::verify::{self, Requirements, report, requirements};

/// One copy to make.
pub(crate) struct Job {
    pub src: Reference,
    pub dest: Reference,
    pub selection: Selection,
}

pub fn run(global: &Global, args: &MirrorArgs) -> anyhow::Result<Code> {
    let (project, load_error) = match super::load_project(global) {
        Ok(p) => (Some(p), None),
        Err(e) => (None, Some(e)),
    };
    let catalog = project
        .as_ref()
        .map(|p| p.catalog.clone())
        .unwrap_or_else(Catalog::builtin);
    let jobs = match (&args.src, &args.dest) {
        (Some(src), Some(dest)) => {
            if args.targets.is_empty() && args.platforms.is_empty() && !args.all {
                return Err(UsageError(
                    "say which platforms to copy: --target SERVICE[:ARCH], --platform OS/ARCH, or --all".into(),
                )
                .into());
            }
            vec![job(
                &catalog,
                src,
                dest,
                &args.targets,
                &args.platforms,
                args.all,
            )?]
        }
        _ => {
            // The project's mirrors: a missing or bad file is the error to show.
            let Some(p) = &project else {
                return Err(load_error.expect("no project means a load error"));
            };
            if p.mirrors.is_empty() {
                return Err(UsageError(format!(
                    "no SRC DEST given and {} has no `mirrors:`",
                    p.path.display()
                ))
                .into());
            }
            p.mirrors
                .iter()
                .map(|m| {
                    job(
                        &catalog,
                        &m.source,
                        &m.destination,
                        &m.targets,
                        &m.platforms,
                        m.all,
                    )
                })
                .collect::<anyhow::Result<Vec<_>>>()?
        }
    };
    let insecure = project
        .as_ref()
        .map(|p| p.insecure_registries.clone())
        .unwrap_or_default();
    let client = super::verify::client(global, &args.registry, insecure)?;
    let mode = if args.progress == ProgressArg::Plain {
        Mode::Plain
    } else {
        Mode::detect(false)
    };
    run_jobs(&client, &jobs, mode)
}

pub(crate) fn job(
    catalog: &Catalog,
    src: &str,
    dest: &str,
    targets: &[String],
    platforms: &[String],
    all: bool,
) -> anyhow::Result<Job> {
    let src = Reference::parse(src)?;
    let mut dest = Reference::parse(dest)?;
    if dest.digest.is_some() {
        return Err(UsageError(format!(
            "DEST `{dest}` names a digest; give a repository or REPO:TAG (a filtered copy gets a new digest)"
        ))
        .into());
    }
    if dest.tag.is_none() {
        dest.tag = src.tag.clone();
    }
    let requirements = if all {
        Requirements::default()
    } else {
        requirements::from_flags(catalog, targets, platforms, false, &Platform::host())?
    };
    Ok(Job {
        src,
        dest,
        selection: Selection { requirements, all },
    })
}

/// Mirrors, verifies and tags each job; stops at the first failure.
pub(crate) fn run_jobs(client: &Arc<Client>, jobs: &[Job], mode: Mode) -> anyhow::Result<Code> {
    let ui = Ui::new(mode);
    for j in jobs {
        let bar = Bar::new(mode, &format!("{} → {}", j.src, j.dest));
        let done = mirror::mirror(client, &j.src, &j.dest, &j.selection, &bar)?;
        bar.finish();
        let digest_ref = j.dest.with_target(&done.digest);
        let mut req = j.selection.requirements.clone();
        if j.selection.all {
            for p in &done.platforms {
                if let Ok(p) = Platform::parse(p) {
                    req.need(p, "--all");
                }
            }
        }
        let v = verify::verify_reference(client, &digest_ref, &req, None)?;
        let ok = v.ok();
        print!("{}", report::render_text(std::slice::from_ref(&v)));
        if !ok {
            ui.line(&format!("verification failed: {} was not tagged", j.dest));
            return Ok(Code::VerifyFailed);
        }
        mirror::tag(client, &j.dest, &done.digest)?;
        let how = if done.filtered {
            format!(
                "a new index with {} (the source index {} holds more)",
                done.platforms.join(", "),
                report::short(&done.source_digest)
            )
        } else {
            format!("the source digest kept ({})", done.platforms.join(", "))
        };
        println!(
            "mirrored {} → {}@{}: {how}; {} blob(s) copied ({} bytes), {} mounted, {} already there",
            j.src,
            j.dest,
            report::short(&done.digest),
            done.blobs_copied,
            done.bytes_copied,
            done.blobs_mounted,
            done.blobs_skipped
        );
    }
    Ok(Code::Ok)
}

/// A progress bar by bytes, or nothing in plain mode.
struct Bar {
    bar: ProgressBar,
}

impl Bar {
    fn new(mode: Mode, label: &str) -> Bar {
        let bar = ProgressBar::new(0);
        if mode == Mode::Bars {
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(label.to_string());
        } else {
            bar.set_draw_target(ProgressDrawTarget::hidden());
            if mode == Mode::Plain {
                eprintln!("mirror {label}");
            }
        }
        Bar { bar }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn total(&self, bytes: u64) {
        self.bar.set_length(bytes);
    }
    fn advance(&self, bytes: u64) {
        self.bar.inc(bytes);
    }
}
