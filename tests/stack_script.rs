//! `scripts/stack` against pid files left by a killed process tree or a reboot: a pid
//! file naming a PID that is now another process must be removed before `up` starts
//! the daemons (dockerd refuses to start over it), and `down` must not kill that other
//! process. Every run here uses a state directory of its own (MPBUILD_STACK_DIR), so
//! the running stack is never touched; no Docker needed.

use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/stack")
}

/// `scripts/stack ARG` with `state` as its state directory (never the real one).
fn stack(state: &Path, arg: &str) -> (i32, String) {
    let out = Command::new("bash")
        .arg(script())
        .arg(arg)
        .env("MPBUILD_STACK_DIR", state)
        // A registry address nothing answers on, in case anything pings it.
        .env("MPBUILD_REGISTRY", "127.0.0.1:9")
        .output()
        .expect("run scripts/stack");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The state layout `scripts/stack up` leaves, with these pid file contents.
fn layout(state: &Path, dockerd: &str, containerd: &str, registry: &str, buildkitd: &str) {
    for d in ["exec/containerd", "buildkit"] {
        std::fs::create_dir_all(state.join(d)).unwrap();
    }
    std::fs::write(state.join("dockerd.pid"), dockerd).unwrap();
    std::fs::write(state.join("exec/containerd/containerd.pid"), containerd).unwrap();
    std::fs::write(state.join("registry.pid"), registry).unwrap();
    std::fs::write(state.join("buildkit/buildkitd.pid"), buildkitd).unwrap();
}

/// Binds (and leaves behind, as a killed daemon does) a Unix socket at `p`.
fn socket(p: &Path) {
    drop(UnixListener::bind(p).unwrap());
    assert!(p.exists());
}

/// A live process whose command line looks like `PROG … STATE/…`: bash running a
/// builtin wait (no grandchild to leak), with PROG and a state path among its args.
fn fake_daemon(prog: &str, state: &Path) -> Child {
    Command::new("bash")
        .args(["-c", "read -r -t 60 || true", prog, "--config"])
        .arg(state.join("daemon.json"))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap()
}

fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

#[test]
fn clean_stale_removes_pid_files_of_other_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path();
    // Live but unrelated (this test), dead, and garbage.
    let me = std::process::id().to_string();
    layout(state, &me, &me, "4194305", "not a pid");
    socket(&state.join("docker.sock"));
    socket(&state.join("exec/containerd/containerd.sock"));
    std::fs::create_dir_all(state.join("buildkit")).unwrap();
    socket(&state.join("buildkit/buildkitd.sock"));

    // A live daemon of the real stack, when there is one: a dockerd, but not of this
    // state directory, so its PID in our pid file is stale too.
    let real = std::env::var_os("MPBUILD_STACK_DIR")
        .map(PathBuf::from)
        .filter(|d| d.join("dockerd.pid").is_file());
    let real_pid = real
        .as_ref()
        .map(|d| std::fs::read_to_string(d.join("dockerd.pid")).unwrap());
    let real_cmdline = real_pid
        .as_ref()
        .map(|p| std::fs::read(format!("/proc/{}/cmdline", p.trim())).unwrap_or_default());
    if let Some(p) = &real_pid {
        std::fs::write(state.join("dockerd.pid"), p).unwrap();
    }

    let (code, err) = stack(state, "clean-stale");
    assert_eq!(code, 0, "{err}");
    for f in [
        "dockerd.pid",
        "exec/containerd/containerd.pid",
        "registry.pid",
        "buildkit/buildkitd.pid",
        "docker.sock",
        "exec/containerd/containerd.sock",
        "buildkit/buildkitd.sock",
    ] {
        assert!(
            !state.join(f).exists(),
            "{f} should be removed; stderr:\n{err}"
        );
    }
    assert!(err.contains("remove stale"), "{err}");

    // The real stack: its pid file is still there and its dockerd still runs.
    if let (Some(dir), Some(pid), Some(cmdline)) = (real, real_pid, real_cmdline) {
        assert_eq!(
            std::fs::read_to_string(dir.join("dockerd.pid")).unwrap(),
            pid
        );
        assert_eq!(
            std::fs::read(format!("/proc/{}/cmdline", pid.trim())).unwrap(),
            cmdline,
            "the real dockerd must be untouched"
        );
    }
}

