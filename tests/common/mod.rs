//! The end-to-end harness: the real build stack that `scripts/stack up` starts (dockerd
//! with the containerd image store, buildx, a registry on loopback, QEMU, buildkitd).
//!
//! `stack()` returns `None` — after printing one `skipped: …` line — when there is no
//! stack, unless `MPBUILD_E2E=1` (CI), where a missing stack is a failure.
#![allow(dead_code)]
pub mod ci_github;
pub mod ci_gitlab;
pub mod ci_runner;
pub mod cli;
pub mod cosign;
pub mod fault;
pub mod names;
pub mod run;
pub mod running;
pub mod shells;
pub mod static_registry;
pub mod tls;
pub mod writable_registry;

#[allow(unused_imports)]
pub use names::run_id;
#[allow(unused_imports)] // each test file uses some of them
pub use run::{
    ACCEPT_MANIFESTS, Access, LogMark, Run, assert_env_scan_finds_processes, files_named,
    has_blob_at, has_file_named, interrupt, json, path_of, processes_with_env, registry_get,
    registry_get_json, tag_digest_at, wait_until,
};

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// The running stack, from the environment `scripts/stack env` prints.
#[derive(Debug, Clone)]
pub struct Stack {
    pub registry: String,
    pub docker_host: String,
    pub docker_config: PathBuf,
    pub state_dir: PathBuf,
    pub prefix: PathBuf,
    /// The multi-platform base image tests build `FROM`, pinned by digest
    /// (`REGISTRY/mpbuild-test/busybox@sha256:…`): a tag is read once, when the stack is
    /// probed, never while a build runs, so no test reads a tag being written.
    pub base_image: String,
    /// The base image's repository path in the registry (`mpbuild-test/busybox`).
    pub base_repo: String,
    /// The base image's index digest.
    pub base_digest: String,
    pub buildkit_addr: Option<String>,
    pub path: String,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn e2e_required() -> bool {
    var("MPBUILD_E2E").is_some_and(|v| v != "0")
}

/// The stack, or `None` (with a printed skip line) when there is none.
pub fn stack() -> Option<Stack> {
    match probe() {
        Ok(s) => Some(s),
        Err(why) => {
            skip(&format!("{why}: no build stack — run scripts/stack up"));
            None
        }
    }
}

/// Skips the calling test for `why` (`no BuildKit daemon …`): a failure under
/// MPBUILD_E2E=1 (CI must run every test), else one `skipped: WHY` line. The caller
/// returns right after.
pub fn skip(why: &str) {
    if e2e_required() {
        panic!("MPBUILD_E2E=1 but {why}");
    }
    // Written to stderr directly: libtest captures print!/eprintln! of passing tests,
    // and a skip must never look like a silent pass.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

fn probe() -> Result<Stack, String> {
    let need = |n: &str| var(n).ok_or_else(|| format!("{n} is not set"));
    let mut s = Stack {
        registry: need("MPBUILD_REGISTRY")?,
        docker_host: need("DOCKER_HOST")?,
        docker_config: need("DOCKER_CONFIG")?.into(),
        state_dir: need("MPBUILD_STACK_DIR")?.into(),
        prefix: need("MPBUILD_STACK_PREFIX")?.into(),
        base_image: need("MPBUILD_TEST_BASE")?,
        base_repo: String::new(),
        base_digest: String::new(),
        buildkit_addr: var("MPBUILD_BUILDKIT_ADDR"),
        path: need("PATH")?,
    };
    let ping = s
        .docker()
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    match ping {
        Ok(o) if o.status.success() => {}
        _ => {
            return Err(format!(
                "the Docker daemon at {} does not answer",
                s.docker_host
            ));
        }
    }
    let url = format!("http://{}/v2/", s.registry);
    let ok = Command::new("curl")
        .args(["-fsS", "--max-time", "3", "-o", "/dev/null", &url])
        .status()
        .map(|st| st.success())
        .unwrap_or(false);
    if !ok {
        return Err(format!("the registry at {url} does not answer"));
    }
    s.pin_base()?;
    Ok(s)
}

/// `REGISTRY/PATH@DIGEST` or `REGISTRY/PATH:TAG` → (PATH, DIGEST or TAG).
fn split_ref(reference: &str) -> Option<(&str, &str)> {
    let (_, rest) = reference.split_once('/')?;
    rest.split_once('@').or_else(|| rest.rsplit_once(':'))
}

impl Stack {
    /// Pins `base_image` by digest: MPBUILD_TEST_BASE_DIGEST from scripts/stack, else
    /// (an env file from an older script) the tag resolved here, once.
    fn pin_base(&mut self) -> Result<(), String> {
        let (path, reference) = split_ref(&self.base_image)
            .map(|(p, r)| (p.to_string(), r.to_string()))
            .ok_or_else(|| {
                format!(
                    "MPBUILD_TEST_BASE={} is not REGISTRY/PATH:TAG",
                    self.base_image
                )
            })?;
        let digest = if reference.starts_with("sha256:") {
            reference
        } else if let Some(d) = var("MPBUILD_TEST_BASE_DIGEST") {
            d
        } else {
            let (code, body) = self.registry_get(&format!("/v2/{path}/manifests/{reference}"));
            if code != 200 {
                return Err(format!(
                    "the base image {} is not in the registry ({code})",
                    self.base_image
                ));
            }
            mpbuild::digest::sha256(body.as_bytes())
        };
        self.base_image = format!("{}/{path}@{digest}", self.registry);
        self.base_repo = path;
        self.base_digest = digest;
        Ok(())
    }
}

pub(crate) static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A command's stdout and stderr, for assertions and failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

impl Stack {
    /// `docker` with the stack's environment.
    pub fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        self.apply_env(&mut c);
        c
    }

    /// The built `mpbuild` with the stack's environment.
    pub fn mpbuild(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mpbuild"));
        self.apply_env(&mut c);
        c
    }

    /// The digest a tag of `repo` (REGISTRY/PATH) points at, or None.
    pub fn tag_digest(&self, repo: &str, tag: &str) -> Option<String> {
        tag_digest_at(&self.registry, path_of(repo), tag)
    }

    /// Sets the stack's environment on any command (mpbuild itself included).
    pub fn apply_env(&self, c: &mut Command) {
        c.env("PATH", &self.path)
            .env("DOCKER_HOST", &self.docker_host)
            .env("DOCKER_CONFIG", &self.docker_config)
            .env("MPBUILD_REGISTRY", &self.registry)
            .env("MPBUILD_TEST_BASE", &self.base_image)
            // The suite runs in GitHub Actions too: its pushes must not fill the CI job's
            // own summary (empty: no summary; tests that want one set a file).
            .env("GITHUB_STEP_SUMMARY", "");
    }

    /// A repository name no other test uses: `REGISTRY/e2e/NAME-RUN-N` ([`run_id`]).
    pub fn unique_repo(&self, name: &str) -> String {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        format!("{}/e2e/{name}-{}-{n}", self.registry, run_id())
    }

    /// Writes a build context (file name → contents) into a new temp dir.
    pub fn context(&self, files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, body).unwrap();
            // Executable, so binaries copied into images can run.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        dir
    }

