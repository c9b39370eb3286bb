//! The heartbeat of long byte-moving phases in plain mode, on the real stack: the
//! upload of the `docker` driver's OCI layout and a mirror copy, each of an image with
//! a 16 MB layer, made slow by the fault proxy so each lasts several intervals
//! (`MPBUILD_HEARTBEAT_MS` makes the interval short). Each phase prints lines with bytes
//! moved that grow and never pass the total; with `--format json` stdout holds the
//! document alone. The export's lines are checked for their form wherever they come,
//! and an export that lasted longer than two intervals by the run's own report
//! (`times.export` of the JSON document, BuildKit's start and end of the export) must
//! have printed one: the export of a fresh layer of its own is made to last that long.
//! The beat of an export held open by a fake `docker`: tests/cli_export_beat.rs.

mod common;

use std::sync::OnceLock;
use std::time::Duration;

use common::fault::{Fault, Proxy};
use common::text;

/// The size of the image's layer of random bytes: large enough that each phase,
/// slowed by the proxy to about 12 MB/s, lasts several short intervals; small enough
/// that the registry takes it in seconds on a loaded machine (40 MB took 55 s a test
/// at load 6 and once failed at load 10).
const LAYER: u64 = 16_000_000;

/// The Dockerfile of the image: the base, and a layer of `LAYER` random bytes (one
/// platform, so it builds without emulation).
fn dockerfile(stack: &common::Stack) -> String {
    format!(
        "FROM {}\nRUN head -c {LAYER} /dev/urandom > /blob\n",
        stack.base_image
    )
}

fn project(stack: &common::Stack, repo: &str) -> tempfile::TempDir {
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets:\n      - service: apprunner\n"
    );
    stack.project(&yaml, &dockerfile(stack))
}

/// The image, pushed once for the tests of this file: `REPO:latest`.
fn pushed(stack: &common::Stack) -> &'static str {
    static PUSHED: OnceLock<String> = OnceLock::new();
    PUSHED.get_or_init(|| {
        let repo = stack.unique_repo("heartbeat-src");
        let dir = project(stack, &repo);
        let out = stack.run_in(dir.path()).output(&["push"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        format!("{repo}:latest")
    })
}

/// Bytes from `212.0 MB`.
fn bytes(n: &str, unit: &str) -> f64 {
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("not a number: {n}"));
    n * match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        u => panic!("unit {u}"),
    }
}

/// The (done, total) of each heartbeat line `PREFIX: D of T (P%), R/s` on stderr,
/// checking each line's percent agrees with its figures.
fn beats(stderr: &str, prefix: &str) -> Vec<(f64, f64)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(prefix)?.strip_prefix(": "))
        .map(|rest| {
            let w: Vec<&str> = rest.split_whitespace().collect();
            // D U of T U (P%), R U/s
            assert_eq!(w.get(2), Some(&"of"), "a heartbeat with a total: {rest}");
            let (done, total) = (bytes(w[0], w[1]), bytes(w[3], w[4].trim_end_matches(',')));
            let percent: f64 = w[5].trim_matches(|c| "(%),".contains(c)).parse().unwrap();
            assert!(
                (percent - done * 100.0 / total).abs() <= 1.5,
                "percent of {rest}"
            );
            assert!(w[7].ends_with("/s"), "a rate: {rest}");
            (done, total)
        })
        .collect()
}

/// At least two beats, the bytes growing, none past the total, the total about `size`.
fn assert_beats(beats: &[(f64, f64)], size: f64, t: &str) {
    assert!(beats.len() >= 2, "at least two heartbeat lines: {t}");
    for w in beats.windows(2) {
        assert!(w[1].0 >= w[0].0, "bytes done never go back: {beats:?}");
    }
    assert!(
        beats.last().unwrap().0 > beats[0].0,
        "bytes done grow: {beats:?}"
    );
    for (done, total) in beats {
        assert!(done <= total, "done within the total: {beats:?}");
        assert!(
            *total >= size && *total < size * 1.1,
            "the total is the bytes to move: {beats:?}"
        );
    }
}

/// The export's beats, `[app linux/amd64] export: WHAT, N s` (and the bytes in the
/// layout once there are some), say what the export does, the seconds never going
/// back; their seconds. Whether any comes is not asserted here: a phase shorter than
/// the interval (and up to one more before the first tick) prints none, and buildx
/// copying an already compressed layer into the OCI layout can be that short (0.3 s for
/// 16 MB idle, 0.8-1.2 s at load 10). [`a_long_export_beats_in_plain_mode`] asserts
/// one came when the export outlasted two intervals.
fn assert_export_beats(stderr: &str) -> Vec<u64> {
    let secs: Vec<u64> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("[app linux/amd64] export: "))
        .map(|rest| {
            let head = rest.split(": ").next().unwrap();
            let (what, secs) = head.rsplit_once(", ").unwrap_or_else(|| panic!("{rest}"));
            assert!(
                what.starts_with("exporting"),
                "what the export does: {rest}"
            );
            secs.strip_suffix(" s").unwrap().parse().unwrap()
        })
        .collect();
    eprintln!("figure: {} export heartbeat line(s)", secs.len());
    assert!(secs.windows(2).all(|w| w[1] >= w[0]), "{secs:?}");
    secs
}

/// The random bytes of [`a_long_export_beats_in_plain_mode`]'s layer: BuildKit compresses
/// them into the layer's blob during the export, which so lasts many intervals.
const EXPORT_LAYER: u64 = 32_000_000;

