//! Terminal escapes from outside never reach the terminal: a registry's error message
//! and an index's platform variant carrying escape sequences (one sets the window
//! title, one erases the line and writes a fake verdict) are shown escaped, in text and
//! in JSON, on stdout and stderr. No stack needed.

mod common;

use std::process::Output;

use common::static_registry::{OCI_INDEX, StaticRegistry};

const TITLE: &str = "\x1b]0;title\x07";
const FORGED: &str = "\x1b[2K\rverified: everything is fine";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

fn mpbuild(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_mpbuild"))
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", dir.path())
        .env("MPBUILD_REQUEST_TIMEOUT", "10")
        .args(args)
        .output()
        .unwrap()
}

/// Fails when any byte a terminal acts on (C0 but newline and tab, DEL, C1 as UTF-8)
/// is in the output; returns both streams as text.
fn no_raw_controls(out: &Output) -> String {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let text = String::from_utf8_lossy(bytes);
        let bad: Vec<char> = text
            .chars()
            .filter(|c| c.is_control() && *c != '\n' && *c != '\t')
            .collect();
        assert!(bad.is_empty(), "{name} carries {bad:?}: {text:?}");
    }
    common::text(out)
}

#[test]
fn a_registry_error_message_is_shown_escaped() {
    let reg = StaticRegistry::start();
    let body = serde_json::json!({"errors": [{"code": "DENIED", "message": format!("{TITLE} {FORGED}\nverified: twice")}]})
        .to_string();
    reg.answer(move |_, path| {
        path.contains("/manifests/")
            .then(|| (400, Vec::new(), body.clone().into_bytes()))
    });
    let image = format!("{}/team/app:v1", reg.addr);
    for format in ["text", "json"] {
        let out = mpbuild(&[
            "verify",
            &image,
            "--platform",
            "linux/amd64",
            "--format",
            format,
        ]);
        let t = no_raw_controls(&out);
        assert_eq!(out.status.code(), Some(4), "{t}");
        // What the registry said is there, readable, on one line.
        assert!(
            t.contains(r"\x1b]0;title\x07 \x1b[2K\rverified: everything is fine\nverified: twice"),
            "{format}: {t}"
        );
    }
}

#[test]
fn a_platform_variant_is_shown_escaped() {
    let reg = StaticRegistry::start();
    let (arm, size) = reg.image("team/app", "linux", "arm64", LAYER);
    let variant = format!("v8{FORGED}\u{9b}2J{TITLE}");
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": arm,
            "size": size,
            "platform": {"os": "linux", "architecture": "arm64", "variant": variant},
        }],
    })
    .to_string();
    reg.manifest("team/app", Some("v1"), OCI_INDEX, index.as_bytes());
    let image = format!("{}/team/app:v1", reg.addr);
    for args in [
        vec!["verify", &image, "--inventory"],
        vec!["verify", &image, "--platform", "linux/amd64"],
        vec!["verify", &image, "--inventory", "--format", "json"],
        vec!["mirror", &image, &image, "--all"],
    ] {
        let out = mpbuild(&args);
        let t = no_raw_controls(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {t}");
        // Shown, escaped (and lowercased: platforms are normalised as containerd does;
        // JSON escapes the backslashes once more).
        let shown = t.to_lowercase().replace(r"\\", r"\");
        assert!(
            shown.contains(r"v8\x1b[2k\rverified: everything is fine\u{9b}2j\x1b]0;title\x07"),
            "{args:?}: {t}"
        );
    }
}

#[test]
fn a_child_process_output_is_shown_escaped() {
    // A `docker` whose error output carries the sequences (a fake on PATH: an error
    // path only).
    let dir = tempfile::tempdir().unwrap();
    let docker = dir.path().join("docker");
    std::fs::write(
        &docker,
        "#!/bin/sh\nprintf '\\033]0;pwned\\007\\033[2K\\rdocker: all good\\n' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mpbuild"))
        .current_dir(dir.path())
        .env("PATH", format!("{}:/usr/bin:/bin", dir.path().display()))
        .env("DOCKER_CONFIG", dir.path())
        .args(["doctor"])
        .output()
        .unwrap();
    let t = no_raw_controls(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(r"not reachable: `\x1b]0;pwned\x07\x1b[2K\rdocker: all good`"),
        "{t}"
    );
}

