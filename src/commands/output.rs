//! Rendering a push, leg or merge report at the edge: text or JSON on stdout, the JSON
//! also to `--metadata-file` (on failure too), the markdown summary to `--summary` or
//! $GITHUB_STEP_SUMMARY, the untouched tags on stderr, and the
//! exit code.

use std::path::Path;

use crate::buildx::Ui;
use crate::cli::{Format, ReportArgs};
use crate::exit::Code;
use crate::pipeline::{PushReport, report};
use crate::printer::Printer;

/// Prints `rep` — and, when an error stopped the run, that error — and returns the exit
/// code (worked out once, here: the JSON document says it too).
pub fn finish(rep: PushReport, command: &str, to: &ReportArgs, ui: &Ui) -> anyhow::Result<Code> {
    let code = match &rep.failure {
        None => Code::Ok,
        Some(f) => match &f.error {
            None => Code::VerifyFailed,
            Some(e) if crate::pipeline::interrupt::interrupted(e) => Code::Interrupted,
            Some(e) => crate::error::Error::of(e).code(),
        },
    };
    let json = rep.render_json(command, code.as_i32());
    if let Some(path) = &to.metadata_file {
        std::fs::write(path, format!("{json}\n")).map_err(|e| {
            crate::exit::UsageError::new(format!(
                "cannot write the metadata file {}: {e}",
                path.display()
            ))
        })?;
    }
    if let Some(path) = crate::summary::target(to.summary.as_deref(), &|k| std::env::var(k).ok()) {
        let doc = serde_json::from_str(&json).unwrap_or_default();
        if let Err(e) = crate::summary::append(&path, &crate::summary::markdown(&doc)) {
            // The summary is a courtesy: the run's result and exit code stand.
            ui.printer().labelled(
                "warning",
                &format!("cannot append the summary to {}: {e}", path.display()),
            );
        }
    }
    // stdout carries the result: the report of a run that moved its tags, or the JSON
    // document. What a failed run checked (verdicts, smoke runs) is part of its error.
    let printer = ui.printer();
    match to.format {
        Format::Json => printer.json(&json),
        Format::Text if printer.quiet() => {}
        Format::Text if rep.failure.is_some() => crate::err!(printer, "{}", rep.render_text()),
        Format::Text => crate::out!(printer, "{}", rep.render_text()),
    }
    let Some(f) = rep.failure else {
        return Ok(Code::Ok);
    };
    if let Some(line) = report::mirror_refused(&rep.mirrors) {
        important(ui, &line);
    }
    if !f.untouched.is_empty() {
        important(ui, &f.untouched_line());
    }
    if let Some(e) = f.error {
        printer.error(&e);
    }
    Ok(code)
}

/// The version of every JSON document mpbuild prints (`"schema_version"`). Fields are
/// only ever added within a version; a removed or retyped field bumps it.
pub const SCHEMA_VERSION: u32 = 1;

/// With `--format json`, a run that failed before printing its document prints one
/// saying what failed, so a pipeline always has JSON to read.
pub(super) fn error_json(printer: &Printer, command: &str, err: &anyhow::Error, code: Code) {
    if printer.json_printed() {
        return;
    }
    printer.value(&error_doc(command, err, code));
}

/// The document of a run that failed before it had a report.
fn error_doc(command: &str, err: &anyhow::Error, code: Code) -> serde_json::Value {
    serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "result": "error",
        "error": format!("{err:#}"),
        "exit_code": code.as_i32(),
    })
}

/// `--metadata-file` of a push or merge that failed before it had a report (a bad
/// project file, an unset `${VAR}`: exit 2): the error's document, so a pipeline that
/// reads the file finds one whatever happened. A file that cannot be written is said
/// on stderr; the run's own error and exit code stand.
pub(super) fn error_metadata(
    printer: &Printer,
    path: &Path,
    command: &str,
    err: &anyhow::Error,
    code: Code,
) {
    let doc = crate::printer::head_first(&error_doc(command, err, code));
    if let Err(e) = std::fs::write(path, format!("{doc}\n")) {
        printer.labelled(
            "warning",
            &format!("cannot write the metadata file {}: {e}", path.display()),
        );
    }
}

/// A line about a failure: through the bars, and on stderr even with `-q` (it says
/// what the error left as it was).
pub fn important(ui: &Ui, line: &str) {
    if ui.mode() == crate::buildx::Mode::Quiet {
        crate::errln!(ui.printer(), "{line}");
    } else {
        ui.line(line);
    }
}
