//! Directories no one else can plant or swap. Each component mpbuild owns is created
//! (mode 0700) and opened relative to its parent's open handle (`mkdirat`, `openat`
//! with `O_NOFOLLOW | O_DIRECTORY`), so a symlink planted anywhere on that part of the
//! path is refused instead of followed; each opened directory must belong to this user,
//! and one that others can read or write is made 0700. Once a directory is held this
//! way, only this user (and root) can change what lies below it, so paths under it can
//! be handed to buildx and removed with `remove_dir_all`.

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use super::error::WorkDirError;

/// This process's effective user id: who must own the directories.
pub fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Makes sure `path` is a directory that only this user controls, creating what is
/// missing. `owned_from` (an ancestor of `path`, or `path` itself) is the first
/// component mpbuild owns: it and everything below it are checked even when they
/// already exist. Ancestors above it that exist are the user's own choice (`$HOME`,
/// `$XDG_CACHE_HOME`, `/tmp`) and are taken as they are; those that are missing are
/// created and checked like the rest.
pub fn ensure(path: &Path, owned_from: &Path) -> Result<(), WorkDirError> {
    let path = absolute(path)?;
    let owned_from = absolute(owned_from)?;
    // The part mpbuild does not own: the nearest existing ancestor of `owned_from`.
    let mut base = owned_from
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    while std::fs::metadata(&base).is_err() {
        if !base.pop() {
            break;
        }
    }
    let rest = path.strip_prefix(&base).map_err(|_| WorkDirError::Io {
        path: path.clone(),
        source: std::io::Error::other(format!("not under {}", base.display())),
    })?;
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e: std::io::Error| WorkDirError::Io { path: p, source: e }
    };
    let mut dir: File = rustix::fs::open(
        &base,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map(File::from)
    .map_err(|e| io(&base)(e.into()))?;
    let mut at = base.clone();
    for c in rest.components() {
        let Component::Normal(name) = c else {
            return Err(WorkDirError::Io {
                path: path.clone(),
                source: std::io::Error::other("`.` and `..` are not allowed in it"),
            });
        };
        at.push(name);
        dir = open_child(&dir, name, &at)?;
    }
    Ok(())
}

/// Creates `name` in `parent` (0700) unless it exists, opens it without following a
/// link, and checks that it is this user's directory; a mode that lets others in is
/// narrowed to 0700.
fn open_child(parent: &File, name: &OsStr, shown: &Path) -> Result<File, WorkDirError> {
    match rustix::fs::mkdirat(parent, name, Mode::RWXU) {
        Ok(()) => {}
        Err(rustix::io::Errno::EXIST) => {}
        Err(e) => {
            return Err(WorkDirError::Io {
                path: shown.to_path_buf(),
                source: e.into(),
            });
        }
    }
    let opened = rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    );
    let dir = match opened {
        Ok(fd) => File::from(fd),
        Err(e) => return Err(why_not_a_dir(shown, e.into())),
    };
    let meta = dir.metadata().map_err(|e| WorkDirError::Io {
        path: shown.to_path_buf(),
        source: e,
    })?;
    let you = euid();
    if meta.uid() != you {
        return Err(WorkDirError::NotOwned {
            path: shown.to_path_buf(),
            owner: meta.uid(),
            you,
        });
    }
    if meta.mode() & 0o077 != 0 {
        dir.set_permissions(std::fs::Permissions::from_mode(0o700))
            .map_err(|e| WorkDirError::Io {
                path: shown.to_path_buf(),
                source: e,
            })?;
    }
    Ok(dir)
}

/// Why `path` could not be opened as a directory: a symlink, another kind of file, or
/// the system's error.
fn why_not_a_dir(path: &Path, error: std::io::Error) -> WorkDirError {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => WorkDirError::Symlink {
            path: path.to_path_buf(),
            target: std::fs::read_link(path).unwrap_or_default(),
        },
        Ok(m) if !m.is_dir() => WorkDirError::NotDir {
            path: path.to_path_buf(),
        },
        _ => WorkDirError::Io {
            path: path.to_path_buf(),
            source: error,
        },
    }
}

fn absolute(path: &Path) -> Result<PathBuf, WorkDirError> {
    std::path::absolute(path).map_err(|e| WorkDirError::Io {
        path: path.to_path_buf(),
        source: e,
    })
}

/// Whether `path` is a directory of this user's (not a symlink to one).
pub fn is_own_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir() && m.uid() == euid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_each_missing_component_private() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("a/b/c");
        ensure(&path, &t.path().join("a/b")).unwrap();
        for p in ["a", "a/b", "a/b/c"] {
            let m = std::fs::symlink_metadata(t.path().join(p)).unwrap();
            assert!(m.is_dir());
            assert_eq!(m.mode() & 0o777, 0o700, "{p}");
        }
        // A second time: found as it is.
        ensure(&path, &t.path().join("a/b")).unwrap();
    }

    #[test]
    fn narrows_an_existing_directory_to_0700() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("w");
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        ensure(&path, &path).unwrap();
        let m = std::fs::metadata(&path).unwrap();
        assert_eq!(m.mode() & 0o777, 0o700);
    }

    #[test]
    fn refuses_a_symlink_on_an_owned_component() {
        let t = tempfile::tempdir().unwrap();
        let victim = t.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::os::unix::fs::symlink(&victim, t.path().join("mpbuild")).unwrap();
        let e = ensure(&t.path().join("mpbuild/abc"), &t.path().join("mpbuild")).unwrap_err();
        assert!(matches!(e, WorkDirError::Symlink { .. }), "{e}");
        // Nothing was made through the link.
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);
    }

    #[test]
    fn refuses_a_file_where_a_directory_belongs() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("w"), "").unwrap();
        let e = ensure(&t.path().join("w"), &t.path().join("w")).unwrap_err();
        assert!(matches!(e, WorkDirError::NotDir { .. }), "{e}");
    }

    #[test]
    fn refuses_a_directory_of_another_user() {
        // As root: a directory given away to `nobody`; as anyone else: one of root's.
        let t = tempfile::tempdir().unwrap();
        let theirs = if euid() == 0 {
            let p = t.path().join("theirs");
            std::fs::create_dir(&p).unwrap();
            std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
            p
        } else {
            PathBuf::from("/usr")
        };
        let e = ensure(&theirs.join("w"), &theirs).unwrap_err();
        let WorkDirError::NotOwned { owner, you, .. } = e else {
            panic!("{e}")
        };
        assert_ne!(owner, you);
    }
}
