//! A digest of what a build can see of its context: every file the `.dockerignore`
//! (or `DOCKERFILE.dockerignore` next to the Dockerfile, which takes precedence) lets
//! through, by relative path, executable bit, size and content; symlinks by their
//! target. Contents are hashed on all cores; a per-project cache keyed by each file's
//! size, modification time and inode skips the files that did not change since the last
//! run, so a second fingerprint of a large context reads almost nothing.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::ignore::Ignore;
use crate::workdir::WorkDir;

/// The most entries walked in one context.
pub const MAX_ENTRIES: usize = 1_000_000;

/// One file as the build sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    path: String,
    kind: char,
    executable: bool,
    size: u64,
    /// The content's sha256 (files), the link target (symlinks), empty (directories).
    content: String,
}

/// What the stat cache remembers of a file.
type Stamp = (u64, i64, i64, u64);

/// The cache of content hashes, kept in the work directory between runs. Runs of one
/// project share it: it is read, and written back merged with what other runs wrote
/// meanwhile, under the work directory's lock.
#[derive(Debug, Default)]
pub struct HashCache {
    work: Option<PathBuf>,
    entries: BTreeMap<String, (Stamp, String)>,
    /// The files hashed by this run (written back over what other runs wrote).
    changed: Vec<String>,
}

/// The most of the cache file read: 256 MiB (about two million files).
const MAX_CACHE_BYTES: u64 = 256 << 20;

fn parse_cache(text: &str) -> BTreeMap<String, (Stamp, String)> {
    let mut entries = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.splitn(6, '\t').collect();
        if let [size, mtime, mtime_ns, ino, hash, file] = f[..]
            && let (Ok(a), Ok(b), Ok(c), Ok(d)) =
                (size.parse(), mtime.parse(), mtime_ns.parse(), ino.parse())
        {
            entries.insert(file.to_string(), ((a, b, c, d), hash.to_string()));
        }
    }
    entries
}

fn read_cache(path: &Path) -> BTreeMap<String, (Stamp, String)> {
    crate::fsread::read_text(path, MAX_CACHE_BYTES)
        .map(|t| parse_cache(&t))
        .unwrap_or_default()
}

impl HashCache {
    /// Loads `work`'s cache (missing or unreadable: empty).
    pub fn load(work: &WorkDir) -> HashCache {
        let path = work.hash_cache();
        let entries = work.locked(|| read_cache(&path)).unwrap_or_default();
        HashCache {
            work: Some(work.root().to_path_buf()),
            entries,
            changed: Vec::new(),
        }
    }

    /// Writes what this run hashed back into `work`'s cache, over what is there now
    /// (best effort).
    pub fn save(&self, work: &WorkDir) {
        if self.changed.is_empty() || self.work.as_deref() != Some(work.root()) {
            return;
        }
        let path = work.hash_cache();
        let _ = work.locked(|| {
            let mut merged = read_cache(&path);
            for file in &self.changed {
                if let Some(e) = self.entries.get(file) {
                    merged.insert(file.clone(), e.clone());
                }
            }
            let mut out = String::new();
            for (file, ((a, b, c, d), hash)) in &merged {
                out.push_str(&format!("{a}\t{b}\t{c}\t{d}\t{hash}\t{file}\n"));
            }
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            if std::fs::write(&tmp, out).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        });
    }
}

/// The ignore file that applies to `dockerfile` in `context`.
fn ignore_for(context: &Path, dockerfile: &Path) -> std::io::Result<Ignore> {
    let specific = PathBuf::from(format!("{}.dockerignore", dockerfile.display()));
    for candidate in [specific, context.join(".dockerignore")] {
        match crate::fsread::read_text(&candidate, crate::fsread::MAX_TEXT_BYTES) {
            Ok(text) => return Ok(Ignore::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", candidate.display()),
                ));
            }
        }
    }
    Ok(Ignore::default())
}