#[test]
fn clean_stale_keeps_live_daemons_of_this_state_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path();
    let dockerd = fake_daemon("dockerd", state);
    let registry = fake_daemon("docker-registry", state);
    // A dockerd of another state directory is not ours.
    let other = tempfile::tempdir().unwrap();
    let foreign = fake_daemon("buildkitd", other.path());
    layout(
        state,
        &dockerd.id().to_string(),
        "",
        &registry.id().to_string(),
        &foreign.id().to_string(),
    );
    socket(&state.join("docker.sock"));

    let (code, err) = stack(state, "clean-stale");
    assert_eq!(code, 0, "{err}");
    assert!(state.join("dockerd.pid").exists(), "{err}");
    assert!(state.join("docker.sock").exists(), "{err}");
    assert!(state.join("registry.pid").exists(), "{err}");
    assert!(!state.join("buildkit/buildkitd.pid").exists(), "{err}");
    assert!(
        !state.join("exec/containerd/containerd.pid").exists(),
        "{err}"
    );
    stop(dockerd);
    stop(registry);
    stop(foreign);
}

#[test]
fn down_does_not_kill_a_process_that_reused_a_pid() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path();
    let mut stranger = Command::new("sleep").arg("60").spawn().unwrap();
    let pid = stranger.id().to_string();
    layout(state, &pid, "", &pid, &pid);

    let (code, err) = stack(state, "down");
    assert_eq!(code, 0, "{err}");
    assert!(
        stranger.try_wait().unwrap().is_none(),
        "`down` killed an unrelated process; stderr:\n{err}"
    );
    assert!(!state.join("dockerd.pid").exists());
    stop(stranger);
}

/// A fake registry for the base image's tag: `answer(pushed)` gives the status for a
/// request (`pushed`: the fake `docker` has run). Serves a bounded number of requests.
fn fake_registry(marker: PathBuf, answer: fn(bool) -> u16) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let code = answer(marker.exists());
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\nDocker-Content-Digest: sha256:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                "ab".repeat(32)
            );
        }
    });
    addr
}

/// `scripts/stack base-image` in a state directory of its own, with a fake `docker`
/// (which records that it ran) and the fake registry. Returns (exit, stderr, whether
/// docker ran, the env file).
fn base_image(answer: fn(bool) -> u16) -> (i32, String, bool, String) {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let cache = tmp.path().join("cache");
    let shim = tmp.path().join("shim");
    let marker = tmp.path().join("docker-ran");
    for d in [&state, &shim] {
        std::fs::create_dir_all(d).unwrap();
    }
    for bb in [
        "prefix/bin/busybox",
        "prefix/busybox/arm64/bin/busybox",
        "prefix/busybox/armhf/bin/busybox",
    ] {
        let p = cache.join(bb);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "").unwrap();
    }
    let docker = shim.join("docker");
    std::fs::write(
        &docker,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", marker.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    let addr = fake_registry(marker.clone(), answer);
    let env = state.join("env");
    std::fs::write(
        &env,
        format!(
            "export PATH={}:\"$PATH\"\nexport MPBUILD_REGISTRY={addr}\nexport MPBUILD_TEST_BASE={addr}/mpbuild-test/busybox:latest\n",
            shim.display()
        ),
    )
    .unwrap();
    let out = Command::new("bash")
        .arg(script())
        .arg("base-image")
        .env("MPBUILD_STACK_DIR", &state)
        .env("MPBUILD_STACK_CACHE", &cache)
        .env("MPBUILD_REGISTRY", &addr)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        marker.exists(),
        std::fs::read_to_string(&env).unwrap_or_default(),
    )
}

#[test]
fn base_image_is_never_pushed_over_an_existing_tag() {
    let (code, err, pushed, env) = base_image(|_| 200);
    assert_eq!(code, 0, "{err}");
    assert!(!pushed, "pushed over an existing tag: {err}");
    assert!(
        env.contains(&format!(
            "export MPBUILD_TEST_BASE_DIGEST=sha256:{}",
            "ab".repeat(32)
        )),
        "{env}"
    );
}

#[test]
fn base_image_is_not_pushed_when_the_registry_does_not_answer_clearly() {
    // A registry slow or failing under load says nothing about the tag: no push.
    let (code, err, pushed, _) = base_image(|_| 500);
    assert!(!pushed, "pushed without knowing the tag is absent: {err}");
    assert_ne!(code, 0, "{err}");
    assert!(
        err.contains("GET answered 500") && err.contains("not pushing"),
        "{err}"
    );
}

#[test]
fn base_image_is_pushed_when_absent() {
    let (code, err, pushed, env) = base_image(|pushed| if pushed { 200 } else { 404 });
    assert_eq!(code, 0, "{err}");
    assert!(pushed, "{err}");
    assert!(env.contains("MPBUILD_TEST_BASE_DIGEST=sha256:"), "{env}");
}
