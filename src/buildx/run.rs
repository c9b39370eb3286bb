//! Runs a `docker buildx build`/`bake` argv: progress parsed from its stderr, shown
//! through the [`Ui`]; a failure comes back with the failing step, its error and the
//! tail of its log; Ctrl-C or SIGTERM passes SIGTERM on to buildx (killed half a second
//! later if it still runs) and comes back as interrupted.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::docker::{Launch, RAWJSON, Version};
use super::error::BuildError;
use super::log::LogFile;
use super::progress::{MAX_LINE, Parser, State, step_target};
use super::ui::Ui;
use crate::child::{Ending, stop_on_cancel};
use crate::exit::Interrupted;

/// What to run.
pub struct Job<'a> {
    /// The argv as planned (`docker buildx …`).
    pub argv: &'a [String],
    /// Where relative paths in the argv are resolved: the project directory.
    pub cwd: &'a Path,
    /// The images this run builds (one, or the bake targets).
    pub images: Vec<String>,
    /// For messages: "build of image `api`".
    pub what: String,
    /// Each image's platforms (a failure of a one-platform build names its platform,
    /// which buildx leaves out of the step names then).
    pub platforms: Vec<(String, Vec<String>)>,
    /// Where to write the build's whole log (kept when the build fails), if anywhere.
    pub log: Option<PathBuf>,
    /// The OCI layouts the build exports to (relative to `cwd`), whose bytes the export's
    /// heartbeat counts.
    pub layouts: Vec<PathBuf>,
}

impl Job<'_> {
    /// The image (and its platform when it has one) its lines name; a bake's images.
    fn named(&self) -> String {
        match self.platforms.as_slice() {
            [(image, platforms)] if platforms.len() == 1 => format!("{image} {}", platforms[0]),
            _ => self.images.join(", "),
        }
    }
}

/// Adapts a planned argv to the buildx found: `docker` → its path, and rawjson → plain
/// for buildx older than 0.12.
pub fn adapt(argv: &[String], buildx: Version) -> Vec<String> {
    argv.iter()
        .skip(1)
        .map(|a| {
            if a == "--progress=rawjson" && buildx < RAWJSON {
                "--progress=plain".to_string()
            } else {
                a.clone()
            }
        })
        .collect()
}

/// Runs the job to its end.
pub fn run(launch: &Launch, buildx: Version, job: &Job, ui: &Ui) -> Result<State, anyhow::Error> {
    let (program, args) = launch.command(&adapt(job.argv, buildx));
    let started = std::time::Instant::now();
    let spawning = crate::cancel::spawning();
    let handle = duct::cmd(program, &args)
        .dir(job.cwd)
        .stderr_to_stdout()
        .unchecked()
        .reader()
        .map_err(|e| BuildError::Spawn {
            command: crate::shell::join(job.argv),
            message: e.to_string(),
        })?;
    let handle = Arc::new(handle);
    // The terminal's SIGINT usually reaches buildx too; CI's SIGTERM does not.
    let stop = stop_on_cancel(&handle, Ending::Gentle);
    drop(spawning);
    let mut parser = Parser::default();
    let mut state = State::default();
    // The whole log goes to a file (a build without one still runs).
    let mut log = job.log.as_deref().and_then(|p| LogFile::create(p).ok());
    ui.start_images(&job.images);
    let layouts = job.layouts.iter().map(|d| job.cwd.join(d)).collect();
    let beat = super::beat::ExportBeat::start(ui, &job.named(), layouts);
    let mut reader = BufReader::new(&*handle);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        // At most MAX_LINE of a line is kept: buildx printing without end is bounded.
        match crate::child::read_line_capped(&mut reader, &mut bytes, MAX_LINE) {
            Ok(0) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&bytes);
                if let Some(ev) = parser.line(line.trim_end_matches(['\n', '\r'])) {
                    if let Some(l) = log.as_mut() {
                        l.event(&ev);
                    }
                    for change in state.apply(ev) {
                        ui.step(&job.images, &change, &state);
                    }
                    if let Some(b) = &beat {
                        b.update(&state);
                    }
                }
            }
            Err(_) => break,
        }
    }
    if let Some(ev) = parser.finish() {
        if let Some(l) = log.as_mut() {
            l.event(&ev);
        }
        state.apply(ev);
    }
    drop((stop, beat));
    state.wall = Some(started.elapsed());
    let status = handle.try_wait().ok().flatten().map(|o| o.status);
    let ok = status.is_some_and(|s| s.success()) && !crate::cancel::requested();
    // The log is kept for a failed build only.
    let log = log.map(LogFile::finish);
    let kept = match log {
        Some(path) if ok || crate::cancel::requested() => {
            let _ = std::fs::remove_file(path);
            None
        }
        other => other,
    };
    if crate::cancel::requested() {
        ui.finish_images(&job.images, false, &state);
        return Err(Interrupted.into());
    }
    ui.finish_images(&job.images, ok, &state);
    if ok {
        return Ok(state);
    }
    let mut e = failure(job, &state, status.and_then(|s| s.code()));
    if let (Some(path), BuildError::Failed { hint, .. }) = (kept, &mut e) {
        hint.push_str(&format!("; the whole log is in {}", path.display()));
    }
    Err(e.into())
}

