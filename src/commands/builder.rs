//! `mpbuild builder up|status|rm`: the builder declared in mpbuild.yaml.

use crate::builder::{self, Action, Declared};
use crate::printer::Printer;
use crate::settings::Settings;

/// A line on stdout through the printer, unless `-q`.
macro_rules! say {
    ($p:expr, $($t:tt)*) => {
        if !$p.quiet() {
            crate::outln!($p, $($t)*);
        }
    };
}
use crate::buildx::{self, BuildError};
use crate::cli::{BuilderCommand, Format};
use crate::exit::{Code, UsageError};

pub fn run(s: &Settings, cmd: &BuilderCommand) -> anyhow::Result<Code> {
    let p = s.printer();
    let project = s.project()?;
    let Some(declared) = project.declared_builder.clone() else {
        if let BuilderCommand::Status { format } = cmd {
            return undeclared_status(p, &project.path, *format);
        }
        return Err(UsageError::new(format!(
            "{} declares no builder; add `builder: {{name: …, nodes: [{{platforms: [linux/arm64], endpoint: tcp://…}}]}}`",
            project.path.display()
        ))
        .into());
    };
    let docker = buildx::docker::locate()?;
    // Builders are managed through the docker CLI, as a user would.
    buildx::docker::buildx_version(&buildx::docker::Launch::cli(docker.clone()))?;
    match cmd {
        BuilderCommand::Up { dry_run } => up(s, &docker, &declared, *dry_run),
        BuilderCommand::Status { format } => status(s.printer(), &docker, &declared, *format),
        BuilderCommand::Rm => {
            run_argv(
                &docker,
                &["buildx".into(), "rm".into(), declared.name.clone()],
            )?;
            say!(p, "removed builder {}", declared.name);
            Ok(Code::Ok)
        }
    }
}

/// `builder status` in a project that declares no builder: nothing is wrong (exit 0);
/// it says which builder `push` uses instead.
fn undeclared_status(p: &Printer, file: &std::path::Path, format: Format) -> anyhow::Result<Code> {
    match format {
        Format::Json => p.value(&serde_json::json!({
            "schema_version": super::output::SCHEMA_VERSION,
            "command": "builder status",
            "result": "ok",
            "exit_code": 0,
            "declared": false,
        })),
        Format::Text => say!(
            p,
            "{} declares no builder: `push` uses the current buildx builder (`docker buildx ls` marks it; `--builder NAME` picks another); declare one with `builder: {{name: …, nodes: […]}}` to manage it here",
            file.display()
        ),
    }
    Ok(Code::Ok)
}

