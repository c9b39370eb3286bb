//! Each probe: one thing doctor looks at, and the finding it makes of it.

use std::path::{Path, PathBuf};

use super::finding::{Finding, Status, finding};
use super::system::{binfmt_registered, docker_cmd};
use crate::buildx::{Builder, docker};
use crate::config::Project;
use crate::platform::Platform;
use crate::registry::credentials::Store;
use crate::registry::error::{ecr_region, login_hint};
use crate::registry::{Client, Reference, Repository, is_loopback};

/// The machine mpbuild runs on.
pub(super) fn host() -> Finding {
    let host = Platform::host();
    let apple = host.architecture == "arm64" && cfg!(target_os = "macos");
    finding(
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
    )
}

/// The docker CLI: where it is, or the finding that it is missing.
pub(super) fn docker_cli() -> Result<(PathBuf, Finding), Finding> {
    let Ok(exe) = docker::locate() else {
        return Err(finding(
            Status::Fail,
            "docker CLI",
            "`docker` is not on PATH",
            Some("install Docker (Docker Desktop on macOS/Windows; Debian/Ubuntu: apt-get install docker.io docker-buildx)".into()),
        ));
    };
    let f = finding(Status::Ok, "docker CLI", exe.display().to_string(), None);
    Ok((exe, f))
}

/// The Docker daemon's version; when it does not answer, that and the builder skipped.
pub(super) fn daemon(exe: &Path) -> Result<Finding, Vec<Finding>> {
    let (ok, version, err) = docker_cmd(exe, &["version", "--format", "{{.Server.Version}}"]);
    if ok {
        return Ok(finding(
            Status::Ok,
            "Docker daemon",
            format!("engine {}", version.trim()),
            None,
        ));
    }
    let first = err
        .lines()
        .find(|l| !l.trim().is_empty())
        .map_or_else(|| "no answer".to_string(), crate::tool_output::inline);
    Err(vec![
        finding(
            Status::Fail,
            "Docker daemon",
            format!("not reachable: {first}"),
            Some(match std::env::var("DOCKER_HOST") {
                Ok(h) => format!("start the daemon behind DOCKER_HOST={h}, or unset DOCKER_HOST"),
                Err(_) => "start Docker (Docker Desktop, or `sudo systemctl start docker`)".into(),
            }),
        ),
        finding(Status::Warn, "builder", "skipped: needs the daemon", None),
    ])
}

