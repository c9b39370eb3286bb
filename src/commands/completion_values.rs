//! The values completion scripts offer where a service is named (`--target`,
//! `targets SERVICE`, `init --service`): the built-in catalog's services, and
//! SERVICE:ARCH for each architecture a service runs. Attached only to the command the
//! scripts are generated from: parsing still takes any text and checks it against the
//! catalog with the project's own services and a did-you-mean.

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
    let possible = || {
        values
            .iter()
            .map(|(v, title)| PossibleValue::new(Str::from(v.clone())).help(title.clone()))
    };
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
