//! Where mpbuild keeps its files for a project, and how no one else gets a say in them.
//!
//! A project's work directory is `MPBUILD_WORK_DIR`, else `mpbuild/NAME-HASH` under the
//! user's cache directory (`$XDG_CACHE_HOME`, else `~/Library/Caches` on macOS and
//! `~/.cache` elsewhere; with no `HOME`, `mpbuild-UID` under the system temp dir). It is
//! created and checked by [`secure::ensure`]: mode 0700, owned by this user, no symlink
//! followed on a component mpbuild owns. It holds:
//!
//! - `CACHEDIR.TAG`: marks it as a cache (backup tools skip it) and as mpbuild's (`clean`
//!   removes only directories that carry it);
//! - `inputs-hash-cache.tsv`: content hashes kept between runs, shared by every run of
//!   the project and read and written only under `lock`;
//! - `build-times.json`: the last measured time of each build step (`emulation::history`),
//!   written under `lock`;
//! - `buildcache/IMAGE/PLATFORM/`: the build cache of `cache: local` (`plan::cache`);
//! - `logs/`: the whole log of each failed build (`build-NAME-TIME.log`), the newest
//!   [`KEPT_LOGS`] kept;
//! - `runs/ID/`: one directory per run (`push`, a leg) for buildx's metadata files, the
//!   bake file and the OCI layouts, removed when the run ends — success, failure or
//!   Ctrl-C. Two runs of one project never share one. A run holds `runs/ID/.lock`; a
//!   directory whose lock nobody holds belongs to a run that was killed, and the next
//!   run removes it.

pub mod clean;
mod error;
pub mod secure;

pub use error::WorkDirError;

use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The tag file's first line, from the Cache Directory Tagging specification.
const CACHEDIR_SIGNATURE: &str = "Signature: 8a477f597d28d172789f06886806bc55";
const CACHEDIR_TAG: &str = "CACHEDIR.TAG";
const HASH_CACHE: &str = "inputs-hash-cache.tsv";
const LOCK: &str = "lock";
const RUNS: &str = "runs";
const RUN_LOCK: &str = ".lock";
const LOGS: &str = "logs";
/// How many build logs `logs/` keeps (the oldest go when a new one is made).
pub const KEPT_LOGS: usize = 20;

/// Where a project's work directory is, and the first component of it mpbuild owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    owned_from: PathBuf,
}

impl Location {
    /// A work directory at `path`, every component below its parent checked (as
    /// `MPBUILD_WORK_DIR` is).
    pub fn at(path: &Path) -> Location {
        Location {
            path: path.to_path_buf(),
            owned_from: path.to_path_buf(),
        }
    }
}

