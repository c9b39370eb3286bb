//! One way for every end-to-end test to run mpbuild, and the registry reads their
//! assertions make.
//!
//! `stack.run(&args)` runs `mpbuild ARGS` with the stack's environment;
//! `stack.run_in(dir)` (a project directory: the current dir, with the work dir in
//! `dir/.mpbuild-work`) and `stack.runner()` return a [`Run`] to configure first:
//!
//! ```ignore
//! let out = stack.run_in(p).git_sha("s1").output(&["push", "--progress", "plain"]);
//! let (out, doc) = stack.run_in(p).json(&["push", "--format", "json"]);
//! ```
#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use super::{COUNTER, Stack, text};

/// An mpbuild command being configured; `output`, `json` or `spawn` runs it.
pub struct Run {
    cmd: Command,
}

impl Stack {
    /// `mpbuild ARGS` with the stack's environment, run to the end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.runner().output(args)
    }

    /// An mpbuild run with the stack's environment, to configure.
    pub fn runner(&self) -> Run {
        Run {
            cmd: self.mpbuild(),
        }
    }

    /// An mpbuild run in the project directory `dir`, with its work dir (buildx
    /// metadata, OCI layouts, the unchanged-inputs cache) in `dir/.mpbuild-work`.
    pub fn run_in(&self, dir: &Path) -> Run {
        self.runner().dir(dir).work_dir(&dir.join(".mpbuild-work"))
    }
}

impl Run {
    /// Runs in `dir` (where the project file is found).
    pub fn dir(mut self, dir: &Path) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// MPBUILD_WORK_DIR.
    pub fn work_dir(self, dir: &Path) -> Self {
        self.env("MPBUILD_WORK_DIR", dir)
    }

    /// GIT_SHA, for projects whose tags say `${GIT_SHA}`.
    pub fn git_sha(self, sha: &str) -> Self {
        self.env("GIT_SHA", sha)
    }

    /// DOCKER_CONFIG (credentials, builders and the buildx plugin of a test's own).
    pub fn docker_config(self, dir: &Path) -> Self {
        self.env("DOCKER_CONFIG", dir)
    }

    /// Any other environment variable.
    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Runs `mpbuild ARGS` to the end.
    pub fn output(mut self, args: &[&str]) -> Output {
        self.cmd.args(args).output().expect("spawn mpbuild")
    }

    /// Runs `mpbuild ARGS` (which ask for `--format json`) to the end: the output and
    /// its stdout as JSON (`Null` when stdout is not JSON; assertions on it then fail
    /// with the output shown).
    pub fn json(self, args: &[&str]) -> (Output, serde_json::Value) {
        let out = self.output(args);
        let doc = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out, doc)
    }

    /// Starts `mpbuild ARGS` with stdout and stderr piped, for tests that act while it
    /// runs (signals, dying daemons).
    pub fn spawn(mut self, args: &[&str]) -> Child {
        self.cmd
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mpbuild")
    }
}

/// The JSON document on a run's stdout; fails the test with the output when there is none.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

/// Sends SIGINT (what Ctrl-C sends) to a child process.
pub fn interrupt(child: &Child) {
    send_signal(child.id(), "INT");
}

/// Sends `signal` (`INT`, `TERM`, `KILL`, …) to `pid` with kill(2) from the test
/// itself: no `kill` process to start first, whose start a loaded machine delays
/// (tests race a signal against mpbuild's grace period, or time what follows it).
pub fn send_signal(pid: u32, signal: &str) {
    use nix::sys::signal::{Signal, kill};
    let sig: Signal = format!("SIG{signal}")
        .parse()
        .unwrap_or_else(|_| panic!("no signal SIG{signal}"));
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("a pid"));
    kill(pid, sig).unwrap_or_else(|e| panic!("kill -{signal} {pid}: {e}"));
}

/// The Accept header that asks a registry for any kind of manifest.
pub const ACCEPT_MANIFESTS: &str = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

