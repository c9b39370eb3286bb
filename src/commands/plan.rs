//! `mpbuild plan`: what each image needs and why, and the exact command, without Docker.

use crate::settings::Settings;
use std::fmt::Write as _;

use crate::cli::{DriverArg, PlanArgs, PlanFormat};
use crate::exit::{Code, UsageError};
use crate::plan::{ImagePlan, Options, Output, Plan};
use crate::platform::Platform;
use crate::shell;

pub fn run(s: &Settings, args: &PlanArgs) -> anyhow::Result<Code> {
    let runners = runners(args)?;
    let project = s.project_preview()?;
    let images = crate::settings::select_images(&project, &args.images)?;
    let options = Options {
        output: match args.driver {
            Some(DriverArg::Docker) => Output::OciLayout,
            Some(DriverArg::PushByDigest) => Output::PushByDigest,
            None => match &project.declared_builder {
                Some(d) if d.driver != "docker" => Output::PushByDigest,
                _ => Output::OciLayout,
            },
        },
        work_dir: crate::settings::work_dir(&project),
        builder: s.builder(args.builder.as_deref(), Some(&project)),
    };
    let plan = Plan::for_images(&project, &images, &options);
    for (p, _) in &runners {
        let platforms: Vec<Platform> = plan
            .matrix()
            .include
            .into_iter()
            .map(|e| e.platform)
            .collect();
        if !platforms.iter().any(|q| q.matches(p)) {
            return Err(UsageError::new(format!(
                "--runner {p}=…: no image of the plan builds {p} (its platforms: {})",
                crate::platform::list(&platforms)
            ))
            .into());
        }
    }
    // Which RUN steps will run under emulation, on the builder buildx's files describe.
    let builder = crate::emulation::plan_builder(&project, options.builder.as_deref());
    let forecasts =
        crate::emulation::forecast_plan(&plan, &project.dir, &options.work_dir, &builder);
    // The commands run in the project directory: printed with `cd DIR &&`, so they
    // run as printed from anywhere.
    let cwd = std::fs::canonicalize(&project.dir).unwrap_or_else(|_| project.dir.clone());
    match args.format {
        PlanFormat::Json => {
            /// The plan's document: `schema_version` first, then the plan's fields.
            #[derive(serde::Serialize)]
            struct Doc<'a> {
                schema_version: u32,
                command: &'static str,
                result: &'static str,
                exit_code: i32,
                /// The directory the commands run in.
                cwd: &'a std::path::Path,
                #[serde(flatten)]
                plan: &'a Plan,
                /// Per image: the RUN steps each platform runs under emulation, and
                /// the remedies.
                emulation: &'a [crate::emulation::forecast::Forecast],
            }
            s.printer().json(&serde_json::to_string_pretty(&Doc {
                schema_version: super::output::SCHEMA_VERSION,
                command: "plan",
                result: "ok",
                exit_code: 0,
                cwd: &cwd,
                plan: &plan,
                emulation: &forecasts,
            })?)
        }
        // GitHub's matrix format, read by `fromJSON` as the matrix itself: an extra key
        // would become a matrix dimension, so this one carries no schema_version.
        PlanFormat::GithubMatrix => s.printer().json(&serde_json::to_string(
            &plan.matrix_with(&runners, crate::plan::runner_label),
        )?),
        // YAML for `trigger: include: artifact:`; the commands carry -f and --set on.
        PlanFormat::GitlabPipeline => {
            let global = s.passed_on();
            for set in crate::plan::gitlab::secrets_in_clear(&global) {
                s.printer().labelled(
                    "warning",
                    &format!(
                        "{set}: its value is written in clear into every job's script of the pipeline (an artifact anyone with access to the pipeline can download); for a secret, pass the CI variable's name in single quotes, e.g. --set 'app.build_args.NPM_TOKEN=${{NPM_TOKEN}}': mpbuild expands it in each job"
                    ),
                );
            }
            crate::out!(
                s.printer(),
                "{}",
                plan.gitlab_pipeline(&global, &args.images, &runners)
            )
        }
        PlanFormat::Text => crate::out!(
            s.printer(),
            "{}",
            render_text(&plan, &forecasts, &Platform::host(), &cwd)
        ),
    }
    Ok(Code::Ok)
}

