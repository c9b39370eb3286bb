//! The verdict on a smoke run's image: what BuildKit's progress and the command's output
//! say about it (timed out, served from the cache, not in the image, its exit code, its
//! output against `expect:`), apart from failures of the builder itself.

use serde::Serialize;

use crate::buildx::progress::Step;
use crate::plan::SmokePlan;

/// One smoke run: an image on one platform.
#[derive(Debug, Clone, Serialize)]
pub struct SmokeResult {
    /// The project's image name, or the reference for `mpbuild smoke`.
    pub image: String,
    /// `REPO@DIGEST` the command ran in.
    pub reference: String,
    pub platform: String,
    pub ok: bool,
    /// The command's exit code; none when it was stopped (timeout) or never ran.
    pub exit_code: Option<i32>,
    /// The whole run: resolving the image, pulling what the builder lacks, the command.
    pub duration_s: f64,
    /// Whether the node ran the platform natively (else under emulation, QEMU).
    pub native: bool,
    /// The builder node that ran it.
    pub node: String,
    /// The last lines of the command's output (stdout and stderr).
    pub output_tail: String,
    /// Why it failed: "exit code 1", "timed out after 5s", "output did not match /…/".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub command: Vec<String>,
}

/// Whether a run says something about the image, or only that the builder failed.
pub(super) enum Ran {
    Judged,
    BuilderFailed,
}

/// The verdict on the image, into `result`: timed out, the RUN step served from the
/// cache, the command could not start or failed (its exit code), or it passed (and its
/// output matched `expect:`). `BuilderFailed` when the command never started (the image
/// could not be resolved or pulled) or buildx failed after it ran.
pub(super) fn judge(
    result: &mut SmokeResult,
    timed_out: bool,
    succeeded: bool,
    step: Option<&Step>,
    output: &str,
    spec: &SmokePlan,
) -> anyhow::Result<Ran> {
    if timed_out {
        result.reason = Some(format!("timed out after {}s", spec.timeout().as_secs()));
        return Ok(Ran::Judged);
    }
    let Some(step) = step.filter(|s| s.started || s.cached) else {
        // The command never started: the image could not be resolved or pulled, or the
        // builder failed.
        return Ok(Ran::BuilderFailed);
    };
    if step.cached {
        result.reason =
            Some("the builder served the RUN step from its cache: the command did not run".into());
    } else if let Some(e) = &step.error {
        if let Some(missing) = not_found(output) {
            // The runtime could not start it: it never ran, so it has no exit code.
            result.reason = Some(missing);
        } else {
            result.exit_code = exit_code(e);
            result.reason = Some(match result.exit_code {
                Some(c) => format!("exit code {c}"),
                None => e.clone(),
            });
        }
    } else if !succeeded {
        // The command ran, buildx failed afterwards: not the image's fault.
        return Ok(Ran::BuilderFailed);
    } else {
        result.exit_code = Some(0);
        match &spec.expect {
            Some(pattern) => {
                let re =
                    crate::config::smoke_regex(pattern).map_err(crate::exit::UsageError::new)?;
                if re.is_match(output) {
                    result.ok = true;
                } else {
                    result.reason = Some(format!("output did not match /{pattern}/"));
                }
            }
            None => result.ok = true,
        }
    }
    Ok(Ran::Judged)
}

/// BuildKit's `process "…" did not complete successfully: exit code: 3` → 3.
pub(super) fn exit_code(error: &str) -> Option<i32> {
    let i = error.rfind("exit code: ")?;
    let digits: String = error[i + "exit code: ".len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Why the command never started, when the runtime says it is not in the image
/// (`exec: "NAME": executable file not found in $PATH`, or no such file for a path).
pub(super) fn not_found(output: &str) -> Option<String> {
    let line = output.lines().find(|l| {
        l.contains("unable to start container process")
            && (l.contains("executable file not found") || l.contains("no such file or directory"))
    })?;
    let name = line
        .split("exec: \"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("the command");
    Some(format!(
        "`{name}` is not in the image (not on its PATH, or no such file): the command never started"
    ))
}
