use super::*;

fn at(path: &Path) -> Location {
    Location {
        path: path.to_path_buf(),
        owned_from: path.parent().unwrap().to_path_buf(),
    }
}

#[test]
fn a_work_dir_is_private_and_tagged() {
    let t = tempfile::tempdir().unwrap();
    let w = WorkDir::open(&at(&t.path().join("mpbuild/p-0123"))).unwrap();
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(w.root()).unwrap();
    assert_eq!(m.mode() & 0o777, 0o700);
    assert!(is_tagged(w.root()));
}

#[test]
fn each_run_has_its_own_directory_removed_at_its_end() {
    let t = tempfile::tempdir().unwrap();
    let w = WorkDir::open(&at(&t.path().join("mpbuild/p"))).unwrap();
    let a = w.begin_run().unwrap();
    let b = w.begin_run().unwrap();
    assert_ne!(a.path(), b.path());
    std::fs::write(a.path().join("bake.json"), "{}").unwrap();
    let (pa, pb) = (a.path().to_path_buf(), b.path().to_path_buf());
    drop(a);
    assert!(!pa.exists());
    assert!(pb.exists(), "another run's directory stays");
    drop(b);
    assert!(!pb.exists());
}

#[test]
fn a_dead_runs_directory_is_removed_by_the_next_run() {
    let t = tempfile::tempdir().unwrap();
    let w = WorkDir::open(&at(&t.path().join("mpbuild/p"))).unwrap();
    // What a killed run leaves: its directory, its lock file, nobody holding it.
    let dead = w.root().join("runs/1-dead");
    std::fs::create_dir_all(dead.join("app")).unwrap();
    std::fs::write(dead.join(".lock"), "").unwrap();
    let alive = w.begin_run().unwrap();
    let _next = w.begin_run().unwrap();
    assert!(!dead.exists());
    assert!(alive.path().exists(), "a live run's directory is kept");
}

#[test]
fn clean_removes_a_work_dir_but_not_a_run_in_progress() {
    let t = tempfile::tempdir().unwrap();
    let loc = at(&t.path().join("mpbuild/p"));
    let w = WorkDir::open(&loc).unwrap();
    std::fs::write(w.hash_cache(), "x".repeat(10_000)).unwrap();
    let run = w.begin_run().unwrap();
    let done = clean::project(&loc, &t.path().join("none")).unwrap();
    assert!(run.path().exists());
    assert!(!w.hash_cache().exists());
    assert_eq!(done.kept.len(), 1, "{done:?}");
    drop(run);
    let done = clean::project(&loc, &t.path().join("none")).unwrap();
    assert!(!loc.path.exists());
    assert_eq!(done.removed.len(), 1, "{done:?}");
    let done = clean::project(&loc, &t.path().join("none")).unwrap();
    assert_eq!(done.missing, vec![loc.path.clone()]);
}

#[test]
fn clean_refuses_a_directory_mpbuild_did_not_make() {
    let t = tempfile::tempdir().unwrap();
    let mine = t.path().join("project");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("main.rs"), "fn main() {}").unwrap();
    let e = clean::project(&at(&mine), &t.path().join("none")).unwrap_err();
    assert!(matches!(e, WorkDirError::NotOurs { .. }), "{e}");
    assert!(mine.join("main.rs").exists());
}

#[test]
fn clean_does_not_follow_a_symlinked_work_dir() {
    let t = tempfile::tempdir().unwrap();
    let victim = t.path().join("victim");
    WorkDir::open(&at(&victim)).unwrap();
    let link = t.path().join("link");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let e = clean::project(&at(&link), &t.path().join("none")).unwrap_err();
    assert!(matches!(e, WorkDirError::Symlink { .. }), "{e}");
    assert!(victim.join(CACHEDIR_TAG).exists());
}

#[test]
fn project_names_say_which_project() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("my app");
    std::fs::create_dir(&p).unwrap();
    let n = project_name(&p);
    assert!(
        n.starts_with("my_app-") && n.len() == "my_app-".len() + 12,
        "{n}"
    );
}
