//! What a command needs from the flags, the environment and the project, resolved in
//! one place, once per run: [`Settings`] is made from the global flags when the command
//! line is parsed, and holds the run's [`Printer`]; the project file, the `--image`
//! selection, the builder, the registry client and the progress display come from it.
//! A command reads as settings → stage → printer; no command imports another.

use std::path::PathBuf;
use std::sync::Arc;

use crate::buildx::{Mode, Ui};
use crate::cli::{ColorArg, Global, ProgressArg, RegistryArgs};
use crate::config::{self, Env, Image, Project};
use crate::exit::UsageError;
use crate::printer::Printer;
use crate::registry::{self, Client};

/// The run's settings: the global flags and the printer made from them.
#[derive(Debug)]
pub struct Settings {
    /// `-f FILE`.
    pub file: Option<PathBuf>,
    /// `-v`: each external command and registry request shown.
    pub verbose: bool,
    printer: Printer,
    /// `--set`, then `--no-cache` and `--pull`, as given (parsed when the project is
    /// loaded: a bad one is a usage error there).
    overrides: Vec<String>,
}

impl Settings {
    pub fn new(global: &Global) -> Settings {
        Settings {
            file: global.file.clone(),
            verbose: global.verbose,
            printer: Printer::new(global.quiet, global.color),
            overrides: global
                .set
                .iter()
                .cloned()
                .chain(global.no_cache.then(|| "*.no_cache".to_string()))
                .chain(global.pull.then(|| "*.pull".to_string()))
                .collect(),
        }
    }

    /// The global flags that choose the project and its overrides (`--file`, each
    /// `--set`, `--no-cache` and `--pull` as their `--set` form), for a command another
    /// job runs on the same project.
    pub fn passed_on(&self) -> Vec<String> {
        let file = self
            .file
            .iter()
            .flat_map(|f| ["--file".to_string(), f.display().to_string()]);
        let sets = self
            .overrides
            .iter()
            .flat_map(|o| ["--set".to_string(), o.clone()]);
        file.chain(sets).collect()
    }

    /// The one writer of stdout and stderr for this run.
    pub fn printer(&self) -> &Printer {
        &self.printer
    }

    /// The project file: `-f`, else `mpbuild.yaml` here or in the nearest parent.
    pub fn project_file(&self) -> anyhow::Result<PathBuf> {
        let cwd = std::env::current_dir()?;
        Ok(config::discover(self.file.as_deref(), &cwd)?)
    }

    /// The project, loaded and checked.
    pub fn project(&self) -> anyhow::Result<Project> {
        let overrides = self.overrides()?;
        let env = Env {
            overrides: &overrides,
            ..Env::process()
        };
        Ok(config::load(&self.project_file()?, &env)?)
    }

    /// `--set IMAGE.KEY=VALUE`, `--no-cache` and `--pull`, parsed.
    fn overrides(&self) -> Result<Vec<config::Override>, config::OverrideError> {
        self.overrides
            .iter()
            .map(|s| config::Override::parse(s))
            .collect()
    }

    /// The project for a preview (`plan`): an unset `${VAR}` is shown as a placeholder,
    /// and a warning line names the variables.
    pub fn project_preview(&self) -> anyhow::Result<Project> {
        let overrides = self.overrides()?;
        let env = Env {
            overrides: &overrides,
            ..Env::preview()
        };
        let project = config::load(&self.project_file()?, &env)?;
        let unset = project.placeholders();
        if !unset.is_empty() {
            let names: Vec<String> = unset.iter().map(|n| format!("${{{n}}}")).collect();
            self.printer.labelled(
                "warning",
                &format!(
                    "{} not set: shown as {}; `push` and `merge` refuse to run until {} set",
                    names.join(", "),
                    config::placeholder(&unset[0]),
                    if unset.len() == 1 {
                        "it is"
                    } else {
                        "they are"
                    }
                ),
            );
        }
        Ok(project)
    }

    /// The buildx builder a command uses: `--builder`, else the project's `builder:`,
    /// else `BUILDX_BUILDER` (which buildx itself would use); `None` for buildx's
    /// current one.
    pub fn builder(&self, flag: Option<&str>, project: Option<&Project>) -> Option<String> {
        flag.map(str::to_string)
            .or_else(|| project.and_then(|p| p.builder.clone()))
            .or_else(|| {
                std::env::var("BUILDX_BUILDER")
                    .ok()
                    .filter(|b| !b.is_empty())
            })
    }

    /// A registry client from the flags and the project's `insecure_registries`; with
    /// `-v` it logs each request through the printer.
    pub fn client(
        &self,
        args: &RegistryArgs,
        mut insecure: Vec<String>,
    ) -> anyhow::Result<Arc<Client>> {
        insecure.extend(args.insecure.iter().cloned());
        Ok(Client::new(registry::Options {
            insecure,
            ca_file: args.ca_file.clone(),
            log: self.verbose.then(|| self.printer.clone()),
            ..registry::Options::default()
        })?)
    }

    /// How progress is shown: nothing with `-q` or `--progress quiet`, plain lines when
    /// asked (or with `--color never`), else bars on a terminal.
    pub fn mode(&self, progress: ProgressArg) -> Mode {
        if self.printer.quiet() || progress == ProgressArg::Quiet {
            Mode::Quiet
        } else if progress == ProgressArg::Plain || self.printer.color() == ColorArg::Never {
            Mode::Plain
        } else {
            Mode::detect(false)
        }
    }

    /// The progress display of a command that works a while.
    pub fn ui(&self, progress: ProgressArg) -> Ui {
        Ui::new(&self.printer, self.mode(progress))
    }
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
                return Err(UsageError::new(format!(
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

/// Where a project's work directory is (see [`crate::workdir`]): `MPBUILD_WORK_DIR`,
/// else a directory per project under the user's cache directory. Nothing is created;
/// `plan` shows paths under it, `push` makes a directory of its own run inside it.
pub fn work_dir(project: &Project) -> PathBuf {
    crate::workdir::location(&project.dir).path
}
