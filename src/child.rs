//! Child processes: running one whose output mpbuild reads (credential helpers,
//! `docker`, `git`), bounded in time and in bytes — its stdout and stderr go to pipes of
//! ours, at most `cap` bytes of each are kept, a child that prints more is killed; a
//! thread waits for it, the caller waits for that thread until the deadline, and kills
//! the child past it (the answer comes the moment the child exits) — and stopping
//! children when the run is interrupted ([`stop_on_cancel`]). Streams read line by line
//! while the child runs (buildx's progress, a smoke run's output) use
//! [`read_line_capped`].

use std::io::{BufRead, Read};
use std::process::{ExitStatus, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::cancel::{self, Stop};

/// How waiting ended.
#[derive(Debug)]
pub enum Waited {
    Exited(Output),
    /// Still running at the deadline; it has been killed.
    TimedOut,
    /// The run was interrupted (Ctrl-C, SIGTERM); the child has been killed.
    Interrupted,
    /// It printed more than the cap on `stream` (`stdout` or `stderr`); it has been
    /// killed.
    TooMuch {
        stream: &'static str,
        cap: usize,
    },
    Failed(std::io::Error),
}

/// What a small answer is given: 1 MiB (a credential, `docker buildx inspect`, `git
/// rev-parse`).
pub const ANSWER_CAP: usize = 1 << 20;

enum Msg {
    Out(Vec<u8>),
    Err(Vec<u8>),
    Exit(std::io::Result<ExitStatus>),
    Cancelled,
}

/// Starts `expr` (its own stdout and stderr replaced by pipes of ours) and waits at
/// most `limit` (`None`: as long as it takes), keeping at most `cap` bytes of each
/// stream; an interrupt kills it and ends the wait at once (even while a grandchild
/// holds its output open).
pub fn run(expr: &duct::Expression, limit: Option<Duration>, cap: usize) -> Waited {
    let deadline = limit.map(|l| Instant::now() + l);
    let pipes = std::io::pipe().and_then(|o| Ok((o, std::io::pipe()?)));
    let ((out_r, out_w), (err_r, err_w)) = match pipes {
        Ok(p) => p,
        Err(e) => return Waited::Failed(e),
    };
    // The expression holding our ends of the pipes' write sides is dropped at the end
    // of this statement, so the readers see the end once the child's copies close.
    let spawning = crate::cancel::spawning();
    let started = expr
        .stdout_file(out_w)
        .stderr_file(err_w)
        .unchecked()
        .start();
    let handle = match started {
        Ok(h) => Arc::new(h),
        Err(e) => return Waited::Failed(e),
    };
    let _stop = stop_on_cancel(&handle, Ending::Kill);
    drop(spawning);
    let over: Arc<[AtomicBool; 2]> = Arc::new([AtomicBool::new(false), AtomicBool::new(false)]);
    let (tx, rx) = mpsc::channel();
    for (i, mut pipe) in [(0, out_r), (1, err_r)] {
        let (tx, handle, over) = (tx.clone(), Arc::clone(&handle), Arc::clone(&over));
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut pipe).take(cap as u64 + 1).read_to_end(&mut buf);
            if buf.len() > cap {
                over[i].store(true, Ordering::SeqCst);
                let _ = handle.kill();
                buf.truncate(cap);
            }
            let _ = tx.send(if i == 0 { Msg::Out(buf) } else { Msg::Err(buf) });
        });
    }
    let interrupt = tx.clone();
    let _wake = cancel::global().on_cancel(move |_| {
        let _ = interrupt.send(Msg::Cancelled);
    });
    {
        let handle = Arc::clone(&handle);
        std::thread::spawn(move || {
            let _ = tx.send(Msg::Exit(handle.wait().map(|o| o.status)));
        });
    }
    let (mut stdout, mut stderr, mut status) = (None, None, None);
    while stdout.is_none() || stderr.is_none() || status.is_none() {
        let msg = match deadline {
            Some(d) => rx.recv_timeout(d.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match msg {
            Ok(Msg::Out(b)) => stdout = Some(b),
            Ok(Msg::Err(b)) => stderr = Some(b),
            Ok(Msg::Exit(s)) => status = Some(s),
            // Killed by the hook; the readers are not joined, for the reason below.
            Ok(Msg::Cancelled) => return Waited::Interrupted,
            Err(_) => {
                // Not joined: a grandchild may hold the output pipes open after the
                // kill, and the reading threads end with them.
                let _ = handle.kill();
                return Waited::TimedOut;
            }
        }
    }
    if cancel::requested() {
        return Waited::Interrupted;
    }
    for (i, stream) in ["stdout", "stderr"].into_iter().enumerate() {
        if over[i].load(Ordering::SeqCst) {
            return Waited::TooMuch { stream, cap };
        }
    }
    match status.expect("received") {
        Ok(status) => Waited::Exited(Output {
            status,
            stdout: stdout.unwrap_or_default(),
            stderr: stderr.unwrap_or_default(),
        }),
        Err(e) => Waited::Failed(e),
    }
}

/// [`run`] without a deadline, for commands that answer by themselves (`docker buildx
/// version`, `inspect`): the output, or an error saying what went wrong.
pub fn output(expr: &duct::Expression, cap: usize) -> std::io::Result<Output> {
    match run(expr, None, cap) {
        Waited::Exited(o) => Ok(o),
        Waited::Failed(e) => Err(e),
        Waited::TooMuch { stream, cap } => Err(std::io::Error::other(format!(
            "it printed more than {} on {stream}; stopped",
            crate::fsread::size(cap as u64)
        ))),
        Waited::TimedOut => Err(std::io::Error::from(std::io::ErrorKind::TimedOut)),
        Waited::Interrupted => Err(std::io::Error::new(
            std::io::ErrorKind::Interrupted,
            "interrupted",
        )),
    }
}

/// Reads one line (through its `\n`) into `line`, keeping at most `cap` bytes of it;
/// the rest of a longer line is read and dropped. Returns the bytes consumed (0 at the
/// end of the stream), so memory stays bounded whatever the child prints.
pub fn read_line_capped(
    r: &mut impl BufRead,
    line: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<usize> {
    let mut consumed = 0;
    loop {
        let (done, used) = {
            let buf = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok(consumed);
            }
            let (done, used) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (true, i + 1),
                None => (false, buf.len()),
            };
            let room = cap.saturating_sub(line.len());
            line.extend_from_slice(&buf[..used.min(room)]);
            (done, used)
        };
        r.consume(used);
        consumed += used;
        if done {
            return Ok(consumed);
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
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = crate::fsread::read_text(&e.path().join("stat"), 4096) else {
            continue;
        };
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

    #[test]
    fn answers_when_the_child_exits() {
        let t = Instant::now();
        let Waited::Exited(out) = run(
            &duct::cmd("sh", ["-c", "echo hi; echo oops >&2"]),
            Some(Duration::from_secs(30)),
            100,
        ) else {
            panic!("not exited")
        };
        assert_eq!(out.stdout, b"hi\n");
        assert_eq!(out.stderr, b"oops\n");
        assert!(out.status.success());
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
        let t = Instant::now();
        assert!(matches!(
            run(
                &duct::cmd("sh", ["-c", "sleep 30; echo late"]),
                Some(Duration::from_millis(200)),
                100
            ),
            Waited::TimedOut
        ));
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    }

    #[test]
    fn kills_a_child_that_prints_without_end() {
        let t = Instant::now();
        let w = run(
            &duct::cmd("sh", ["-c", "exec yes flood"]),
            Some(Duration::from_secs(30)),
            1 << 16,
        );
        assert!(
            matches!(w, Waited::TooMuch { stream: "stdout", cap } if cap == 1 << 16),
            "{w:?}"
        );
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        let e = output(&duct::cmd("sh", ["-c", "exec yes >&2"]), 1024).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it printed more than 1.0 KiB on stderr; stopped"
        );
    }

    #[test]
    fn a_line_is_kept_to_its_cap() {
        let text = format!("{}\nshort\n", "x".repeat(10_000));
        let mut r = std::io::BufReader::with_capacity(64, text.as_bytes());
        let mut line = Vec::new();
        assert_eq!(read_line_capped(&mut r, &mut line, 100).unwrap(), 10_001);
        assert_eq!(line.len(), 100);
        line.clear();
        assert_eq!(read_line_capped(&mut r, &mut line, 100).unwrap(), 6);
        assert_eq!(line, b"short\n");
        line.clear();
        assert_eq!(read_line_capped(&mut r, &mut line, 100).unwrap(), 0);
    }
}
