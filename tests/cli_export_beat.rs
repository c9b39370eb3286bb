//! The export's heartbeat, without the real stack's speed in the way: a fake `docker`
//! whose build announces the export (the vertex real buildx 0.13.1 streams for the
//! `docker` driver's OCI layout, from tests/fixtures/buildx/success.rawjson) and then
//! holds it open until the test has seen a beat on mpbuild's stderr. However fast or
//! slow the machine, the export lasts until the beat came (or the deadline failed the
//! test). e2e_heartbeat proves it on the real stack: an export that the run's JSON
//! document (`times.export`) says outlasted two intervals printed a beat.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::running::Running;

/// The export vertex as buildx 0.13.1 streams it with `--progress=rawjson`.
const EXPORT_STARTED: &str = r#"{"vertexes":[{"digest":"sha256:b48cfaf646a5e65ae9ac77c1921932f107ca499156843b3592503934e55acede","name":"exporting to oci image format","started":"2026-11-24T15:56:52.465144605Z"}]}"#;

/// A fake docker: `buildx version` and `buildx inspect` answer; `buildx build` prints
/// the export's start, waits until a line comes through the FIFO `release`, then
/// fails; anything else succeeds saying nothing.
fn exporting_docker(bin: &Path) -> std::path::PathBuf {
    let release = bin.join("release");
    let ok = Command::new("mkfifo")
        .arg(&release)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo");
    let script = format!(
        "#!/bin/sh\ncase \"$1 $2\" in\n  'buildx version') echo 'github.com/docker/buildx v0.13.1 abc'; exit 0;;\n  'buildx inspect') printf 'Name: default\\nDriver: docker\\n'; exit 0;;\n  'buildx build') echo '{EXPORT_STARTED}' >&2; read line < '{release}'; exit 1;;\nesac\nexit 0\n",
        release = release.display()
    );
    let p = bin.join("docker");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    release
}

#[test]
fn an_export_that_outlasts_the_interval_beats_in_plain_mode() {
    let dir = common::writable_registry::project();
    let bin = tempfile::tempdir().unwrap();
    let release = exporting_docker(bin.path());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpbuild"));
    cmd.current_dir(dir.path())
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.path().display()))
        .env("HOME", dir.path())
        .env("MPBUILD_WORK_DIR", dir.path().join(".w"))
        .env("MPBUILD_HEARTBEAT_MS", "100")
        .args(["push", "--progress", "plain"]);
    let run = Running::start(&mut cmd);
    // `[app linux/amd64] export: exporting to oci image format, 0 s`: what the export
    // does, and for how long (whole seconds); no bytes yet (the layout is empty).
    let beat = "[app linux/amd64] export: exporting to oci image format, ";
    let seen = run.wait_for(beat, Duration::from_secs(60));
    // The build ends (and fails) either way, so a missing beat fails the test instead
    // of holding it. From a thread: opening the FIFO waits for its reader.
    std::thread::spawn(move || std::fs::write(&release, "go\n"));
    let end = run.finish(Duration::from_secs(60));
    assert!(seen, "no export heartbeat within 60 s: {}", end.text);
    assert_eq!(end.code, Some(3), "{}", end.text);
    let line = end
        .text
        .lines()
        .find(|l| l.starts_with(beat))
        .unwrap_or_else(|| panic!("{}", end.text));
    let secs = line.strip_prefix(beat).unwrap();
    assert!(
        secs.strip_suffix(" s")
            .is_some_and(|n| n.parse::<u64>().is_ok()),
        "{line}"
    );
}
