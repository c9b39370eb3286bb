//! Rendering a push, leg or merge report at the edge: text or JSON on stdout, the JSON
//! also to `--metadata-file` (on failure too), the untouched tags on stderr, and the
//! exit code.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::buildx::Ui;
use crate::cli::Format;
use crate::exit::Code;
use crate::pipeline::{PushReport, report};

/// Prints `rep` and returns the exit code, or the error that stopped the run.
pub fn finish(
    rep: PushReport,
    command: &str,
    format: Format,
    metadata_file: Option<&Path>,
    ui: &Ui,
) -> anyhow::Result<Code> {
    let code = match &rep.failure {
        None => Code::Ok,
        Some(f) => match &f.error {
            None => Code::VerifyFailed,
            Some(e) if report::interrupted(e) => Code::Interrupted,
            Some(e) => super::classify(e),
        },
    };
    let json = rep.render_json(command, code.as_i32());
    if let Some(path) = metadata_file {
        std::fs::write(path, format!("{json}\n")).map_err(|e| {
            crate::exit::UsageError(format!(
                "cannot write the metadata file {}: {e}",
                path.display()
            ))
        })?;
    }
    match format {
        Format::Json => print_json(&json),
        Format::Text if crate::settings::quiet() => {}
        Format::Text => crate::out!("{}", rep.render_text()),
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
    match f.error {
        None => Ok(Code::VerifyFailed),
        Some(e) => Err(e),
    }
}

/// The version of every JSON document mpbuild prints (`"schema_version"`). Fields are
/// only ever added within a version; a removed or retyped field bumps it.
pub const SCHEMA_VERSION: u32 = 1;

/// Whether this run has printed its JSON document (so a failure does not print a
/// second one).
static JSON_PRINTED: AtomicBool = AtomicBool::new(false);

/// Prints a command's JSON document on stdout.
pub fn print_json(doc: &str) {
    JSON_PRINTED.store(true, Ordering::SeqCst);
    println!("{}", crate::escape::json(doc));
}

/// Pretty-prints a JSON value on stdout.
pub fn print_value(doc: &serde_json::Value) {
    print_json(&serde_json::to_string_pretty(doc).unwrap_or_default());
}

/// Forgets a document printed by an earlier run in this process (tests run mpbuild
/// in-process more than once).
pub(super) fn reset_json() {
    JSON_PRINTED.store(false, Ordering::SeqCst);
}

/// With `--format json`, a run that failed before printing its document prints one
/// saying what failed, so a pipeline always has JSON to read.
pub(super) fn error_json(command: &str, err: &anyhow::Error, code: Code) {
    if JSON_PRINTED.load(Ordering::SeqCst) {
        return;
    }
    print_value(&serde_json::json!({
        "schema_version": SCHEMA_VERSION,
        "command": command,
        "result": "error",
        "error": format!("{err:#}"),
        "exit_code": code.as_i32(),
    }));
}

/// A line about a failure: through the bars, and on stderr even with `-q` (it says
/// what the error left as it was).
pub fn important(ui: &Ui, line: &str) {
    if ui.mode() == crate::buildx::Mode::Quiet {
        crate::errln!("{line}");
    } else {
        ui.line(line);
    }
}
