//! The values completion scripts offer where a service is named (`--target`,
//! `targets SERVICE`, `init --service`): the built-in catalog's services, and
//! SERVICE:ARCH for each architecture a service runs (of a project's catalog too: what
//! `mpbuild __complete-services` prints). Attached only to the command the scripts are
//! generated from — the values themselves (PowerShell, Elvish) or [`HOOK`] (bash, zsh,
//! fish, which ask mpbuild when completing): parsing still takes any text and checks it
//! against the catalog with the project's own services and a did-you-mean.

use clap::Command;
use clap::builder::{PossibleValue, PossibleValuesParser, Str};

use crate::catalog::{Catalog, Runs, specs};
use crate::platform::Platform;

/// (subcommand, argument id) of every argument that names a service.
const SERVICE_ARGS: [(&str, &str); 5] = [
    ("verify", "targets"),
    ("build", "targets"),
    ("mirror", "targets"),
    ("targets", "service"),
    ("init", "services"),
];

/// Every service of `catalog`, then SERVICE:ARCH for each platform a service that runs
/// more than one can be asked for (each checked to resolve as `--target` would take it);
/// each with what it is, for the shells that show a description (zsh, fish).
pub fn offered(catalog: &Catalog) -> Vec<(String, String)> {
    let host = Platform::host();
    let mut values: Vec<(String, String)> = catalog
        .services()
        .iter()
        .map(|s| (s.name.clone(), s.title.clone()))
        .collect();
    for service in catalog.services() {
        let Runs::Only(_) = &service.runs else {
            continue;
        };
        let runnable = service.runnable(&host).unwrap_or_default();
        if runnable.len() < 2 {
            continue;
        }
        for p in runnable {
            let value = format!("{}:{}{}", service.name, p.architecture, p.variant);
            let asked = specs::resolve(catalog, std::slice::from_ref(&value), &[], &host);
            if asked.is_ok() && !values.iter().any(|(v, _)| *v == value) {
                values.push((value, format!("{} on {p}", service.title)));
            }
        }
    }
    values
}

/// `cmd` with `values` as the possible values of every argument that names a service.
pub fn attach(cmd: Command, values: &[(String, String)]) -> Command {
    attach_each(cmd, || {
        values
            .iter()
            .map(|(v, title)| PossibleValue::new(Str::from(v.clone())).help(title.clone()))
            .collect()
    })
}

/// What stands for the values in a script generated with [`attach_hook`]: replaced by
/// a call that asks mpbuild at completion time (`completion_hooks.rs`).
pub const HOOK: &str = "__MPBUILD_SERVICES__";

/// `cmd` with the one value [`HOOK`] (no description) where a service is named.
pub fn attach_hook(cmd: Command) -> Command {
    attach_each(cmd, || vec![PossibleValue::new(HOOK)])
}

fn attach_each(cmd: Command, possible: impl Fn() -> Vec<PossibleValue>) -> Command {
    SERVICE_ARGS.iter().fold(cmd, |cmd, (sub, id)| {
        cmd.mut_subcommand(sub, |sc| {
            sc.mut_arg(id, |a| {
                a.value_parser(PossibleValuesParser::new(possible()))
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_their_architectures_are_offered() {
        let values: Vec<String> = offered(&Catalog::builtin())
            .into_iter()
            .map(|(v, _)| v)
            .collect();
        assert!(values.iter().any(|v| v == "ecs-fargate"), "{values:?}");
        assert!(values.iter().any(|v| v == "lambda:arm64"), "{values:?}");
        assert!(values.iter().any(|v| v == "cloud-run"), "{values:?}");
        // One-architecture services: SERVICE only.
        assert!(
            !values.iter().any(|v| v.starts_with("apprunner:")),
            "{values:?}"
        );
    }
}
