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

/// `scripts/test-totals` on the log of a real run of the child test above (stdout and
/// stderr in one file, as scripts/test tees them): its exit code and output.
fn totals(child_args: &[&str], e2e: Option<&str>) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let file = std::fs::File::create(&log).unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(child_args)
        .env_remove("MPBUILD_E2E")
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    assert!(status.success());
    let mut c = Command::new(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/test-totals"));
    c.arg(&log).arg("0");
    match e2e {
        Some(v) => c.env("MPBUILD_E2E", v),
        None => c.env_remove("MPBUILD_E2E"),
    };
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A test that skipped at run time is a skip in the totals, not a pass; an #[ignore]d
/// one is "ignored"; under MPBUILD_E2E=1 a skip fails the run.
#[test]
fn the_totals_count_skips_as_skips_and_fail_them_under_mpbuild_e2e() {
    let skipped = ["--exact", "child_skips", "--ignored", "--test-threads=1"];
    let (code, out) = totals(&skipped, None);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().last(),
        Some("0 passed, 0 failed, 1 skipped"),
        "{out}"
    );
    let (code, out) = totals(&skipped, Some("1"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("MPBUILD_E2E=1 but 1 test(s) skipped"), "{out}");
    assert!(out.contains("skipped: a reason given by the test"), "{out}");
    // Not asked for with --ignored: libtest ignores it, and says so.
    let (code, out) = totals(&["--exact", "child_skips"], Some("1"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ignored: 1"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("0 passed, 0 failed, 0 skipped"),
        "{out}"
    );
}

/// Source text with comments and the contents of string and char literals blanked to
/// spaces (same length, so positions match the original): what is left is code, for
/// matching braces and finding macro calls.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = src[i..].find('\n').map_or(b.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = src[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                blank(&mut out, i, end);
                i = end;
            }
            b'r' if matches!(b.get(i + 1), Some(b'"' | b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close = format!("\"{}", "#".repeat(hashes));
                let start = i + 2 + hashes;
                let end = src[start..].find(&close).map_or(b.len(), |n| start + n);
                blank(&mut out, start, end);
                i = end + close.len();
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j.min(b.len()));
                i = j + 1;
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}', a multi-byte char), or a lifetime.
                let rest = &src[i + 1..];
                let len = if let Some(escaped) = rest.strip_prefix('\\') {
                    escaped.find('\'').map(|n| n + 1)
                } else {
                    rest.chars()
                        .next()
                        .filter(|c| rest[c.len_utf8()..].starts_with('\''))
                        .map(char::len_utf8)
                };
                match len {
                    Some(n) => {
                        blank(&mut out, i + 1, i + 1 + n);
                        i += n + 2;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).unwrap()
}

/// Where the bracket opened at `open` closes, in code text.
fn closing(code: &str, open: usize) -> usize {
    let (o, c) = match code.as_bytes()[open] {
        b'(' => (b'(', b')'),
        _ => (b'{', b'}'),
    };
    let mut depth = 0;
    for (i, ch) in code.bytes().enumerate().skip(open) {
        if ch == o {
            depth += 1;
        } else if ch == c {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    code.len()
}

/// The harness calls that print the skip line themselves before a test returns.
const HARNESS_SKIPS: [&str; 4] = [
    "common::stack()",
    ".buildkit()",
    ".two_nodes(",
    ".buildkitd_bin(",
];

/// What is wrong with one test file's skips: a print macro whose arguments speak of
/// skipping (libtest hides a passing test's prints, so that is a silent pass), or a
/// `return` in a test that is not the `let Some(..) = HARNESS_CALL else { return }` of
/// a harness call that prints the skip line. Each finding is `LINE: what`.
fn skip_lint(src: &str) -> Vec<String> {
    let code = code_only(src);
    let line_of = |pos: usize| src[..pos].matches('\n').count() + 1;
    let mut found = Vec::new();
    for mac in [
        "print!(",
        "println!(",
        "eprint!(",
        "eprintln!(",
        "write!(",
        "writeln!(",
    ] {
        let mut from = 0;
        while let Some(n) = code[from..].find(mac) {
            let at = from + n;
            from = at + mac.len();
            let word_start = at == 0 || !code.as_bytes()[at - 1].is_ascii_alphanumeric();
            let open = at + mac.len() - 1;
            let args = &src[open..=closing(&code, open).min(src.len() - 1)];
            if word_start && args.to_lowercase().contains("skip") {
                found.push(format!(
                    "{}: a skip printed with {mac}..): use common::skip",
                    line_of(at)
                ));
            }
        }
    }
    let mut from = 0;
    while let Some(n) = code[from..].find("#[test]") {
        let test = from + n;
        from = test + 7;
        let Some(open) = code[test..].find('{').map(|n| test + n) else {
            continue;
        };
        let close = closing(&code, open);
        let body = &code[open..close];
        let mut at = 0;
        while let Some(n) = body[at..].find("return") {
            let pos = at + n;
            at = pos + 6;
            let bytes = body.as_bytes();
            let word = !bytes[pos - 1].is_ascii_alphanumeric()
                && bytes
                    .get(pos + 6)
                    .is_none_or(|c| !c.is_ascii_alphanumeric() && *c != b'_');
            if !word {
                continue;
            }
            let stmt = body[..pos]
                .rfind(';')
                .map_or(&body[1..pos], |s| &body[s + 1..pos]);
            let harness = stmt.trim_start().starts_with("let Some(")
                && stmt.contains(" else {")
                && HARNESS_SKIPS.iter().any(|h| stmt.contains(h));
            if !harness {
                found.push(format!(
                    "{}: a test returns early without the harness's skip line",
                    line_of(open + pos)
                ));
            }
        }
    }
    found
}

/// The lint finds what it is for: a multi-line eprintln! of a skip and a bare return
/// (and nothing in a test that skips through the harness).
#[test]
fn the_skip_lint_finds_silent_skips() {
    let bad = "#[test]\nfn t() {\n    if no_stack() {\n        eprintln!(\n            \"no stack, {}\",\n            \"skipping\"\n        );\n        return;\n    }\n}\n";
    let found = skip_lint(bad);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("4: a skip printed"), "{found:?}");
    assert!(found[1].starts_with("8: a test returns early"), "{found:?}");
    let good = "#[test]\nfn t() {\n    let Some(stack) = common::stack() else { return };\n    let s = \"{ return }\";\n    let c = '{';\n    run(&stack, s, c);\n}\n";
    assert_eq!(skip_lint(good), Vec::<String>::new());
}

/// No test file skips on its own (a print hidden by libtest, an early return): they
/// all go through the harness (`common::stack`, `skip`, `buildkit`, `two_nodes`).
#[test]
fn e2e_tests_skip_through_the_harness() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|x| x != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let found = skip_lint(&text);
        assert!(found.is_empty(), "{}: {found:#?}", path.display());
        checked += 1;
    }
    assert!(
        checked > 10,
        "only {checked} test files found in {}",
        dir.display()
    );
}