/// GET `http://ADDR PATH` with curl (any registry on loopback, plain HTTP): the status
/// and the body.
pub fn registry_get(addr: &str, path: &str) -> (u16, String) {
    let url = format!("http://{addr}{path}");
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code}",
            "-H",
            ACCEPT_MANIFESTS,
            &url,
        ])
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// The digest `PATH:TAG` points at in the registry at `addr`, or None.
pub fn tag_digest_at(addr: &str, path: &str, tag: &str) -> Option<String> {
    let (code, body) = registry_get(addr, &format!("/v2/{path}/manifests/{tag}"));
    (code == 200).then(|| mpbuild::digest::sha256(body.as_bytes()))
}

/// Whether the registry at `addr` holds blob `digest` in repository `path`.
pub fn has_blob_at(addr: &str, path: &str, digest: &str) -> bool {
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "-o",
            "/dev/null",
            "-I",
            "-w",
            "%{http_code}",
            &format!("http://{addr}/v2/{path}/blobs/{digest}"),
        ])
        .output()
        .expect("curl");
    String::from_utf8_lossy(&out.stdout).trim() == "200"
}

/// A repository's path in its registry: `REGISTRY/PATH` → `PATH`.
pub fn path_of(repo: &str) -> &str {
    repo.split_once('/').map_or(repo, |(_, p)| p)
}

impl Stack {
    /// The manifest `target` (tag or digest) of `repo` (REGISTRY/PATH) in the stack's
    /// registry, as JSON; fails the test when it is not there.
    pub fn manifest(&self, repo: &str, target: &str) -> serde_json::Value {
        self.manifest_of_path(path_of(repo), target)
    }

    /// The same, by the repository's path in the stack's registry.
    pub fn manifest_of_path(&self, path: &str, target: &str) -> serde_json::Value {
        let (code, body) = self.registry_get(&format!("/v2/{path}/manifests/{target}"));
        assert_eq!(code, 200, "{path}:{target}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// A project directory: `mpbuild.yaml` and `Dockerfile` (and nothing else).
    pub fn project(&self, yaml: &str, dockerfile: &str) -> tempfile::TempDir {
        self.context(&[
            ("mpbuild.yaml", yaml.as_bytes()),
            ("Dockerfile", dockerfile.as_bytes()),
        ])
    }

    /// The linux/`arch` image of the stack's base image: (manifest digest, config
    /// digest, layer digests).
    pub fn base_parts(&self, arch: &str) -> (String, String, Vec<String>) {
        let index = self.manifest_of_path(&self.base_repo, &self.base_digest);
        let digest = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["platform"]["architecture"] == arch && m["platform"]["os"] == "linux")
            .unwrap_or_else(|| panic!("no linux/{arch} in the base image: {index}"))["digest"]
            .as_str()
            .unwrap()
            .to_string();
        let m = self.manifest_of_path(&self.base_repo, &digest);
        let layers = m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["digest"].as_str().unwrap().to_string())
            .collect();
        (
            digest,
            m["config"]["digest"].as_str().unwrap().to_string(),
            layers,
        )
    }
}