    /// The BuildKit daemon's address for `remote` builders. Its absence fails under
    /// `MPBUILD_E2E=1`; otherwise the test is skipped with the harness's skip line.
    pub fn buildkit(&self) -> Option<String> {
        if self.buildkit_addr.is_none() {
            skip("no BuildKit daemon for the remote driver (MPBUILD_BUILDKIT_ADDR)");
        }
        self.buildkit_addr.clone()
    }

    /// The unpacked busybox binary for `arch` (amd64, arm64 or armhf): real ELF files.
    pub fn busybox(&self, arch: &str) -> PathBuf {
        match arch {
            "amd64" => self.prefix.join("bin/busybox"),
            other => self.prefix.join("busybox").join(other).join("bin/busybox"),
        }
    }

    /// Holds emulation on (shared with other tests) until dropped. Emulation found off
    /// under the shared lock was left off by a test killed while it held it off (a
    /// SIGKILL skips its restore on drop): no test can hold it off now, so it is
    /// registered again, with the line scripts/stack saved.
    pub fn emulation_shared(&self) -> EmulationLock {
        let f = self.lock_file();
        f.lock_shared().expect("lock emulation (shared)");
        if !Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists()
            && let Ok(reg) = std::fs::read_to_string(self.state_dir.join("binfmt/qemu-aarch64"))
        {
            // Another test holding the shared lock may register it first (EEXIST).
            let _ = std::fs::write("/proc/sys/fs/binfmt_misc/register", reg);
        }
        EmulationLock {
            _file: f,
            restore: None,
        }
    }

