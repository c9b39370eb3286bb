//! `mpbuild init`: writes a commented mpbuild.yaml from `templates/`, never over an
//! existing file.

use crate::settings::Settings;
use std::fmt::Write as _;
use std::path::Path;

use crate::catalog::{Catalog, ManifestKind};
use crate::cli::InitArgs;
use crate::config::FILE_NAME;
use crate::exit::{Code, UsageError};
use crate::platform::Platform;

const TEMPLATE: &str = include_str!("../../templates/mpbuild.yaml");

pub fn run(s: &Settings, args: &InitArgs) -> anyhow::Result<Code> {
    let path = s
        .file
        .clone()
        .unwrap_or_else(|| Path::new(FILE_NAME).to_path_buf());
    nothing_there(&path)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir_name = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "app".into());
    let name = args.name.clone().unwrap_or_else(|| sanitize(&dir_name));
    let repository = args
        .repository
        .clone()
        .unwrap_or_else(|| format!("registry.example.com/{}", repository_component(&dir_name)));
    let catalog = Catalog::builtin();
    let text = render(
        &catalog,
        &name,
        &repository,
        &args.services,
        &Platform::host(),
    )?;
    let quiet = s.printer().quiet();
    for note in status_notes(&catalog, &args.services) {
        if !quiet {
            crate::errln!(s.printer(), "note: {note}");
        }
    }
    write_new(&path, &text)?;
    if quiet {
        return Ok(Code::Ok);
    }
    crate::errln!(s.printer(), "wrote {}", path.display());
    if !dir.join("Dockerfile").exists() {
        crate::errln!(
            s.printer(),
            "note: no Dockerfile in {} yet; set `dockerfile:` if it lives elsewhere",
            dir.display()
        );
    }
    // With --repository the file is ready: only `plan` is left to do.
    crate::errln!(
        s.printer(),
        "{}",
        if args.repository.is_some() {
            "next: run `mpbuild plan`"
        } else {
            "next: edit `repository:`, then run `mpbuild plan`"
        }
    );
    Ok(Code::Ok)
}

/// Refuses a path where something is (the name itself, not what it points at: a link
/// there, even one to nowhere, is never written through).
fn nothing_there(path: &Path) -> Result<(), UsageError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(UsageError::new(format!(
            "{} is a symlink (to {}); mpbuild init never writes through a link, which could put the file outside the project",
            path.display(),
            std::fs::read_link(path).unwrap_or_default().display()
        ))
        .with_help("remove the link, or pass -f OTHER.yaml")),
        Ok(_) => Err(exists(path)),
        Err(_) => Ok(()),
    }
}

/// Writes `text` to a file created here, never opened: O_EXCL fails on anything found
/// there (a link planted since the check included) instead of following or truncating
/// it.
fn write_new(path: &Path, text: &str) -> Result<(), UsageError> {
    let written = std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()));
    written.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => exists(path),
        _ => UsageError::new(format!("cannot write {}: {e}", path.display())),
    })
}

fn exists(path: &Path) -> UsageError {
    UsageError::new(format!(
        "{} already exists; mpbuild init never overwrites a file",
        path.display()
    ))
    .with_help("edit it, or pass -f OTHER.yaml")
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if s.is_empty() { "app".into() } else { s }
}

/// A repository path component from a directory name: lowercase letters and digits,
/// starting and ending with one (`.tmpXYZ` → `tmpxyz`), runs of anything else as one `-`.
fn repository_component(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "app".into()
    } else {
        out.to_string()
    }
}

/// "apprunner: closed to new customers …" for each asked-for service whose catalog
/// entry has a status, once each.
pub fn status_notes(catalog: &Catalog, specs: &[String]) -> Vec<String> {
    let mut notes: Vec<String> = Vec::new();
    for spec in specs {
        let svc = spec.split_once(':').map_or(spec.as_str(), |(s, _)| s);
        if let Some(service) = catalog.get(svc)
            && let Some(status) = &service.status
        {
            let note = format!("{}: {status}", service.name);
            if !notes.contains(&note) {
                notes.push(note);
            }
        }
    }
    notes
}

/// The file's text for these `SERVICE[:ARCH]` specs; an unknown service or arch is a
/// usage error with a suggestion.
pub fn render(
    catalog: &Catalog,
    name: &str,
    repository: &str,
    specs: &[String],
    host: &Platform,
) -> anyhow::Result<String> {
    let specs: Vec<String> = if specs.is_empty() {
        vec!["local".into()]
    } else {
        specs.to_vec()
    };
    let mut targets = String::new();
    for spec in &specs {
        target(&mut targets, catalog, spec, &specs, host)?;
    }
    Ok(TEMPLATE
        .replace("{{schema}}", crate::config::schema::SCHEMA_URL)
        .replace("{{name}}", name)
        .replace("{{repository}}", repository)
        .replace("{{targets}}\n", &targets))
}