/// The heartbeat interval of the export test, in milliseconds (the shortest allowed).
const EXPORT_INTERVAL_MS: u64 = 100;

/// An export longer than two intervals prints at least one beat (the first tick at
/// least one interval after the export began comes within two), whose seconds do not
/// pass the export's (by BuildKit's clock, plus 2 s for the stream reaching mpbuild
/// late on a loaded machine). How long the export took is the run's own report,
/// `times.export`; the layer is new each run (the repository's name is in the step),
/// so BuildKit builds and compresses it instead of copying a blob an earlier run made.
/// A shorter export (never seen here) asserts the lines' form only. With export beats
/// removed from mpbuild, this fails; with buildx renaming its export step, both the
/// timing and the beat are missing, and it fails too.
#[test]
fn a_long_export_beats_in_plain_mode() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("heartbeat-export");
    let dockerfile = format!(
        "FROM {}\nRUN echo {repo} > /id && head -c {EXPORT_LAYER} /dev/urandom > /blob\n",
        stack.base_image
    );
    let yaml = format!(
        "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets:\n      - service: apprunner\n"
    );
    let dir = stack.project(&yaml, &dockerfile);
    let (out, doc) = stack
        .run_in(dir.path())
        .env("MPBUILD_HEARTBEAT_MS", EXPORT_INTERVAL_MS.to_string())
        .json(&["push", "--progress", "plain", "--format", "json"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let export = doc["images"][0]["times"]["export"]
        .as_f64()
        .unwrap_or_else(|| panic!("the export's seconds in times.export: {doc}\n{err}"));
    let secs = assert_export_beats(&err);
    let long = export > 2.0 * EXPORT_INTERVAL_MS as f64 / 1000.0;
    eprintln!(
        "figure: export {export} s ({}), {} beat(s)",
        if long {
            "over two intervals"
        } else {
            "short: the form only"
        },
        secs.len()
    );
    if long {
        assert!(
            !secs.is_empty(),
            "the export took {export} s, over two {EXPORT_INTERVAL_MS} ms intervals, and printed no beat: {err}"
        );
        let last = *secs.last().unwrap() as f64;
        assert!(
            last <= export + 2.0,
            "a beat says {last} s of an export of {export} s: {err}"
        );
    }
}

#[test]
fn an_upload_beats_in_plain_mode_and_json_keeps_stdout_clean() {
    let Some(stack) = common::stack() else { return };
    pushed(&stack); // the build's layer in the cache
    let proxy = Proxy::start(&stack.registry);
    // 256 kB every 20 ms: about 12 MB/s, so the layer takes over a second.
    proxy.slow_request_bodies(256 << 10, Duration::from_millis(20));
    let repo = format!(
        "{}/{}",
        proxy.addr,
        stack.unique_repo("heartbeat-up").split_once('/').unwrap().1
    );
    let dir = project(&stack, &repo);
    let run = || {
        stack
            .run_in(dir.path())
            .env("MPBUILD_HEARTBEAT_MS", "100")
            .env("MPBUILD_REQUEST_TIMEOUT", "60")
    };
    let out = run().output(&["push", "--progress", "plain"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_beats(&beats(&err, "[app linux/amd64] upload"), LAYER as f64, &err);
    assert_export_beats(&err);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("upload:"),
        "no heartbeat on stdout"
    );

    // The same with --format json, into a fresh repository: stdout is the document
    // alone, the heartbeat stays on stderr.
    let repo = format!(
        "{}/{}",
        proxy.addr,
        stack
            .unique_repo("heartbeat-json")
            .split_once('/')
            .unwrap()
            .1
    );
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        format!(
            "version: 1\nimages:\n  app:\n    repository: {repo}\n    tags: [latest]\n    targets:\n      - service: apprunner\n"
        ),
    )
    .unwrap();
    let out = run().output(&["push", "--progress", "plain", "--format", "json"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {stdout}"));
    assert_eq!(doc["result"], "ok", "{doc}");
    assert!(!stdout.contains("upload:"), "{stdout}");
    assert_beats(&beats(&err, "[app linux/amd64] upload"), LAYER as f64, &err);
}

#[test]
fn a_mirror_beats_in_plain_mode_and_not_when_quiet() {
    let Some(stack) = common::stack() else { return };
    let src = pushed(&stack);
    let proxy = Proxy::start(&stack.registry);
    // The source's blobs come 256 kB every 20 ms (about 12 MB/s).
    proxy.always(
        Some("GET"),
        "/blobs/",
        Fault::Slow {
            chunk: 256 << 10,
            pause: Duration::from_millis(20),
        },
    );
    let from = format!("{}/{}", proxy.addr, src.split_once('/').unwrap().1);
    let mirror = |progress: &str| {
        let dest = format!("{}:copy", stack.unique_repo("heartbeat-mirror"));
        let out = stack
            .runner()
            .env("MPBUILD_HEARTBEAT_MS", "150")
            .env("MPBUILD_REQUEST_TIMEOUT", "60")
            .output(&["mirror", &from, &dest, "--all", "--progress", progress]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        (String::from_utf8_lossy(&out.stderr).to_string(), dest)
    };
    let (err, dest) = mirror("plain");
    assert_beats(
        &beats(&err, &format!("mirror {from} → {dest}")),
        LAYER as f64,
        &err,
    );
    let (err, _) = mirror("quiet");
    assert!(
        !err.contains("MB/s"),
        "nothing with --progress quiet: {err}"
    );
}
