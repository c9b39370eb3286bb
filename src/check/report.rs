//! `check`'s report: for people, one line per reference that passed and a few per
//! finding, each starting `FILE:LINE`; for a CI gate, one JSON document listing every
//! reference with its verdict.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Checked, Outcome, Report, Skipped};
use crate::verify::report::short;
use crate::verify::{Status, Verdict};

/// The findings of one use, one line each: what is missing or wrong, and why it is
/// needed.
pub fn problems(c: &Checked) -> Vec<String> {
    let u = &c.use_;
    match &c.outcome {
        Outcome::Checked { verdict } => {
            let mut out = Vec::new();
            for r in &verdict.rows {
                match &r.status {
                    Status::Found => {}
                    Status::Missing => out.push(format!(
                        "{} is missing: {} ({})",
                        r.platform, u.platforms_why, u.platforms_from
                    )),
                    Status::Mismatched { reason } => out.push(format!("{}: {reason}", r.platform)),
                }
            }
            out.extend(verdict.problems.iter().cloned());
            out
        }
        Outcome::Unresolved { why } => vec![format!(
            "not checked: {why}; --allow-unresolved accepts it unchecked"
        )],
        Outcome::Invalid { why } => vec![why.clone()],
        Outcome::Error { error } => vec![error.clone()],
    }
}

/// What the image holds, for a finding: `linux/amd64, linux/arm64`.
fn holds(v: &Verdict) -> String {
    let mut platforms: Vec<String> = v
        .rows
        .iter()
        .filter(|r| r.status != Status::Missing)
        .map(|r| r.platform.to_string())
        .collect();
    platforms.extend(v.extra.iter().map(ToString::to_string));
    platforms.join(", ")
}

fn word(c: &Checked, allow_unresolved: bool) -> &'static str {
    match &c.outcome {
        Outcome::Checked { verdict } if verdict.ok() => "ok",
        Outcome::Checked { .. } | Outcome::Invalid { .. } => "FAIL",
        Outcome::Unresolved { .. } if allow_unresolved => "skip",
        Outcome::Unresolved { .. } => "UNRESOLVED",
        Outcome::Error { .. } => "ERROR",
    }
}

/// The text report; with `failures_only` (`-q`), only what did not pass.
pub fn render_text(report: &Report, failures_only: bool) -> String {
    let mut out = String::new();
    for c in &report.uses {
        if failures_only && c.passed() {
            continue;
        }
        let u = &c.use_;
        let mark = word(c, report.allow_unresolved);
        let _ = write!(
            out,
            "{mark:5} {}:{}  {} ({})",
            u.file, u.line, u.resource, u.container
        );
        match &c.outcome {
            Outcome::Checked { verdict } => {
                let to = if verdict.digest.is_empty() {
                    " (not in the registry)".to_string()
                } else {
                    format!(" → {} ({})", short(&verdict.digest), verdict.kind)
                };
                let platforms = crate::platform::join(&u.platforms);
                if verdict.ok() {
                    let _ = writeln!(out, "  {}{to}  {platforms}", verdict.reference);
                    continue;
                }
                let _ = writeln!(out, "\n      {}{to}", verdict.reference);
                let held = holds(verdict);
                if !held.is_empty() {
                    let _ = writeln!(out, "      holds {held}; needs {platforms}");
                }
            }
            _ => {
                let full = match &u.target {
                    super::Target::Reference(r) if r.to_string() != u.written => format!(" ({r})"),
                    _ => String::new(),
                };
                let _ = writeln!(out, "\n      {}{full}", u.written);
            }
        }
        for p in problems(c) {
            for line in p.lines() {
                let _ = writeln!(out, "      {line}");
            }
        }
    }
    if !failures_only {
        for s in &report.skipped {
            let _ = writeln!(out, "not checked: {} {}: {}", s.at, s.resource, s.why);
        }
    }
    let _ = writeln!(out, "\n{}", summary(report));
    out
}

#[derive(Default, Serialize)]
struct Counts {
    references: usize,
    verified: usize,
    failed: usize,
    unresolved: usize,
    invalid: usize,
    errors: usize,
}

fn counts(report: &Report) -> Counts {
    let mut n = Counts {
        references: report.uses.len(),
        ..Counts::default()
    };
    for c in &report.uses {
        match &c.outcome {
            Outcome::Checked { verdict } if verdict.ok() => n.verified += 1,
            Outcome::Checked { .. } => n.failed += 1,
            Outcome::Unresolved { .. } => n.unresolved += 1,
            Outcome::Invalid { .. } => n.invalid += 1,
            Outcome::Error { .. } => n.errors += 1,
        }
    }
    n
}

