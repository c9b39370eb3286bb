//! The blob part of a copy: each blob the destination lacks mounted where the registry
//! allows it, otherwise streamed from the source with each byte checked against the
//! blob's digest before the last one reaches the destination.
//!
//! Three kinds of worker share the work, so that round trips to a busy registry stay
//! off the path of the bytes:
//! - openers take the blobs largest first, ask whether the destination has each, and
//!   mount it or open its upload session (a declined mount's answer is that session),
//!   at most a few sessions ahead of the streams, so none waits long enough to expire;
//! - streams send each opened blob from the source to its session in one PUT;
//! - small-blob workers copy configs and other small blobs whole from the start:
//!   they cost round trips, not bandwidth, and left to the end they would be round
//!   trips to a registry still busy with the large ones.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use crate::heartbeat::Counted;
use crate::registry::manifest::Descriptor;
use crate::registry::{Client, Placed, RegistryError, Repository, Upload};

/// Blobs up to this size are copied by the small-blob workers.
pub(super) const SMALL_BLOB: u64 = 1 << 20;
/// How many blobs stream at once.
const STREAMS: usize = crate::pipeline::upload::PARALLEL;
/// How many workers open uploads ahead of the streams, and copy small blobs.
const OPENERS: usize = STREAMS;
const SMALL_WORKERS: usize = 2;

pub use crate::heartbeat::{Progress, Silent};

/// What the copy did.
#[derive(Debug, Default)]
pub(super) struct Counts {
    pub copied: usize,
    pub mounted: usize,
    pub skipped: usize,
    pub bytes: u64,
}

/// Copies `blobs` from `src` to `dest`, skipping those `dest` has.
pub(super) fn copy(
    client: &Client,
    src: &Repository,
    dest: &Repository,
    blobs: &[Descriptor],
    progress: &dyn Progress,
) -> Result<Counts, anyhow::Error> {
    if blobs.is_empty() {
        return Ok(Counts::default());
    }
    progress.add_total(crate::heartbeat::total(blobs.iter().map(|b| b.size)));
    let mut order: Vec<&Descriptor> = blobs.iter().collect();
    order.sort_by_key(|b| b.size);
    let small = order.iter().filter(|b| b.size <= SMALL_BLOB).count();
    let run = Run {
        client,
        src,
        dest,
        progress,
        queue: Mutex::new(order.into()),
        first_error: Mutex::new(None),
        copied: AtomicUsize::new(0),
        mounted: AtomicUsize::new(0),
        skipped: AtomicUsize::new(0),
        bytes: AtomicU64::new(0),
    };
    let large = blobs.len() - small;
    let (tx, rx) = sync_channel::<(&Descriptor, Upload)>(STREAMS);
    // The streams own the receiver: should they all end (a panic included), the
    // openers' sends fail instead of waiting for ever.
    let rx = Arc::new(Mutex::new(rx));
    std::thread::scope(|s| {
        for _ in 0..OPENERS.min(large.max(1)) {
            let tx = tx.clone();
            s.spawn(|| run.open_ahead(tx));
        }
        drop(tx);
        for _ in 0..STREAMS.min(large.max(1)) {
            let rx = rx.clone();
            s.spawn(|| run.stream_opened(rx));
        }
        drop(rx);
        for _ in 0..SMALL_WORKERS.min(small) {
            s.spawn(|| run.copy_small());
        }
    });
    if let Some(e) = run.first_error.into_inner().unwrap() {
        return Err(e);
    }
    if crate::cancel::requested() {
        return Err(crate::exit::Interrupted.into());
    }
    Ok(Counts {
        copied: run.copied.into_inner(),
        mounted: run.mounted.into_inner(),
        skipped: run.skipped.into_inner(),
        bytes: run.bytes.into_inner(),
    })
}

struct Run<'a> {
    client: &'a Client,
    src: &'a Repository,
    dest: &'a Repository,
    progress: &'a dyn Progress,
    /// Smallest at the front, largest at the back.
    queue: Mutex<VecDeque<&'a Descriptor>>,
    first_error: Mutex<Option<anyhow::Error>>,
    copied: AtomicUsize,
    mounted: AtomicUsize,
    skipped: AtomicUsize,
    bytes: AtomicU64,
}