/// The platform a failed step ran for, when its name does not say it: the only
/// platform of the image it belongs to.
fn platform_of(job: &Job, step: &str) -> Option<String> {
    let inner = step.strip_prefix('[')?.split(']').next()?;
    if inner
        .split_whitespace()
        .any(|w| w.contains('/') && !w.chars().all(|c| c.is_ascii_digit() || c == '/'))
    {
        return None; // `[linux/arm64 2/3]`: said already
    }
    let image = match step_target(step) {
        Some(t) => t,
        None if job.images.len() == 1 => job.images[0].as_str(),
        None => return None,
    };
    match job.platforms.iter().find(|(i, _)| i == image) {
        Some((_, p)) if p.len() == 1 => Some(p[0].clone()),
        _ => None,
    }
}

/// The error for a failed run: the failing step, its error, its log tail.
pub fn failure(job: &Job, state: &State, code: Option<i32>) -> BuildError {
    let failed = state.failed();
    let mut log: Vec<String> = failed
        .map(|s| s.log.iter().cloned().collect())
        .unwrap_or_default();
    if log.is_empty() {
        // No step failed: buildx itself did (bad flag, unreachable builder, push).
        log = state.text.iter().rev().take(15).rev().cloned().collect();
    }
    let error = failed
        .and_then(|s| s.error.clone())
        .or_else(|| {
            state
                .error_line()
                .map(|l| l.trim_start_matches("ERROR: ").to_string())
        })
        .or_else(|| code.map(|c| format!("docker buildx exited with {c}")));
    let text = state.text.join("\n");
    let hint = if text.contains("Multi-platform build is not supported for the docker driver") {
        "turn on the containerd image store (Docker Desktop: Settings → General → \"Use containerd for pulling and storing images\"; Docker Engine: \"features\": {\"containerd-snapshotter\": true} in daemon.json), or use a docker-container builder".to_string()
    } else if text.contains("exec format error") {
        "a RUN step ran a binary for another CPU: register QEMU emulation (`docker run --privileged --rm tonistiigi/binfmt --install all`) or build that platform on a native builder".to_string()
    } else if failed.is_some_and(|s| s.name.contains("waiting for connection")) {
        unanswered_builder(job)
    } else if failed.is_some() {
        "fix the failing step".to_string()
    } else {
        "see buildx's message above".to_string()
    };
    let what = match failed.and_then(|s| platform_of(job, &s.name)) {
        Some(p) => format!("{} for {p}", job.what),
        None => job.what.clone(),
    };
    BuildError::Failed {
        what,
        step: failed.map(|s| s.name.clone()),
        error,
        log,
        hint,
    }
}

