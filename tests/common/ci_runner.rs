//! A CI runner for tests: runs a workflow's (GitHub Actions, `ci_github.rs`) or a
//! pipeline's (GitLab CI, `ci_gitlab.rs`) shell steps in order, as the runner does,
//! against the real stack. Shared here: a fresh workspace per job (a copy of the
//! checkout), the artifact store between jobs, the shell a step runs in, mpbuild on
//! PATH only once a step has installed it (the built binary stands in for the release),
//! and the list of steps that were not run, each with why.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Stack;

/// What a run of a workflow or pipeline did.
pub struct Runner<'a> {
    pub stack: &'a Stack,
    /// The repository the CI checks out: each job gets a copy.
    pub checkout: PathBuf,
    /// Variables every step gets (GIT_SHA is set by the workflow itself).
    pub env: BTreeMap<String, String>,
    /// `secrets.NAME` (GitHub) or CI/CD variables (GitLab).
    pub secrets: BTreeMap<String, String>,
    /// `JOB: WHAT — WHY` for every step or line not run.
    pub skipped: Vec<String>,
    /// Every step's job summary (GITHUB_STEP_SUMMARY), appended in order.
    pub summary: String,
    /// Each step run: `JOB: STEP`, its exit code and what it printed, in order.
    pub ran: Vec<(String, i32, String)>,
    /// Each job's workspace, in the order the jobs ran.
    pub workspaces: Vec<PathBuf>,
    /// Kept until the runner is dropped: workspaces, temp dirs, artifacts.
    pub tmp: tempfile::TempDir,
    n: usize,
}

/// A job's own space: its workspace (a copy of the checkout), its temp dir, its PATH.
pub struct Job {
    pub name: String,
    pub workspace: PathBuf,
    pub temp: PathBuf,
    /// mpbuild installed by an earlier step of this job.
    pub installed: bool,
    /// Variables earlier steps exported (GitHub's GITHUB_ENV).
    pub exported: BTreeMap<String, String>,
}

impl<'a> Runner<'a> {
    pub fn new(stack: &'a Stack, checkout: &Path) -> Runner<'a> {
        Runner {
            stack,
            checkout: checkout.to_path_buf(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            skipped: Vec::new(),
            summary: String::new(),
            ran: Vec::new(),
            workspaces: Vec::new(),
            tmp: tempfile::tempdir().unwrap(),
            n: 0,
        }
    }

    /// A new job: its workspace a fresh copy of the checkout (as `actions/checkout` or
    /// GitLab's clone gives each job), nothing else.
    pub fn job(&mut self, name: &str) -> Job {
        self.n += 1;
        let root = self.tmp.path().join(format!("job-{}", self.n));
        let workspace = root.join("workspace");
        copy_dir(&self.checkout, &workspace);
        self.workspaces.push(workspace.clone());
        let temp = root.join("temp");
        std::fs::create_dir_all(&temp).unwrap();
        Job {
            name: name.to_string(),
            workspace,
            temp,
            installed: false,
            exported: BTreeMap::new(),
        }
    }

    /// The store of artifacts (`NAME/…`).
    pub fn artifacts(&self) -> PathBuf {
        let d = self.tmp.path().join("artifacts");
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Keeps `paths` (relative to the workspace, or absolute) of a job as artifact
    /// `name`, each under its path relative to the workspace (its file name if absolute).
    pub fn upload(&self, job: &Job, name: &str, paths: &[String]) {
        let dest = self.artifacts().join(name);
        for p in paths {
            let src = job.workspace.join(p);
            assert!(
                src.exists(),
                "{}: artifact path {p} does not exist",
                job.name
            );
            let rel = if Path::new(p).is_absolute() {
                PathBuf::from(src.file_name().unwrap())
            } else {
                PathBuf::from(p.trim_end_matches('/'))
            };
            copy_any(&src, &dest.join(rel));
        }
    }

    /// Unpacks artifact `name` into `into` (relative to the workspace).
    pub fn download(&self, job: &Job, name: &str, into: &str) {
        let src = self.artifacts().join(name);
        assert!(src.exists(), "{}: no artifact {name}", job.name);
        copy_dir(&src, &job.workspace.join(into));
    }

    /// Artifacts whose name starts with `prefix`.
    pub fn artifacts_named(&self, prefix: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.artifacts())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(prefix))
            .collect();
        names.sort();
        names
    }

    pub fn skip(&mut self, job: &Job, what: &str, why: &str) {
        self.skipped.push(format!("{}: {what} — {why}", job.name));
    }

    /// The PATH of a step: the stack's tools, and mpbuild once installed; before that a
    /// `mpbuild` that fails, so a step using it too early fails as on a fresh runner.
    fn path(&self, job: &Job) -> String {
        let dir = if job.installed {
            Path::new(env!("CARGO_BIN_EXE_mpbuild"))
                .parent()
                .unwrap()
                .to_path_buf()
        } else {
            let d = self.tmp.path().join("not-installed");
            if !d.exists() {
                std::fs::create_dir_all(&d).unwrap();
                let f = d.join("mpbuild");
                std::fs::write(
                    &f,
                    "#!/bin/sh\necho 'mpbuild: command not found' >&2\nexit 127\n",
                )
                .unwrap();
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            d
        };
        format!("{}:{}", dir.display(), self.stack.path)
    }

    /// Runs `script` as a step: written to a file and run by `shell` (`bash -e`,
    /// `sh -e`: what the runner runs), in `cwd`, with the stack's environment, the
    /// runner's variables, then `env`. Returns the exit code and what it printed.
    pub fn shell(
        &mut self,
        job: &Job,
        step: &str,
        shell: &[&str],
        script: &str,
        cwd: &Path,
        env: &BTreeMap<String, String>,
    ) -> (i32, String) {
        self.n += 1;
        let file = job.temp.join(format!("step-{}.sh", self.n));
        std::fs::write(&file, script).unwrap();
        let mut c = Command::new(shell[0]);
        c.args(&shell[1..]).arg(&file).current_dir(cwd);
        self.stack.apply_env(&mut c);
        c.env("PATH", self.path(job))
            .env("MPBUILD_WORK_DIR", job.temp.join("mpbuild-work"));
        for (k, v) in self.env.iter().chain(env) {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let code = out.status.code().unwrap_or(-1);
        let text = super::text(&out);
        self.ran
            .push((format!("{}: {step}", job.name), code, text.clone()));
        (code, text)
    }
}

/// `KEY=VALUE` lines and `KEY<<DELIM` … `DELIM` blocks of a GitHub environment file.
pub fn env_file(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((k, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(k.to_string(), value.join("\n"));
        } else if let Some((k, v)) = line.split_once('=') {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

pub fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        copy_any(&e.path(), &dest.join(e.file_name()));
    }
}

fn copy_any(src: &Path, dest: &Path) {
    if src.is_dir() {
        copy_dir(src, dest);
    } else {
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(src, dest).unwrap();
    }
}
