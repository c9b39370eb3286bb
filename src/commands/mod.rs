//! Each subcommand, carried out. `run` parses, dispatches, prints the error of a failed
//! command and picks the exit code; everything a command prints for a person goes
//! through here or the command's own module.

mod build;
mod builder;
mod check;
mod clean;
mod complete_services;
mod completion_bash;
mod completion_hooks;
mod completion_values;
mod docs;
mod doctor;
mod init;
mod merge;
mod mirror;
mod output;
mod plan;
mod push;
mod smoke;
mod targets;
mod verify;

use clap::FromArgMatches;
use std::ffi::OsString;

use crate::cli::{Cli, Command};
use crate::exit::Code;
use crate::settings::Settings;

/// Parses `args`, runs the command and returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // What completion scripts ask while a line is typed: not a command of `Cli`, so no
    // help, man page or completion shows it.
    if args.get(1).is_some_and(|a| a == complete_services::NAME) {
        return complete_services::run(&args[2..]);
    }
    let parsed = crate::cli::command()
        .color(clap_color(&args))
        .try_get_matches_from(&args)
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // `mpbuild smoke REF cat /msg`: the command belongs after `--`.
            if e.kind() == clap::error::ErrorKind::UnknownArgument
                && args.iter().skip(1).any(|a| a == "smoke")
                && !args.iter().any(|a| a == "--")
            {
                eprintln!(
                    "tip: the command to run goes after `--`: mpbuild smoke REF -- CMD [ARG…] (e.g. `mpbuild smoke REF -- cat /msg`)"
                );
            }
            return if e.use_stderr() {
                Code::Usage.as_i32()
            } else {
                Code::Ok.as_i32()
            };
        }
    };
    let settings = Settings::new(&cli.global);
    let printer = settings.printer().clone();
    // Every command: Ctrl-C and SIGTERM stop the waits, then the command says what
    // stayed where it was and exits 130 (see `cancel`).
    crate::cancel::install(&printer);
    let json = json_command(&cli.command);
    let metadata = metadata_file(&cli.command);
    match dispatch(&settings, cli.command) {
        // A command that reports failures as its result (check's registry errors):
        // after a signal they are the interrupt's (unless it said so itself).
        Ok(code) if code != Code::Ok && code != Code::Interrupted && crate::cancel::requested() => {
            printer.labelled("error", "interrupted");
            Code::Interrupted.as_i32()
        }
        Ok(code) => code.as_i32(),
        Err(err) => {
            printer.error(&err);
            // Whatever failed after a signal failed because of it.
            let code = if crate::cancel::requested() {
                Code::Interrupted
            } else {
                classify(&err)
            };
            if let Some(command) = json {
                output::error_json(&printer, command, &err, code);
            }
            if let Some((command, path)) = &metadata {
                output::error_metadata(&printer, path, command, &err, code);
            }
            code.as_i32()
        }
    }
}

/// The command's name when it was asked for JSON (`--format json`): a failure then
/// prints a JSON document too.
fn json_command(command: &Command) -> Option<&'static str> {
    use crate::cli::{BuilderCommand, Format, PlanFormat};
    let json = |f: Format, name| (f == Format::Json).then_some(name);
    match command {
        // The github-matrix is JSON (a failure's document too); the gitlab-pipeline is
        // YAML, so its failure is text on stderr and nothing on stdout.
        Command::Plan(a) => {
            matches!(a.format, PlanFormat::Json | PlanFormat::GithubMatrix).then_some("plan")
        }
        Command::Targets(a) => json(a.format, "targets"),
        Command::Verify(a) => json(a.format, "verify"),
        Command::Check(a) => json(a.format, "check"),
        Command::Push(a) => json(a.report.format, "push"),
        Command::Merge(a) => json(a.report.format, "merge"),
        Command::Build(a) => json(a.format, "build"),
        Command::Mirror(a) => json(a.format, "mirror"),
        Command::Doctor(a) => json(a.format, "doctor"),
        Command::Smoke(a) => json(a.format, "smoke"),
        Command::Builder(BuilderCommand::Status { format }) => json(*format, "builder status"),
        _ => None,
    }
}

