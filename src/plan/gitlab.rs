//! The GitLab child pipeline of a plan (`plan --format gitlab-pipeline`).
//!
//! GitLab computes `parallel:matrix` when it reads the file, before any job runs, so a
//! matrix cannot come from `mpbuild plan` at run time. What GitLab runs from a job's
//! output is a child pipeline: a job writes the YAML as an artifact and a trigger job
//! starts it (`trigger: include: [{artifact: …, job: …}]`, `strategy: depend`). This
//! writes that pipeline: one leg job per platform (on a runner of that CPU where GitLab
//! hosts one, with its tag; QEMU registered where none is), then `merge`, which needs
//! every leg's artifacts. Every job extends `.mpbuild`, the job template the caller puts
//! before this text in the same file (image, Docker service, mpbuild installed, registry
//! login): a generated child pipeline cannot include files of the repository.

use std::fmt::Write as _;

use super::types::Plan;
use crate::platform::Platform;

/// The template job every generated job extends.
pub const TEMPLATE: &str = ".mpbuild";
/// The stages of the child pipeline, in order.
pub const STAGES: [&str; 2] = ["mpbuild-legs", "mpbuild-merge"];
/// Registers QEMU for every platform on the runner's kernel (as docker/setup-qemu-action
/// does on GitHub), through the job's Docker daemon. The image runs `--privileged`, so
/// the template chooses it (`MPBUILD_BINFMT_IMAGE`, pinned by digest there); the script
/// runs in sh, which takes `${VAR:-default}`.
pub const BINFMT: &str = "docker run --privileged --rm \"${MPBUILD_BINFMT_IMAGE:-tonistiigi/binfmt:latest}\" --install all";

/// GitLab.com's hosted runner tag that runs `p` natively, if there is one.
pub fn runner_tag(p: &Platform) -> Option<&'static str> {
    match (p.os.as_str(), p.architecture.as_str()) {
        ("linux", "amd64") => Some("saas-linux-small-amd64"),
        ("linux", "arm64") => Some("saas-linux-small-arm64"),
        _ => None,
    }
}

/// The leg job's name for a matrix entry's slug (`leg linux-arm64`).
pub fn leg_job(slug: &str) -> String {
    format!("leg {slug}")
}

/// A YAML scalar: double-quoted with JSON's escapes (a subset of YAML's), so no value
/// can change the document's structure.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The `--set`s among `global` (the flags passed on to every job) whose value is
/// written into the pipeline in clear though it looks like a secret: a build argument
/// named like one (`NPM_TOKEN`, `DB_PASSWORD`, …) with no `${` in its value. Each is
/// returned as `--set PATTERN.KEY=…`, without the value. With `'${NPM_TOKEN}'` (single
/// quotes, so the shell leaves it) the pipeline carries the reference and mpbuild
/// expands it in each job from the job's CI variables.
pub fn secrets_in_clear(global: &[String]) -> Vec<String> {
    const SECRET_WORDS: [&str; 8] = [
        "TOKEN", "SECRET", "PASS", "PWD", "KEY", "AUTH", "CRED", "PRIVATE",
    ];
    global
        .windows(2)
        .filter(|w| w[0] == "--set")
        .filter_map(|w| crate::config::Override::parse(&w[1]).ok())
        .filter(|o| match &o.key {
            crate::config::OverrideKey::BuildArg(name) => {
                let name = name.to_ascii_uppercase();
                SECRET_WORDS.iter().any(|s| name.contains(s)) && !o.value.contains("${")
            }
            _ => false,
        })
        .map(|o| {
            let lhs = o.arg.split_once('=').map_or(o.arg.as_str(), |(l, _)| l);
            format!("--set {lhs}=…")
        })
        .collect()
}

impl Plan {
    /// The child pipeline, as YAML. `global` are the global flags (`--file`, `--set`)
    /// and `images` the `--image` selection the plan was made with, passed on to every
    /// command so legs and merge build and join the same images of the same project.
    /// `runners` are `plan --runner`'s platforms and tags, before GitLab.com's.
    pub fn gitlab_pipeline(
        &self,
        global: &[String],
        images: &[String],
        runners: &[(Platform, Option<String>)],
    ) -> String {
        let only: String = images
            .iter()
            .map(|i| format!(" --image {}", crate::shell::quote(i)))
            .collect();
        let mpbuild = std::iter::once("mpbuild".to_string())
            .chain(global.iter().map(|a| crate::shell::quote(a)))
            .collect::<Vec<_>>()
            .join(" ");
        let matrix = self.matrix_with(runners, runner_tag);
        let mut out = String::new();
        out.push_str(
            "# mpbuild plan --format gitlab-pipeline: the child pipeline of a native\n\
             # multi-runner build (one leg per platform, then merge). Every job extends\n\
             # `.mpbuild`, the job template to put before this text in the same file.\n",
        );
        let stages: Vec<String> = STAGES.iter().map(|s| q(s)).collect();
        let _ = writeln!(out, "stages: [{}]", stages.join(", "));
        for e in &matrix.include {
            let _ = writeln!(out, "{}:", q(&leg_job(&e.slug)));
            let _ = writeln!(out, "  extends: {}", q(TEMPLATE));
            let _ = writeln!(out, "  stage: {}", q(STAGES[0]));
            let tag = e.runner.as_deref();
            if let Some(tag) = tag {
                let _ = writeln!(out, "  tags: [{}]", q(tag));
            }
            let _ = writeln!(out, "  variables:");
            let _ = writeln!(out, "    MPBUILD_PLATFORM: {}", q(&e.platform.to_string()));
            let _ = writeln!(out, "  script:");
            if tag.is_none() {
                // No hosted runner of this CPU: built emulated on the default runner.
                let _ = writeln!(out, "    - {}", q(BINFMT));
            }
            let push = format!(
                "{mpbuild} push{only} --platform \"$MPBUILD_PLATFORM\" --digests-dir digests --progress plain"
            );
            let _ = writeln!(out, "    - {}", q(&push));
            let _ = writeln!(out, "  artifacts:");
            let _ = writeln!(out, "    paths: [{}]", q("digests/"));
            let _ = writeln!(out, "    expire_in: {}", q("1 day"));
        }
        let _ = writeln!(out, "merge:");
        let _ = writeln!(out, "  extends: {}", q(TEMPLATE));
        let _ = writeln!(out, "  stage: {}", q(STAGES[1]));
        let _ = writeln!(out, "  needs:");
        for e in &matrix.include {
            let _ = writeln!(
                out,
                "    - {{job: {}, artifacts: true}}",
                q(&leg_job(&e.slug))
            );
        }
        let _ = writeln!(out, "  script:");
        if self.images.iter().any(|i| i.smoke.is_some()) {
            // merge smoke-runs every platform of an image with `smoke:` on one runner.
            let _ = writeln!(out, "    - {}", q(BINFMT));
        }
        let merge = format!(
            "{mpbuild} merge{only} --digests-dir digests --metadata-file merged.json --progress plain"
        );
        let _ = writeln!(out, "    - {}", q(&merge));
        let _ = writeln!(out, "  artifacts:");
        let _ = writeln!(out, "    when: {}", q("always"));
        let _ = writeln!(out, "    paths: [{}]", q("merged.json"));
        out
    }
}
