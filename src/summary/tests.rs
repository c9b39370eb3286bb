//! The summary of real push results (tests/fixtures/summary: `mpbuild push --format
//! json` on the stack, two platforms, one emulated, with a smoke run that passed and one
//! that failed).

use super::*;

fn doc(name: &str) -> Value {
    let text = match name {
        "ok" => include_str!("../../tests/fixtures/summary/push-ok.json"),
        _ => include_str!("../../tests/fixtures/summary/push-smoke-failed.json"),
    };
    serde_json::from_str(text).unwrap()
}

#[test]
fn a_published_image_row_by_row() {
    let md = markdown(&doc("ok"));
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines[0], "### mpbuild push: ok");
    assert_eq!(
        lines[2],
        "| image | platform | digest | build | time | smoke | tags |"
    );
    assert_eq!(
        lines[4],
        "| app | linux/amd64 | `sha256:4f2b0241d31c` | native | 16.4 s (1/3 cached) | ok (2.3 s, native) | `v1` |"
    );
    // The index tag is said once, on the image's first row.
    assert_eq!(
        lines[5],
        "| app | linux/arm64 | `sha256:663e47143046` | native | 0.3 s (0/2 cached) | ok (2.3 s, emulated) |  |"
    );
    assert_eq!(md.trim_end().lines().count(), 6, "{md}");
}

#[test]
fn a_failed_smoke_run_says_which_tags_stayed() {
    let md = markdown(&doc("failed"));
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines[0], "### mpbuild push: failed (the smoke run failed)");
    // Nothing was published: the rows are what was verified.
    assert!(
        lines[4].starts_with("| app | linux/amd64 | `sha256:"),
        "{md}"
    );
    assert!(
        lines[4].ends_with("| **failed**: exit code 1 (native) | not moved |"),
        "{md}"
    );
    assert!(
        lines[5].contains("| **failed**: exit code 1 (emulated) | not moved |"),
        "{md}"
    );
    assert!(
        md.contains(
            "**No tag moved**: `127.0.0.1:5000/e2e/summary-fixture-26821:v2` stays where it was."
        ),
        "{md}"
    );
}

#[test]
fn an_error_document_and_hostile_text() {
    let d = serde_json::json!({
        "command": "merge", "result": "error",
        "error": "no records in d/\n  = help: run the legs first",
        "exit_code": 1
    });
    let md = markdown(&d);
    assert!(md.starts_with("### mpbuild merge: failed\n"), "{md}");
    assert!(md.contains("| — | — | — | — | — | — | nothing was built or checked |"));
    assert!(md.contains("\nno records in d/\n"), "{md}");
    assert!(
        !md.contains("help: run"),
        "only the error's first line: {md}"
    );
    assert_eq!(cell("a|b<script>\nc"), "a\\|b&lt;script&gt; c");
}

#[test]
fn the_flag_else_github_step_summary() {
    let none = |_: &str| None;
    let gh = |k: &str| (k == "GITHUB_STEP_SUMMARY").then(|| "/gh/summary".to_string());
    let empty = |_: &str| Some(String::new());
    assert_eq!(target(None, &none), None);
    assert_eq!(target(None, &empty), None);
    assert_eq!(target(None, &gh), Some(PathBuf::from("/gh/summary")));
    assert_eq!(
        target(Some(Path::new("s.md")), &gh),
        Some(PathBuf::from("s.md"))
    );
    // Appended, never replaced: GitHub joins every step's summary.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.md");
    append(&f, "one\n").unwrap();
    append(&f, "two\n").unwrap();
    assert_eq!(std::fs::read_to_string(&f).unwrap(), "one\ntwo\n");
}

#[test]
fn the_tags_moved_in_other_repositories_are_named() {
    let mut d = doc("ok");
    d["images"][0]["copies"] = serde_json::json!([{
        "repository": "ghcr.io/acme/app",
        "digest": d["images"][0]["digest"],
        "tags": [{"tag": "v1", "digest": d["images"][0]["digest"], "unchanged": false}]
    }]);
    let md = markdown(&d);
    let lines: Vec<&str> = md.lines().collect();
    assert!(
        lines[4].ends_with("| `v1`<br>`v1` in `ghcr.io/acme/app` |"),
        "{}",
        lines[4]
    );
    // Not on the second platform's row.
    assert!(!lines[5].contains("ghcr.io"), "{}", lines[5]);
}

#[test]
fn hostile_text_renders_as_typed_in_plain_cells_and_code() {
    let evil = "Bad`**ok** [login](https://evil.example)![t](x.png) &amp; _i_ ~s~ \\";
    assert_eq!(
        cell(evil),
        r"Bad\`\*\*ok\*\* \[login\]\(https://evil.example\)\!\[t\]\(x.png\) &amp;amp; \_i\_ \~s\~ \\"
            .replace("https:", "https:\u{2060}")
    );
    // Bare addresses GitHub would link get a word joiner in their trigger: the text
    // reads the same, no address is whole. A reference's `@sha256:` is no address.
    let wj = '\u{2060}';
    assert_eq!(
        cell("https://evil.example/x FTP://h.example www.evil.example WWW.e.x a@mail.example"),
        format!(
            "https:{wj}//evil.example/x FTP:{wj}//h.example www{wj}.evil.example WWW{wj}.e.x a@{wj}mail.example"
        )
    );
    assert_eq!(cell("r.example/app@sha256:abc"), "r.example/app@sha256:abc");
    assert_eq!(cell("a: //x, www, w.x, @, x@y"), "a: //x, www, w.x, @, x@y");
    // At a line's start, no heading or list.
    assert_eq!(cell("# h"), r"\# h");
    assert_eq!(cell("- x"), r"\- x");
    assert_eq!(cell("1. x"), r"1\. x");
    // Code: a fence longer than any backtick run inside; padded when it would touch
    // a backtick; pipes escaped for the table; one line.
    assert_eq!(code("a:v1"), "`a:v1`");
    assert_eq!(code(evil), format!("``{evil}``"));
    assert_eq!(code("x``y`"), "``` x``y` ```");
    assert_eq!(code("a|b\nc"), r"`a\|b c`");
    assert_eq!(code(""), "—");
    // A push's tag with a backtick stays in its code span.
    let mut d = doc("ok");
    d["images"][0]["tags"][0]["tag"] = "v1`[x](y)".into();
    let md = markdown(&d);
    assert!(
        md.lines().nth(4).unwrap().ends_with("| ``v1`[x](y)`` |"),
        "{md}"
    );
}
