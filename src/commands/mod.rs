//! Each subcommand, carried out. `run` parses, dispatches, prints the error of a failed
//! command and picks the exit code; everything a command prints for a person goes
//! through here or the command's own module.

mod build;
mod builder;
mod doctor;
mod init;
mod mirror;
mod plan;
mod push;
mod targets;
mod verify;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{Cli, Command, Global};
use crate::config::{self, Env, Project};
use crate::exit::{self, Code};

/// Parses `args`, runs the command and returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Code::Usage.as_i32()
            } else {
                Code::Ok.as_i32()
            };
        }
    };
    match dispatch(cli) {
        Ok(code) => code.as_i32(),
        Err(err) => {
            report(&err);
            exit::classify(&err).as_i32()
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<Code> {
    match cli.command {
        Command::Plan(args) => plan::run(&cli.global, &args),
        Command::Targets(args) => targets::run(&cli.global, &args),
        Command::Init(args) => init::run(&cli.global, &args),
        Command::Verify(args) => verify::run(&cli.global, &args),
        Command::Push(args) => push::run(&cli.global, &args),
        Command::Build(args) => build::run(&cli.global, &args),
        Command::Mirror(args) => mirror::run(&cli.global, &args),
        Command::Doctor(args) => doctor::run(&cli.global, &args),
        Command::Builder(cmd) => builder::run(&cli.global, &cmd),
    }
}

/// Prints an error: the message, then any cause the message does not already say.
fn report(err: &anyhow::Error) {
    let top = err.to_string();
    let mut text = format!("error: {top}");
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(&format!("\n  caused by: {c}"));
        }
    }
    eprintln!("{text}");
}

/// Finds and loads the project file.
pub(crate) fn load_project(global: &Global) -> anyhow::Result<Project> {
    let cwd = std::env::current_dir()?;
    let path = config::discover(global.file.as_deref(), &cwd)?;
    Ok(config::load(&path, &Env::process())?)
}

/// Where buildx writes metadata files and OCI layouts for a project: a directory under
/// the system temp dir named after the project's path, so runs of one project reuse it
/// and different projects never share one. `MPBUILD_WORK_DIR` overrides it.
pub(crate) fn work_dir(project: &Project) -> PathBuf {
    if let Some(dir) = std::env::var_os("MPBUILD_WORK_DIR") {
        return PathBuf::from(dir);
    }
    let abs = std::fs::canonicalize(&project.dir).unwrap_or_else(|_| project.dir.clone());
    std::env::temp_dir().join(format!("mpbuild-{}", short_hash(&abs)))
}

fn short_hash(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}
