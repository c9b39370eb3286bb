//! The verdict on a smoke run's image: what BuildKit's progress and the command's output
//! say about it (timed out, served from the cache, not in the image, its exit code, its
//! output against `expect:`), apart from failures of the builder itself.

use super::{Finished, SmokeResult, TIMED_OUT};
use crate::buildx::progress::Step;
use crate::plan::SmokePlan;

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
    run: &Finished,
    step: Option<&Step>,
    output: &str,
    spec: &SmokePlan,
) -> anyhow::Result<Ran> {
    let succeeded = run.status.is_some_and(|s| s.success());
    if run.ended == TIMED_OUT {
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
