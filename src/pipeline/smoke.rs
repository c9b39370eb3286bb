//! The smoke stage: the image's own command, run in the pushed image `REPO@DIGEST` on
//! each platform, after verification and before any tag moves.
//!
//! How: a generated build. A temp directory holds a Dockerfile
//!
//! ```text
//! FROM REPO@DIGEST
//! ARG MPBUILD_SMOKE_ENV_0
//! ENV KEY="${MPBUILD_SMOKE_ENV_0}"
//! ARG MPBUILD_SMOKE_NONCE
//! RUN ["app", "--version"]
//! ```
//!
//! run with `docker buildx build --builder B --platform P --progress=rawjson
//! --output type=cacheonly --build-arg MPBUILD_SMOKE_NONCE=<random> …`. Why a build and
//! not `docker run --platform P`:
//!
//! - it runs where the project builds: the same builder, so on a builder with one node
//!   per platform the arm64 command runs on the arm64 node (natively), and with the
//!   `docker` driver it runs through the same QEMU emulation the build used. `docker run`
//!   only ever runs on the local daemon.
//! - it needs nothing a push does not: no image loaded into Docker's store (the
//!   `remote` and `docker-container` drivers have none), no container left behind, no
//!   tag; `type=cacheonly` exports nothing (buildx 0.13 has it; checked on the stack).
//! - `FROM REPO@DIGEST` with `--platform P` resolves the platform in the index the way
//!   the runtime will at deploy time; the RUN inherits the image's `ENV`, `WORKDIR` and
//!   `USER`. The argv is the exec form (a JSON array): no shell unless the user writes
//!   `sh -c`, and the image's `ENTRYPOINT` is not prepended.
//! - the random `MPBUILD_SMOKE_NONCE` argument is in the RUN's environment, so its cache
//!   key is new every time: a second smoke of the same digest runs again (a RUN step
//!   reported as cached is a failure, never a pass).
//! - `env:` values travel as build arguments and are copied into `ENV` by substitution,
//!   so no value is ever parsed as Dockerfile text (quotes, `$`, spaces arrive as
//!   written), and a variable the image sets with `ENV` is overridden.
//!
//! The RUN step's log (stdout and stderr, from the rawjson stream that
//! [`crate::buildx::progress`] parses) is the output `expect:` is matched against and
//! whose tail a failure shows; its exit code comes from BuildKit's step error. A run
//! past its timeout has buildx killed (killing the CLI closes the plugin's socket and
//! BuildKit cancels the RUN), as Ctrl-C does.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;

use super::build::Tools;
use super::candidate::Candidate;
use crate::buildx::docker::RAWJSON;
use crate::buildx::progress::{Event, MAX_LINE, Parser, State};
use crate::buildx::watch::Watcher;
use crate::buildx::{self, BuildError, Job, Ui};
use crate::exit::Interrupted;
use crate::plan::SmokePlan;
use crate::platform::Platform;

/// Lines of output kept for the report.
pub const TAIL: usize = 20;
/// Output kept for `expect:` (the last bytes, when a command prints more).
const OUTPUT_CAP: usize = 4 << 20;

/// Where the stage gets docker and the builder: a push has them; a merge probes them
/// only when some image has a smoke run.
pub enum ToolsSource<'a> {
    Ready(&'a Tools),
    Probe(Option<String>),
}

/// What the smoke stage needs from the edge.
pub struct Runner<'a> {
    pub tools: ToolsSource<'a>,
    pub ui: &'a Ui,
    pub verbose: bool,
}

impl Runner<'_> {
    pub fn tools(&self) -> anyhow::Result<Cow<'_, Tools>> {
        let tools = match &self.tools {
            ToolsSource::Ready(t) => Cow::Borrowed(*t),
            ToolsSource::Probe(b) => Cow::Owned(Tools::probe(b.as_deref())?),
        };
        if tools.version < RAWJSON {
            return Err(BuildError::BuildxTooOld {
                found: tools.version.to_string(),
                needed: RAWJSON.to_string(),
                why: "the smoke run reads the command's output from --progress=rawjson".into(),
            }
            .into());
        }
        Ok(tools)
    }
}