/// One line: how many references, in how many files, and what became of them.
pub fn summary(report: &Report) -> String {
    let n = counts(report);
    let mut parts = vec![format!("{} verified", n.verified)];
    for (count, what) in [
        (n.failed, "failed"),
        (
            n.unresolved,
            if report.allow_unresolved {
                "unresolved (allowed)"
            } else {
                "unresolved"
            },
        ),
        (n.invalid, "not image references"),
        (n.errors, "registry errors"),
    ] {
        if count > 0 {
            parts.push(format!("{count} {what}"));
        }
    }
    format!(
        "checked {} reference(s) in {} file(s) ({} distinct, {} image(s) read): {}",
        n.references,
        report.files,
        report.reads.references,
        report.reads.images,
        parts.join(", ")
    )
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    command: &'static str,
    result: &'static str,
    exit_code: i32,
    files: usize,
    /// Distinct references resolved.
    distinct: usize,
    /// Distinct images (repository and digest) read.
    images: usize,
    summary: Counts,
    references: Vec<JsonUse<'a>>,
    skipped: &'a [Skipped],
    /// With `--pin`: what was written, and what was not and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pin: Option<&'a super::pin::Outcome>,
}

#[derive(Serialize)]
struct JsonUse<'a> {
    at: String,
    file: &'a str,
    line: u32,
    resource: &'a str,
    container: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<&'a str>,
    /// As written in the file.
    reference: &'a str,
    /// ok, failed, unresolved, invalid, error.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    digest: Option<&'a str>,
    platforms: Vec<String>,
    platforms_from: &'a str,
    platforms_why: &'a str,
    problems: Vec<String>,
    /// The verification, as `verify --format json` reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<&'a Verdict>,
}

/// The JSON document (`schema_version` first, then `command`, `result`, `exit_code`).
pub fn render_json(report: &Report, pin: Option<&super::pin::Outcome>) -> String {
    let code = report.code();
    let references = report
        .uses
        .iter()
        .map(|c| {
            let u = &c.use_;
            let status = match &c.outcome {
                Outcome::Checked { verdict } if verdict.ok() => "ok",
                Outcome::Checked { .. } => "failed",
                Outcome::Unresolved { .. } => "unresolved",
                Outcome::Invalid { .. } => "invalid",
                Outcome::Error { .. } => "error",
            };
            JsonUse {
                at: format!("{}:{}", u.file, u.line),
                file: &u.file,
                line: u.line,
                resource: &u.resource,
                container: &u.container,
                service: u.service.as_deref(),
                reference: &u.written,
                status,
                digest: c.digest(),
                platforms: u.platforms.iter().map(ToString::to_string).collect(),
                platforms_from: &u.platforms_from,
                platforms_why: &u.platforms_why,
                problems: problems(c),
                verification: match &c.outcome {
                    Outcome::Checked { verdict } => Some(verdict),
                    _ => None,
                },
            }
        })
        .collect();
    let doc = JsonReport {
        schema_version: 1,
        command: "check",
        result: match code {
            crate::exit::Code::Ok => "ok",
            crate::exit::Code::VerifyFailed => "failed",
            _ => "error",
        },
        exit_code: code.as_i32(),
        files: report.files,
        distinct: report.reads.references,
        images: report.reads.images,
        summary: counts(report),
        references,
        skipped: &report.skipped,
        pin,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// What `--pin` wrote, for people.
pub fn render_pin(outcome: &super::pin::Outcome) -> String {
    let mut out = String::new();
    for p in &outcome.pinned {
        let _ = writeln!(out, "pinned      {}  {} → {}", p.at, p.from, p.to);
    }
    for n in &outcome.not_pinned {
        let _ = writeln!(out, "not pinned  {}  {}: {}", n.at, n.reference, n.why);
    }
    if outcome.pinned.is_empty() && outcome.not_pinned.is_empty() {
        let _ = writeln!(
            out,
            "nothing to pin: every reference already names its digest"
        );
    } else if outcome.pinned.is_empty() {
        let _ = writeln!(
            out,
            "pinned nothing: {} reference(s) could not be pinned (above)",
            outcome.not_pinned.len()
        );
    } else {
        let _ = writeln!(
            out,
            "pinned {} reference(s) in {} file(s)",
            outcome.pinned.len(),
            outcome.files.len()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::pin::{NotPinned, Outcome};
    use super::render_pin;

    /// "Nothing to pin" only when every reference already names its digest; a reference
    /// that could not be pinned is not that.
    #[test]
    fn the_last_pin_line_tells_nothing_to_pin_from_could_not() {
        assert_eq!(
            render_pin(&Outcome::default()),
            "nothing to pin: every reference already names its digest\n"
        );
        let outcome = Outcome {
            not_pinned: vec![NotPinned {
                at: "compose.yaml:3".into(),
                reference: "${API:-r/app:v1}".into(),
                why: "compose fills in a variable of it".into(),
            }],
            ..Outcome::default()
        };
        assert_eq!(
            render_pin(&outcome),
            "not pinned  compose.yaml:3  ${API:-r/app:v1}: compose fills in a variable of it\n\
             pinned nothing: 1 reference(s) could not be pinned (above)\n"
        );
    }
}
