//! Bounded reading of every file mpbuild reads: the project file, deployment files,
//! Dockerfiles and `.dockerignore`, Docker's `config.json`, CA certificates, leg
//! records, buildx's metadata files and OCI layouts, its own caches. Whatever a path
//! names, reading it neither hangs nor fills memory:
//!
//! - only regular files are read: the path's metadata is checked before it is opened
//!   (a FIFO, a device such as `/dev/zero`, a socket or a directory is refused), the
//!   file is opened non-blocking (so a FIFO swapped in after the check cannot hang the
//!   open) and the opened file is checked again (`fstat`);
//! - at most `cap` bytes are read (`take(cap + 1)`), so a file that lies about its size
//!   or grows while read is refused too; [`open_regular`] hands out a reader limited to
//!   the size the file had when opened, for files streamed rather than held.
//!
//! [`walk`] lists the files under a directory, to a bounded depth and number of
//! entries. It does not follow a symlinked directory: it stops with an error naming the
//! link (a loop cannot list a file twice or recurse forever, and files the user meant
//! to be read are never dropped in silence). A symlink to a file is listed like a
//! file: reading it goes through [`read_text`], which refuses anything but a regular
//! file, wherever the link points (inside the project or not).

use std::fs::{File, Metadata};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The most mpbuild reads of a project file or a deployment file: 8 MiB.
pub const MAX_TEXT_BYTES: u64 = 8 * 1024 * 1024;

/// How deep [`walk`] goes below the directory it is given.
pub const MAX_WALK_DEPTH: usize = 16;

/// How many directory entries [`walk`] looks at in all.
pub const MAX_WALK_ENTRIES: usize = 10_000;

/// What a non-regular file is, for messages.
fn kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

fn not_regular(meta: &Metadata) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{}, not a regular file; name a regular file", kind(meta)),
    )
}

/// `1.5 GiB`, `12.0 MiB`, `900 bytes`.
pub fn size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KIB * KIB * KIB {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    } else if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn too_large(what: String, cap: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::FileTooLarge,
        format!(
            "{what}, more than the {} mpbuild reads of such a file; check that this is the right file",
            size(cap)
        ),
    )
}

/// Opens the regular file at `path` for reading without blocking, checking the file
/// kind before and after the open; its metadata comes along. Anything else (a FIFO, a
/// device, a socket, a directory) is an error saying what it is; the caller adds the
/// path.
pub fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    // Before opening: the open itself must not block (a FIFO) or start a device.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        File::options()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)?
    };
    // After opening: the path may have been swapped between the check and the open.
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular(&meta));
    }
    Ok((file, meta))
}

/// A reader of the regular file at `path` that stops at the size the file had when it
/// was opened (a file that grows while it is streamed is read as it was), and that size.
pub fn open_sized(path: &Path) -> io::Result<(io::Take<File>, u64)> {
    let (file, meta) = open_regular(path)?;
    Ok((file.take(meta.len()), meta.len()))
}

/// Reads the regular file at `path` whole, at most `cap` bytes. Errors say what the path
/// is instead (`a FIFO (named pipe), not a regular file; …`, `2.0 GiB, more than the
/// 8.0 MiB …`); the caller adds the path.
pub fn read_bytes(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > cap {
        return Err(too_large(size(meta.len()), cap));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_large(format!("more than {}", size(cap)), cap));
    }
    Ok(bytes)
}

/// [`read_bytes`], as UTF-8 text.
pub fn read_text(path: &Path, cap: u64) -> io::Result<String> {
    let bytes = read_bytes(path, cap)?;
    String::from_utf8(bytes).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Why [`walk`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("cannot list {}: {source}", .dir.display())]
    List {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{} is more than {MAX_WALK_DEPTH} directories deep; name (in `from:` or `mpbuild check`) the directory that holds the deployment files",
        .dir.display()
    )]
    TooDeep { dir: PathBuf },
    #[error(
        "{} is a symlink to a directory, which mpbuild does not follow under a directory (it may loop); name the linked directory itself (in `from:` or `mpbuild check`), or replace the link with the files",
        .link.display()
    )]
    SymlinkedDir { link: PathBuf },
    #[error(
        "more than {MAX_WALK_ENTRIES} files and directories under {}; name (in `from:` or `mpbuild check`) the directory that holds the deployment files",
        .root.display()
    )]
    TooMany { root: PathBuf },
}

impl WalkError {
    /// The same error with its path written under `shown` instead of `root` (for
    /// messages that show the path as the user wrote it).
    pub fn shown_as(self, root: &Path, shown: &Path) -> WalkError {
        let re = |p: PathBuf| match p.strip_prefix(root) {
            Ok(rel) if rel.as_os_str().is_empty() => shown.to_path_buf(),
            Ok(rel) => shown.join(rel),
            Err(_) => p,
        };
        match self {
            WalkError::List { dir, source } => WalkError::List {
                dir: re(dir),
                source,
            },
            WalkError::TooDeep { dir } => WalkError::TooDeep { dir: re(dir) },
            WalkError::SymlinkedDir { link } => WalkError::SymlinkedDir { link: re(link) },
            WalkError::TooMany { root: r } => WalkError::TooMany { root: re(r) },
        }
    }
}