/// At a run of backticks (`chars` starts with one): the run's length, and the whole code
/// span's length in chars when a closing run as long (not part of a longer run) follows.
fn code_span(chars: &[char]) -> (usize, Option<usize>) {
    let run = chars.iter().take_while(|c| **c == '`').count();
    let fence: String = "`".repeat(run);
    let rest: String = chars[run..].iter().collect();
    let close = rest
        .match_indices(&fence)
        .find(|(at, _)| !rest[..*at].ends_with('`') && !rest[at + run..].starts_with('`'));
    (
        run,
        close.map(|(at, _)| run + rest[..at].chars().count() + run),
    )
}

/// Markdown outside code spans, unescaped: what a renderer would act on. Code spans
/// are skipped whole (fenced by a run of backticks, closed by a run as long), and so
/// is a backslash-escaped character.
fn live_markdown(row: &str) -> Vec<char> {
    let chars: Vec<char> = row.chars().collect();
    let mut live = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '`' => {
                let (run, span) = code_span(&chars[i..]);
                match span {
                    Some(len) => i += len,
                    None => {
                        live.push('`');
                        i += run;
                    }
                }
            }
            c @ ('[' | ']' | '(' | ')' | '!' | '*' | '_' | '<' | '>' | '&') => {
                live.push(c);
                i += 1;
            }
            _ => i += 1,
        }
    }
    live
}