/// The builder as buildx has it, or None when there is no such builder.
fn current(docker: &std::path::Path, name: &str) -> anyhow::Result<Option<buildx::Builder>> {
    match buildx::docker::inspect(
        &buildx::docker::Launch::cli(docker.to_path_buf()),
        Some(name),
    ) {
        Ok(b) => Ok(Some(b)),
        Err(BuildError::Inspect { message, .. })
            if message.contains("no builder") || message.contains("not found") =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn run_argv(docker: &std::path::Path, args: &[String]) -> anyhow::Result<()> {
    let out = crate::child::output(&duct::cmd(docker, args), buildx::docker::OUTPUT_CAP)?;
    if !out.status.success() {
        return Err(BuildError::Spawn {
            command: format!("docker {}", crate::shell::join(args)),
            message: crate::tool_output::exited(out.status, &out.stderr),
        }
        .into());
    }
    Ok(())
}

fn up(
    s: &Settings,
    docker: &std::path::Path,
    declared: &Declared,
    dry_run: bool,
) -> anyhow::Result<Code> {
    let (p, verbose) = (s.printer(), s.verbose);
    let actual = current(docker, &declared.name)?;
    let actions = builder::diff(declared, actual.as_ref());
    if actions.is_empty() {
        say!(
            p,
            "builder {} matches mpbuild.yaml: nothing to change",
            declared.name
        );
        return Ok(Code::Ok);
    }
    for a in &actions {
        let argv: Vec<String> = match a {
            Action::Remove { .. } => vec![
                "docker".into(),
                "buildx".into(),
                "rm".into(),
                declared.name.clone(),
            ],
            Action::Create { argv, .. } | Action::Leave { argv, .. } => argv.clone(),
        };
        say!(p, "{}", a.why());
        if dry_run || verbose {
            say!(p, "  $ {}", crate::shell::join(&argv));
        }
        if !dry_run {
            run_argv(docker, &argv[1..])?;
        }
    }
    Ok(Code::Ok)
}

/// One node as `builder status` reports it.
#[derive(Debug, serde::Serialize)]
struct NodeStatus {
    name: String,
    platforms: Vec<String>,
    endpoint: String,
    answers: bool,
    state: String,
}

fn status(
    p: &Printer,
    docker: &std::path::Path,
    declared: &Declared,
    format: Format,
) -> anyhow::Result<Code> {
    let Some(actual) = current(docker, &declared.name)? else {
        match format {
            Format::Json => p.value(&serde_json::json!({
                "schema_version": super::output::SCHEMA_VERSION,
                "command": "builder status",
                "result": "failed",
                "builder": declared.name,
                "exists": false,
                "ok": false,
                "exit_code": Code::Build.as_i32(),
                "nodes": [],
            })),
            Format::Text => say!(
                p,
                "builder {} does not exist: run `mpbuild builder up`",
                declared.name
            ),
        }
        return Ok(Code::Build);
    };
    let (nodes, all_up, buildx_error) = inspect(docker, declared)?;
    let code = if all_up { Code::Ok } else { Code::Build };
    match format {
        Format::Json => p.value(&serde_json::json!({
            "schema_version": super::output::SCHEMA_VERSION,
            "command": "builder status",
            "result": if all_up { "ok" } else { "failed" },
            "builder": declared.name,
            "driver": actual.driver,
            "exists": true,
            "ok": all_up,
            "exit_code": code.as_i32(),
            "nodes": nodes,
            "buildx_error": buildx_error,
        })),
        Format::Text => {
            say!(p, "builder {} (driver {})", declared.name, actual.driver);
            for n in &nodes {
                say!(
                    p,
                    "  {:16} {:10} {:40} {}",
                    n.name,
                    n.platforms.join(","),
                    n.endpoint,
                    n.state
                );
            }
            if let Some(line) = &buildx_error {
                say!(p, "  buildx: {line}");
            }
        }
    }
    Ok(code)
}

/// Each declared node as the builder has it (`--bootstrap` asks every node to answer),
/// whether all answer, and buildx's first error line when it failed.
fn inspect(
    docker: &std::path::Path,
    declared: &Declared,
) -> anyhow::Result<(Vec<NodeStatus>, bool, Option<String>)> {
    let out = crate::child::output(
        &duct::cmd(
            docker,
            ["buildx", "inspect", "--bootstrap", declared.name.as_str()],
        ),
        buildx::docker::OUTPUT_CAP,
    )?;
    let live = buildx::docker::parse_inspect(&String::from_utf8_lossy(&out.stdout));
    let nodes = node_statuses(declared, &live);
    let all_up = out.status.success() && nodes.iter().all(|n| n.answers);
    let buildx_error = (!out.status.success())
        .then(|| {
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
        })
        .flatten();
    Ok((nodes, all_up, buildx_error))
}

/// Each declared node against what `buildx inspect --bootstrap` says of it.
fn node_statuses(declared: &Declared, live: &buildx::Builder) -> Vec<NodeStatus> {
    declared
        .nodes
        .iter()
        .map(|n| {
            let found = live.nodes.iter().find(|a| a.name == n.name);
            let (answers, state, endpoint) = match found {
                Some(a) if a.status == "running" => {
                    (true, "answers".to_string(), a.endpoint.clone())
                }
                Some(a) => (
                    false,
                    format!(
                        "does not answer ({})",
                        if a.status.is_empty() {
                            "no status"
                        } else {
                            &a.status
                        }
                    ),
                    a.endpoint.clone(),
                ),
                None => (
                    false,
                    "missing: run `mpbuild builder up`".into(),
                    n.endpoint.clone().unwrap_or_default(),
                ),
            };
            NodeStatus {
                name: n.name.clone(),
                platforms: n.platforms.iter().map(ToString::to_string).collect(),
                endpoint,
                answers,
                state,
            }
        })
        .collect()
}
