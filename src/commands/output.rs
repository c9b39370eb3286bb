//! Rendering a push, leg or merge report at the edge: text or JSON on stdout, the JSON
//! also to `--metadata-file` (on failure too), the untouched tags on stderr, and the
//! exit code.

use std::path::Path;

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
        Format::Json => println!("{json}"),
        Format::Text => print!("{}", rep.render_text()),
    }
    let Some(f) = rep.failure else {
        return Ok(Code::Ok);
    };
    if let Some(line) = report::mirror_refused(&rep.mirrors) {
        ui.line(&line);
    }
    if !f.untouched.is_empty() {
        ui.line(&f.untouched_line());
    }
    match f.error {
        None => Ok(Code::VerifyFailed),
        Some(e) => Err(e),
    }
}