impl<'a> Run<'a> {
    /// Whether to start no more work: a copy failed, or the user pressed Ctrl-C.
    fn failed(&self) -> bool {
        crate::cancel::requested() || self.first_error.lock().unwrap().is_some()
    }

    fn fail(&self, e: RegistryError) {
        self.first_error.lock().unwrap().get_or_insert(e.into());
    }

    /// An opener: the largest blob left, mounted or its upload opened and handed to
    /// the streams (waiting while they are all busy).
    fn open_ahead(&self, tx: SyncSender<(&'a Descriptor, Upload)>) {
        while !self.failed() {
            let Some(blob) = self.queue.lock().unwrap().pop_back() else {
                return;
            };
            match self.open(blob) {
                Ok(None) => {}
                Ok(Some(upload)) => {
                    if tx.send((blob, upload)).is_err() {
                        return;
                    }
                }
                Err(e) => return self.fail(e),
            }
        }
    }

    /// A stream: each opened blob sent, until the openers are done. After a failure
    /// it only drains what was opened, so no opener waits on it forever.
    fn stream_opened(&self, rx: Arc<Mutex<Receiver<(&'a Descriptor, Upload)>>>) {
        loop {
            let next = rx.lock().unwrap().recv();
            let Ok((blob, upload)) = next else { return };
            if self.failed() {
                continue;
            }
            if let Err(e) = self.send(blob, &upload) {
                self.fail(e);
            }
        }
    }

    /// A small-blob worker: the smallest blobs, each mounted or copied whole.
    fn copy_small(&self) {
        while !self.failed() {
            let blob = {
                let mut q = self.queue.lock().unwrap();
                match q.front() {
                    Some(b) if b.size <= SMALL_BLOB => q.pop_front(),
                    _ => None,
                }
            };
            let Some(blob) = blob else { return };
            let result = match self.open(blob) {
                Ok(None) => Ok(()),
                Ok(Some(upload)) => self.send(blob, &upload),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                return self.fail(e);
            }
        }
    }

    /// Skips a blob the destination has, mounts it, or opens its upload (`Some`).
    fn open(&self, blob: &Descriptor) -> Result<Option<Upload>, RegistryError> {
        let done = match self
            .client
            .place_blob(self.dest, &blob.digest, [self.src])?
        {
            Placed::Present => &self.skipped,
            Placed::Mounted => &self.mounted,
            Placed::Upload(upload) => return Ok(Some(upload)),
        };
        done.fetch_add(1, Ordering::Relaxed);
        self.progress.skip(blob.size);
        Ok(None)
    }

    /// Streams one blob from the source into its upload session, checked on the way.
    fn send(&self, blob: &Descriptor, upload: &Upload) -> Result<(), RegistryError> {
        // Counted for the progress (an attempt that starts over takes its count back).
        let sent = AtomicU64::new(0);
        let open = || -> std::io::Result<Box<dyn std::io::Read + Send + '_>> {
            let checked = self
                .client
                .get_blob_sized(self.src, &blob.digest, blob.size)
                .map_err(std::io::Error::other)?;
            Ok(Box::new(Counted::new(checked, self.progress, &sent)))
        };
        let dest = self.dest;
        match self
            .client
            .finish_upload(dest, upload, &blob.digest, blob.size, &open)
        {
            // The session was opened a few blobs ahead and may have expired while it
            // waited (registries drop idle ones): a new one, once.
            Err(RegistryError::Http { status: 404, .. }) => {
                let fresh = self.client.start_upload(dest)?;
                self.client
                    .finish_upload(dest, &fresh, &blob.digest, blob.size, &open)?;
            }
            done => done?,
        }
        self.copied.fetch_add(1, Ordering::Relaxed);
        crate::heartbeat::add(&self.bytes, blob.size);
        Ok(())
    }
}