/// What a reader of the rendered markdown sees as text: code spans left out (GFM links
/// nothing in them), backslash escapes and character references read as the
/// characters they stand for — github.com links addresses in that text too.
fn rendered_text(md: &str) -> String {
    let chars: Vec<char> = md.chars().collect();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() && chars[i + 1].is_ascii_punctuation() => {
                text.push(chars[i + 1]);
                i += 2;
            }
            '`' => {
                let (run, span) = code_span(&chars[i..]);
                match span {
                    Some(len) => {
                        text.push(' ');
                        i += len;
                    }
                    None => {
                        text.push_str(&"`".repeat(run));
                        i += run;
                    }
                }
            }
            '&' => {
                let rest: String = chars[i..].iter().take(12).collect();
                let entity = rest.split_once(';').map(|(e, _)| e);
                let decoded = entity.and_then(|e| match e {
                    "&amp" => Some('&'),
                    "&lt" => Some('<'),
                    "&gt" => Some('>'),
                    "&quot" => Some('"'),
                    _ => e
                        .strip_prefix("&#x")
                        .or_else(|| e.strip_prefix("&#X"))
                        .map(|h| u32::from_str_radix(h, 16))
                        .or_else(|| e.strip_prefix("&#").map(str::parse))
                        .and_then(Result::ok)
                        .and_then(char::from_u32),
                });
                match (entity, decoded) {
                    (Some(e), Some(c)) => {
                        text.push(c);
                        i += e.chars().count() + 1;
                    }
                    _ => {
                        text.push('&');
                        i += 1;
                    }
                }
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    text
}

/// Bare addresses GitHub would link in `md` (GFM's "Autolinks (extension)": `www.` and
/// a domain, `SCHEME://` and a domain, `name@domain.tld`), found in its rendered text;
/// each as the word it is in.
fn bare_autolinks(md: &str) -> Vec<String> {
    let text: Vec<char> = rendered_text(md).chars().collect();
    let domain = |k: usize| text.get(k).is_some_and(|c| c.is_alphanumeric());
    let mut found = Vec::new();
    for i in 0..text.len() {
        let lower = |k: usize| text.get(k).map(char::to_ascii_lowercase);
        let scheme = text[i] == ':'
            && i > 0
            && text[i - 1].is_ascii_alphabetic()
            && lower(i + 1) == Some('/')
            && lower(i + 2) == Some('/')
            && domain(i + 3);
        let www =
            (0..3).all(|k| lower(i + k) == Some('w')) && lower(i + 3) == Some('.') && domain(i + 4);
        let email = text[i] == '@'
            && i > 0
            && text[i - 1].is_alphanumeric()
            && domain(i + 1)
            && text[i + 1..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'))
                .any(|c| *c == '.');
        if scheme || www || email {
            let start = text[..i]
                .iter()
                .rposition(|c| c.is_whitespace())
                .map_or(0, |p| p + 1);
            let end = text[i..]
                .iter()
                .position(|c| c.is_whitespace())
                .map_or(text.len(), |p| i + p);
            found.push(text[start..end].iter().collect());
        }
    }
    found
}

#[test]
fn the_scanner_finds_bare_addresses_escaped_or_not() {
    let links = bare_autolinks(
        "| a www.x.example | \\(https\\://e.example/p\\) | ftp&#58;//h.example | u@m.example |",
    );
    assert_eq!(
        links,
        [
            "www.x.example",
            "(https://e.example/p)",
            "ftp://h.example",
            "u@m.example"
        ]
    );
    // Code spans, words and a reference by digest are none.
    let none = bare_autolinks("`https://x.example` www, a: //b, r.example/app@sha256:ab");
    assert_eq!(none, Vec::<String>::new());
}

#[test]
fn a_deployment_file_cannot_write_markdown_into_checks_summary() {
    let dir = tempfile::tempdir().unwrap();
    let image = "Bad`**ok** [login](https://evil.example)![t](https://evil.example/t.png)";
    // GitHub would link both addresses in the name as they are.
    let file = "d[ep](www.evil.example)a@mail.example.yaml";
    // A workload with no image is listed under the table with its name.
    let login = "https://evil.example/login";
    std::fs::write(
        dir.path().join(file),
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n    - name: c\n      image: \"{image}\"\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: \"{login}\"}}\nspec:\n  containers:\n    - name: c\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mpbuild"))
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", dir.path())
        .env("MPBUILD_REQUEST_TIMEOUT", "10")
        .args([
            "check",
            file,
            "--cluster-archs",
            "amd64",
            "--summary",
            "s.md",
        ])
        .output()
        .unwrap();
    let md = std::fs::read_to_string(dir.path().join("s.md"))
        .unwrap_or_else(|e| panic!("no summary ({e}): {}", common::text(&out)));
    let row = md
        .lines()
        .find(|l| l.contains(".yaml:7 |"))
        .unwrap_or_else(|| panic!("no row: {md}"));
    let cells: Vec<&str> = row.split(" | ").collect();
    // The file name escaped, a word joiner in each address; the reference in code,
    // fenced by two backticks, exactly.
    assert_eq!(
        cells[0], "| d\\[ep\\]\\(www\u{2060}.evil.example\\)a@\u{2060}mail.example.yaml:7",
        "{row}"
    );
    assert_eq!(cells[1], format!("``{image}``"), "{row}");
    // Nothing left for a renderer: no link, image, emphasis or entity. mpbuild's
    // own bold verdict is the only markdown.
    let verdict = cells.last().unwrap();
    let own = verdict.strip_prefix("**invalid**").unwrap_or(verdict);
    let mut rest = cells[..cells.len() - 1].join(" | ");
    rest.push_str(own);
    assert_eq!(live_markdown(&rest), Vec::<char>::new(), "{row}");
    // No address GitHub would link, in the table or under it (the workload's name).
    let skipped = md
        .lines()
        .find(|l| l.starts_with("Not checked:"))
        .unwrap_or_else(|| panic!("no line for the workload without an image: {md}"));
    assert!(skipped.contains("evil.example/login"), "{skipped}");
    assert_eq!(bare_autolinks(&md), Vec::<String>::new(), "{md}");
}