/// `--runner PLATFORM=NAME`s: for the CI formats only.
fn runners(args: &PlanArgs) -> Result<Vec<(Platform, Option<String>)>, UsageError> {
    if !args.runners.is_empty()
        && !matches!(
            args.format,
            PlanFormat::GithubMatrix | PlanFormat::GitlabPipeline
        )
    {
        return Err(UsageError::new(
            "--runner names CI runners: it goes with --format github-matrix or gitlab-pipeline",
        ));
    }
    let shape = "write PLATFORM=NAME, e.g. --runner linux/arm64=arm64-runner, or linux/arm/v7= for none (built under QEMU)";
    let mut out: Vec<(Platform, Option<String>)> = Vec::new();
    for r in &args.runners {
        let (p, name) = r
            .split_once('=')
            .ok_or_else(|| UsageError::new(format!("--runner {r}: no `=`")).with_help(shape))?;
        let p = Platform::parse(p)
            .map_err(|e| UsageError::new(format!("--runner {r}: {e}")).with_help(shape))?;
        let name = name.trim();
        // A tag with a comma or a control character matches no runner: the leg would
        // wait for one forever.
        if let Some(c) = name.chars().find(|c| c.is_control() || *c == ',') {
            return Err(UsageError::new(format!(
                "--runner {}: the runner name has {} in it, which no runner's tag or label matches",
                r.escape_debug(),
                if c == ',' { "a comma".to_string() } else { format!("the control character {:?}", c) }
            ))
            .with_help("write one runner tag (or label) per platform, without commas, newlines or control characters"));
        }
        if let Some((_, first)) = out.iter().find(|(q, _)| *q == p) {
            return Err(UsageError::new(format!(
                "--runner {p}=…: given twice (first {p}={}, then {})",
                first.as_deref().unwrap_or(""),
                r.escape_debug()
            ))
            .with_help("give one --runner per platform"));
        }
        out.push((p, (!name.is_empty()).then(|| name.to_string())));
    }
    Ok(out)
}

/// The comment above a printed command: the flags that are there for mpbuild itself,
/// which someone running the command by hand may drop.
fn own_flags(argv: &[String]) -> String {
    let mut own = vec![
        "--metadata-file (mpbuild reads the digest from it)",
        "--progress=rawjson (mpbuild draws the progress from it)",
    ];
    if argv.iter().any(|a| a.starts_with("type=oci,")) {
        own.push("--output type=oci (a layout mpbuild uploads)");
    }
    format!("# mpbuild's own flags: {}", own.join(", "))
}

/// The plan as a person reads it, each image's emulation forecast after its block; the
/// commands run in `cwd` (absolute).
pub fn render_text(
    plan: &Plan,
    forecasts: &[crate::emulation::forecast::Forecast],
    host: &Platform,
    cwd: &std::path::Path,
) -> String {
    let mut out = String::new();
    for (i, img) in plan.images.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_image(&mut out, img, host);
        if let Some(f) = forecasts.iter().find(|f| f.image == img.name) {
            out.push_str(&crate::emulation::render::forecast(f));
        }
        if plan.bake.is_none() {
            let _ = writeln!(out, "  command");
            let _ = writeln!(out, "    {}", own_flags(&img.command));
            let _ = writeln!(out, "{}", wrap_command(cwd, &img.command, "    "));
        }
    }
    if let Some(b) = &plan.builder {
        render_builder(&mut out, b);
    }
    if let Some(bake) = &plan.bake {
        render_bake(&mut out, bake, plan.images.len(), cwd);
    }
    out
}

/// One image's block: its targets, platforms, tags and checks.
fn render_image(out: &mut String, img: &ImagePlan, host: &Platform) {
    let _ = writeln!(out, "image {} → {}", img.name, img.repository.as_written());
    for r in &img.also {
        let _ = writeln!(
            out,
            "  copied to     {} (verified there before any tag moves)",
            r.as_written()
        );
    }
    render_targets(out, img, host);
    let _ = writeln!(
        out,
        "  platforms     {}",
        crate::platform::list(&img.platforms)
    );
    if !img.tags.is_empty() {
        let _ = writeln!(out, "  index tags    {}", img.tags.join(", "));
    }
    for (entry, why) in &img.left_out {
        let _ = writeln!(out, "  left out      {entry}: {why}");
    }
    for s in &img.single_tags {
        let _ = writeln!(
            out,
            "  single tag    {} → the {} image manifest ({})",
            s.tag, s.platform, s.service
        );
    }
    let _ = writeln!(out, "  attestations  {}", img.attestations_reason);
    if img.deep_all {
        let mut line = "  verify        deep: all (every executable ELF file checked)".to_string();
        if !img.deep_ignore.is_empty() {
            line.push_str(&format!("; ignored: {}", img.deep_ignore.join(", ")));
        }
        let _ = writeln!(out, "{line}");
    } else if img.deep {
        let _ = writeln!(out, "  verify        deep (entrypoint ELF machine checked)");
    }
    if let Some(s) = &img.smoke {
        let _ = writeln!(
            out,
            "  smoke         `{}` on {} before a tag moves (timeout {}s{})",
            crate::shell::join(&s.run),
            crate::platform::list(&s.platforms),
            s.timeout_s,
            s.expect
                .as_deref()
                .map(|e| format!(", output must match /{e}/"))
                .unwrap_or_default()
        );
    }
    if let Some(what) = crate::pipeline::sign::planned(img) {
        let _ = writeln!(out, "  sign          {what}");
    }
}

