//! Work directories with a fake `docker` on PATH: planted links and other users'
//! directories refused, each run's directory removed at its end (failure and Ctrl-C
//! included), `mpbuild clean`. Two real pushes at once are in e2e_workdir.rs.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A project, a cache home and a temp dir of the test's own (`clean --all` and the
/// legacy location must never see another test's or another user's files).
struct Fixture {
    _t: tempfile::TempDir,
    project: PathBuf,
    cache: PathBuf,
    tmp: PathBuf,
    bin: PathBuf,
}

fn fixture(build: &str) -> Fixture {
    let t = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(t.path()).unwrap();
    let project = root.join("project");
    let cache = root.join("cache");
    let tmp = root.join("tmp");
    let bin = root.join("bin");
    for d in [&project, &cache, &tmp, &bin] {
        std::fs::create_dir(d).unwrap();
    }
    common::writable_registry::write_project(&project);
    // `build` gets buildx's argv; $dest is the OCI layout's directory.
    let docker = bin.join("docker");
    std::fs::write(
        &docker,
        format!(
            "#!/bin/sh\ncase \"$2\" in\n  version) echo 'github.com/docker/buildx v0.13.1 abc';;\n  inspect) printf 'Name: default\\nDriver: docker\\n';;\n  build)\n    dest=$(printf '%s\\n' \"$@\" | sed -n 's/^type=oci,tar=false,dest=//p')\n    echo \"$dest\" > \"{log}\"\n    {build};;\nesac\n",
            log = root.join("dest").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    Fixture {
        _t: t,
        project,
        cache,
        tmp,
        bin,
    }
}

impl Fixture {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mpbuild"));
        c.current_dir(&self.project)
            .env_clear()
            .env("PATH", format!("{}:/usr/bin:/bin", self.bin.display()))
            .env("HOME", self.project.join("home"))
            .env("XDG_CACHE_HOME", &self.cache)
            .env("TMPDIR", &self.tmp)
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    /// Where the fake build was told to write its layout.
    fn dest(&self) -> PathBuf {
        let log = self.project.parent().unwrap().join("dest");
        PathBuf::from(std::fs::read_to_string(log).unwrap().trim())
    }

    /// The project's work directory, as `plan` shows it.
    fn work_dir(&self) -> PathBuf {
        let out = self.run(&["plan", "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let meta = PathBuf::from(v["images"][0]["metadata_file"].as_str().unwrap());
        meta.parent().unwrap().to_path_buf()
    }

    /// Where versions before this one kept the work directory.
    fn legacy_dir(&self) -> PathBuf {
        let hash = mpbuild::digest::sha256(self.project.as_os_str().as_encoded_bytes());
        self.tmp.join(format!("mpbuild-{}", &hash[7..19]))
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A directory with what a push would write there, to see that nothing touched it.
fn victim(root: &Path) -> PathBuf {
    let v = root.join("victim");
    std::fs::create_dir_all(v.join("app")).unwrap();
    std::fs::write(v.join("app/keep"), "precious").unwrap();
    std::fs::write(v.join("bake.json"), "precious").unwrap();
    std::fs::write(v.join("inputs-hash-cache.tsv"), "precious").unwrap();
    v
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_symlink_planted_where_the_work_dir_goes_is_refused_and_nothing_is_touched() {
    let f = fixture("exit 1");
    let v = victim(f.project.parent().unwrap());
    // Planted at the default location (mpbuild's directory in the cache home) and where
    // earlier versions looked ($TMPDIR/mpbuild-HASH), both pointing at the victim.
    std::os::unix::fs::symlink(&v, f.cache.join("mpbuild")).unwrap();
    std::os::unix::fs::symlink(&v, f.legacy_dir()).unwrap();
    let out = f.run(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains(&format!(
            "error: {} is a symlink (to {}): mpbuild follows no link in its work directory",
            f.cache.join("mpbuild").display(),
            v.display()
        )) && t.contains("set MPBUILD_WORK_DIR to a directory of your own"),
        "{t}"
    );
    assert_eq!(
        listing(&v),
        ["app", "bake.json", "inputs-hash-cache.tsv"],
        "{t}"
    );
    assert_eq!(
        std::fs::read_to_string(v.join("bake.json")).unwrap(),
        "precious"
    );
    assert!(v.join("app/keep").exists());
}

#[test]
fn a_link_at_the_earlier_location_is_not_followed() {
    let f = fixture("mkdir -p \"$dest\"; echo x > \"$dest/partial\"; exit 1");
    let v = victim(f.project.parent().unwrap());
    std::os::unix::fs::symlink(&v, f.legacy_dir()).unwrap();
    let out = f.run(&["push", "--progress", "plain"]);
    assert_eq!(listing(&v), ["app", "bake.json", "inputs-hash-cache.tsv"]);
    assert!(v.join("app/keep").exists());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(!f.dest().starts_with(&f.tmp), "{}", f.dest().display());
}

#[test]
fn a_symlinked_mpbuild_work_dir_is_refused() {
    let f = fixture("exit 1");
    let v = victim(f.project.parent().unwrap());
    let link = f.project.parent().unwrap().join("w");
    std::os::unix::fs::symlink(&v, &link).unwrap();
    let out = f
        .cmd(&["push"])
        .env("MPBUILD_WORK_DIR", &link)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is a symlink"), "{}", text(&out));
    assert_eq!(listing(&v), ["app", "bake.json", "inputs-hash-cache.tsv"]);
}

#[test]
fn a_work_dir_of_another_user_is_refused() {
    let f = fixture("exit 1");
    // As root: a directory given to `nobody`; as anyone else: one of root's.
    let theirs = if rustix_euid() == 0 {
        let d = f.project.parent().unwrap().join("theirs");
        std::fs::create_dir(&d).unwrap();
        std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
        d
    } else {
        PathBuf::from("/usr")
    };
    let out = f
        .cmd(&["push"])
        .env("MPBUILD_WORK_DIR", &theirs)
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains(&format!(
            "the work directory {} is owned by uid {}, not by you",
            theirs.display(),
            std::fs::metadata(&theirs).unwrap().uid()
        )),
        "{t}"
    );
}

/// The effective uid, as the test process sees it (it runs as the same user as mpbuild).
fn rustix_euid() -> u32 {
    let t = tempfile::tempfile().unwrap();
    t.metadata().unwrap().uid()
}

#[test]
fn the_work_dir_is_private_and_a_failed_run_leaves_nothing() {
    let f =
        fixture("mkdir -p \"$dest/blobs\"; head -c 100000 /dev/zero > \"$dest/blobs/x\"; exit 1");
    let out = f.run(&["push", "--progress", "plain"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let work = f.work_dir();
    assert!(
        work.starts_with(f.cache.join("mpbuild")),
        "{}",
        work.display()
    );
    // The layout went into this run's own directory, which is gone now.
    let dest = f.dest();
    assert!(dest.starts_with(work.join("runs")), "{}", dest.display());
    assert!(!dest.exists(), "{}", dest.display());
    assert_eq!(listing(&work.join("runs")), Vec::<String>::new());
    for d in [f.cache.join("mpbuild"), work.clone(), work.join("runs")] {
        let m = std::fs::symlink_metadata(&d).unwrap();
        assert_eq!(m.mode() & 0o777, 0o700, "{}", d.display());
    }
}

#[test]
fn ctrl_c_removes_the_runs_directory() {
    let f = fixture("mkdir -p \"$dest\"; echo x > \"$dest/partial\"; exec sleep 30");
    let mut child = f
        .cmd(&["push", "--progress", "plain"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = f.project.parent().unwrap().join("dest");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&log).is_ok_and(|d| Path::new(d.trim()).join("partial").exists())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the build never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!f.dest().exists(), "{}", f.dest().display());
}

/// A second Ctrl-C exits at once (the first waits for buildx to stop): the run's
/// directory goes just before the exit.
#[test]
fn a_second_ctrl_c_removes_the_runs_directory_too() {
    // A build that shrugs off SIGTERM, so the run is still busy at the second signal.
    let f = fixture(
        "mkdir -p \"$dest\"; echo x > \"$dest/partial\"; trap '' TERM INT; sleep 30 & wait; wait",
    );
    let mut run = common::running::Running::start(&mut f.cmd(&["push", "--progress", "plain"]));
    let log = f.project.parent().unwrap().join("dest");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&log).is_ok_and(|d| Path::new(d.trim()).join("partial").exists())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the build never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The second signal once the first was handled (its line printed), not a fixed
    // 100 ms later: two SIGINTs that arrive before the handler runs are one signal,
    // and mpbuild would then stop at its grace period's end instead.
    run.signal("INT");
    let acknowledged = run.wait_for("interrupted: stopping", std::time::Duration::from_secs(60));
    assert!(
        acknowledged,
        "the first signal was not acknowledged: {}",
        run.stderr()
    );
    run.signal("INT");
    let end = run.finish(std::time::Duration::from_secs(10));
    assert_eq!(end.code, Some(130), "{}", end.text);
    assert!(
        end.text.contains("interrupted again: exiting now"),
        "{}",
        end.text
    );
    assert!(!f.dest().exists(), "{}", f.dest().display());
}

#[test]
fn clean_removes_the_projects_work_dir_and_says_how_much() {
    let f = fixture("mkdir -p \"$dest\"; exit 1");
    f.run(&["push"]);
    let work = f.work_dir();
    std::fs::write(work.join("inputs-hash-cache.tsv"), vec![b'x'; 300_000]).unwrap();
    // What an earlier version left: its layouts under the temp dir.
    let legacy = f.legacy_dir();
    std::fs::create_dir_all(legacy.join("app/blobs")).unwrap();
    std::fs::write(legacy.join("app/blobs/x"), vec![b'y'; 200_000]).unwrap();
    let out = f.run(&["clean"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!work.exists() && !legacy.exists(), "{t}");
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 3, "{t}");
    assert!(
        lines[0].starts_with(&format!("removed {} (", work.display())),
        "{t}"
    );
    assert!(
        lines[1].starts_with(&format!("removed {} (", legacy.display())),
        "{t}"
    );
    assert!(
        lines[2].starts_with("freed ") && lines[2].ends_with(" in 2 directories"),
        "{t}"
    );
    let out = f.run(&["clean"]);
    assert_eq!(
        text(&out),
        format!("nothing to remove: {} does not exist\n", work.display())
    );
}

#[test]
fn clean_all_removes_every_work_dir_of_the_user_and_nothing_else() {
    let f = fixture("mkdir -p \"$dest\"; exit 1");
    f.run(&["push"]);
    let work = f.work_dir();
    // Another project's, an earlier version's, and things that are not work dirs.
    let other = f.cache.join("mpbuild/other-0123456789ab");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(
        other.join("CACHEDIR.TAG"),
        "Signature: 8a477f597d28d172789f06886806bc55\n# mpbuild\n",
    )
    .unwrap();
    let legacy = f.tmp.join("mpbuild-0123456789ab");
    std::fs::create_dir(&legacy).unwrap();
    let unrelated = f.tmp.join("mpbuild-stack");
    std::fs::create_dir(&unrelated).unwrap();
    let untagged = f.cache.join("mpbuild/notes");
    std::fs::create_dir(&untagged).unwrap();
    let out = f.run(&["clean", "--all"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!work.exists() && !other.exists() && !legacy.exists(), "{t}");
    assert!(unrelated.exists() && untagged.exists(), "{t}");
    assert!(t.contains(" in 3 directories"), "{t}");
}

#[test]
fn clean_refuses_a_work_dir_mpbuild_did_not_make() {
    let f = fixture("exit 1");
    let mine = f.project.parent().unwrap().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep").unwrap();
    let out = f
        .cmd(&["clean"])
        .env("MPBUILD_WORK_DIR", &mine)
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("does not look like an mpbuild work directory"),
        "{t}"
    );
    assert!(mine.join("notes.txt").exists());
}
