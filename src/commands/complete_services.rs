//! `mpbuild __complete-services [--file FILE]`: what the completion scripts of bash, zsh
//! and fish ask for when a service is being named (see `completion_hooks.rs`). One value
//! a line, `VALUE<TAB>WHAT IT IS`: the catalog's services and their SERVICE:ARCH, with the
//! project's own `services:` (the project found as every command finds it, or FILE).
//!
//! Hidden: it is not a command of `Cli` (no help, man page, README row or completion of
//! its own). It never fails where a person sees it — it runs in the middle of a
//! command line: no project file, a broken one, one that takes more than [`DEADLINE`] to
//! read, or a usage mistake all give the built-in catalog's values, exit 0 and nothing
//! on stderr.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use crate::catalog::Catalog;

/// The name the scripts call it by.
pub const NAME: &str = "__complete-services";

/// How long finding and reading the project may take before the catalog's values are
/// printed without it (a file on a hung network mount; the read itself is bounded in
/// size by the config loader).
const DEADLINE: Duration = Duration::from_secs(1);

/// The longest description printed (a project's `title:` is the user's text).
const MAX_TITLE_CHARS: usize = 100;

/// `args`: what follows the command's name. Returns the exit code (always 0).
pub fn run(args: &[OsString]) -> i32 {
    let catalog = file_arg(args)
        .and_then(project_catalog)
        .unwrap_or_else(Catalog::builtin);
    let mut out = std::io::stdout().lock();
    // A shell that stopped reading is no error to report.
    let _ = out.write_all(lines(&catalog).as_bytes());
    let _ = out.flush();
    0
}

/// `--file F`, `--file=F`, `-f F`, `-fF` or `-f=F` (or none): `Some(file)` when the arguments
/// are understood, `None` otherwise (then the built-in catalog is what is offered).
fn file_arg(args: &[OsString]) -> Option<Option<PathBuf>> {
    let mut file = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let text = arg.to_str()?;
        if text == "--file" || text == "-f" {
            file = Some(PathBuf::from(it.next()?));
        } else if let Some(f) = text.strip_prefix("--file=") {
            file = Some(PathBuf::from(f));
        } else if let Some(f) = text.strip_prefix("-f").filter(|f| !f.is_empty()) {
            // clap takes `-f=F` as the file `F`.
            file = Some(PathBuf::from(f.strip_prefix('=').unwrap_or(f)));
        } else {
            return None;
        }
    }
    Some(file)
}

/// The catalog with the project's `services:`, found and read within [`DEADLINE`];
/// `None` for no project, a broken one, or one not read in time.
fn project_catalog(file: Option<PathBuf>) -> Option<Catalog> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let found = std::env::current_dir()
            .ok()
            .and_then(|cwd| crate::config::discover(file.as_deref(), &cwd).ok());
        let catalog = found.and_then(|path| crate::config::load_catalog(&path).ok());
        let _ = send.send(catalog);
    });
    // A read still blocked is left behind: the process exits when `run` returns.
    receive.recv_timeout(DEADLINE).ok().flatten()
}

/// The values, `VALUE<TAB>TITLE` a line. Only values a shell word can hold as they are
/// ([`shell_safe`]) — bash's `compgen -W` expands what it is given, so a project's
/// service named `$(…)` would run — and titles on one line, control characters escaped.
pub fn lines(catalog: &Catalog) -> String {
    let mut out = String::new();
    for (value, title) in super::completion_values::offered(catalog) {
        if !shell_safe(&value) {
            continue;
        }
        let title: String = crate::escape::line(&title)
            .chars()
            .take(MAX_TITLE_CHARS)
            .collect();
        out.push_str(&value);
        out.push('\t');
        out.push_str(&title);
        out.push('\n');
    }
    out
}

/// A value made of letters, digits, `.`, `_`, `-` and `:`, starting with a letter or
/// digit: nothing any shell expands or splits.
pub fn shell_safe(value: &str) -> bool {
    value.starts_with(|c: char| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_arguments() {
        let args = |a: &[&str]| file_arg(&a.iter().map(OsString::from).collect::<Vec<_>>());
        assert_eq!(args(&[]), Some(None));
        for form in [
            &["--file", "x.yaml"][..],
            &["--file=x.yaml"],
            &["-f", "x.yaml"],
            &["-fx.yaml"],
            &["-f=x.yaml"],
        ] {
            assert_eq!(args(form), Some(Some(PathBuf::from("x.yaml"))), "{form:?}");
        }
        assert_eq!(args(&["--file"]), None);
        assert_eq!(args(&["--other"]), None);
    }

    #[test]
    fn only_values_a_shell_takes_as_they_are() {
        for ok in ["ecs-fargate", "lambda:arm64", "my_box.v2"] {
            assert!(shell_safe(ok), "{ok}");
        }
        for bad in [
            "$(touch x)",
            "`x`",
            "a b",
            "-f",
            "~x",
            "{a,b}",
            "a*",
            "",
            "é",
        ] {
            assert!(!shell_safe(bad), "{bad}");
        }
    }
}
