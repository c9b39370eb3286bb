//! A small bounded pool for per-item registry work: at most `workers` threads (so at
//! most that many connections), results in input order, and no new item started once
//! one has failed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How many index entries (or references) are read at once.
pub const WORKERS: usize = 8;

/// Runs `f` over `items` on at most `workers` threads. Returns every result in input
/// order, or the error of the lowest-numbered item that failed; after a failure no
/// further item is started.
pub fn try_map<T, R, E, F>(items: &[T], workers: usize, f: F) -> Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
    F: Fn(&T) -> Result<R, E> + Sync,
{
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let workers = workers.clamp(1, items.len());
    if workers == 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<R, E>>>> =
        Mutex::new(std::iter::repeat_with(|| None).take(items.len()).collect());
    let work = || {
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { return };
            let r = f(item);
            if r.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            results.lock().unwrap()[i] = Some(r);
        }
    };
    // The calling thread is one of the workers: one thread fewer to start.
    std::thread::scope(|s| {
        for _ in 1..workers {
            s.spawn(work);
        }
        work();
    });
    let mut out = Vec::with_capacity(items.len());
    for r in results.into_inner().unwrap() {
        match r {
            Some(Ok(v)) => out.push(v),
            Some(Err(e)) => return Err(e),
            // Not started because an item failed: that error comes later in order.
            None => {}
        }
    }
    if out.len() == items.len() {
        Ok(out)
    } else {
        unreachable!("an item was skipped without any failure")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[test]
    fn at_most_workers_at_once_and_in_order() {
        let active = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let items: Vec<usize> = (0..200).collect();
        let out = try_map(&items, 8, |i| {
            let now = active.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(1));
            active.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, ()>(i * 2)
        })
        .unwrap();
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 8);
    }

    #[test]
    fn stops_after_a_failure() {
        let started = AtomicUsize::new(0);
        let items: Vec<usize> = (0..10_000).collect();
        let err = try_map(&items, 4, |i| {
            started.fetch_add(1, Ordering::SeqCst);
            if *i == 3 {
                Err(format!("item {i}"))
            } else {
                // Work takes time, as a registry request does: the other three workers
                // could start 1000 items only if the failing one stalled for 1.6 s
                // between failing and saying so (a bound of 100 left 165 ms; instant
                // items once failed it on a loaded CI machine). A pool that did not stop
                // starts all 10,000.
                std::thread::sleep(Duration::from_millis(5));
                Ok(*i)
            }
        })
        .unwrap_err();
        assert_eq!(err, "item 3");
        let n = started.load(Ordering::SeqCst);
        assert!(n < 1000, "{n} items started");
    }
}
