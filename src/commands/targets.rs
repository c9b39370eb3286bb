//! `mpbuild targets`: the catalog, with where each fact comes from.

use crate::settings::Settings;
use std::fmt::Write as _;

use serde_json::json;

use crate::catalog::{Catalog, Fact, Origin, Service};
use crate::cli::{Format, TargetsArgs};
use crate::exit::{Code, UsageError};
use crate::platform::Platform;

pub fn run(s: &Settings, args: &TargetsArgs) -> anyhow::Result<Code> {
    // A project's own `services:` show up too, when there is a project here. No
    // project file is fine (the built-in catalog). A broken one still lists the
    // built-in catalog — an error elsewhere sends the user here to read it — after a
    // warning that says what is wrong with the file and that its services are missing.
    let catalog = match s.project() {
        Ok(p) => p.catalog,
        Err(e)
            if s.file.is_none()
                && matches!(
                    e.downcast_ref::<crate::config::ConfigError>(),
                    Some(crate::config::ConfigError::NotFound { .. })
                ) =>
        {
            Catalog::builtin()
        }
        Err(e) => {
            let text = format!("{e:#}");
            let first = text.lines().next().unwrap_or_default();
            // Where: the error's ` --> FILE:LINE:COL`, when it has one.
            let at = text
                .lines()
                .find_map(|l| l.trim_start().strip_prefix("--> "))
                .map(|at| format!("{at}: "))
                .unwrap_or_default();
            s.printer().labelled(
                "warning",
                &format!(
                    "{at}{first}; the built-in catalog follows, without the project's own `services:` (`mpbuild plan` shows the whole error)"
                ),
            );
            Catalog::builtin()
        }
    };
    let host = Platform::host();
    let services: Vec<&Service> = match &args.service {
        None => catalog.services().iter().collect(),
        Some(name) => match catalog.get(name) {
            Some(s) => vec![s],
            None => {
                let hint = catalog.did_you_mean(name);
                return Err(UsageError::new(format!("unknown service `{name}`{hint}"))
                    .with_help(format!("known services: {}", catalog.names().join(", ")))
                    .into());
            }
        },
    };
    match args.format {
        Format::Json => {
            let list: Vec<_> = services.iter().map(|s| to_json(s, &host)).collect();
            s.printer().value(&json!({
                "schema_version": super::output::SCHEMA_VERSION,
                "command": "targets",
                "result": "ok",
                "exit_code": 0,
                "services": list,
            }));
        }
        Format::Text if args.short => {
            crate::out!(s.printer(), "{}", render_short(&services, &host))
        }
        Format::Text => crate::out!(s.printer(), "{}", render_text(&services, &host)),
    }
    Ok(Code::Ok)
}

fn confirmed(s: &Service, fact: Fact) -> &'static str {
    if s.is_confirmed(fact) {
        ""
    } else {
        " (unconfirmed)"
    }
}

fn default_display(s: &Service, host: &Platform) -> String {
    s.default_platforms(host)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `targets --short`: one line per service — its name, the platforms it runs, its
/// title — in aligned columns.
pub fn render_short(services: &[&Service], host: &Platform) -> String {
    let rows: Vec<(String, String, &str)> = services
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                format!("{}{}", s.runs_display(host), confirmed(s, Fact::Platforms)),
                s.title.as_str(),
            )
        })
        .collect();
    let name_w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let runs_w = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
    let mut out = String::new();
    for (name, runs, title) in rows {
        let _ = writeln!(out, "{name:name_w$}  {runs:runs_w$}  {title}");
    }
    out
}

pub fn render_text(services: &[&Service], host: &Platform) -> String {
    let mut out = String::new();
    for (i, s) in services.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_service(&mut out, s, host);
    }
    out
}

