//! `mpbuild completions SHELL` and `mpbuild man [--dir DIR]`: generated from the same
//! clap definitions that parse the arguments, so they cannot drift from them.

use std::path::Path;

use clap::CommandFactory;

use crate::catalog::Catalog;
use crate::cli::{Cli, project_options};
use crate::exit::{Code, UsageError};
use crate::settings::Settings;

/// Prints the completion script for `shell` on stdout: the project options only on the
/// commands that read a project, the catalog's services where a service is named.
pub fn completions(s: &Settings, shell: clap_complete::Shell) -> anyhow::Result<Code> {
    let mut cmd = for_completions();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mpbuild", &mut script);
    if shell == clap_complete::Shell::Bash {
        let text = String::from_utf8(script)?;
        script = super::completion_bash::with_colon_words(&text).into_bytes();
    }
    s.printer().document(&script)?;
    Ok(Code::Ok)
}

/// The command completion scripts are generated from (never the one that parses).
pub fn for_completions() -> clap::Command {
    let values = super::completion_values::offered(&Catalog::builtin());
    super::completion_values::attach(project_options::only_where_used(Cli::command()), &values)
}

/// The man pages: (file name, roff) for mpbuild and each subcommand, nested ones
/// included (`mpbuild-builder-up.1`).
pub fn pages() -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut cmd = crate::cli::command();
    cmd.build();
    let mut out = Vec::new();
    collect(&cmd, "mpbuild", &mut out)?;
    Ok(out)
}

fn collect(
    cmd: &clap::Command,
    name: &str,
    out: &mut Vec<(String, Vec<u8>)>,
) -> anyhow::Result<()> {
    let page = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "))
        .version(env!("CARGO_PKG_VERSION"));
    let mut roff = Vec::new();
    clap_mangen::Man::new(page).render(&mut roff)?;
    out.push((format!("{name}.1"), roff));
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        collect(sub, &format!("{name}-{}", sub.get_name()), out)?;
    }
    Ok(())
}

/// Prints mpbuild's man page, or writes every page into `dir`.
pub fn man(s: &Settings, dir: Option<&Path>) -> anyhow::Result<Code> {
    let pages = pages()?;
    match dir {
        None => s.printer().document(&pages[0].1)?,
        Some(dir) => {
            let write = |name: &str, roff: &[u8]| {
                std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(dir.join(name), roff))
                    .map_err(|e| {
                        UsageError::new(format!("cannot write {}: {e}", dir.join(name).display()))
                    })
            };
            for (name, roff) in &pages {
                write(name, roff)?;
            }
            crate::errln!(
                s.printer(),
                "wrote {} man pages to {}",
                pages.len(),
                dir.display()
            );
        }
    }
    Ok(Code::Ok)
}