/// buildx, through the docker CLI (what doctor checks is that `docker buildx` works),
/// and whether the checks can go on.
pub(super) fn buildx(exe: &Path) -> (Finding, bool) {
    match docker::buildx_version(&docker::Launch::cli(exe.to_path_buf())) {
        Ok(v) if v < docker::RAWJSON => (
            finding(
                Status::Warn,
                "buildx",
                format!(
                    "{v}: live progress needs 0.12 (--progress=rawjson); mpbuild falls back to plain"
                ),
                Some("upgrade the buildx plugin".into()),
            ),
            true,
        ),
        Ok(v) => (buildx_launch(v), true),
        Err(e) => (
            finding(
                Status::Fail,
                "buildx",
                e.message(),
                Some(e.help().unwrap_or_default()),
            ),
            false,
        ),
    }
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

/// The builder (`--builder`, else the project's, else buildx's current one), bootstrapped.
pub(super) fn builder(exe: &Path, name: Option<&str>) -> Result<(Builder, Finding), Finding> {
    let mut args = vec!["buildx", "inspect", "--bootstrap"];
    if let Some(b) = name {
        args.push(b);
    }
    let (ok, text, err) = docker_cmd(exe, &args);
    if !ok {
        return Err(finding(
            Status::Fail,
            "builder",
            format!(
                "`docker {}` failed; it printed {}",
                args.join(" "),
                crate::tool_output::inline(err.lines().find(|l| !l.trim().is_empty()).unwrap_or(""))
            ),
            Some("create it (`docker buildx create --name NAME --driver docker-container`) or pick one from `docker buildx ls`".into()),
        ));
    }
    let builder = docker::parse_inspect(&text);
    let f = finding(
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
    );
    Ok((builder, f))
}

/// Outside a project: what is skipped.
pub(super) fn no_project() -> Finding {
    finding(
        Status::Warn,
        "project",
        "no mpbuild.yaml here: platform and credential checks skipped",
        Some("run in a project, or pass -f FILE".into()),
    )
}

/// Every platform the project's images and mirrors need.
pub(super) fn needed_platforms(project: &Project) -> Vec<(Platform, Vec<String>)> {
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

/// Each platform the project needs: native, emulated or impossible on this builder.
pub(super) fn platforms(
    project: &Project,
    builder: &Builder,
    needed: &[(Platform, Vec<String>)],
) -> Vec<Finding> {
    needed
        .iter()
        .map(|(p, why)| match &project.declared_builder {
            Some(d) => on_declared(d, p, why),
            None => on_builder(builder, p, why),
        })
        .collect()
}

/// A platform on a declared builder: native when a node is declared for it.
fn on_declared(d: &crate::builder::Declared, p: &Platform, why: &[String]) -> Finding {
    let check = format!("platform {p}");
    match d.node_for(p) {
        Some(n) => finding(
            Status::Ok,
            &check,
            format!("native on node {} ({})", n.name, why.join(", ")),
            None,
        ),
        None => finding(
            Status::Warn,
            &check,
            format!(
                "no native node in builder {}: built emulated ({})",
                d.name,
                why.join(", ")
            ),
            Some(format!("add a node with `platforms: [{p}]` to the builder")),
        ),
    }
}

/// A platform on buildx's builder: native on this machine or on a node configured for
/// it (buildx marks it `*`), emulated where QEMU is registered, else impossible.
fn on_builder(builder: &Builder, p: &Platform, why: &[String]) -> Finding {
    let check = format!("platform {p}");
    let host = Platform::host();
    let native = p.architecture == host.architecture && p.os == host.os
        || builder.driver != "docker"
            && builder.nodes.iter().any(|n| {
                n.configured
                    .iter()
                    .any(|f| Platform::parse(f).is_ok_and(|f| f.matches(p)))
            });
    let listed = builder
        .nodes
        .iter()
        .flat_map(|n| n.platforms.iter())
        .filter_map(|p| Platform::parse(p).ok())
        .any(|q| q.matches(p));
    let registered = binfmt_registered(&p.architecture);
    let who = why.join(", ");
    if native {
        finding(Status::Ok, &check, format!("native ({who})"), None)
    } else if listed && registered != Some(false) {
        finding(
            Status::Ok,
            &check,
            format!("emulated (QEMU), RUN steps are several times slower ({who})"),
            None,
        )
    } else {
        finding(
            Status::Fail,
            &check,
            format!(
                "cannot build it here: no emulation registered for {} ({who})",
                p.architecture
            ),
            Some(format!(
                "register QEMU: `docker run --privileged --rm tonistiigi/binfmt --install {}` (or Debian's qemu-user-static), or add a native builder node",
                p.architecture
            )),
        )
    }
}

/// The RUN steps each image runs under emulation on this builder.
pub(super) fn emulated_steps(
    project: &Project,
    builder: &Builder,
    builder_name: Option<String>,
) -> Vec<Finding> {
    let options = crate::plan::Options {
        output: crate::plan::Output::OciLayout,
        work_dir: crate::settings::work_dir(project),
        builder: builder_name,
    };
    let plan = crate::plan::Plan::new(project, &options);
    let mut out = Vec::new();
    for f in crate::emulation::forecast_plan(&plan, &project.dir, &options.work_dir, builder) {
        for (check, detail, fix) in crate::emulation::render::findings(&f) {
            out.push(finding(Status::Warn, &check, detail, Some(fix)));
        }
    }
    out
}

/// The containerd image store, when the docker driver builds several platforms.
pub(super) fn image_store(exe: &Path, project: &Project, builder: &Builder) -> Option<Finding> {
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
    if builder.driver != "docker" || !multi {
        return None;
    }
    let (_, status, _) = docker_cmd(exe, &["info", "--format", "{{json .DriverStatus}}"]);
    Some(if status.contains("io.containerd.snapshotter") {
        finding(
            Status::Ok,
            "image store",
            "containerd (multi-platform builds with the docker driver work)",
            None,
        )
    } else {
        finding(
            Status::Fail,
            "image store",
            "the classic image store: the `docker` driver cannot build several platforms",
            Some("turn on the containerd image store (Docker Desktop: Settings → General; Docker Engine: \"features\": {\"containerd-snapshotter\": true}), or use a docker-container builder".into()),
        )
    })
}

/// Credentials for each registry the project's images and mirrors go to, then whether
/// it answers: `GET /v2/` with those credentials (a pull token where it asks for one).
/// Doctor writes nothing; `push` checks the write itself before it builds.
pub(super) fn credentials(project: &Project) -> Vec<Finding> {
    let store = Store::from_env();
    // One repository per registry: the first that goes there.
    let mut repos: Vec<Repository> = Vec::new();
    let mirrors = project
        .mirrors
        .iter()
        .filter_map(|m| Reference::parse(&m.destination).ok());
    for r in project
        .images
        .iter()
        .map(|i| i.repository.clone())
        .chain(mirrors.map(|r| r.repository))
    {
        if !repos.iter().any(|k| k.registry == r.registry) {
            repos.push(r);
        }
    }
    let client = Client::new(crate::registry::Options {
        insecure: project.insecure_registries.clone(),
        ..Default::default()
    });
    repos
        .iter()
        .flat_map(|repo| {
            [
                credential(store.as_ref(), &repo.registry),
                reachable(client.as_deref(), repo),
            ]
        })
        .collect()
}

/// Whether `repo`'s registry answers the distribution API.
fn reachable(
    client: Result<&Client, &crate::registry::RegistryError>,
    repo: &Repository,
) -> Finding {
    let check = format!("registry {}", repo.registry);
    match client.map(|c| c.ping(repo)) {
        Ok(Ok(())) => finding(Status::Ok, &check, "answers (distribution API v2)", None),
        Ok(Err(e)) => finding(Status::Fail, &check, e.message(), e.help()),
        Err(e) => finding(Status::Fail, &check, e.message(), e.help()),
    }
}

/// The credential Docker's config holds for `reg`, if it is needed and there.
fn credential(store: Result<&Store, &crate::registry::RegistryError>, reg: &str) -> Finding {
    let check = format!("credentials {reg}");
    let store = match store {
        Ok(s) => s,
        Err(e) => return finding(Status::Fail, &check, e.to_string(), None),
    };
    match store.get(reg) {
        Ok(Some(c)) => finding(
            Status::Ok,
            &check,
            format!("found for user `{}`", c.username()),
            None,
        ),
        Ok(None) if is_loopback(reg) => finding(
            Status::Ok,
            &check,
            "none (a loopback registry, anonymous)",
            None,
        ),
        Ok(None) => finding(
            Status::Warn,
            &check,
            if ecr_region(reg).is_some() {
                "none found: ECR needs a login"
            } else {
                "none found: pushes work only if the registry allows anonymous writes"
            },
            Some(login_hint(reg)),
        ),
        Err(e) => finding(Status::Fail, &check, e.to_string(), None),
    }
}

/// On an arm64 host: the platforms the project needs that run only emulated here.
pub(super) fn local_runs(needed: &[(Platform, Vec<String>)]) -> Option<Finding> {
    if Platform::host().architecture != "arm64" {
        return None;
    }
    let emulated: Vec<String> = needed
        .iter()
        .filter(|(p, _)| p.architecture != "arm64")
        .map(|(p, why)| format!("{p} ({})", why.join(", ")))
        .collect();
    (!emulated.is_empty()).then(|| {
        finding(
            Status::Warn,
            "local runs",
            format!(
                "on this arm64 host these run only emulated: {}",
                emulated.join("; ")
            ),
            Some(
                "test them with `mpbuild build --target SERVICE`, then `docker run --platform …`"
                    .into(),
            ),
        )
    })
}
