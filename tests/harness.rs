//! The end-to-end harness itself: skips are seen (never a silent pass) and fail under
//! MPBUILD_E2E=1; the shared base image is used pinned by digest.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// Run only by the tests below, in a child test process.
#[test]
#[ignore = "run by skip_lines_reach_stderr_through_libtest_capture"]
fn child_skips() {
    common::skip("a reason given by the test");
}

fn run_child(e2e: Option<&str>) -> std::process::Output {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child_skips", "--ignored", "--test-threads=1"]);
    match e2e {
        Some(v) => c.env("MPBUILD_E2E", v),
        None => c.env_remove("MPBUILD_E2E"),
    };
    c.output().unwrap()
}

#[test]
fn skip_lines_reach_stderr_through_libtest_capture() {
    // libtest captures eprintln! of a passing test: the line must get through anyway.
    let out = run_child(None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("skipped: a reason given by the test"),
        "{stderr}"
    );
}

#[test]
fn skips_fail_under_mpbuild_e2e() {
    let out = run_child(Some("1"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("MPBUILD_E2E=1 but a reason given by the test"),
        "{stdout}"
    );
}

/// No e2e test skips on its own with eprintln! (hidden by libtest): they all go through
/// `common::skip`.
#[test]
fn e2e_tests_skip_through_the_harness() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            assert!(
                !(line.trim_start().starts_with("eprintln!(") && line.contains("skip")),
                "{}:{}: skip with common::skip, not eprintln!: {line}",
                path.display(),
                i + 1
            );
        }
    }
}

/// Builds read the base image by digest, never by its shared tag.
#[test]
fn the_base_image_is_pinned_by_digest() {
    let Some(stack) = common::stack() else { return };
    let (name, digest) = stack.base_image.split_once('@').expect("pinned");
    assert_eq!(digest, stack.base_digest);
    assert_eq!(name, format!("{}/{}", stack.registry, stack.base_repo));
    let (code, body) = stack.registry_get(&format!("/v2/{}/manifests/{digest}", stack.base_repo));
    assert_eq!(code, 200, "{body}");
    assert_eq!(mpbuild::digest::sha256(body.as_bytes()), digest);
}
