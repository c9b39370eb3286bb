//! The heartbeat of a build's export in plain mode: while buildx exports (the OCI
//! layout the `docker` driver writes, or an image it pushes), a line every
//! [`crate::heartbeat::interval`] saying what the export does now, how long it has run
//! and the bytes it has moved — the bytes in the OCI layout on disk, or those BuildKit
//! reports — so a long export is not a silent minute in a CI log.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::progress::{Exporting, State};
use super::ui::{Mode, Ui};
use crate::heartbeat::Ticker;

/// Started with the build; told each change of the build's state.
pub struct ExportBeat {
    /// The export running now, and since when.
    now: Arc<Mutex<Option<(Exporting, Instant)>>>,
    _ticker: Ticker,
}

impl ExportBeat {
    /// A beat for the build of `image` ("app linux/amd64") exporting to `layouts`, in
    /// plain mode with an interval; `None` otherwise.
    pub fn start(ui: &Ui, image: &str, layouts: Vec<PathBuf>) -> Option<ExportBeat> {
        let every = crate::heartbeat::interval().filter(|_| ui.mode() == Mode::Plain)?;
        let now: Arc<Mutex<Option<(Exporting, Instant)>>> = Arc::default();
        let seen = Arc::clone(&now);
        let printer = ui.printer().clone();
        let what = format!("[{image}] export");
        // The bytes at the last tick, and when.
        let mut last: Option<(u64, Instant)> = None;
        let ticker = Ticker::start(every, move || {
            let Some((e, since)) = seen.lock().unwrap().clone() else {
                last = None;
                return;
            };
            let at = Instant::now();
            // An export shorter than the interval says nothing.
            if at - since < every {
                return;
            }
            let on_disk: u64 = layouts.iter().map(|d| blob_bytes(d)).sum();
            let done = e.done.max(on_disk);
            let (before, then) = last.filter(|l| l.1 >= since).unwrap_or((0, since));
            last = Some((done, at));
            let rate = done.saturating_sub(before) as f64 / (at - then).as_secs_f64().max(1e-3);
            printer.errln(&line(&what, &e, done, rate, (at - since).as_secs()));
        });
        Some(ExportBeat {
            now,
            _ticker: ticker,
        })
    }

    /// Takes the build's state after a change.
    pub fn update(&self, state: &State) {
        let found = state.exporting();
        let mut now = self.now.lock().unwrap();
        *now = match (found, now.take()) {
            (Some(e), Some((was, since))) if was.step == e.step => Some((e, since)),
            (Some(e), _) => Some((e, Instant::now())),
            (None, _) => None,
        };
    }
}

/// `[app linux/amd64] export: exporting layers, 12 s` and, once bytes move,
/// `…, 12 s: 40.1 MB, 20.0 MB/s` (`of TOTAL (P%)` where BuildKit gives a total).
pub fn line(what: &str, e: &Exporting, done: u64, rate: f64, secs: u64) -> String {
    let doing = e.now.as_deref().unwrap_or(&e.step);
    let head = format!("{what}: {doing}, {secs} s");
    if done == 0 {
        return head;
    }
    crate::heartbeat::line(&head, done, e.total, rate)
}

/// The bytes of the blobs in an OCI layout so far (files under `blobs/ALGORITHM/`).
fn blob_bytes(layout: &Path) -> u64 {
    let Ok(algorithms) = std::fs::read_dir(layout.join("blobs")) else {
        return 0;
    };
    algorithms
        .flatten()
        .filter_map(|a| std::fs::read_dir(a.path()).ok())
        .flat_map(|files| files.flatten())
        .filter_map(|f| f.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::human_bytes;

    #[test]
    fn export_lines_say_what_it_does_how_long_and_the_bytes_once_they_move() {
        let mut e = Exporting {
            step: "exporting to oci image format".into(),
            now: Some("exporting layers".into()),
            done: 0,
            total: 0,
        };
        assert_eq!(
            line("[app linux/amd64] export", &e, 0, 0.0, 12),
            "[app linux/amd64] export: exporting layers, 12 s"
        );
        e.now = None;
        assert_eq!(
            line("[app] export", &e, 40_100_000, 20e6, 14),
            "[app] export: exporting to oci image format, 14 s: 40.1 MB, 20.0 MB/s"
        );
        e.total = 80_200_000;
        assert_eq!(
            line("[app] export", &e, 40_100_000, 20e6, 14),
            "[app] export: exporting to oci image format, 14 s: 40.1 MB of 80.2 MB (50%), 20.0 MB/s"
        );
        assert_eq!(human_bytes(1), "1 B");
    }

    #[test]
    fn the_bytes_of_a_layout_are_its_blob_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(blob_bytes(dir.path()), 0);
        let blobs = dir.path().join("blobs/sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::write(blobs.join("a"), vec![0u8; 1000]).unwrap();
        std::fs::write(blobs.join("b"), vec![0u8; 24]).unwrap();
        std::fs::write(dir.path().join("index.json"), b"{}").unwrap();
        assert_eq!(blob_bytes(dir.path()), 1024);
    }
}
