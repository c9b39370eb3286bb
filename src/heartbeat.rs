//! Byte progress of the long phases that move bytes (an OCI layout uploaded, a mirror
//! or repository copy, buildx's export): one counter the parallel blob copies share
//! ([`Bytes`], read through [`Progress`]), a reader that counts what passes through it
//! ([`Counted`]), and the ticker that prints a heartbeat line every few seconds in plain
//! mode ([`Ticker`], [`line`]) — so CI logs show that work goes on, and how fast.
//!
//! The interval is [`interval`]: 5 s, or `MPBUILD_HEARTBEAT_MS` (at least 100 ms; 0 turns
//! the lines off).
//! A phase shorter than the interval prints no line.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The heartbeat's interval when `MPBUILD_HEARTBEAT_MS` does not say.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);

/// The shortest interval `MPBUILD_HEARTBEAT_MS` may set: each beat reads the counter
/// (an export's walks the OCI layout), so a value of 1 would do that every millisecond.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The environment variable that sets the interval.
pub const INTERVAL_ENV: &str = "MPBUILD_HEARTBEAT_MS";

/// How often a heartbeat line is printed in plain mode: `MPBUILD_HEARTBEAT_MS`
/// (milliseconds, at least [`MIN_INTERVAL`]; `0` = never), else [`DEFAULT_INTERVAL`].
/// A value that is not a number is said once on stderr, and the default is used.
pub fn interval() -> Option<Duration> {
    let value = std::env::var(INTERVAL_ENV).ok();
    let (every, warning) = interval_from(value.as_deref());
    if let Some(w) = warning {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| eprintln!("{w}"));
    }
    every
}

/// The interval `value` (of `MPBUILD_HEARTBEAT_MS`) sets, and the warning to print when
/// it is not a number of milliseconds.
fn interval_from(value: Option<&str>) -> (Option<Duration>, Option<String>) {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return (Some(DEFAULT_INTERVAL), None);
    };
    match v.parse::<u64>() {
        Ok(0) => (None, None),
        Ok(ms) => (Some(Duration::from_millis(ms).max(MIN_INTERVAL)), None),
        Err(_) => (
            Some(DEFAULT_INTERVAL),
            Some(format!(
                "warning: {INTERVAL_ENV}={:?} is not a number of milliseconds (it takes e.g. \
                 5000, at least {}; 0 turns the heartbeat off): using the default, {} ms",
                v.chars().take(64).collect::<String>(),
                MIN_INTERVAL.as_millis(),
                DEFAULT_INTERVAL.as_millis()
            )),
        ),
    }
}

/// Where the bytes of a copy go as they move: the total to move (blobs the destination
/// already has or mounts are taken off it) and what moved. Shared by the copy's workers.
pub trait Progress: Sync {
    /// More bytes to move (a set of blobs about to be copied).
    fn add_total(&self, bytes: u64);
    /// Bytes that need not move after all (the destination has the blob, or mounted it).
    fn skip(&self, bytes: u64);
    /// Bytes moved.
    fn advance(&self, bytes: u64);
    /// Bytes counted by an attempt that is starting over (a retried upload).
    fn rewind(&self, bytes: u64);
}

/// No progress kept.
pub struct Silent;
impl Progress for Silent {
    fn add_total(&self, _: u64) {}
    fn skip(&self, _: u64) {}
    fn advance(&self, _: u64) {}
    fn rewind(&self, _: u64) {}
}

/// The counter: bytes moved and bytes to move.
#[derive(Debug, Default)]
pub struct Bytes {
    done: AtomicU64,
    total: AtomicU64,
}

impl Bytes {
    /// (moved, to move).
    pub fn get(&self) -> (u64, u64) {
        (
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

/// The sum of byte counts that come from outside (manifests' sizes, BuildKit's
/// progress), at most `u64::MAX`: a hostile number neither panics nor wraps.
pub fn total(sizes: impl IntoIterator<Item = u64>) -> u64 {
    sizes.into_iter().fold(0, u64::saturating_add)
}

/// Adds `n`, at most to `u64::MAX` (see [`total`]).
pub fn add(a: &AtomicU64, n: u64) {
    let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_add(n))
    });
}

fn sub(a: &AtomicU64, n: u64) {
    let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
        Some(v.saturating_sub(n))
    });
}