/// The files under `root` (recursively) whose path `want` accepts, sorted. A symlinked
/// directory is an error; a symlink to anything else is listed like a file.
pub fn walk(root: &Path, want: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>, WalkError> {
    let mut out = Vec::new();
    let mut seen = 0usize;
    walk_dir(root, root, 0, want, &mut seen, &mut out)?;
    out.sort();
    Ok(out)
}

fn walk_dir(
    root: &Path,
    dir: &Path,
    depth: usize,
    want: &dyn Fn(&Path) -> bool,
    seen: &mut usize,
    out: &mut Vec<PathBuf>,
) -> Result<(), WalkError> {
    let list = |source| WalkError::List {
        dir: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(list)? {
        let entry = entry.map_err(list)?;
        *seen += 1;
        if *seen > MAX_WALK_ENTRIES {
            return Err(WalkError::TooMany {
                root: root.to_path_buf(),
            });
        }
        // The entry's own type: a symlink is a symlink here, never what it points at.
        let file_type = entry.file_type().map_err(list)?;
        let path = entry.path();
        if file_type.is_dir() {
            if depth + 1 > MAX_WALK_DEPTH {
                return Err(WalkError::TooDeep { dir: path });
            }
            walk_dir(root, &path, depth + 1, want, seen, out)?;
        } else if file_type.is_symlink() && path.is_dir() {
            // Not followed (it may point back up), and not skipped in silence either:
            // files the user meant to be read would be missing from the result.
            return Err(WalkError::SymlinkedDir { link: path });
        } else if want(&path) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        std::fs::write(&p, "version: 1\n").unwrap();
        assert_eq!(read_text(&p, 100).unwrap(), "version: 1\n");
    }

    #[test]
    fn refuses_a_file_over_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        std::fs::write(&p, "x".repeat(101)).unwrap();
        let e = read_text(&p, 100).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(
            e.to_string()
                .starts_with("101 bytes, more than the 100 bytes"),
            "{e}"
        );
        assert_eq!(read_text(&p, 101).unwrap().len(), 101);
    }

    #[test]
    fn refuses_devices_and_directories() {
        let e = read_text(Path::new("/dev/zero"), MAX_TEXT_BYTES).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a character device, not a regular file; name a regular file"
        );
        let e = read_text(Path::new("/"), MAX_TEXT_BYTES).unwrap_err();
        assert!(e.to_string().starts_with("a directory, not"), "{e}");
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(made.success());
        // No writer: an open without O_NONBLOCK would wait for one for ever.
        let e = read_text(&p, MAX_TEXT_BYTES).unwrap_err();
        assert_eq!(
            e.to_string(),
            "a FIFO (named pipe), not a regular file; name a regular file"
        );
        let e = open_sized(&p).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_link_to_a_device_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        let e = read_bytes(&p, MAX_TEXT_BYTES).unwrap_err();
        assert!(e.to_string().starts_with("a character device"), "{e}");
    }

    #[test]
    fn a_sized_reader_stops_at_the_size_it_opened() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("blob");
        std::fs::write(&p, "abc").unwrap();
        let (mut r, len) = open_sized(&p).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"def")
            .unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!((s.as_str(), len), ("abc", 3));
    }

    #[test]
    fn stops_at_the_cap_when_the_size_lies() {
        // /proc files say 0 bytes; the read itself must stop at the cap.
        let e = read_text(Path::new("/proc/self/maps"), 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge, "{e}");
    }

    #[test]
    fn refuses_non_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.yaml");
        std::fs::write(&p, b"ab\xff").unwrap();
        let e = read_text(&p, 100).unwrap_err();
        assert!(e.to_string().contains("offset 2"), "{e}");
    }

    #[test]
    fn walk_lists_files_and_symlinked_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::write(d.join("a/b/task.json"), "{}").unwrap();
        std::fs::write(d.join("top.yaml"), "").unwrap();
        std::os::unix::fs::symlink(d.join("top.yaml"), d.join("a/link.yaml")).unwrap();
        let files = walk(d, &|_| true).unwrap();
        let rel: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(d).unwrap().display().to_string())
            .collect();
        assert_eq!(rel, ["a/b/task.json", "a/link.yaml", "top.yaml"]);
    }

    #[test]
    fn walk_does_not_follow_symlinked_directories() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::os::unix::fs::symlink(d, d.join("a/b/loop")).unwrap();
        let e = walk(d, &|_| true).unwrap_err();
        assert!(
            matches!(&e, WalkError::SymlinkedDir { link } if link.ends_with("a/b/loop")),
            "{e}"
        );
    }

    #[test]
    fn walk_is_bounded_in_depth() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = dir.path().to_path_buf();
        for _ in 0..=MAX_WALK_DEPTH {
            p.push("d");
        }
        std::fs::create_dir_all(&p).unwrap();
        let e = walk(dir.path(), &|_| true).unwrap_err();
        assert!(matches!(e, WalkError::TooDeep { .. }), "{e}");
    }
}
