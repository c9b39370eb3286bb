//! A watcher thread beside a running child: it looks every `every` at whether the child
//! must be stopped (Ctrl-C, a deadline) and ends the moment the caller is done with it,
//! so finishing a build never waits out a polling interval.

use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// Runs `check` now and every `every` after, until it returns `true` (it stopped the
/// child) or the watcher is dropped; dropping wakes the thread at once and joins it.
pub struct Watcher {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    pub fn spawn(every: Duration, mut check: impl FnMut() -> bool + Send + 'static) -> Watcher {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            loop {
                if check() {
                    return;
                }
                match rx.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => continue,
                    // Dropped (or told): the caller is done.
                    _ => return,
                }
            }
        });
        Watcher {
            stop: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    #[test]
    fn dropping_does_not_wait_out_the_interval() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let w = Watcher::spawn(Duration::from_secs(30), move || {
            c.fetch_add(1, Ordering::SeqCst);
            false
        });
        std::thread::sleep(Duration::from_millis(20));
        let t = Instant::now();
        drop(w);
        // With a plain sleep loop this would take up to 30 s.
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn checks_until_told_to_stop() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&calls);
        let w = Watcher::spawn(Duration::from_millis(1), move || {
            c.fetch_add(1, Ordering::SeqCst) + 1 >= 3
        });
        let t = Instant::now();
        while calls.load(Ordering::SeqCst) < 3 && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(w);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }
}