/// [`registry_get`], the body as JSON (`Null` when it is not JSON).
pub fn registry_get_json(addr: &str, path: &str) -> (u16, serde_json::Value) {
    let (code, body) = registry_get(addr, path);
    (
        code,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// Waits until `ready()` holds, polling every 50 ms; fails the test naming `what` when
/// it does not within `timeout`. Tests wait on events with this, never on a sleep.
pub fn wait_until(timeout: std::time::Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {timeout:?} for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// PIDs of the processes whose environment holds `needle` (`KEY=VALUE`): a marker
/// variable set on a command (or in a Dockerfile's `ENV`) finds the processes it
/// started, inside a build container too.
pub fn processes_with_env(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            found.push(pid);
        }
    }
    found
}

/// One request in the stack registry's access log.
#[derive(Debug, Clone)]
pub struct Access {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// `mpbuild/…`, `curl/…`, BuildKit's or dockerd's own.
    pub agent: String,
}

/// A place in the stack registry's access log: requests after it are read with
/// [`Stack::registry_requests_since`].
pub struct LogMark(u64);

impl Stack {
    /// The stack registry's access log (scripts/stack starts the registry with it):
    /// every request it served, whoever sent it — the record tests read to see what a
    /// builder did without asking mpbuild.
    fn registry_log(&self) -> std::path::PathBuf {
        let log = self.state_dir.join("registry.log");
        assert!(
            log.is_file(),
            "no registry access log at {} (scripts/stack up starts the registry with one)",
            log.display()
        );
        log
    }

    /// The end of the registry's access log now.
    pub fn registry_log_mark(&self) -> LogMark {
        LogMark(std::fs::metadata(self.registry_log()).unwrap().len())
    }

    /// The requests the registry logged since `mark` (its combined-format lines:
    /// `HOST - - [TIME] "METHOD PATH HTTP/1.1" STATUS SIZE "REFERER" "AGENT"`).
    pub fn registry_requests_since(&self, mark: &LogMark) -> Vec<Access> {
        use std::io::{Read, Seek};
        let mut f = File::open(self.registry_log()).unwrap();
        f.seek(std::io::SeekFrom::Start(mark.0)).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        text.lines()
            .filter_map(|line| {
                let parts: Vec<&str> = line.split('"').collect();
                if parts.len() < 6 || !parts[0].ends_with("] ") {
                    return None; // an error line of the registry's own
                }
                let mut request = parts[1].split(' ');
                let (method, path) = (request.next()?, request.next()?);
                let status = parts[2].split_whitespace().next()?.parse().ok()?;
                Some(Access {
                    method: method.to_string(),
                    path: path.to_string(),
                    status,
                    agent: parts[5].to_string(),
                })
            })
            .collect()
    }
}

impl Stack {
    /// How many times the stack's own BuildKit (dockerd's, the `docker` builder) has used
    /// the cache records whose description holds `marker` — the RUN steps a test marks
    /// with a unique string. BuildKit counts a use each time a build runs the step or
    /// takes it from the cache, so this moves exactly when a build of it ran: the
    /// daemon's own record, whatever mpbuild says.
    pub fn buildkit_uses(&self, marker: &str) -> u64 {
        let out = self.ok(self.docker().args(["buildx", "du", "--verbose"]));
        let text = String::from_utf8_lossy(&out.stdout);
        let mut uses = 0;
        for record in text.split("\n\n") {
            let field = |name: &str| {
                record
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::trim)
            };
            if field("Description:").is_some_and(|d| d.contains(marker)) {
                uses += field("Usage count:")
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or_else(|| panic!("no usage count in {record}"));
            }
        }
        uses
    }
}

/// The files (not directories) named `name` anywhere under `root` (symlinks not
/// followed): a BuildKit daemon's state holds its blobs and snapshots there.
pub fn files_named(root: &Path, name: &str) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            found.extend(files_named(&p, name));
        } else if e.file_name() == name {
            found.push(p);
        }
    }
    found
}

/// Whether [`files_named`] finds any.
pub fn has_file_named(root: &Path, name: &str) -> bool {
    !files_named(root, name).is_empty()
}

/// A positive control for [`processes_with_env`]: a process started here with a marker
/// variable is found by it (an unreadable `/proc` would otherwise make "no process
/// left" pass silently). Fails the test when it is not.
pub fn assert_env_scan_finds_processes() {
    let marker = format!(
        "MPBUILD_E2E_PROBE={}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let (k, v) = marker.split_once('=').unwrap();
    let mut probe = Command::new("sleep")
        .arg("30")
        .env(k, v)
        .spawn()
        .expect("sleep");
    let found = processes_with_env(&marker);
    let _ = probe.kill();
    let _ = probe.wait();
    assert!(
        found.contains(&probe.id()),
        "the /proc scan does not see a process it started ({marker}): found {found:?}"
    );
}

/// `mpbuild ARGS` with the stack's environment, Docker's credentials from
/// `docker_config` and, when given, `extra_path` first on PATH (a credential helper's
/// directory).
pub fn mpbuild_with_credentials(
    stack: &Stack,
    docker_config: &Path,
    extra_path: Option<&Path>,
    args: &[&str],
) -> Output {
    let mut run = stack.runner().docker_config(docker_config);
    if let Some(p) = extra_path {
        run = run.env("PATH", format!("{}:{}", p.display(), stack.path));
    }
    run.output(args)
}