/// Builds read the base image by digest, never by its shared tag: the environment the
/// harness gives every command names it by digest, and that digest is what the
/// registry serves for the stack's tag now (read here, from the registry).
#[test]
fn the_base_image_is_pinned_by_digest() {
    let Some(stack) = common::stack() else { return };
    let mut env = Command::new("env");
    stack.apply_env(&mut env);
    let out = env.output().unwrap();
    let given = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("MPBUILD_TEST_BASE=").map(str::to_string))
        .expect("MPBUILD_TEST_BASE in the commands' environment");
    let (name, digest) = given.split_once('@').expect("pinned by digest");
    let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
    assert!(
        hex.len() == 64 && hex.bytes().all(|c| c.is_ascii_hexdigit()),
        "{given}"
    );
    // The stack's own name for the base (scripts/stack env): a tag, resolved here.
    let tagged = std::env::var("MPBUILD_TEST_BASE").unwrap();
    let (_, path_and_ref) = tagged.split_once('/').unwrap();
    let (path, reference) = path_and_ref
        .split_once('@')
        .or_else(|| path_and_ref.rsplit_once(':'))
        .unwrap();
    assert_eq!(name, format!("{}/{path}", stack.registry));
    let (code, body) = stack.registry_get(&format!("/v2/{path}/manifests/{reference}"));
    assert_eq!(code, 200, "{body}");
    assert_eq!(mpbuild::digest::sha256(body.as_bytes()), digest);
}
