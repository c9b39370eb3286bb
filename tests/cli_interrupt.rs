//! Signals with a fake `docker` on PATH that ignores SIGINT and SIGTERM and leaves a
//! process behind holding its output open (as a docker CLI whose buildx plugin outlives
//! it would): a second signal exits at once; one signal alone exits after the grace
//! period; `doctor` stops at the first signal. Each wait is for an event (a FIFO the
//! fake writes to, a line printed, the exit), with a deadline.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::running::Running;

/// A fake docker: `buildx version` and `buildx inspect` answer; anything else (the
/// build, `docker version`) announces itself on `fifo`, writes its pid to `pid`, then
/// hangs ignoring SIGINT and SIGTERM, with one sleep of its own and one that escapes
/// (reparented, still holding the output pipe).
fn hanging_docker(bin: &Path) -> (PathBuf, PathBuf) {
    let fifo = bin.join("started");
    let pid = bin.join("pid");
    let ok = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
    let script = format!(
        "#!/bin/sh\ncase \"$1 $2\" in\n  'buildx version') echo 'github.com/docker/buildx v0.13.1 abc'; exit 0;;\n  'buildx inspect') printf 'Name: default\\nDriver: docker\\n'; exit 0;;\nesac\ntrap '' INT TERM\necho $$ > '{pid}'\n( sleep 30 & )\necho started > '{fifo}'\nsleep 30\n",
        pid = pid.display(),
        fifo = fifo.display()
    );
    let p = bin.join("docker");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    (fifo, pid)
}

/// Waits (with a deadline) for the fake to say it started.
fn started(fifo: &Path) {
    let (tx, rx) = mpsc::channel();
    let f = fifo.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::read_to_string(f));
    });
    let got = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the fake docker started");
    assert_eq!(got.unwrap().trim(), "started");
}

fn mpbuild(dir: &Path, bin: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mpbuild"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", dir)
        .env("MPBUILD_WORK_DIR", dir.join(".w"))
        .args(args);
    c
}

/// How long after its last signal mpbuild may take to exit: a guard against a hang,
/// not a speed. Every way it may end is told apart by what it prints (the second
/// signal, the grace period's end, a command that stopped by itself), and a run that
/// waited for the fake's `sleep 30` (or for the escaped one holding its output) would
/// not end within it. Tighter bounds (0.5 s; 1 s past the 1.5 s grace) measured the
/// machine's load instead.
const HANG: Duration = Duration::from_secs(10);

/// Whether `pid` still runs (a zombie does not).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z"))
        .unwrap_or(false)
}

#[test]
fn a_second_signal_exits_at_once_and_kills_the_child() {
    let dir = common::writable_registry::project();
    let bin = tempfile::tempdir().unwrap();
    let (fifo, pid) = hanging_docker(bin.path());
    let mut run = Running::start(&mut mpbuild(
        dir.path(),
        bin.path(),
        &["push", "--progress", "plain"],
    ));
    started(&fifo);
    run.signal("INT");
    assert!(
        run.wait_for("interrupted: stopping", Duration::from_secs(5)),
        "the first signal was not acknowledged: {}",
        run.stderr()
    );
    run.signal("INT");
    let end = run.finish(HANG);
    assert_eq!((end.code, end.signal), (Some(130), None), "{}", end.text);
    assert!(
        end.in_time,
        "exited {:?} after the second signal: {}",
        end.since_last, end.text
    );
    // The second signal ended it, not the grace period (which says so, below). Not a
    // time: from the first signal to the exit includes the acknowledgement's trip
    // through a pipe, and a bound of 1.2 s failed a loaded 2-core machine's budget.
    assert!(
        end.text
            .contains("interrupted again: exiting now; no tag moved after the first signal"),
        "{}",
        end.text
    );
    assert!(!end.text.contains("still stopping"), "{}", end.text);
    // The fake docker, which ignored both signals, was killed.
    let pid = std::fs::read_to_string(pid).unwrap().trim().to_string();
    let t = Instant::now();
    while alive(&pid) && t.elapsed() < Duration::from_secs(10) {
        std::thread::yield_now();
    }
    assert!(!alive(&pid), "the fake docker ({pid}) survived");
}

#[test]
fn one_signal_exits_after_the_grace_period_when_something_will_not_stop() {
    let dir = common::writable_registry::project();
    let bin = tempfile::tempdir().unwrap();
    let (fifo, _) = hanging_docker(bin.path());
    let mut run = Running::start(&mut mpbuild(
        dir.path(),
        bin.path(),
        &["push", "--progress", "plain"],
    ));
    started(&fifo);
    run.signal("TERM");
    let end = run.finish(HANG);
    assert_eq!((end.code, end.signal), (Some(130), None), "{}", end.text);
    assert!(
        end.in_time,
        "exited {:?} after SIGTERM: {}",
        end.since_last, end.text
    );
    // It waited the grace period (`cancel::GRACE`, 1.5 s: the timer starts once the
    // signal is handled, after it was sent), and the line below says it ran out.
    assert!(
        end.since_last >= Duration::from_millis(1500),
        "exited {:?} after SIGTERM, before the grace period ended: {}",
        end.since_last,
        end.text
    );
    assert!(
        end.text.contains(
            "interrupted: still stopping after 1.5 s: exiting now; no tag moved after the first signal"
        ),
        "{}",
        end.text
    );
}

#[test]
fn doctor_stops_at_the_first_signal() {
    let dir = common::writable_registry::project();
    let bin = tempfile::tempdir().unwrap();
    let (fifo, _) = hanging_docker(bin.path());
    let mut run = Running::start(&mut mpbuild(dir.path(), bin.path(), &["doctor"]));
    started(&fifo);
    run.signal("INT");
    let end = run.finish(HANG);
    assert_eq!((end.code, end.signal), (Some(130), None), "{}", end.text);
    assert!(
        end.in_time,
        "exited {:?} after SIGINT: {}",
        end.since_last, end.text
    );
    // It stopped by itself: the grace period did not have to end it.
    assert!(!end.text.contains("still stopping"), "{}", end.text);
    // No report of checks cut short.
    assert!(!end.text.contains("FAIL"), "{}", end.text);
    assert!(end.text.contains("error: interrupted"), "{}", end.text);
}