    /// Turns arm64 emulation off until dropped (exclusive: no other e2e test runs a
    /// foreign RUN step meanwhile). Re-registers it on drop, even after a panic.
    pub fn emulation_off(&self) -> EmulationLock {
        let f = self.lock_file();
        f.lock().expect("lock emulation (exclusive)");
        let entry = Path::new("/proc/sys/fs/binfmt_misc/qemu-aarch64");
        let mut restore = None;
        if entry.exists() {
            // The exact line scripts/stack registered.
            let reg = std::fs::read_to_string(self.state_dir.join("binfmt/qemu-aarch64"))
                .expect("scripts/stack saves the qemu-aarch64 registration");
            std::fs::write(entry, "-1").expect("unregister qemu-aarch64 (needs root)");
            restore = Some(reg);
        }
        EmulationLock { _file: f, restore }
    }

    fn lock_file(&self) -> File {
        File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.state_dir.join("emulation.lock"))
            .expect("emulation lock file")
    }

    /// Runs a command and returns its output, failing the test with both streams when
    /// it does not succeed.
    pub fn ok(&self, cmd: &mut Command) -> Output {
        let out = cmd.output().expect("spawn");
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// GET a registry URL path with curl (for assertions about what the registry holds).
    pub fn registry_get(&self, path: &str) -> (u16, String) {
        registry_get(&self.registry, path)
    }
}