/// `push`'s or `merge`'s `--metadata-file`, which holds a document whatever happened.
fn metadata_file(command: &Command) -> Option<(&'static str, std::path::PathBuf)> {
    match command {
        Command::Push(a) => a.report.metadata_file.clone().map(|p| ("push", p)),
        Command::Merge(a) => a.report.metadata_file.clone().map(|p| ("merge", p)),
        _ => None,
    }
}

fn dispatch(s: &Settings, command: Command) -> anyhow::Result<Code> {
    match command {
        Command::Plan(args) => plan::run(s, &args),
        Command::Targets(args) => targets::run(s, &args),
        Command::Init(args) => init::run(s, &args),
        Command::Verify(args) => verify::run(s, &args),
        Command::Check(args) => check::run(s, &args),
        Command::Push(args) => push::run(s, &args),
        Command::Merge(args) => merge::run(s, &args),
        Command::Build(args) => build::run(s, &args),
        Command::Mirror(args) => mirror::run(s, &args),
        Command::Doctor(args) => doctor::run(s, &args),
        Command::Smoke(args) => smoke::run(s, &args),
        Command::Builder(cmd) => builder::run(s, &cmd),
        Command::Clean(args) => clean::run(s, &args),
        Command::Completions { shell } => docs::completions(s, shell),
        Command::Man { dir } => docs::man(s, dir.as_deref()),
        Command::Version { format } => version(s, format),
        Command::Schema => {
            crate::out!(s.printer(), "{}", crate::config::schema::render());
            Ok(Code::Ok)
        }
    }
}

/// `mpbuild version`: the version, the commit, and how old the catalog's facts are.
fn version(s: &Settings, format: crate::cli::Format) -> anyhow::Result<Code> {
    let p = s.printer();
    use crate::version::{COMMIT, VERSION, review_dates};
    let catalog = crate::catalog::Catalog::builtin();
    let (oldest, newest) = review_dates(&catalog).unwrap_or_default();
    match format {
        crate::cli::Format::Json => p.value(&serde_json::json!({
            "schema_version": output::SCHEMA_VERSION,
            "command": "version",
            "result": "ok",
            "exit_code": 0,
            "version": VERSION,
            "commit": COMMIT,
            "catalog": {
                "services": catalog.services().len(),
                "reviewed_oldest": oldest,
                "reviewed_newest": newest,
            },
        })),
        crate::cli::Format::Text => {
            let reviewed = if oldest == newest {
                newest
            } else {
                format!("{oldest} to {newest} (oldest to newest)")
            };
            crate::outln!(p, "mpbuild {VERSION}");
            crate::outln!(p, "commit   {COMMIT}");
            crate::outln!(
                p,
                "catalog  {} services, reviewed {reviewed}",
                catalog.services().len()
            );
        }
    }
    Ok(Code::Ok)
}

/// clap's colour for help and usage errors, from `--color` (read before parsing, since
/// clap prints those while it parses); `auto` lets clap look at the terminal and
/// `NO_COLOR`.
fn clap_color(args: &[OsString]) -> clap::ColorChoice {
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    let mut value = None;
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        }
        if let Some(v) = a.strip_prefix("--color=") {
            value = Some(v.to_string());
        } else if a == "--color" {
            value = it.next().map(|v| v.to_string());
        }
    }
    match value.as_deref() {
        Some("always") => clap::ColorChoice::Always,
        Some("never") => clap::ColorChoice::Never,
        _ => clap::ColorChoice::Auto,
    }
}

/// The exit code for an error that reached the top (see [`crate::error::Error`]).
pub fn classify(err: &anyhow::Error) -> Code {
    crate::error::Error::of(err).code()
}