/// The `targets:` entry of one `--service SERVICE[:ARCH]` (of all of `specs`).
fn target(
    targets: &mut String,
    catalog: &Catalog,
    spec: &str,
    specs: &[String],
    host: &Platform,
) -> Result<(), UsageError> {
    let (svc, arch) = match spec.split_once(':') {
        Some((s, a)) => (s, Some(a)),
        None => (spec, None),
    };
    let Some(service) = catalog.get(svc) else {
        let hint = catalog.did_you_mean(svc);
        return Err(
            UsageError::new(format!("--service {spec}: unknown service `{svc}`{hint}"))
                .with_help("`mpbuild targets` lists the services mpbuild knows"),
        );
    };
    let _ = writeln!(targets, "      - service: {}", service.name);
    let mut platform = service.default_platforms(host).first().cloned();
    if let Some(arch) = arch {
        let p = service.parse_arch(arch).map_err(|e| {
            UsageError::new(format!("--service {spec}: {e}")).with_help(service.rule(host))
        })?;
        if !service.can_run(&p, host) {
            return Err(UsageError::new(format!(
                "--service {spec}: {} cannot run {p}",
                service.name
            ))
            .with_help(service.rule(host)));
        }
        let _ = writeln!(targets, "        arch: {arch}");
        platform = Some(p);
    }
    if service.manifest == ManifestKind::Single {
        let mut tag = format!("latest-{}", service.name);
        if single_count(catalog, specs, &service.name) > 1
            && let Some(p) = &platform
        {
            let arch = std::iter::once(p.architecture.as_str())
                .chain((!p.variant.is_empty()).then_some(p.variant.as_str()))
                .collect::<Vec<_>>()
                .join("-");
            tag = format!("{tag}-{arch}");
        }
        let _ = writeln!(
            targets,
            "        tag: \"{tag}\"   # {} needs a single-platform manifest with its own tag",
            service.title
        );
    }
    Ok(())
}

/// How many single-manifest targets service `name` gets: a service named more than
/// once needs a tag per architecture (one tag points at one manifest).
fn single_count(catalog: &Catalog, specs: &[String], name: &str) -> usize {
    specs
        .iter()
        .filter(|spec| {
            let svc = spec.split_once(':').map_or(spec.as_str(), |(s, _)| s);
            catalog
                .get(svc)
                .is_some_and(|s| s.name == name && s.manifest == ManifestKind::Single)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_from_any_directory_name_are_valid() {
        for (dir, want) in [
            (".tmpAbC12", "tmpabc12"),
            ("My App!", "my-app"),
            ("__x__", "x"),
            ("...", "app"),
            ("api", "api"),
        ] {
            let got = repository_component(dir);
            assert_eq!(got, want, "{dir}");
            crate::registry::Reference::parse(&format!("registry.example.com/{got}:latest"))
                .unwrap();
        }
    }

    #[test]
    fn closed_services_get_a_note() {
        let c = Catalog::builtin();
        let notes = status_notes(
            &c,
            &[
                "app-runner".into(),
                "apprunner".into(),
                "ecs-fargate".into(),
            ],
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("apprunner: closed to new customers since 2026-04-30"));
        assert!(notes[0].contains("ecs-express"));
    }

    #[test]
    fn rendered_template_is_a_valid_project() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let text = render(
            &Catalog::builtin(),
            "api",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/api",
            &["apprunner".into(), "lambda:arm64".into(), "local".into()],
            &Platform::linux("arm64", ""),
        )
        .unwrap();
        let env = crate::config::Env {
            host: Platform::linux("arm64", ""),
            var: &|_| None,
            preview: false,
            overrides: &[],
            git: &|_| crate::gitmeta::GitMeta::default(),
        };
        let p = crate::config::parse(&dir.path().join("mpbuild.yaml"), &text, &env).unwrap();
        assert_eq!(p.images[0].targets.len(), 3);
    }

    #[test]
    fn one_service_twice_gets_a_tag_per_architecture() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        let host = Platform::linux("amd64", "");
        let text = render(
            &Catalog::builtin(),
            "api",
            "r.example.com/api",
            &["lambda".into(), "lambda:arm64".into(), "heroku".into()],
            &host,
        )
        .unwrap();
        assert!(text.contains("tag: \"latest-lambda-amd64\""), "{text}");
        assert!(text.contains("tag: \"latest-lambda-arm64\""), "{text}");
        assert!(text.contains("tag: \"latest-heroku\""), "{text}");
        let env = crate::config::Env {
            host,
            var: &|_| None,
            preview: false,
            overrides: &[],
            git: &|_| crate::gitmeta::GitMeta::default(),
        };
        let p = crate::config::parse(&dir.path().join("mpbuild.yaml"), &text, &env).unwrap();
        let tags: Vec<_> = p.images[0]
            .targets
            .iter()
            .filter_map(|t| t.tag.clone())
            .collect();
        assert_eq!(
            tags,
            vec![
                "latest-lambda-amd64",
                "latest-lambda-arm64",
                "latest-heroku"
            ]
        );
    }

    #[test]
    fn unknown_service_and_bad_arch_are_usage_errors() {
        let host = Platform::linux("amd64", "");
        let e = render(&Catalog::builtin(), "a", "r/a", &["apprunnr".into()], &host).unwrap_err();
        assert!(e.to_string().contains("did you mean `apprunner`"), "{e}");
        let e = render(
            &Catalog::builtin(),
            "a",
            "r/a",
            &["apprunner:arm64".into()],
            &host,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("apprunner cannot run linux/arm64"),
            "{e}"
        );
    }
}