/// A `docker-registry serve` process of a test's own, killed on drop.
pub struct Registry {
    child: std::process::Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Where it keeps its content (distribution's filesystem layout).
    pub fn storage(&self) -> PathBuf {
        self._dir.path().join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address where nothing listens and nothing will: port 1 (tcpmux, never
/// served here; binding it needs root). Not a port that was free a moment ago: another
/// test's listener (a fault proxy, a registry) can be given that one meanwhile.
pub const CLOSED_ADDR: &str = "127.0.0.1:1";

impl Stack {
    /// Starts a registry of the test's own on a free loopback port; `auth` is a YAML
    /// `auth:` block (or empty), `tls` a certificate and key.
    ///
    /// The registry picks the port (`127.0.0.1:0`) and says which in its log: a port
    /// chosen here and bound by it later could be taken in between (by another test's
    /// listener, or as the local port of any connection on this busy machine), and the
    /// registry would exit while the test talked to whatever held it.
    pub fn start_registry(&self, auth: &str, tls: Option<(&Path, &Path)>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let tls_cfg = tls
            .map(|(c, k)| {
                format!(
                    "\n  tls:\n    certificate: {}\n    key: {}",
                    c.display(),
                    k.display()
                )
            })
            .unwrap_or_default();
        // `info`: the level of the line that names the port.
        let cfg = format!(
            "version: 0.1\nlog: {{level: info}}\nstorage:\n  filesystem: {{rootdirectory: {}}}\nhttp:\n  addr: 127.0.0.1:0{tls_cfg}\n{auth}\n",
            dir.path().join("data").display()
        );
        let cfg_path = dir.path().join("config.yml");
        std::fs::write(&cfg_path, cfg).unwrap();
        let log = dir.path().join("registry.log");
        let mut child = Command::new(self.prefix.join("usr/bin/docker-registry"))
            .arg("serve")
            .arg(&cfg_path)
            .stdout(std::process::Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let addr = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(addr) = listening_on(&text) {
                break addr;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the test's registry exited ({status}) before it listened:\n{text}");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the test's registry did not listen within 60 s:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Registry {
            child,
            addr,
            _dir: dir,
        }
    }
}

/// The address in distribution's `listening on 127.0.0.1:PORT` log line.
fn listening_on(log: &str) -> Option<String> {
    let rest = log.split("listening on ").nth(1)?;
    let addr: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
        .collect();
    // Something after the port (the line's end at least): a line caught mid-write gives
    // no port rather than a truncated one.
    let whole = rest.len() > addr.len();
    addr.rsplit_once(':')
        .is_some_and(|(_, port)| whole && !port.is_empty() && port != "0")
        .then_some(addr)
}

/// Emulation state held for a test; restores what it changed when dropped.
pub struct EmulationLock {
    _file: File,
    restore: Option<String>,
}

impl Drop for EmulationLock {
    fn drop(&mut self) {
        if let Some(reg) = self.restore.take() {
            let _ = std::fs::write("/proc/sys/fs/binfmt_misc/register", reg);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A BuildKit daemon of a test's own (one platform), killed on drop.
pub struct Daemon {
    child: std::process::Child,
    pub sock: PathBuf,
    pub root: PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `buildkitd` (`MPBUILD_BUILDKITD`) for `platform` on a socket in `dir`.
pub fn buildkitd(stack: &Stack, dir: &Path, name: &str, platform: &str) -> Daemon {
    let bin = std::env::var("MPBUILD_BUILDKITD").expect("MPBUILD_BUILDKITD");
    let root = dir.join(format!("{name}-root"));
    let sock = dir.join(format!("{name}.sock"));
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "[worker.oci]\n  enabled = true\n[worker.containerd]\n  enabled = false\n[registry.\"{}\"]\n  http = true\n  insecure = true\n",
            stack.registry
        ),
    )
    .unwrap();
    let mut child = Command::new(bin)
        .env("PATH", &stack.path)
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--addr",
            &format!("unix://{}", sock.display()),
        ])
        .args([
            "--root",
            root.to_str().unwrap(),
            "--oci-worker-platform",
            platform,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // BuildKit creates its socket before its worker is ready (listeners first, then
    // the controller: moby/buildkit#4618), and buildx's remote driver waits 20 s for a
    // connection, hard-coded: under load the worker's start can take longer, and the
    // first build then fails with "[internal] waiting for connection: context deadline
    // exceeded". Wait here, untimed, until gRPC answers, not until the socket exists.
    let started = std::time::Instant::now();
    while !serves_grpc(&sock) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("buildkitd {name} exited before it answered: {status}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "buildkitd {name} did not answer on {} within 180 s",
            sock.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("buildkitd {name} answered after {:?}", started.elapsed());
    Daemon { child, sock, root }
}

/// Whether a gRPC (HTTP/2) server answers on `sock`: the client preface and an empty
/// SETTINGS frame sent, the server's SETTINGS frame back within a second. A socket
/// whose daemon has not started serving accepts the connection and says nothing.
fn serves_grpc(sock: &Path) -> bool {
    use std::io::{Read, Write};
    let Ok(mut conn) = std::os::unix::net::UnixStream::connect(sock) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0";
    let mut frame = [0u8; 9];
    conn.write_all(preface).is_ok() && conn.read_exact(&mut frame).is_ok() && frame[3] == 4
}

/// A private DOCKER_CONFIG (builders a test creates stay out of the stack's).
pub fn docker_config(stack: &Stack, dir: &Path) -> PathBuf {
    let cfg = dir.join("docker-config");
    std::fs::create_dir_all(cfg.join("cli-plugins")).unwrap();
    std::os::unix::fs::symlink(
        std::fs::canonicalize(stack.docker_config.join("cli-plugins/docker-buildx")).unwrap(),
        cfg.join("cli-plugins/docker-buildx"),
    )
    .unwrap();
    std::fs::write(cfg.join("config.json"), "{}").unwrap();
    cfg
}

/// A builder of two native nodes (BuildKit daemons for linux/amd64 and linux/arm64), a
/// private Docker config for it, and the `builder:` section that declares it in
/// mpbuild.yaml. The daemons stop when this is dropped.
pub struct TwoNodes {
    pub x86: Daemon,
    pub arm: Daemon,
    pub docker_config: PathBuf,
    /// `builder:\n  name: NAME\n  nodes: …` (ends with a newline).
    pub yaml: String,
    /// Where the daemons keep their state; removed when dropped.
    pub dir: tempfile::TempDir,
}

impl Stack {
    /// The BuildKit daemon binary tests start daemons of their own with
    /// (`MPBUILD_BUILDKITD`), or `None` (skipped through the harness).
    pub fn buildkitd_bin(&self) -> Option<String> {
        let bin = std::env::var("MPBUILD_BUILDKITD").ok();
        if bin.is_none() {
            skip("no BuildKit daemon binary (MPBUILD_BUILDKITD)");
        }
        bin
    }

    /// Two native nodes named `name`, or `None` (skipped through the harness) when
    /// there is no BuildKit daemon binary.
    pub fn two_nodes(&self, name: &str) -> Option<TwoNodes> {
        if std::env::var("MPBUILD_BUILDKITD").is_err() {
            skip("no BuildKit daemon binary (MPBUILD_BUILDKITD)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let x86 = buildkitd(self, dir.path(), "x86", "linux/amd64");
        let arm = buildkitd(self, dir.path(), "arm", "linux/arm64");
        let docker_config = docker_config(self, dir.path());
        let yaml = format!(
            "builder:\n  name: {name}\n  nodes:\n    - platforms: [linux/amd64]\n      endpoint: unix://{}\n    - platforms: [linux/arm64]\n      endpoint: unix://{}\n",
            x86.sock.display(),
            arm.sock.display()
        );
        Some(TwoNodes {
            x86,
            arm,
            docker_config,
            yaml,
            dir,
        })
    }
}