impl Progress for Bytes {
    fn add_total(&self, bytes: u64) {
        add(&self.total, bytes);
    }
    fn skip(&self, bytes: u64) {
        sub(&self.total, bytes);
    }
    fn advance(&self, bytes: u64) {
        add(&self.done, bytes);
    }
    fn rewind(&self, bytes: u64) {
        sub(&self.done, bytes);
    }
}

/// A blob's bytes as the upload reads them, counted. Each attempt at the blob makes a
/// new one with the same `sent`: what an earlier attempt counted is taken back first,
/// so a retried blob is not counted twice. Each read is filled as far as the bytes
/// already there allow, so the upload sends a buffer's worth per write rather than
/// each piece the source happened to deliver.
pub struct Counted<'a, R> {
    inner: R,
    progress: &'a dyn Progress,
    sent: &'a AtomicU64,
}

impl<'a, R> Counted<'a, R> {
    pub fn new(inner: R, progress: &'a dyn Progress, sent: &'a AtomicU64) -> Self {
        progress.rewind(sent.swap(0, Ordering::Relaxed));
        Counted {
            inner,
            progress,
            sent,
        }
    }
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                // What was read is handed on; the next read meets the error (a stream that
                // failed fails again).
                Err(_) if filled > 0 => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        add(self.sent, filled as u64);
        self.progress.advance(filled as u64);
        Ok(filled)
    }
}

/// A thread that calls `tick` every `every` until it is dropped (or the run is
/// interrupted); dropping it wakes the thread at once and joins it, so a phase that
/// ends never waits out an interval.
pub struct Ticker {
    stop: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    pub fn start(every: Duration, mut tick: impl FnMut() + Send + 'static) -> Ticker {
        let (tx, rx) = mpsc::channel::<()>();
        let wake = tx.clone();
        let thread = std::thread::spawn(move || {
            // Ctrl-C wakes it too: no heartbeat after the interrupt.
            let _hook = crate::cancel::global().on_cancel(move |_| {
                let _ = wake.send(());
            });
            let mut next = Instant::now() + every;
            loop {
                let wait = next.saturating_duration_since(Instant::now());
                match rx.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) if !crate::cancel::requested() => tick(),
                    _ => return,
                }
                next += every;
            }
        });
        Ticker {
            stop: tx,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The heartbeat of one phase: each tick, a line from the counter's change since the
/// last one. Nothing while nothing moves and nothing is left to move (every blob was
/// there already, or the bytes are all moved and the phase is checking what it wrote).
pub struct Beat {
    what: String,
    last: (u64, Instant),
}

impl Beat {
    pub fn new(what: &str) -> Beat {
        Beat {
            what: what.to_string(),
            last: (0, Instant::now()),
        }
    }

    /// The line for this tick, with `done` of `total` (0: unknown) moved now.
    pub fn tick(&mut self, done: u64, total: u64) -> Option<String> {
        let now = Instant::now();
        let (before, at) = std::mem::replace(&mut self.last, (done, now));
        let moved = done.saturating_sub(before);
        if moved == 0 && done >= total {
            return None;
        }
        let rate = moved as f64 / now.duration_since(at).as_secs_f64().max(1e-3);
        Some(line(&self.what, done, total, rate))
    }
}

/// `WHAT: 212.0 MB of 480.0 MB (44%), 18.0 MB/s`; without a total (0),
/// `WHAT: 212.0 MB, 18.0 MB/s`.
pub fn line(what: &str, done: u64, total: u64, rate: f64) -> String {
    let rate = format!("{}/s", human_bytes(rate as u64));
    if total == 0 {
        return format!("{what}: {}, {rate}", human_bytes(done));
    }
    let percent = (u128::from(done.min(total)) * 100 / u128::from(total)) as u64;
    format!(
        "{what}: {} of {} ({percent}%), {rate}",
        human_bytes(done),
        human_bytes(total)
    )
}

/// Bytes in decimal units, one decimal: `512 B`, `1.5 kB`, `212.0 MB`, `1.2 GB`.
pub fn human_bytes(n: u64) -> String {
    let f = n as f64;
    if f >= 1e9 {
        format!("{:.1} GB", f / 1e9)
    } else if f >= 1e6 {
        format!("{:.1} MB", f / 1e6)
    } else if f >= 1e3 {
        format!("{:.1} kB", f / 1e3)
    } else {
        format!("{n} B")
    }
}

#[cfg(test)]
mod tests;
