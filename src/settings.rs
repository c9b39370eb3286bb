//! What every command needs from the flags and the project, resolved in one place:
//! the project file, the images selected with `--image`, the work directory, the
//! registry client, the progress mode. Commands use these; no command imports another.

use std::path::PathBuf;
use std::sync::Arc;

use crate::buildx::Mode;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::cli::{ColorArg, Global, ProgressArg, RegistryArgs};
use crate::config::{self, Env, Image, Project};
use crate::exit::UsageError;
use crate::registry::{self, Client};

/// Finds and loads the project file.
pub fn load_project(global: &Global) -> anyhow::Result<Project> {
    let cwd = std::env::current_dir()?;
    let path = config::discover(global.file.as_deref(), &cwd)?;
    Ok(config::load(&path, &Env::process())?)
}

/// Finds and loads the project file for a preview (`plan`): an unset `${VAR}` is shown
/// as a placeholder, and a warning line on stderr names the variables.
pub fn load_project_preview(global: &Global) -> anyhow::Result<Project> {
    let cwd = std::env::current_dir()?;
    let path = config::discover(global.file.as_deref(), &cwd)?;
    let project = config::load(&path, &Env::preview())?;
    let unset = project.placeholders();
    if !unset.is_empty() {
        let names: Vec<String> = unset.iter().map(|n| format!("${{{n}}}")).collect();
        eprintln!(
            "{} {}",
            label("warning"),
            crate::escape::text(&format!(
                "{} not set: shown as {}; `push` and `merge` refuse to run until {} set",
                names.join(", "),
                config::placeholder(&unset[0]),
                if unset.len() == 1 {
                    "it is"
                } else {
                    "they are"
                }
            ))
        );
    }
    Ok(project)
}

/// The images named with `--image` (all when none), or a usage error naming the
/// unknown one and the valid names.
pub fn select_images<'p>(project: &'p Project, names: &[String]) -> anyhow::Result<Vec<&'p Image>> {
    if names.is_empty() {
        return Ok(project.images.iter().collect());
    }
    let mut out = Vec::new();
    for name in names {
        match project.images.iter().find(|i| &i.name == name) {
            Some(i) => out.push(i),
            None => {
                let known: Vec<&str> = project.images.iter().map(|i| i.name.as_str()).collect();
                return Err(UsageError(format!(
                    "no image `{name}` in {}; images: {}",
                    project.path.display(),
                    known.join(", ")
                ))
                .into());
            }
        }
    }
    Ok(out)
}

/// The buildx builder a command uses: `--builder`, else the project's `builder:`, else
/// `BUILDX_BUILDER` (which buildx itself would use); `None` for buildx's current one.
pub fn builder_name(flag: Option<&str>, project: &Project) -> Option<String> {
    flag.map(str::to_string)
        .or_else(|| project.builder.clone())
        .or_else(|| {
            std::env::var("BUILDX_BUILDER")
                .ok()
                .filter(|b| !b.is_empty())
        })
}

/// Where a project's work directory is (see [`crate::workdir`]): `MPBUILD_WORK_DIR`,
/// else a directory per project under the user's cache directory. Nothing is created;
/// `plan` shows paths under it, `push` makes a directory of its own run inside it.
pub fn work_dir(project: &Project) -> PathBuf {
    crate::workdir::location(&project.dir).path
}

/// A registry client from the flags and the project's settings.
pub fn client(
    global: &Global,
    args: &RegistryArgs,
    mut insecure: Vec<String>,
) -> anyhow::Result<Arc<Client>> {
    insecure.extend(args.insecure.iter().cloned());
    Ok(Client::new(registry::Options {
        insecure,
        ca_file: args.ca_file.clone(),
        verbose: global.verbose,
        ..registry::Options::default()
    })?)
}

/// How progress is shown: nothing with `-q` or `--progress quiet`, plain lines when
/// asked (or with `--color never`), else bars on a terminal.
pub fn progress_mode(progress: ProgressArg) -> Mode {
    if quiet() || progress == ProgressArg::Quiet {
        Mode::Quiet
    } else if progress == ProgressArg::Plain || color() == ColorArg::Never {
        Mode::Plain
    } else {
        Mode::detect(false)
    }
}

// The output settings every printer needs (`-q`, `--color`), set once per run by
// `commands::run` before dispatch.
static QUIET: AtomicBool = AtomicBool::new(false);
static COLOR: AtomicU8 = AtomicU8::new(0);

/// Records the global output flags for this run.
pub fn set_output(global: &Global) {
    QUIET.store(global.quiet, Ordering::SeqCst);
    COLOR.store(global.color as u8, Ordering::SeqCst);
}

/// `-q`: errors only.
pub fn quiet() -> bool {
    QUIET.load(Ordering::SeqCst)
}

fn color() -> ColorArg {
    match COLOR.load(Ordering::SeqCst) {
        1 => ColorArg::Always,
        2 => ColorArg::Never,
        _ => ColorArg::Auto,
    }
}

/// Whether mpbuild's own messages on stderr are coloured: `--color always`, or
/// `auto` on a terminal without `NO_COLOR`.
pub fn color_stderr() -> bool {
    match color() {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            use std::io::IsTerminal;
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
        }
    }
}

/// A message's label (`error`, `warning`) in bold red or yellow when colour is on.
pub fn label(word: &str) -> String {
    if !color_stderr() {
        return format!("{word}:");
    }
    let code = if word == "error" { "1;31" } else { "1;33" };
    format!("\x1b[{code}m{word}\x1b[0m:")
}
