//! Child processes: waiting for one with a deadline, without polling (a thread waits
//! for it, the caller waits for that thread until the deadline, and kills the child past
//! it; the answer comes the moment the child exits), and stopping them when the run is
//! interrupted ([`stop_on_cancel`]).

use std::process::Output;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use crate::cancel::{self, Stop};

/// How waiting ended.
#[derive(Debug)]
pub enum Waited {
    Exited(Output),
    /// Still running at the deadline; it has been killed.
    TimedOut,
    /// The run was interrupted (Ctrl-C, SIGTERM); the child has been killed.
    Interrupted,
    Failed(std::io::Error),
}

/// Waits for `handle` at most `limit`; an interrupt kills it and ends the wait at once
/// (even while a grandchild holds its output open).
pub fn wait(handle: duct::Handle, limit: Duration) -> Waited {
    let handle = Arc::new(handle);
    let _stop = stop_on_cancel(&handle, Ending::Kill);
    let (tx, rx) = mpsc::channel();
    let interrupt = tx.clone();
    let _wake = cancel::global().on_cancel(move |_| {
        let _ = interrupt.send(None);
    });
    let waiter = {
        let handle = Arc::clone(&handle);
        std::thread::spawn(move || {
            let _ = tx.send(Some(handle.wait().cloned()));
        })
    };
    let waited = rx.recv_timeout(limit);
    if cancel::requested() {
        // Killed by the hook; not joined, for the same reason as below.
        return Waited::Interrupted;
    }
    match waited {
        Ok(None) => Waited::Interrupted,
        Ok(Some(Ok(output))) => {
            let _ = waiter.join();
            Waited::Exited(output)
        }
        Ok(Some(Err(e))) => {
            let _ = waiter.join();
            Waited::Failed(e)
        }
        Err(_) => {
            // Not joined: a grandchild may hold the output pipes open after the kill,
            // and the waiting thread ends with them.
            let _ = handle.kill();
            Waited::TimedOut
        }
    }
}

/// A running child that an interrupt can stop: duct's handles.
pub trait Child: Send + Sync + 'static {
    fn pids(&self) -> Vec<u32>;
    /// SIGKILL to the child itself (race-free: never a pid already reaped).
    fn kill(&self);
    fn exited(&self) -> bool;
}

impl Child for duct::Handle {
    fn pids(&self) -> Vec<u32> {
        duct::Handle::pids(self)
    }
    fn kill(&self) {
        let _ = duct::Handle::kill(self);
    }
    fn exited(&self) -> bool {
        !matches!(self.try_wait(), Ok(None))
    }
}

impl Child for duct::ReaderHandle {
    fn pids(&self) -> Vec<u32> {
        duct::ReaderHandle::pids(self)
    }
    fn kill(&self) {
        let _ = duct::ReaderHandle::kill(self);
    }
    fn exited(&self) -> bool {
        !matches!(self.try_wait(), Ok(None))
    }
}

/// How a child is stopped at the first signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// SIGTERM, so it can stop cleanly (buildx cancels its build); killed, with the
    /// processes under it, [`KILL_AFTER`] later if it still runs.
    Gentle,
    /// Killed at once, with the processes under it (a read-only probe, a helper).
    Kill,
}

/// How long a child given SIGTERM has before it is killed.
pub const KILL_AFTER: Duration = Duration::from_millis(500);

/// Stops `child` when the run is interrupted, until the guard is dropped. A second
/// signal kills it (and the processes under it) whatever `ending` says.
pub fn stop_on_cancel<C: Child>(child: &Arc<C>, ending: Ending) -> cancel::Guard<'static> {
    let child = Arc::clone(child);
    cancel::global().on_cancel(move |stop| match (stop, ending) {
        (Stop::Ask, Ending::Gentle) => {
            if child.exited() {
                return;
            }
            terminate(&child.pids());
            let child = Arc::clone(&child);
            std::thread::spawn(move || {
                std::thread::sleep(KILL_AFTER);
                if !child.exited() {
                    kill_tree(&*child);
                }
            });
        }
        _ => {
            if !child.exited() {
                kill_tree(&*child);
            }
        }
    })
}