/// What one walk found.
#[derive(Debug, Clone)]
pub struct Summary {
    /// `sha256:…` of every entry, in path order.
    pub digest: String,
    pub files: usize,
    pub bytes: u64,
    /// Files whose content was read (not in the cache, or changed).
    pub hashed: usize,
}

/// Walks and hashes `context` as the build of `dockerfile` sees it. `skip` (mpbuild's
/// own work directory, when it lies inside the context) is left out: it changes on every
/// run and is no input of the build.
pub fn digest(
    context: &Path,
    dockerfile: &Path,
    skip: Option<&Path>,
    cache: &mut HashCache,
) -> std::io::Result<Summary> {
    let ignore = ignore_for(context, dockerfile)?;
    let skip = skip.and_then(|s| std::fs::canonicalize(s).ok());
    let mut entries: Vec<(Entry, Option<(PathBuf, Stamp)>)> = Vec::new();
    let mut stack = vec![(context.to_path_buf(), String::new())];
    while let Some((dir, rel)) = stack.pop() {
        let mut names: Vec<_> = std::fs::read_dir(&dir)?.collect::<Result<_, _>>()?;
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::symlink_metadata(e.path())?;
            let ft = meta.file_type();
            if ft.is_dir() && skip.is_some() && std::fs::canonicalize(e.path()).ok() == skip {
                continue;
            }
            if ignore.excludes(&path) {
                if ft.is_dir() && !ignore.prunes(&path) {
                    stack.push((e.path(), path));
                }
                continue;
            }
            if entries.len() >= MAX_ENTRIES {
                return Err(std::io::Error::other(format!(
                    "more than {MAX_ENTRIES} files in the build context {}; add a .dockerignore",
                    context.display()
                )));
            }
            let executable = meta.mode() & 0o111 != 0;
            if ft.is_dir() {
                entries.push((entry(&path, 'd', executable, 0, String::new()), None));
                stack.push((e.path(), path));
            } else if ft.is_symlink() {
                let target = std::fs::read_link(e.path())?.display().to_string();
                entries.push((entry(&path, 'l', false, 0, target), None));
            } else if ft.is_file() {
                let stamp = (meta.size(), meta.mtime(), meta.mtime_nsec(), meta.ino());
                let cached = cache
                    .entries
                    .get(&e.path().display().to_string())
                    .filter(|(s, _)| *s == stamp)
                    .map(|(_, h)| h.clone());
                let needs = cached.is_none().then(|| (e.path(), stamp));
                entries.push((
                    entry(
                        &path,
                        'f',
                        executable,
                        meta.size(),
                        cached.unwrap_or_default(),
                    ),
                    needs,
                ));
            }
            // Sockets, FIFOs, devices: BuildKit does not send them either.
        }
    }
    // Hash what the cache did not have, on every core.
    let todo: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].1.is_some())
        .collect();
    let hashed = todo.len();
    let results: Mutex<Vec<(usize, std::io::Result<String>)>> = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    std::thread::scope(|s| {
        for _ in 0..workers.min(todo.len().max(1)) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&i) = todo.get(k) else { return };
                    let (path, _) = entries[i].1.as_ref().expect("todo");
                    let r = hash_file(path);
                    results.lock().unwrap().push((i, r));
                }
            });
        }
    });
    for (i, r) in results.into_inner().unwrap() {
        let hash = r?;
        let (path, stamp) = entries[i].1.clone().expect("todo");
        let key = path.display().to_string();
        cache.entries.insert(key.clone(), (stamp, hash.clone()));
        cache.changed.push(key);
        entries[i].0.content = hash;
    }
    entries.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    let mut h = Sha256::new();
    let mut bytes = 0;
    let mut files = 0;
    for (e, _) in &entries {
        if e.kind == 'f' {
            files += 1;
            bytes += e.size;
        }
        h.update(format!(
            "{}\0{}\0{}\0{}\0{}\n",
            e.path, e.kind, e.executable, e.size, e.content
        ));
    }
    Ok(Summary {
        digest: format!("sha256:{}", crate::digest::hex(&h.finalize())),
        files,
        bytes,
        hashed,
    })
}

