//! A process a test sends signals to: its stderr is read as it comes (a test waits for a
//! line, with a deadline, instead of sleeping), and its exit is waited for with a
//! deadline and timed from the signals. A process still running at the deadline is
//! given up to `OVERTIME` more (so a failure says how long it really took), then killed.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long past its deadline a process is waited for, to measure it, before it is
/// killed.
pub const OVERTIME: Duration = Duration::from_secs(75);

pub struct Running {
    child: Child,
    stderr: Arc<(Mutex<String>, Condvar)>,
    stderr_reader: JoinHandle<()>,
    stdout_reader: JoinHandle<String>,
    signals: Vec<Instant>,
}

/// How a process ended.
#[derive(Debug)]
pub struct Ended {
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// From the first and the last signal sent to the exit.
    pub since_first: Duration,
    pub since_last: Duration,
    /// Whether it exited within the deadline given to [`Running::finish`].
    pub in_time: bool,
    /// stdout then stderr.
    pub text: String,
}

impl Running {
    /// Starts `cmd` with stdout and stderr piped.
    pub fn start(cmd: &mut Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let stderr: Arc<(Mutex<String>, Condvar)> = Arc::default();
        let err = child.stderr.take().unwrap();
        let s = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut text = s.0.lock().unwrap();
                text.push_str(&line);
                text.push('\n');
                s.1.notify_all();
            }
        });
        let mut out = child.stdout.take().unwrap();
        let stdout_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            text
        });
        Running {
            child,
            stderr,
            stderr_reader,
            stdout_reader,
            signals: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.0.lock().unwrap().clone()
    }

    /// Waits until its stderr holds `needle`, at most `limit`; whether it does.
    pub fn wait_for(&self, needle: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut text = self.stderr.0.lock().unwrap();
        loop {
            if text.contains(needle) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            text = self.stderr.1.wait_timeout(text, deadline - now).unwrap().0;
        }
    }

    /// Sends `signal` (`INT`, `TERM`, …) to the process, from this process (no `kill`
    /// to start first: on a loaded machine that took longer than the signal's handling).
    pub fn signal(&mut self, signal: &str) {
        self.signals.push(Instant::now());
        super::run::send_signal(self.pid(), signal);
    }

    /// Waits for the exit, `limit` from the last signal (or from now, when none was
    /// sent); past that, up to [`OVERTIME`] more, then kills it.
    pub fn finish(mut self, limit: Duration) -> Ended {
        let pid = self.pid();
        let (tx, rx) = mpsc::channel();
        let mut child = self.child;
        let waiter = std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let last = self.signals.last().copied().unwrap_or_else(Instant::now);
        let first = self.signals.first().copied().unwrap_or(last);
        let left = limit.saturating_sub(last.elapsed());
        let (status, in_time) = match rx.recv_timeout(left) {
            Ok(s) => (s, true),
            Err(_) => match rx.recv_timeout(OVERTIME) {
                Ok(s) => (s, false),
                Err(_) => {
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                    (rx.recv().expect("the killed process is reaped"), false)
                }
            },
        };
        let (since_first, since_last) = (first.elapsed(), last.elapsed());
        let status = status.expect("wait");
        let _ = waiter.join();
        let _ = self.stderr_reader.join();
        self.signals.clear();
        let stdout = self.stdout_reader.join().unwrap_or_default();
        let stderr = self.stderr.0.lock().unwrap().clone();
        use std::os::unix::process::ExitStatusExt;
        Ended {
            code: status.code(),
            signal: status.signal(),
            since_first,
            since_last,
            in_time,
            text: format!("{stdout}{stderr}"),
        }
    }
}