/// The user's cache directory: `$XDG_CACHE_HOME` (when absolute, as the specification
/// asks), else `~/Library/Caches` on macOS, else `~/.cache`; `None` without `HOME`.
pub fn cache_home() -> Option<PathBuf> {
    let var = |n: &str| {
        std::env::var_os(n)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(x) = var("XDG_CACHE_HOME").filter(|p| p.is_absolute()) {
        return Some(x);
    }
    let home = var("HOME")?;
    Some(if cfg!(target_os = "macos") {
        home.join("Library/Caches")
    } else {
        home.join(".cache")
    })
}

/// mpbuild's directory under the user's cache directory (or, without one, under the
/// system temp dir), and where its checks start.
fn mpbuild_base() -> PathBuf {
    match cache_home() {
        Some(c) => c.join("mpbuild"),
        None => std::env::temp_dir().join(format!("mpbuild-{}", secure::euid())),
    }
}

/// mpbuild's own cache directory (for small caches that are not per project, such as
/// buildx's version), created and checked like a work directory.
pub fn user_cache() -> Result<PathBuf, WorkDirError> {
    let base = mpbuild_base();
    secure::ensure(&base, &base)?;
    Ok(base)
}

/// Where `project_dir`'s work directory is (nothing is created or checked).
pub fn location(project_dir: &Path) -> Location {
    if let Some(dir) = std::env::var_os("MPBUILD_WORK_DIR").filter(|v| !v.is_empty()) {
        let path = std::path::absolute(&dir).unwrap_or_else(|_| PathBuf::from(dir));
        return Location {
            owned_from: path.clone(),
            path,
        };
    }
    let base = mpbuild_base();
    Location {
        path: base.join(project_name(project_dir)),
        owned_from: base,
    }
}

/// `NAME-HASH`: the project directory's name (for people listing the cache) and a hash
/// of its full path (so two projects never share a directory).
fn project_name(project_dir: &Path) -> String {
    let abs = std::fs::canonicalize(project_dir).unwrap_or_else(|_| project_dir.to_path_buf());
    let name: String = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let name = name.trim_start_matches('.');
    let hash = short_hash(&abs);
    if name.is_empty() {
        hash
    } else {
        format!("{name}-{hash}")
    }
}

/// Where versions before this one kept the work directory: `$TMPDIR/mpbuild-HASH`
/// (`clean` removes it when it is this user's).
pub fn legacy_location(project_dir: &Path) -> PathBuf {
    let abs = std::fs::canonicalize(project_dir).unwrap_or_else(|_| project_dir.to_path_buf());
    std::env::temp_dir().join(format!("mpbuild-{}", short_hash(&abs)))
}

fn short_hash(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    digest[..6].iter().map(|b| format!("{b:02x}")).collect()
}

/// A project's work directory, checked: this user's, 0700, reached through no link.
#[derive(Debug)]
pub struct WorkDir {
    root: PathBuf,
}

impl WorkDir {
    /// Creates (or checks) the work directory at `location`.
    pub fn open(location: &Location) -> Result<WorkDir, WorkDirError> {
        secure::ensure(&location.path, &location.owned_from)?;
        let root = location.path.clone();
        let tag = root.join(CACHEDIR_TAG);
        match create_new(&tag) {
            Ok(mut f) => {
                let _ = writeln!(
                    f,
                    "{CACHEDIR_SIGNATURE}\n# This file marks an mpbuild work directory: buildx's outputs and content hashes.\n# `mpbuild clean` removes it; see the README's Environment section."
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(WorkDirError::Io { path: tag, source }),
        }
        Ok(WorkDir { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The content hash cache's file (read and written under [`WorkDir::locked`]).
    pub fn hash_cache(&self) -> PathBuf {
        self.root.join(HASH_CACHE)
    }

    /// Runs `f` holding the work directory's lock (other runs of this project wait).
    pub fn locked<T>(&self, f: impl FnOnce() -> T) -> Result<T, WorkDirError> {
        let lock = self.lock()?;
        let out = f();
        drop(lock);
        Ok(out)
    }

    fn lock(&self) -> Result<File, WorkDirError> {
        let path = self.root.join(LOCK);
        let io = |source| WorkDirError::Io {
            path: path.clone(),
            source,
        };
        let f = open_lock_file(&path).map_err(io)?;
        f.lock().map_err(io)?;
        Ok(f)
    }

    /// Where to write the whole log of a build of `name` (an image, or images joined
    /// by `+`): a new file name in `logs/`, made 0700 like the rest; the oldest logs
    /// beyond [`KEPT_LOGS`] are removed. `None` when the directory cannot be made.
    pub fn build_log(&self, name: &str) -> Option<PathBuf> {
        let logs = self.root.join(LOGS);
        secure::ensure(&logs, &self.root).ok()?;
        prune_logs(&logs, KEPT_LOGS.saturating_sub(1));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        Some(logs.join(format!(
            "build-{name}-{}-{}.log",
            now.as_secs(),
            std::process::id()
        )))
    }

    /// A directory of this run's own, removed when the returned value is dropped. What
    /// runs that were killed left behind is removed first.
    pub fn begin_run(&self) -> Result<RunDir, WorkDirError> {
        let runs = self.root.join(RUNS);
        let mut tries = 0;
        loop {
            secure::ensure(&runs, &self.root)?;
            let lock = self.lock()?;
            sweep_runs(&runs);
            let made = make_run_dir(&runs);
            drop(lock);
            match made {
                // `mpbuild clean` removed the directory meanwhile: make it again.
                Err(WorkDirError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound && tries == 0 =>
                {
                    tries += 1;
                }
                other => return other,
            }
        }
    }
}

/// One run's directory; removed (with everything buildx wrote into it) when dropped,
/// and, should a second Ctrl-C (or the end of the grace period) end the process before
/// that, just before it exits.
pub struct RunDir {
    path: PathBuf,
    /// Held while the run lives: a directory whose lock is free was left by a dead run.
    _lock: File,
    _on_exit: crate::cancel::Guard<'static>,
}

impl std::fmt::Debug for RunDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunDir").field("path", &self.path).finish()
    }
}

impl RunDir {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn make_run_dir(runs: &Path) -> Result<RunDir, WorkDirError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let path = runs.join(format!(
        "{}-{:x}",
        std::process::id(),
        nanos & 0xffff_ffff_ffff
    ));
    let io = |source| WorkDirError::Io {
        path: path.clone(),
        source,
    };
    // Not recursive: the directory must be new (made by this run, mode 0700).
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&path)
        .map_err(io)?;
    let lock = open_lock_file(&path.join(RUN_LOCK)).map_err(io)?;
    lock.lock().map_err(io)?;
    let gone = path.clone();
    let on_exit = crate::cancel::global().on_cancel(move |stop| {
        if stop == crate::cancel::Stop::Force {
            let _ = std::fs::remove_dir_all(&gone);
        }
    });
    Ok(RunDir {
        path,
        _lock: lock,
        _on_exit: on_exit,
    })
}

/// Removes the directories of runs that ended without removing theirs (killed, or the
/// machine stopped). Called with the work directory's lock held, so a run being made
/// (directory made, its lock not yet taken) is never taken for a dead one.
fn sweep_runs(runs: &Path) -> Vec<PathBuf> {
    let mut active = Vec::new();
    let Ok(entries) = std::fs::read_dir(runs) else {
        return active;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        if run_is_active(&path) {
            active.push(path);
        } else {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
    active
}

/// Removes the oldest `build-*.log` files of `logs` until `keep` are left.
fn prune_logs(logs: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(logs) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| e.file_name().to_string_lossy().starts_with("build-"))
        .map(|e| {
            let t = e
                .metadata()
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (t, e.path())
        })
        .collect();
    files.sort();
    let excess = files.len().saturating_sub(keep);
    for (_, path) in files.into_iter().take(excess) {
        let _ = std::fs::remove_file(path);
    }
}

/// Whether a live process holds the run directory's lock.
fn run_is_active(dir: &Path) -> bool {
    match open_lock_file(&dir.join(RUN_LOCK)) {
        Ok(f) => matches!(f.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
        Err(_) => false,
    }
}

/// A lock file in a directory of ours, never through a link.
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nofollow())
        .open(path)
}

/// A file that must not exist yet (`O_EXCL`: a link in its place is not followed).
fn create_new(path: &Path) -> std::io::Result<File> {
    File::options()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn nofollow() -> i32 {
    rustix::fs::OFlags::NOFOLLOW.bits() as i32
}

/// Whether `dir` carries the tag mpbuild writes into its work directories.
fn is_tagged(dir: &Path) -> bool {
    crate::fsread::read_text(&dir.join(CACHEDIR_TAG), 4096)
        .is_ok_and(|t| t.starts_with(CACHEDIR_SIGNATURE) && t.contains("mpbuild"))
}

#[cfg(test)]
mod tests;