fn entry(path: &str, kind: char, executable: bool, size: u64, content: String) -> Entry {
    Entry {
        path: path.to_string(),
        kind,
        executable,
        size,
        content,
    }
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    // Listed as a regular file; opened as one too (a FIFO swapped in would hang, a
    // device never end), and read no further than its size when opened.
    let (mut f, _) = crate::fsread::open_sized(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::digest::hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, body) in files {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, body).unwrap();
        }
        d
    }

    fn dig(d: &Path) -> String {
        digest(d, &d.join("Dockerfile"), None, &mut HashCache::default())
            .unwrap()
            .digest
    }

    #[test]
    fn content_paths_modes_and_ignored_files() {
        let d = ctx(&[
            ("Dockerfile", "FROM x\n"),
            ("src/a.rs", "a"),
            (".dockerignore", "notes/\n*.log\n"),
            ("notes/n.txt", "n"),
            ("x.log", "l"),
        ]);
        let base = dig(d.path());
        std::fs::write(d.path().join("notes/n.txt"), "changed").unwrap();
        std::fs::write(d.path().join("x.log"), "changed").unwrap();
        assert_eq!(dig(d.path()), base, "ignored files do not count");
        std::fs::write(d.path().join("src/a.rs"), "b").unwrap();
        let changed = dig(d.path());
        assert_ne!(changed, base, "a context file does");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            d.path().join("src/a.rs"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        assert_ne!(dig(d.path()), changed, "so does the exec bit");
        std::fs::rename(d.path().join("src/a.rs"), d.path().join("src/c.rs")).unwrap();
        assert_ne!(dig(d.path()), changed, "and the path");
    }

    #[test]
    fn the_cache_skips_unchanged_files_and_catches_changed_ones() {
        let d = ctx(&[("Dockerfile", "FROM x\n"), ("a", "1"), ("b", "2")]);
        // The work directory does not exist yet on a first run: opening makes it.
        let loc = crate::workdir::Location::at(&d.path().join("work"));
        let work = WorkDir::open(&loc).unwrap();
        let run = |c: &mut HashCache| {
            digest(d.path(), &d.path().join("Dockerfile"), Some(work.root()), c).unwrap()
        };
        let mut c = HashCache::load(&work);
        let first = run(&mut c);
        assert_eq!(first.hashed, 3);
        c.save(&work);
        let mut c = HashCache::load(&work);
        let again = run(&mut c);
        // Everything is cached; the work directory (the cache file) is not an input.
        assert_eq!(again.hashed, 0);
        assert_eq!(again.digest, first.digest);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(d.path().join("a"), "9").unwrap();
        let changed = run(&mut c);
        assert_ne!(changed.digest, again.digest);
    }

    #[test]
    fn runs_saving_at_once_keep_each_others_hashes() {
        let a = ctx(&[("Dockerfile", "FROM x\n"), ("a", "1")]);
        let b = ctx(&[("Dockerfile", "FROM x\n"), ("b", "2")]);
        let w = tempfile::tempdir().unwrap();
        let work = WorkDir::open(&crate::workdir::Location::at(&w.path().join("w"))).unwrap();
        // Both load the (empty) cache before either saves, as two pushes started together.
        let mut ca = HashCache::load(&work);
        let mut cb = HashCache::load(&work);
        digest(a.path(), &a.path().join("Dockerfile"), None, &mut ca).unwrap();
        digest(b.path(), &b.path().join("Dockerfile"), None, &mut cb).unwrap();
        ca.save(&work);
        cb.save(&work);
        let mut c = HashCache::load(&work);
        assert_eq!(
            digest(a.path(), &a.path().join("Dockerfile"), None, &mut c)
                .unwrap()
                .hashed,
            0
        );
        assert_eq!(
            digest(b.path(), &b.path().join("Dockerfile"), None, &mut c)
                .unwrap()
                .hashed,
            0
        );
    }
}
