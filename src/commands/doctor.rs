//! `mpbuild doctor`: why a multi-platform push would fail, before trying it. Each
//! finding has a status (ok / warn / fail) and, when not ok, a fix.

use crate::settings::Settings;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::buildx::docker;
use crate::cli::{DoctorArgs, Format};
use crate::config::Project;
use crate::exit::Code;
use crate::platform::Platform;
use crate::registry::credentials::Store;
use crate::registry::error::{ecr_region, login_hint};
use crate::registry::{Reference, is_loopback};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub status: Status,
    pub check: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

fn finding(status: Status, check: &str, detail: impl Into<String>, fix: Option<String>) -> Finding {
    Finding {
        status,
        check: check.to_string(),
        detail: detail.into(),
        fix,
    }
}

pub fn run(s: &Settings, args: &DoctorArgs) -> anyhow::Result<Code> {
    let project = match s.project() {
        Ok(p) => Some(p),
        Err(e) if s.file.is_some() => return Err(e),
        Err(_) => None,
    };
    let findings = checks(project.as_ref(), args.builder.as_deref());
    if crate::cancel::requested() {
        // Checks cut short would read as failures: none is reported.
        return Err(crate::exit::Interrupted.into());
    }
    match args.format {
        Format::Json => s.printer().value(&serde_json::json!({
            "schema_version": super::output::SCHEMA_VERSION,
            "ok": findings.iter().all(|f| f.status != Status::Fail),
            "findings": findings,
        })),
        Format::Text if s.printer().quiet() => {
            // Errors only: the failing checks and their fixes.
            let failing: Vec<Finding> = findings
                .iter()
                .filter(|f| f.status == Status::Fail)
                .cloned()
                .collect();
            let text = render(&failing);
            crate::err!(
                s.printer(),
                "{}",
                text.rsplit_once("\n\n").map_or("", |(body, _)| body)
            );
            if !failing.is_empty() {
                crate::errln!(s.printer(), "");
            }
        }
        Format::Text => crate::out!(s.printer(), "{}", render(&findings)),
    }
    Ok(if findings.iter().any(|f| f.status == Status::Fail) {
        Code::VerifyFailed
    } else {
        Code::Ok
    })
}

fn render(findings: &[Finding]) -> String {
    let width = findings.iter().map(|f| f.check.len()).max().unwrap_or(0);
    let mut out = String::new();
    for f in findings {
        let word = match f.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        out.push_str(&format!("{word}  {:width$}  {}\n", f.check, f.detail));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("      {:width$}  fix: {fix}\n", ""));
        }
    }
    let fails = findings.iter().filter(|f| f.status == Status::Fail).count();
    let warns = findings.iter().filter(|f| f.status == Status::Warn).count();
    out.push_str(&format!("\n{fails} failing, {warns} warning(s)\n"));
    out
}

/// buildx's version, and how mpbuild starts it: the plugin binary directly (checked
/// here to answer as `docker buildx` does) or through the docker CLI.
fn buildx_launch(via_cli: docker::Version) -> Finding {
    let Ok(launch) = docker::Launch::locate() else {
        return finding(Status::Ok, "buildx", via_cli.to_string(), None);
    };
    let Some(plugin) = &launch.plugin else {
        return finding(
            Status::Ok,
            "buildx",
            format!("{via_cli} (run through the docker CLI)"),
            None,
        );
    };
    match docker::buildx_version(&launch) {
        Ok(direct) if direct == via_cli => finding(
            Status::Ok,
            "buildx",
            format!("{via_cli} (mpbuild starts {} directly)", plugin.display()),
            None,
        ),
        Ok(direct) => finding(
            Status::Warn,
            "buildx",
            format!(
                "`docker buildx` is {via_cli} but {} is {direct}: docker runs another plugin than the one mpbuild would start",
                plugin.display()
            ),
            Some("remove the stale plugin binary, or set `cliPluginsExtraDirs` in the docker config (mpbuild then always goes through the docker CLI)".into()),
        ),
        Err(e) => finding(
            Status::Warn,
            "buildx",
            format!("{} does not run on its own: {e}", plugin.display()),
            Some("reinstall the buildx plugin".into()),
        ),
    }
}

/// The most read of what one docker subcommand prints, per stream.
const OUTPUT_CAP: usize = 4 << 20;

