//! `mpbuild completions SHELL` and `mpbuild man [--dir DIR]`: generated from the same
//! clap definitions that parse the arguments, so they cannot drift from them.

use std::path::Path;

use clap::CommandFactory;

use super::completion_values;
use crate::catalog::Catalog;
use crate::cli::{Cli, project_options};
use crate::exit::{Code, UsageError};
use crate::settings::Settings;

/// Prints the completion script for `shell` on stdout: the project options only on the
/// commands that read a project, the services where a service is named — in bash, zsh
/// and fish asked of mpbuild when completing (the project's own `services:` too), in
/// the others the built-in catalog's, written into the script.
pub fn completions(s: &Settings, shell: clap_complete::Shell) -> anyhow::Result<Code> {
    use clap_complete::Shell;
    let hooked = matches!(shell, Shell::Bash | Shell::Zsh | Shell::Fish);
    let mut cmd = project_options::only_where_used(Cli::command());
    cmd = if hooked {
        completion_values::attach_hook(cmd)
    } else {
        completion_values::attach(cmd, &completion_values::offered(&Catalog::builtin()))
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "mpbuild", &mut script);
    if hooked {
        let text = String::from_utf8(script)?;
        let text = super::completion_hooks::with_hooks(shell, &text)?;
        script = match shell {
            Shell::Bash => super::completion_bash::with_colon_words(&text),
            _ => text,
        }
        .into_bytes();
    }
    s.printer().document(&script)?;
    Ok(Code::Ok)
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