/// What to do when buildx's remote driver gave up waiting for the builder's BuildKit
/// daemon: it waits 20 s, hard-coded (no buildx option changes it), so the daemon is
/// down, unreachable, or still starting its worker (a loaded machine).
fn unanswered_builder(job: &Job) -> String {
    let name = job
        .argv
        .iter()
        .position(|a| a == "--builder")
        .and_then(|i| job.argv.get(i + 1))
        .map(String::as_str);
    let (builder, inspect) = match name {
        Some(b) => (format!("builder `{b}`"), format!(" {b}")),
        None => ("buildx's current builder".to_string(), String::new()),
    };
    format!(
        "{builder} did not answer: buildx waits 20 s for its BuildKit daemon, so the daemon is down, unreachable, or still starting (a loaded machine); check it with `docker buildx inspect --bootstrap{inspect}`, and run again once that answers"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_buildx_gets_plain_progress() {
        let argv: Vec<String> = ["docker", "buildx", "build", "--progress=rawjson", "."]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            adapt(&argv, Version(0, 13, 1)),
            vec!["buildx", "build", "--progress=rawjson", "."]
        );
        assert_eq!(
            adapt(&argv, Version(0, 11, 2)),
            vec!["buildx", "build", "--progress=plain", "."]
        );
    }

    #[test]
    fn a_step_of_a_one_platform_build_gets_its_platform_named() {
        let job = Job {
            argv: &[],
            cwd: Path::new("."),
            images: vec!["api".into(), "web".into()],
            what: "bake of api, web".into(),
            platforms: vec![
                ("api".into(), vec!["linux/arm64".into()]),
                (
                    "web".into(),
                    vec!["linux/amd64".into(), "linux/arm64".into()],
                ),
            ],
            log: None,
            layouts: Vec::new(),
        };
        assert_eq!(
            platform_of(&job, "[api 2/3] RUN make").as_deref(),
            Some("linux/arm64")
        );
        // Said in the name already, or several platforms: nothing to add.
        assert_eq!(platform_of(&job, "[api linux/arm64 2/3] RUN make"), None);
        assert_eq!(platform_of(&job, "[web 2/3] RUN make"), None);
        let one = Job {
            images: vec!["api".into()],
            platforms: vec![("api".into(), vec!["linux/amd64".into()])],
            ..job
        };
        assert_eq!(
            platform_of(&one, "[2/2] RUN false").as_deref(),
            Some("linux/amd64")
        );
        assert_eq!(platform_of(&one, "[linux/amd64 2/2] RUN false"), None);
    }

    #[test]
    fn failure_names_the_step_and_log_from_a_real_stream() {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/buildx/failing-run.rawjson",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut p = Parser::default();
        let mut s = State::default();
        for l in text.lines() {
            if let Some(e) = p.line(l) {
                s.apply(e);
            }
        }
        let job = Job {
            argv: &[],
            cwd: Path::new("."),
            images: vec!["api".into()],
            what: "build of image `api`".into(),
            platforms: vec![("api".into(), vec!["linux/arm64".into()])],
            log: None,
            layouts: Vec::new(),
        };
        let e = failure(&job, &s, Some(1)).to_string();
        assert!(
            e.starts_with("build of image `api` failed at step `[linux/"),
            "{e}"
        );
        assert!(e.contains("RUN echo hello && sleep 0.2"), "{e}");
        assert!(e.contains("exit code: 2"), "{e}");
        assert!(e.contains("| /bin/sh: can't open"), "{e}");
    }

    #[test]
    fn a_builder_that_never_answered_is_named_with_what_to_do() {
        let argv: Vec<String> = ["docker", "buildx", "build", "--builder", "ci-remote", "."]
            .iter()
            .map(|a| a.to_string())
            .collect();
        let job = Job {
            argv: &argv,
            cwd: Path::new("."),
            images: vec!["api".into()],
            what: "build of image `api`".into(),
            platforms: vec![("api".into(), vec!["linux/amd64".into()])],
            log: None,
            layouts: Vec::new(),
        };
        let hint = unanswered_builder(&job);
        assert!(
            hint.starts_with("builder `ci-remote` did not answer"),
            "{hint}"
        );
        assert!(
            hint.contains("`docker buildx inspect --bootstrap ci-remote`"),
            "{hint}"
        );
        let current = unanswered_builder(&Job { argv: &[], ..job });
        assert!(current.starts_with("buildx's current builder did not answer"));
        assert!(current.contains("`docker buildx inspect --bootstrap`,"));
    }
}