/// Kills `child` and, best effort, every process under it: a `docker` CLI killed alone
/// would leave its buildx plugin building, holding the output pipe open.
fn kill_tree<C: Child + ?Sized>(child: &C) {
    let under = descendants(&child.pids());
    child.kill();
    kill(&under);
}

#[cfg(unix)]
fn terminate(pids: &[u32]) {
    signal(pids, nix::sys::signal::Signal::SIGTERM);
}

#[cfg(unix)]
fn kill(pids: &[u32]) {
    signal(pids, nix::sys::signal::Signal::SIGKILL);
}

#[cfg(unix)]
fn signal(pids: &[u32], sig: nix::sys::signal::Signal) {
    for p in pids {
        if let Ok(p) = i32::try_from(*p) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), sig);
        }
    }
}

#[cfg(not(unix))]
fn terminate(_: &[u32]) {}

#[cfg(not(unix))]
fn kill(_: &[u32]) {}

/// The processes under `roots` (children, their children…), from /proc; none where
/// there is no /proc.
fn descendants(roots: &[u32]) -> Vec<u32> {
    use std::io::Read;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let mut stat = String::new();
        let read = std::fs::File::open(e.path().join("stat"))
            .and_then(|f| f.take(4096).read_to_string(&mut stat));
        if read.is_err() {
            continue;
        }
        if let Some(ppid) = parent_of(&stat) {
            parents.push((pid, ppid));
        }
    }
    let mut out: Vec<u32> = Vec::new();
    let mut todo = roots.to_vec();
    while let Some(p) = todo.pop() {
        for (c, pp) in &parents {
            if *pp == p && !out.contains(c) && !roots.contains(c) {
                out.push(*c);
                todo.push(*c);
            }
        }
    }
    out
}

/// The parent pid in a /proc/PID/stat line: `PID (COMM) STATE PPID …`, where COMM may
/// hold spaces and parentheses.
fn parent_of(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn answers_when_the_child_exits() {
        let h = duct::cmd("sh", ["-c", "echo hi"])
            .stdout_capture()
            .start()
            .unwrap();
        let t = Instant::now();
        let Waited::Exited(out) = wait(h, Duration::from_secs(30)) else {
            panic!("not exited")
        };
        assert_eq!(out.stdout, b"hi\n");
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn parent_pids_from_stat_lines() {
        assert_eq!(parent_of("123 (sh) S 45 123 45 0 -1"), Some(45));
        assert_eq!(parent_of("7 (a) b (c) R 1 7 7 0"), Some(1));
        assert_eq!(parent_of("garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn descendants_are_found_under_a_child() {
        // A shell with a child of its own (not exec'd: the sleep stays under it).
        let h = duct::cmd("sh", ["-c", "sleep 30 & wait"])
            .stdout_null()
            .start()
            .unwrap();
        let root = h.pids()[0];
        let t = Instant::now();
        let mut found = Vec::new();
        // The shell starts its child after it starts: wait for it, with a deadline.
        while found.is_empty() && t.elapsed() < Duration::from_secs(10) {
            found = descendants(&[root]);
        }
        assert_eq!(found.len(), 1, "{found:?}");
        kill_tree(&h);
        let _ = h.wait();
        // The sleep was killed too: soon gone, or a zombie of no one's (a signal is
        // delivered asynchronously: wait for its effect, with a deadline).
        let alive = || {
            std::fs::read_to_string(format!("/proc/{}/stat", found[0]))
                .map(|s| !s.contains(") Z"))
                .unwrap_or(false)
        };
        let t = Instant::now();
        while alive() && t.elapsed() < Duration::from_secs(10) {
            std::thread::yield_now();
        }
        assert!(!alive(), "the grandchild survived");
    }

    #[test]
    fn kills_a_child_past_the_deadline() {
        // A shell whose own child keeps the output pipe open after the shell is killed.
        let h = duct::cmd("sh", ["-c", "sleep 30; echo late"])
            .stdout_capture()
            .start()
            .unwrap();
        let t = Instant::now();
        assert!(matches!(
            wait(h, Duration::from_millis(200)),
            Waited::TimedOut
        ));
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }
}
