//! `mpbuild clean`: work directories removed, and how much space that gave back. Only
//! directories that are this user's and mpbuild's are touched (the `CACHEDIR.TAG`
//! mpbuild writes, or the `mpbuild-HASH` name earlier versions used under the temp
//! dir); a run in progress keeps its directory.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{HASH_CACHE, Location, RUNS, WorkDirError, secure};

/// What `clean` did.
#[derive(Debug, Default)]
pub struct Cleaned {
    /// Each directory removed and the bytes it held on disk.
    pub removed: Vec<(PathBuf, u64)>,
    /// Directories left in place, and why (a run in progress).
    pub kept: Vec<(PathBuf, String)>,
    /// Work directories that did not exist.
    pub missing: Vec<PathBuf>,
}

impl Cleaned {
    pub fn bytes(&self) -> u64 {
        self.removed.iter().map(|(_, b)| b).sum()
    }
}

/// Removes the work directory at `location` and, when it is this user's, the one an
/// earlier version kept under the temp dir (`legacy`).
pub fn project(location: &Location, legacy: &Path) -> Result<Cleaned, WorkDirError> {
    let mut done = Cleaned::default();
    work_dir(&location.path, &mut done)?;
    if legacy != location.path {
        legacy_dir(legacy, &mut done);
    }
    Ok(done)
}

/// Removes every work directory of this user's: those under mpbuild's cache directory,
/// `MPBUILD_WORK_DIR` when set, and earlier versions' `mpbuild-HASH` under the temp dir.
pub fn all(explicit: Option<&Location>) -> Result<Cleaned, WorkDirError> {
    let mut done = Cleaned::default();
    if let Some(l) = explicit {
        work_dir(&l.path, &mut done)?;
    }
    let base = super::mpbuild_base();
    if secure::is_own_dir(&base) {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&base)
            .map_err(|source| WorkDirError::Io {
                path: base.clone(),
                source,
            })?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .filter(|p| super::is_tagged(p))
            .collect();
        dirs.sort();
        for d in dirs {
            work_dir(&d, &mut done)?;
        }
    }
    let tmp = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&tmp) {
        let mut legacy: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| is_legacy_name(&n.to_string_lossy()))
            })
            .collect();
        legacy.sort();
        for d in legacy {
            legacy_dir(&d, &mut done);
        }
    }
    Ok(done)
}

/// `mpbuild-` and twelve hex digits: the work directories of earlier versions.
fn is_legacy_name(name: &str) -> bool {
    name.strip_prefix("mpbuild-")
        .is_some_and(|h| h.len() == 12 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An earlier version's work directory: removed when it is this user's real directory
/// (a link or another user's directory there is left alone, without an error: it is
/// not in the way of anything now).
fn legacy_dir(path: &Path, done: &mut Cleaned) {
    if secure::is_own_dir(path) {
        let bytes = disk_usage(path);
        if std::fs::remove_dir_all(path).is_ok() {
            done.removed.push((path.to_path_buf(), bytes));
        }
    }
}

/// Removes one work directory, but not a run in progress in it.
fn work_dir(path: &Path, done: &mut Cleaned) -> Result<(), WorkDirError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            done.missing.push(path.to_path_buf());
            return Ok(());
        }
        Err(source) => {
            return Err(WorkDirError::Io {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if meta.file_type().is_symlink() {
        return Err(WorkDirError::Symlink {
            path: path.to_path_buf(),
            target: std::fs::read_link(path).unwrap_or_default(),
        });
    }
    if !meta.is_dir() {
        return Err(WorkDirError::NotDir {
            path: path.to_path_buf(),
        });
    }
    if meta.uid() != secure::euid() {
        return Err(WorkDirError::NotOwned {
            path: path.to_path_buf(),
            owner: meta.uid(),
            you: secure::euid(),
        });
    }
    if !super::is_tagged(path) {
        return Err(WorkDirError::NotOurs {
            path: path.to_path_buf(),
        });
    }
    let dir = super::WorkDir {
        root: path.to_path_buf(),
    };
    let bytes = disk_usage(path);
    let active = dir.locked(|| {
        let active = super::sweep_runs(&path.join(RUNS));
        if active.is_empty() {
            let _ = std::fs::remove_dir_all(path);
        } else {
            // Only what no run in progress needs: the hash cache (a run reads it at its
            // start and writes it back under the lock) stays with them.
            let _ = std::fs::remove_file(path.join(HASH_CACHE));
        }
        active
    })?;
    if active.is_empty() {
        done.removed.push((path.to_path_buf(), bytes));
    } else {
        let left = disk_usage(path);
        done.removed
            .push((path.to_path_buf(), bytes.saturating_sub(left)));
        for a in active {
            let pid = a
                .file_name()
                .and_then(|n| n.to_string_lossy().split('-').next().map(str::to_string))
                .unwrap_or_default();
            done.kept
                .push((a, format!("a run in progress (process {pid})")));
        }
    }
    Ok(())
}

/// The bytes `path` takes on disk (its files' allocated blocks), links not followed.
pub fn disk_usage(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        total += meta.blocks() * 512;
        if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(&p)
        {
            stack.extend(entries.flatten().map(|e| e.path()));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_names() {
        assert!(is_legacy_name("mpbuild-0123456789ab"));
        assert!(!is_legacy_name("mpbuild-smoke-0123456789ab"));
        assert!(!is_legacy_name("mpbuild-buildx-version-0123456789abcdef"));
        assert!(!is_legacy_name("mpbuild-0123456789a"));
    }
}
