//! Files and child processes that would hang a read or fill memory: a FIFO or a link to
//! `/dev/zero` as Docker's `config.json`, a credential helper that prints without end,
//! a FIFO `.dockerignore`. Each is a clear error within seconds, and mpbuild runs under
//! a 512 MiB address-space limit (`ulimit -v`), so a read that grew with its input
//! would abort instead.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// `mpbuild ARGS` in `dir` with `env`, its address space limited to 512 MiB; killed
/// (and the test failed) if it has not ended within `limit`.
fn bounded(dir: &Path, env: &[(&str, &str)], args: &[&str], limit: Duration) -> (Output, Duration) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -v 524288 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_mpbuild"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    // Read both streams on threads so a full pipe never stalls the child.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mpbuild {args:?} still running after {limit:?}: it hangs");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    let output = Output {
        status,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    };
    (output, took)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success());
}

/// `verify` of a reference on a registry nothing listens on: Docker's config is read
/// before any request.
fn verify_with_config(cfg: &Path) -> (Output, Duration) {
    bounded(
        cfg,
        &[("DOCKER_CONFIG", cfg.to_str().unwrap())],
        &[
            "verify",
            "127.0.0.1:9/team/app:v1",
            "--platform",
            "linux/amd64",
        ],
        Duration::from_secs(30),
    )
}

#[test]
fn a_fifo_as_docker_config_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    mkfifo(&cfg);
    let (out, took) = verify_with_config(dir.path());
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!(
            "{}: a FIFO (named pipe), not a regular file",
            cfg.display()
        )),
        "{t}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_config_linked_to_dev_zero_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    std::os::unix::fs::symlink("/dev/zero", &cfg).unwrap();
    let (out, took) = verify_with_config(dir.path());
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!(
            "{}: a character device, not a regular file",
            cfg.display()
        )),
        "{t}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_config_larger_than_the_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    let f = std::fs::File::create(&cfg).unwrap();
    f.set_len(3 << 30).unwrap(); // sparse: 3 GiB of zeros, no disk used
    let (out, _) = verify_with_config(dir.path());
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("3.0 GiB, more than the 8.0 MiB mpbuild reads of such a file"),
        "{t}"
    );
}

/// A registry that asks every request for Basic credentials.
fn asks_for_credentials() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming().take(20) {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    addr
}

#[test]
fn a_credential_helper_printing_without_end_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let helper = bin.join("docker-credential-flood");
    std::fs::write(
        &helper,
        "#!/bin/sh\nexec yes '{\"Username\":\"u\",\"Secret\":\"s\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let addr = asks_for_credentials();
    std::fs::write(
        dir.path().join("config.json"),
        format!(r#"{{"credHelpers":{{"{addr}":"flood"}}}}"#),
    )
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let (out, took) = bounded(
        dir.path(),
        &[
            ("DOCKER_CONFIG", dir.path().to_str().unwrap()),
            ("PATH", &path),
        ],
        &[
            "verify",
            &format!("{addr}/team/app:v1"),
            "--platform",
            "linux/amd64",
        ],
        Duration::from_secs(30),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("credential helper `docker-credential-flood` failed: it printed more than 1.0 MiB on stdout"),
        "{t}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn a_fifo_dockerignore_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        d.join("mpbuild.yaml"),
        "version: 1\nimages:\n  app:\n    repository: 127.0.0.1:9/app\n    tags: [latest]\n    targets: [{service: apprunner}]\n",
    )
    .unwrap();
    mkfifo(&d.join(".dockerignore"));
    // A docker that would build: only the FIFO stops the push.
    let bin = d.join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(
        bin.join("docker"),
        "#!/bin/sh\ncase \"$2\" in\n  version) echo 'github.com/docker/buildx v0.13.1 abc';;\n  inspect) printf 'Name: default\\nDriver: docker\\n';;\n  *) echo built \"$@\" >> \"$HOME/calls\";;\nesac\n",
    )
    .unwrap();
    std::fs::set_permissions(bin.join("docker"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    for args in [
        &["push", "--progress", "plain"][..],
        &["build", "--dry-run"][..],
    ] {
        let (out, took) = bounded(
            d,
            &[
                ("PATH", &path),
                ("XDG_CACHE_HOME", d.join("cache").to_str().unwrap()),
            ],
            args,
            Duration::from_secs(30),
        );
        let t = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {t}");
        assert!(
            t.contains(
                "error: image `app`: ./.dockerignore: a FIFO (named pipe), not a regular file"
            ),
            "{t}"
        );
        assert!(took < Duration::from_secs(10), "took {took:?}");
    }
    assert!(!d.join("calls").exists(), "nothing was built");
}