/// The smoke stage's outcome for a plan.
#[derive(Debug, Default)]
pub struct Smoked {
    pub results: Vec<SmokeResult>,
    /// Per candidate, in order: the time its smoke runs took (None without a run).
    pub times: Vec<Option<Duration>>,
    /// A run that could not be carried out (builder, buildx), or an interrupt.
    pub error: Option<anyhow::Error>,
}

impl Smoked {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.results.iter().all(|r| r.ok)
    }
}

/// Runs each candidate's smoke on each of its smoke platforms, in `REPO@DIGEST` (a
/// reused root too, see [`Candidate::smoke`]). Stops at the first run that cannot be
/// carried out; a failing command does not stop the others (the report shows every
/// platform).
pub fn run_candidates(runner: &Runner, candidates: &[&Candidate]) -> Smoked {
    let mut out = Smoked {
        times: vec![None; candidates.len()],
        ..Smoked::default()
    };
    if candidates.iter().all(|c| c.smoke().is_none()) {
        return out;
    }
    let tools = match runner.tools() {
        Ok(t) => t,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    for (i, c) in candidates.iter().enumerate() {
        let Some(spec) = c.smoke() else { continue };
        let reference = c.reference();
        let started = Instant::now();
        let done = run_spec(
            &tools,
            runner,
            &c.image.name,
            &reference,
            spec,
            &mut out.results,
        );
        out.times[i] = Some(started.elapsed());
        if let Err(e) = done {
            out.error = Some(e);
            return out;
        }
    }
    out
}

/// Runs `spec` in `reference` (`REPO@DIGEST`) on each of its platforms: `mpbuild smoke`.
pub fn run_reference(runner: &Runner, label: &str, reference: &str, spec: &SmokePlan) -> Smoked {
    let mut out = Smoked::default();
    let started = Instant::now();
    let done = runner
        .tools()
        .and_then(|tools| run_spec(&tools, runner, label, reference, spec, &mut out.results));
    out.times = vec![Some(started.elapsed())];
    out.error = done.err();
    out
}

/// Runs `spec` on each of its platforms at once (separate builds on the same builder;
/// with one node per platform each runs on its own node), results in platform order.
fn run_spec(
    tools: &Tools,
    runner: &Runner,
    image: &str,
    reference: &str,
    spec: &SmokePlan,
    results: &mut Vec<SmokeResult>,
) -> anyhow::Result<()> {
    let outcomes: Vec<anyhow::Result<SmokeResult>> = std::thread::scope(|s| {
        let handles: Vec<_> = spec
            .platforms
            .iter()
            .map(|platform| {
                s.spawn(move || run_one(tools, runner, image, reference, platform, spec))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("the smoke run panicked")))
            })
            .collect()
    });
    let mut first_error = None;
    for o in outcomes {
        match o {
            Ok(r) => results.push(r),
            Err(e) => {
                // An interrupt wins over any other error: it decides the exit code.
                let interrupt = e.downcast_ref::<Interrupted>().is_some();
                if first_error.is_none() || interrupt {
                    first_error = Some(e);
                }
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

pub use crate::buildx::nodes::node_for;

/// The generated Dockerfile for one smoke run.
pub fn dockerfile(reference: &str, spec: &SmokePlan) -> String {
    let mut out =
        format!("# Generated by mpbuild: the smoke run of {reference}.\nFROM {reference}\n");
    for (i, (k, _)) in spec.env.iter().enumerate() {
        out.push_str(&format!(
            "ARG MPBUILD_SMOKE_ENV_{i}\nENV {k}=\"${{MPBUILD_SMOKE_ENV_{i}}}\"\n"
        ));
    }
    out.push_str("ARG MPBUILD_SMOKE_NONCE\n");
    out.push_str(&format!(
        "RUN {}\n",
        serde_json::to_string(&spec.run).unwrap_or_default()
    ));
    out
}

/// The `docker buildx build` argv (without `docker`) for one run in `dir`.
pub fn argv(
    builder: &str,
    platform: &Platform,
    spec: &SmokePlan,
    nonce: &str,
    dir: &Path,
) -> Vec<String> {
    let mut a: Vec<String> = [
        "buildx",
        "build",
        "--builder",
        builder,
        "--platform",
        &platform.to_string(),
        "--progress=rawjson",
        "--provenance=false",
        "--output",
        "type=cacheonly",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for (i, (_, v)) in spec.env.iter().enumerate() {
        a.push("--build-arg".into());
        a.push(format!("MPBUILD_SMOKE_ENV_{i}={v}"));
    }
    a.push("--build-arg".into());
    a.push(format!("MPBUILD_SMOKE_NONCE={nonce}"));
    a.push("--file".into());
    a.push(dir.join("Dockerfile").display().to_string());
    a.push(dir.display().to_string());
    a
}

/// A value no earlier run used: the process, the time, a counter, hashed.
fn nonce() -> String {
    use sha2::{Digest, Sha256};
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let d = Sha256::digest(format!("{}-{t}-{n}", std::process::id()).as_bytes());
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The temp directory of one run, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    /// Made new (not found: whatever someone placed at that name is refused, a link
    /// included), readable only by this user.
    fn new(path: PathBuf) -> std::io::Result<TempDir> {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new().mode(0o700).create(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How a run ended, as the watcher saw it.
const RUNNING: u8 = 0;
const TIMED_OUT: u8 = 1;
const STOPPED: u8 = 2;

/// Runs the command in `reference` on `platform`. `Ok` with `ok: false` for a command
/// that failed, timed out or printed the wrong thing; `Err` when the run could not be
/// carried out (the image could not be resolved, the builder failed) or was interrupted.
pub fn run_one(
    tools: &Tools,
    runner: &Runner,
    image: &str,
    reference: &str,
    platform: &Platform,
    spec: &SmokePlan,
) -> anyhow::Result<SmokeResult> {
    let ui = runner.ui;
    let nonce = nonce();
    let dir = TempDir::new(std::env::temp_dir().join(format!("mpbuild-smoke-{nonce}")))?;
    std::fs::write(dir.0.join("Dockerfile"), dockerfile(reference, spec))?;
    let args = argv(&tools.builder.name, platform, spec, &nonce, &dir.0);
    let (node, native) = node_for(&tools.builder, platform);
    let node = node
        .map(|n| n.name.clone())
        .unwrap_or_else(|| tools.builder.name.clone());
    let mut full: Vec<String> = vec!["docker".into()];
    full.extend(args.iter().cloned());
    if runner.verbose {
        ui.line(&format!("$ {}", crate::shell::join(&full)));
    }
    ui.line(&format!(
        "[{image}] smoke {platform}: `{}` on node {node} ({})",
        crate::shell::join(&spec.run),
        if native { "native" } else { "emulated" }
    ));
    let run = watched_run(tools, &args, &full, &dir.0, spec.timeout())?;
    if run.ended == STOPPED || crate::cancel::requested() {
        return Err(Interrupted.into());
    }
    // The RUN step: the only one of the generated Dockerfile.
    let run_step = run
        .state
        .steps
        .iter()
        .find(|(_, s)| is_run_step(&s.name))
        .map(|(digest, s)| (digest.clone(), s.clone()));
    let output = run_step
        .as_ref()
        .and_then(|(d, _)| run.logs.get(d))
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default();
    let mut result = SmokeResult {
        image: image.to_string(),
        reference: reference.to_string(),
        platform: platform.to_string(),
        ok: false,
        exit_code: None,
        duration_s: run.duration.as_secs_f64(),
        native,
        node,
        output_tail: tail(&output, TAIL),
        reason: None,
        command: spec.run.clone(),
    };
    let step = run_step.as_ref().map(|(_, s)| s);
    if let Ran::BuilderFailed = judge(
        &mut result,
        run.ended == TIMED_OUT,
        run.status.is_some_and(|s| s.success()),
        step,
        &output,
        spec,
    )? {
        return Err(failure(
            &full, &dir.0, image, platform, &run.state, run.status,
        ));
    }
    ui.line(&format!(
        "[{image}] smoke {platform}: {} in {:.1}s",
        if result.ok {
            "ok".to_string()
        } else {
            format!("FAILED ({})", result.reason.as_deref().unwrap_or("failed"))
        },
        result.duration_s
    ));
    Ok(result)
}

/// What a smoke build left when it ended: BuildKit's progress, each step's log (its
/// last [`OUTPUT_CAP`] bytes), how buildx exited, how the run ended (`RUNNING` when it
/// ended by itself), how long it took.
struct Finished {
    state: State,
    logs: HashMap<String, Vec<u8>>,
    status: Option<std::process::ExitStatus>,
    ended: u8,
    duration: Duration,
}

/// Runs buildx with `args` in `dir` and reads its progress stream to the end; the
/// watcher kills it at Ctrl-C or after `timeout`, and says which.
fn watched_run(
    tools: &Tools,
    args: &[String],
    full: &[String],
    dir: &Path,
    timeout: Duration,
) -> anyhow::Result<Finished> {
    let started = Instant::now();
    let (program, args) = tools.launch.command(args);
    let spawning = crate::cancel::spawning();
    let handle = duct::cmd(program, &args)
        .dir(dir)
        .stderr_to_stdout()
        .unchecked()
        .reader()
        .map_err(|e| BuildError::Spawn {
            command: crate::shell::join(full),
            message: e.to_string(),
        })?;
    let handle = Arc::new(handle);
    // Ctrl-C: killed at once (nothing of the run is kept), with what runs under it.
    let stop = crate::child::stop_on_cancel(&handle, crate::child::Ending::Kill);
    drop(spawning);
    let ended = Arc::new(AtomicU8::new(RUNNING));
    let watcher = {
        let handle = Arc::clone(&handle);
        let ended = Arc::clone(&ended);
        Watcher::spawn(Duration::from_millis(50), move || {
            let why = if crate::cancel::requested() {
                STOPPED
            } else if started.elapsed() >= timeout {
                TIMED_OUT
            } else {
                return false;
            };
            ended.store(why, Ordering::SeqCst);
            let _ = handle.kill();
            true
        })
    };
    let (state, logs) = read_progress(&handle);
    drop(watcher);
    drop(stop);
    let duration = started.elapsed();
    let status = handle.try_wait().ok().flatten().map(|o| o.status);
    Ok(Finished {
        state,
        logs,
        status,
        ended: ended.load(Ordering::SeqCst),
        duration,
    })
}

/// The rawjson progress stream, read line by line (each line capped) to its end: the
/// steps' state, and each step's log (its last [`OUTPUT_CAP`] bytes).
fn read_progress(handle: &duct::ReaderHandle) -> (State, HashMap<String, Vec<u8>>) {
    let mut parser = Parser::default();
    let mut state = State::default();
    let mut logs: HashMap<String, Vec<u8>> = HashMap::new();
    let mut feed = |ev: Event, state: &mut State| {
        if let Event::Status(s) = &ev {
            for l in &s.logs {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(l.data.as_bytes())
                    .unwrap_or_default();
                let buf = logs.entry(l.vertex.clone()).or_default();
                buf.extend_from_slice(&bytes);
                if buf.len() > OUTPUT_CAP {
                    buf.drain(..buf.len() - OUTPUT_CAP);
                }
            }
        }
        state.apply(ev);
    };
    let mut reader = BufReader::new(handle);
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        match crate::child::read_line_capped(&mut reader, &mut bytes, MAX_LINE) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let line = String::from_utf8_lossy(&bytes);
                if let Some(ev) = parser.line(line.trim_end_matches(['\n', '\r'])) {
                    feed(ev, &mut state);
                }
            }
        }
    }
    if let Some(ev) = parser.finish() {
        feed(ev, &mut state);
    }
    (state, logs)
}

fn failure(
    argv: &[String],
    dir: &Path,
    image: &str,
    platform: &Platform,
    state: &State,
    status: Option<std::process::ExitStatus>,
) -> anyhow::Error {
    let job = Job {
        argv,
        cwd: dir,
        images: vec![image.to_string()],
        what: format!("the smoke run of `{image}` on {platform}"),
        platforms: Vec::new(),
        log: None,
        layouts: Vec::new(),
    };
    buildx::run::failure(&job, state, status.and_then(|s| s.code())).into()
}

/// `[2/2] RUN ["app", "--version"]`.
fn is_run_step(name: &str) -> bool {
    let rest = match name.strip_prefix('[') {
        Some(r) => r.split_once("] ").map_or("", |(_, r)| r),
        None => name,
    };
    rest.starts_with("RUN ")
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

mod verdict;
pub use verdict::SmokeResult;
use verdict::{Ran, judge};
#[cfg(test)]
use verdict::{exit_code, not_found};

#[cfg(test)]
mod tests;