/// Runs a docker subcommand with a timeout; (success, stdout, stderr).
fn docker_cmd(exe: &Path, args: &[&str]) -> (bool, String, String) {
    let expr = duct::cmd(exe, args);
    match crate::child::run(&expr, Some(Duration::from_secs(20)), OUTPUT_CAP) {
        crate::child::Waited::Exited(o) => (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        crate::child::Waited::Failed(e) => (false, String::new(), e.to_string()),
        crate::child::Waited::Interrupted => (false, String::new(), "interrupted".into()),
        crate::child::Waited::TooMuch { stream, cap } => (
            false,
            String::new(),
            format!(
                "`docker {}` printed more than {} on {stream}; stopped",
                args.join(" "),
                crate::fsread::size(cap as u64)
            ),
        ),
        crate::child::Waited::TimedOut => (
            false,
            String::new(),
            format!("`docker {}` did not answer within 20 s", args.join(" ")),
        ),
    }
}

/// Every platform the project's images and mirrors need.
fn needed_platforms(project: &Project) -> Vec<(Platform, Vec<String>)> {
    let mut out: Vec<(Platform, Vec<String>)> = Vec::new();
    for image in &project.images {
        for t in &image.targets {
            for p in &t.platforms {
                let why = format!("{} ({})", image.name, t.label());
                match out.iter_mut().find(|(q, _)| q.matches(p)) {
                    Some((_, list)) => list.push(why),
                    None => out.push((p.clone(), vec![why])),
                }
            }
        }
    }
    out
}

/// binfmt_misc names that emulate an architecture (Linux hosts).
fn binfmt_names(arch: &str) -> &'static [&'static str] {
    match arch {
        "arm64" => &["qemu-aarch64", "aarch64"],
        "arm" => &["qemu-arm", "arm"],
        "amd64" => &["qemu-x86_64", "x86_64", "rosetta"],
        "riscv64" => &["qemu-riscv64", "riscv64"],
        "s390x" => &["qemu-s390x", "s390x"],
        "ppc64le" => &["qemu-ppc64le", "ppc64le"],
        "386" => &["qemu-i386", "i386"],
        _ => &[],
    }
}

/// Whether the kernel emulates `arch` (None when binfmt_misc cannot be read).
fn binfmt_registered(arch: &str) -> Option<bool> {
    let dir = PathBuf::from("/proc/sys/fs/binfmt_misc");
    let entries = std::fs::read_dir(&dir).ok()?;
    let names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    Some(binfmt_names(arch).iter().any(|n| {
        names.iter().any(|x| x == n)
            && crate::fsread::read_text(&dir.join(n), 64 * 1024)
                .is_ok_and(|s| s.starts_with("enabled"))
    }))
}

