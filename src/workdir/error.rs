//! Why a work directory cannot be used.

use std::path::PathBuf;

/// Why a work directory cannot be used. All are exit 2: the environment needs fixing.
#[derive(Debug, thiserror::Error)]
pub enum WorkDirError {
    #[error(
        "the work directory {} is owned by uid {owner}, not by you (uid {you}): another user may have made it to read or replace mpbuild's files; remove it (or ask its owner to), or set MPBUILD_WORK_DIR to a directory of your own",
        .path.display()
    )]
    NotOwned { path: PathBuf, owner: u32, you: u32 },
    #[error(
        "{} is a symlink (to {}): mpbuild follows no link in its work directory, where another user could have planted it; remove the link, or set MPBUILD_WORK_DIR to a directory of your own",
        .path.display(), .target.display()
    )]
    Symlink { path: PathBuf, target: PathBuf },
    #[error(
        "{} is not a directory, so it cannot be mpbuild's work directory; remove it, or set MPBUILD_WORK_DIR to a directory of your own",
        .path.display()
    )]
    NotDir { path: PathBuf },
    #[error(
        "{} does not look like an mpbuild work directory (it has no CACHEDIR.TAG written by mpbuild), so `mpbuild clean` leaves it alone; remove it yourself if it is one",
        .path.display()
    )]
    NotOurs { path: PathBuf },
    #[error(
        "cannot use the work directory {}: {source}; set MPBUILD_WORK_DIR to a directory you can write",
        .path.display()
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl crate::exit::Coded for WorkDirError {
    fn code(&self) -> crate::exit::Code {
        crate::exit::Code::Usage
    }
}