/// One service's block.
fn render_service(out: &mut String, s: &Service, host: &Platform) {
    let _ = writeln!(out, "{} — {}", s.name, s.title);
    if let Some(status) = &s.status {
        let _ = writeln!(out, "  status        {status}");
    }
    if !s.aliases.is_empty() {
        let _ = writeln!(out, "  aliases       {}", s.aliases.join(", "));
    }
    let _ = writeln!(
        out,
        "  runs          {}{}",
        s.runs_display(host),
        confirmed(s, Fact::Platforms)
    );
    let _ = writeln!(out, "  default       {}", default_display(s, host));
    let _ = writeln!(out, "  arch set by   {}", s.arch_field);
    let manifest = match s.manifest {
        crate::catalog::ManifestKind::Index => "multi-platform index accepted",
        crate::catalog::ManifestKind::Single => {
            "single-platform manifest only (the target gets its own tag)"
        }
    };
    let _ = writeln!(
        out,
        "  manifest      {manifest}{}",
        confirmed(s, Fact::Manifest)
    );
    if let Some(media) = s.media_types {
        let action = if media == crate::catalog::MediaTypes::Docker {
            "; its tag gets a Docker V2 schema 2 manifest made from the build"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  media types   {}{}{action}",
            media.describe(),
            confirmed(s, Fact::MediaTypes)
        );
    }
    let _ = writeln!(out, "  attestations  {}", attestations(s));
    if let Some(note) = &s.note {
        let _ = writeln!(out, "  note          {note}");
    }
    for (n, src) in s.sources.iter().enumerate() {
        let label = if n == 0 { "sources" } else { "" };
        if src.supports.is_empty() {
            let _ = writeln!(out, "  {label:12}  {}", src.url);
        } else {
            let supports: Vec<String> = src.supports.iter().map(ToString::to_string).collect();
            let _ = writeln!(out, "  {label:12}  {} ({})", src.url, supports.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "  reviewed      {}",
        s.reviewed.as_deref().unwrap_or("not stated")
    );
    if let Origin::Project { line } = s.origin {
        let _ = writeln!(out, "  from          the project file, line {line}");
    }
}

/// What attestation manifests do to the service. They go into the index only where a
/// source confirms they are tolerated; elsewhere they are referrers.
fn attestations(s: &Service) -> &'static str {
    match (s.attestations, s.is_confirmed(Fact::Attestations)) {
        (crate::catalog::Attestations::Ok, true) => "tolerated (in the index)",
        (crate::catalog::Attestations::Ok, false) => {
            "tolerated (unconfirmed: as referrers until a source confirms it)"
        }
        (crate::catalog::Attestations::Break, c) => {
            if c {
                "break it (as referrers, out of the index)"
            } else {
                "break it (unconfirmed; as referrers, out of the index)"
            }
        }
        (crate::catalog::Attestations::Unknown, _) => "unknown (as referrers, out of the index)",
    }
}

fn to_json(s: &Service, host: &Platform) -> serde_json::Value {
    let runs = match s.runnable(host) {
        None => json!("any"),
        Some(list) => json!(list.iter().map(ToString::to_string).collect::<Vec<_>>()),
    };
    json!({
        "name": s.name,
        "title": s.title,
        "aliases": s.aliases,
        "platforms": runs,
        "default": s.default_platforms(host).iter().map(ToString::to_string).collect::<Vec<_>>(),
        "arch_field": s.arch_field,
        "arch_aliases": s.arch_aliases.iter().map(|(k, v)| (k.clone(), v.to_string())).collect::<std::collections::BTreeMap<_, _>>(),
        "manifest": s.manifest.as_str(),
        "attestations": s.attestations.as_str(),
        "media_types": s.media_types.map(|m| m.as_str()),
        "confirmed": {
            "platforms": s.is_confirmed(Fact::Platforms),
            "manifest": s.is_confirmed(Fact::Manifest),
            "attestations": s.is_confirmed(Fact::Attestations),
            "media_types": s.is_confirmed(Fact::MediaTypes),
        },
        "sources": s.source_urls(),
        "source_support": s.sources.iter().map(|src| json!({
            "url": src.url,
            "for": src.supports.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "note": s.note,
        "status": s.status,
        "reviewed": s.reviewed,
        "origin": match s.origin { Origin::Builtin => "builtin".to_string(), Origin::Project { line } => format!("project:{line}") },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_show_status_media_types_and_review_date() {
        let c = Catalog::builtin();
        let host = Platform::linux("amd64", "");
        let apprunner = c.get("apprunner").unwrap();
        let heroku = c.get("heroku").unwrap();
        let text = render_text(&[apprunner, heroku], &host);
        assert!(
            text.contains("  status        closed to new customers since 2026-04-30"),
            "{text}"
        );
        assert!(
            text.contains("  media types   Docker V2 schema 2 only, not OCI; its tag gets a Docker V2 schema 2 manifest made from the build\n"),
            "{text}"
        );
        let fargate = c.get("ecs-fargate").unwrap();
        let text = render_text(&[fargate, c.get("cloud-run").unwrap()], &host);
        assert!(
            text.contains(
                "  attestations  tolerated (unconfirmed: as referrers until a source confirms it)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  attestations  tolerated (in the index)\n"),
            "{text}"
        );
        assert_eq!(
            text.matches("  reviewed      2026-11-28\n").count(),
            2,
            "{text}"
        );
        let v = to_json(heroku, &host);
        assert_eq!(v["reviewed"], "2026-11-28");
        assert_eq!(v["media_types"], "docker");
        assert_eq!(v["confirmed"]["media_types"], true);
        assert!(
            v["sources"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s.is_string())
        );
        assert!(
            v["source_support"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["for"] == json!(["manifest", "media_types"]))
        );
        let v = to_json(apprunner, &host);
        assert!(v["status"].as_str().unwrap().contains("ecs-express"));
        assert_eq!(v["media_types"], serde_json::Value::Null);
    }
}
