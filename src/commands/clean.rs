//! `mpbuild clean`: the project's work directory (or, with `--all`, every one of this
//! user's) removed, each named with the space it held.

use crate::cli::CleanArgs;
use crate::exit::Code;
use crate::fsread::size;
use crate::settings::Settings;
use crate::workdir::{self, clean};

pub fn run(s: &Settings, args: &CleanArgs) -> anyhow::Result<Code> {
    let done = if args.all {
        let explicit = std::env::var_os("MPBUILD_WORK_DIR")
            .filter(|v| !v.is_empty())
            .map(|d| workdir::Location::at(std::path::Path::new(&d)));
        clean::all(explicit.as_ref())?
    } else {
        // Only the project's directory is needed, not a valid file: a project that no
        // longer parses can still be cleaned.
        let cwd = std::env::current_dir()?;
        let file = crate::config::discover(s.file.as_deref(), &cwd)?;
        let dir = file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        clean::project(&workdir::location(dir), &workdir::legacy_location(dir))?
    };
    if s.printer().quiet() {
        return Ok(Code::Ok);
    }
    for (path, bytes) in &done.removed {
        crate::outln!(s.printer(), "removed {} ({})", path.display(), size(*bytes));
    }
    for (path, why) in &done.kept {
        crate::outln!(s.printer(), "kept    {}: {why}", path.display());
    }
    if done.removed.is_empty() {
        match done.missing.first() {
            Some(p) if !args.all => {
                crate::outln!(
                    s.printer(),
                    "nothing to remove: {} does not exist",
                    p.display()
                )
            }
            _ => crate::outln!(s.printer(), "nothing to remove"),
        }
    } else {
        crate::outln!(
            s.printer(),
            "freed {} in {} director{}",
            size(done.bytes()),
            done.removed.len(),
            if done.removed.len() == 1 { "y" } else { "ies" }
        );
    }
    Ok(Code::Ok)
}
