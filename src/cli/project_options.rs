//! The options that point mpbuild at a project or change how it is read (`-f`, `--set`,
//! `--no-cache`, `--pull`). They are global, so `mpbuild -f x push` and
//! `mpbuild push -f x` both work; but `version`, `schema`, `completions` and `man` read
//! no project, and their help, man pages and completions must not offer them.

use clap::{Arg, Command};

/// The project options, by clap id.
pub const PROJECT_OPTIONS: [&str; 4] = ["file", "set", "no_cache", "pull"];

/// The commands that read no project file.
pub const NO_PROJECT: [&str; 4] = ["version", "schema", "completions", "man"];

/// For parsing, help and man pages: each project option stays global, and each command
/// that reads no project gets a hidden copy of its own — clap propagates a global
/// option only to subcommands without one of that id — so `mpbuild schema -f x` is
/// still accepted (and ignored, as before) while its help shows no `-f`.
pub fn hidden_where_unused(cmd: Command) -> Command {
    let options = project_options(&cmd);
    NO_PROJECT.iter().fold(cmd, |cmd, name| {
        cmd.mut_subcommand(name, |sc| {
            options
                .iter()
                .fold(sc, |sc, a| sc.arg(a.clone().global(false).hide(true)))
        })
    })
}

/// For completion scripts, which offer hidden options too: the project options are
/// top-level options (`mpbuild -f x push`) and options of each command that reads a
/// project (global below it, for `builder up`); the other commands have none.
pub fn only_where_used(cmd: Command) -> Command {
    let options = project_options(&cmd);
    let cmd = PROJECT_OPTIONS
        .iter()
        .fold(cmd, |cmd, id| cmd.mut_arg(id, |a| a.global(false)));
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .filter(|n| !NO_PROJECT.contains(&n.as_str()))
        .collect();
    names.iter().fold(cmd, |cmd, name| {
        cmd.mut_subcommand(name, |sc| {
            options.iter().fold(sc, |sc, a| sc.arg(a.clone()))
        })
    })
}

fn project_options(cmd: &Command) -> Vec<Arg> {
    cmd.get_arguments()
        .filter(|a| PROJECT_OPTIONS.contains(&a.get_id().as_str()))
        .cloned()
        .collect()
}