/// The `targets` lines of an image: service, platforms, manifest kind, tag, where.
fn render_targets(out: &mut String, img: &ImagePlan, host: &Platform) {
    let width = img
        .targets
        .iter()
        .map(|t| t.service.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let _ = writeln!(out, "  targets");
    for t in &img.targets {
        let platforms = crate::platform::join(&t.platforms);
        let mut line = format!(
            "    {:width$}  {:28}  {:6}",
            t.service,
            platforms,
            t.manifest.as_str()
        );
        if let Some(tag) = &t.tag {
            let _ = write!(line, "  tag {tag}");
        }
        if t.service == "local" {
            let _ = write!(line, "  (this machine: {host})");
        }
        let _ = write!(line, "  [{}]", t.source);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    for i in &img.ignored {
        let _ = writeln!(out, "    ignored: {i}");
    }
}

/// The declared builder: which node builds each platform.
fn render_builder(out: &mut String, b: &crate::plan::BuilderPlan) {
    let _ = writeln!(out, "\nbuilder {} (driver {})", b.name, b.driver);
    for a in &b.assignments {
        match &a.node {
            Some(n) => {
                let at = a
                    .endpoint
                    .as_deref()
                    .map(|e| format!(" at {e}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  {:14} native on node {n}{at}",
                    a.platform.to_string()
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  {:14} emulated (no node for it; allow_emulation is on)",
                    a.platform.to_string()
                );
            }
        }
    }
}

/// The bake run: its command and the file it reads.
fn render_bake(out: &mut String, bake: &crate::plan::Bake, images: usize, cwd: &std::path::Path) {
    let _ = writeln!(out, "\nbake ({images} images in parallel)");
    let _ = writeln!(out, "  command");
    let _ = writeln!(out, "    {}", own_flags(&bake.command));
    let _ = writeln!(
        out,
        "    # mpbuild writes the bake file below to {} first",
        bake.file_path.display()
    );
    let _ = writeln!(out, "{}", wrap_command(cwd, &bake.command, "    "));
    let _ = writeln!(out, "  file {}", bake.file_path.display());
    let json = serde_json::to_string_pretty(&bake.file).unwrap_or_default();
    for line in json.lines() {
        let _ = writeln!(out, "    {line}");
    }
}

/// `cd CWD &&`, then one argument (or flag with its value) per line, joined with ` \`.
fn wrap_command(cwd: &std::path::Path, argv: &[String], indent: &str) -> String {
    let mut lines: Vec<String> = vec![format!(
        "cd {} &&",
        shell::quote(&cwd.display().to_string())
    )];
    let mut i = 0;
    // "docker buildx build" stays on the first line.
    let head = argv.iter().take(3).cloned().collect::<Vec<_>>();
    lines.push(shell::join(&head));
    i += head.len();
    while i < argv.len() {
        let a = &argv[i];
        let takes_value = a.starts_with("--") && !a.contains('=') && i + 1 < argv.len();
        if takes_value {
            lines.push(format!(
                "{} {}",
                shell::quote(a),
                shell::quote(&argv[i + 1])
            ));
            i += 2;
        } else {
            lines.push(shell::quote(a));
            i += 1;
        }
    }
    lines
        .iter()
        .enumerate()
        .map(|(n, l)| {
            let pad = if n == 0 {
                indent.to_string()
            } else {
                format!("{indent}  ")
            };
            let cont = if n + 1 < lines.len() { " \\" } else { "" };
            format!("{pad}{l}{cont}")
        })
        .collect::<Vec<_>>()
        .join("\n")
}