fn checks(project: Option<&Project>, builder_flag: Option<&str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let host = Platform::host();
    // The host.
    let apple = host.architecture == "arm64" && cfg!(target_os = "macos");
    out.push(finding(
        Status::Ok,
        "host",
        format!(
            "{host}{}",
            if apple {
                " (Apple Silicon: amd64 images run emulated here)"
            } else {
                ""
            }
        ),
        None,
    ));
    // docker CLI.
    let Ok(exe) = docker::locate() else {
        out.push(finding(
            Status::Fail,
            "docker CLI",
            "`docker` is not on PATH",
            Some("install Docker (Docker Desktop on macOS/Windows; Debian/Ubuntu: apt-get install docker.io docker-buildx)".into()),
        ));
        return out;
    };
    out.push(finding(
        Status::Ok,
        "docker CLI",
        exe.display().to_string(),
        None,
    ));
    // The daemon.
    let (ok, version, err) = docker_cmd(&exe, &["version", "--format", "{{.Server.Version}}"]);
    if !ok {
        let first = err
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no answer")
            .trim()
            .to_string();
        out.push(finding(
            Status::Fail,
            "Docker daemon",
            format!("not reachable: {first}"),
            Some(match std::env::var("DOCKER_HOST") {
                Ok(h) => format!("start the daemon behind DOCKER_HOST={h}, or unset DOCKER_HOST"),
                Err(_) => "start Docker (Docker Desktop, or `sudo systemctl start docker`)".into(),
            }),
        ));
        out.push(finding(
            Status::Warn,
            "builder",
            "skipped: needs the daemon",
            None,
        ));
        return out;
    }
    out.push(finding(
        Status::Ok,
        "Docker daemon",
        format!("engine {}", version.trim()),
        None,
    ));
    // buildx.
    // Through the docker CLI: what doctor checks is that `docker buildx` works.
    match docker::buildx_version(&docker::Launch::cli(exe.clone())) {
        Ok(v) if v < docker::RAWJSON => out.push(finding(
            Status::Warn,
            "buildx",
            format!(
                "{v}: live progress needs 0.12 (--progress=rawjson); mpbuild falls back to plain"
            ),
            Some("upgrade the buildx plugin".into()),
        )),
        Ok(v) => out.push(buildx_launch(v)),
        Err(e) => {
            out.push(finding(
                Status::Fail,
                "buildx",
                e.message(),
                Some(e.help().unwrap_or_default()),
            ));
            return out;
        }
    }
    // The builder.
    let builder_name = builder_flag
        .map(str::to_string)
        .or_else(|| project.and_then(|p| p.builder.clone()));
    let mut args = vec!["buildx", "inspect", "--bootstrap"];
    if let Some(b) = &builder_name {
        args.push(b);
    }
    let (ok, text, err) = docker_cmd(&exe, &args);
    if !ok {
        out.push(finding(
            Status::Fail,
            "builder",
            format!("`docker {}` failed: {}", args.join(" "), err.lines().next().unwrap_or("").trim()),
            Some("create it (`docker buildx create --name NAME --driver docker-container`) or pick one from `docker buildx ls`".into()),
        ));
        return out;
    }
    let builder = docker::parse_inspect(&text);
    let platforms: Vec<Platform> = builder
        .nodes
        .iter()
        .flat_map(|n| n.platforms.iter())
        .filter_map(|p| Platform::parse(p).ok())
        .collect();
    out.push(finding(
        Status::Ok,
        "builder",
        format!(
            "{} (driver {}, {}): {}",
            builder.name,
            builder.driver,
            if builder.can_push_by_digest() {
                "pushes by digest"
            } else {
                "OCI layout uploaded by mpbuild"
            },
            builder
                .nodes
                .iter()
                .flat_map(|n| n.platforms.iter().cloned())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None,
    ));
    let Some(project) = project else {
        out.push(finding(
            Status::Warn,
            "project",
            "no mpbuild.yaml here: platform and credential checks skipped",
            Some("run in a project, or pass -f FILE".into()),
        ));
        return out;
    };
    // Each platform the project needs.
    let needed = needed_platforms(project);
    for (p, why) in &needed {
        let check = format!("platform {p}");
        if let Some(d) = &project.declared_builder {
            // A declared builder: a platform is native when a node is declared for it.
            match d.node_for(p) {
                Some(n) => out.push(finding(
                    Status::Ok,
                    &check,
                    format!("native on node {} ({})", n.name, why.join(", ")),
                    None,
                )),
                None => out.push(finding(
                    Status::Warn,
                    &check,
                    format!(
                        "no native node in builder {}: built emulated ({})",
                        d.name,
                        why.join(", ")
                    ),
                    Some(format!("add a node with `platforms: [{p}]` to the builder")),
                )),
            }
            continue;
        }
        // A node configured for the platform (buildx marks it `*`) builds it natively.
        let native = p.architecture == host.architecture && p.os == host.os
            || builder.driver != "docker"
                && builder.nodes.iter().any(|n| {
                    n.configured
                        .iter()
                        .any(|f| Platform::parse(f).is_ok_and(|f| f.matches(p)))
                });
        let listed = platforms.iter().any(|q| q.matches(p));
        let registered = binfmt_registered(&p.architecture);
        let who = why.join(", ");
        if native {
            out.push(finding(Status::Ok, &check, format!("native ({who})"), None));
        } else if listed && registered != Some(false) {
            out.push(finding(
                Status::Ok,
                &check,
                format!("emulated (QEMU), RUN steps are several times slower ({who})"),
                None,
            ));
        } else {
            out.push(finding(
                Status::Fail,
                &check,
                format!("cannot build it here: no emulation registered for {} ({who})", p.architecture),
                Some(format!(
                    "register QEMU: `docker run --privileged --rm tonistiigi/binfmt --install {}` (or Debian's qemu-user-static), or add a native builder node",
                    p.architecture
                )),
            ));
        }
    }
    // The RUN steps each image runs under emulation on this builder.
    let options = crate::plan::Options {
        output: crate::plan::Output::OciLayout,
        work_dir: crate::settings::work_dir(project),
        builder: builder_name.clone(),
    };
    let plan = crate::plan::Plan::new(project, &options);
    for f in crate::emulation::forecast_plan(&plan, &project.dir, &options.work_dir, &builder) {
        for (check, detail, fix) in crate::emulation::render::findings(&f) {
            out.push(finding(Status::Warn, &check, detail, Some(fix)));
        }
    }
    // The containerd image store, when the docker driver builds several platforms.
    let multi = project.images.iter().any(|i| {
        let mut ps: Vec<&Platform> = Vec::new();
        for t in &i.targets {
            for p in &t.platforms {
                if !ps.iter().any(|q| q.matches(p)) {
                    ps.push(p);
                }
            }
        }
        ps.len() > 1
    });
    if builder.driver == "docker" && multi {
        let (_, status, _) = docker_cmd(&exe, &["info", "--format", "{{json .DriverStatus}}"]);
        if status.contains("io.containerd.snapshotter") {
            out.push(finding(
                Status::Ok,
                "image store",
                "containerd (multi-platform builds with the docker driver work)",
                None,
            ));
        } else {
            out.push(finding(
                Status::Fail,
                "image store",
                "the classic image store: the `docker` driver cannot build several platforms",
                Some("turn on the containerd image store (Docker Desktop: Settings → General; Docker Engine: \"features\": {\"containerd-snapshotter\": true}), or use a docker-container builder".into()),
            ));
        }
    }
    // Credentials for each registry.
    let store = Store::from_env();
    let mut registries: Vec<String> = Vec::new();
    let mirrors = project
        .mirrors
        .iter()
        .filter_map(|m| Reference::parse(&m.destination).ok());
    for r in project
        .images
        .iter()
        .map(|i| i.repository.registry.clone())
        .chain(mirrors.map(|r| r.repository.registry))
    {
        if !registries.contains(&r) {
            registries.push(r);
        }
    }
    for reg in registries {
        let check = format!("credentials {reg}");
        match &store {
            Err(e) => out.push(finding(Status::Fail, &check, e.to_string(), None)),
            Ok(store) => match store.get(&reg) {
                Ok(Some(c)) => out.push(finding(
                    Status::Ok,
                    &check,
                    format!("found for user `{}`", c.username()),
                    None,
                )),
                Ok(None) if is_loopback(&reg) => out.push(finding(
                    Status::Ok,
                    &check,
                    "none (a loopback registry, anonymous)",
                    None,
                )),
                Ok(None) => out.push(finding(
                    Status::Warn,
                    &check,
                    if ecr_region(&reg).is_some() {
                        "none found: ECR needs a login"
                    } else {
                        "none found: pushes work only if the registry allows anonymous writes"
                    },
                    Some(login_hint(&reg)),
                )),
                Err(e) => out.push(finding(Status::Fail, &check, e.to_string(), None)),
            },
        }
    }
    // Apple Silicon: which targets run emulated locally.
    if host.architecture == "arm64" {
        let emulated: Vec<String> = needed
            .iter()
            .filter(|(p, _)| p.architecture != "arm64")
            .map(|(p, why)| format!("{p} ({})", why.join(", ")))
            .collect();
        if !emulated.is_empty() {
            out.push(finding(
                Status::Warn,
                "local runs",
                format!("on this arm64 host these run only emulated: {}", emulated.join("; ")),
                Some("test them with `mpbuild build --target SERVICE`, then `docker run --platform …`".into()),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendering_marks_fails_and_fixes() {
        let f = vec![
            finding(Status::Ok, "docker CLI", "/usr/bin/docker", None),
            finding(
                Status::Fail,
                "platform linux/arm64",
                "cannot build it here",
                Some("register QEMU".into()),
            ),
        ];
        let t = render(&f);
        assert!(
            t.contains("FAIL  platform linux/arm64  cannot build it here"),
            "{t}"
        );
        assert!(t.contains("fix: register QEMU"), "{t}");
        assert!(t.ends_with("1 failing, 0 warning(s)\n"), "{t}");
    }

    #[test]
    fn binfmt_names_cover_common_arches() {
        assert!(binfmt_names("arm64").contains(&"qemu-aarch64"));
        assert!(binfmt_names("mips").is_empty());
    }
}
