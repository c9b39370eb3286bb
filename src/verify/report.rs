//! The verification report: one row per required platform, for people and as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::check::{Status, Verdict};
pub use crate::digest::short;

/// The text report for several references: each verdict, then the conclusion.
pub fn render_text(verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    for (i, v) in verdicts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_verdict(&mut out, v);
    }
    render_conclusion(&mut out, verdicts);
    out
}

/// One reference: its mark, digest and kind; a row per required platform; what else
/// it holds; its referrers, signatures and problems.
fn render_verdict(out: &mut String, v: &Verdict) {
    let mark = if v.ok() { "ok  " } else { "FAIL" };
    let _ = writeln!(
        out,
        "{mark} {}  {} ({})",
        v.reference,
        short(&v.digest),
        v.kind
    );
    render_rows(out, v);
    if !v.extra.is_empty() {
        let extra: Vec<String> = v.extra.iter().map(ToString::to_string).collect();
        if v.rows.is_empty() {
            // An inventory: nothing was required, this is what it holds.
            let _ = writeln!(out, "  platforms: {}", extra.join(", "));
        } else {
            let _ = writeln!(
                out,
                "  also present: {} (no target needs it)",
                extra.join(", ")
            );
        }
    }
    if !v.attestations.is_empty() {
        let _ = writeln!(
            out,
            "  attestations: {} manifest(s), not counted as platforms",
            v.attestations.len()
        );
    }
    render_referrers(out, v);
    render_signatures(out, v);
    for p in &v.problems {
        let _ = writeln!(out, "  problem: {p}");
    }
}

/// A row per required platform (found, missing, mismatched and why; the deep check's
/// summary), the platform column as wide as the widest.
fn render_rows(out: &mut String, v: &Verdict) {
    let width = v
        .rows
        .iter()
        .map(|r| r.platform.to_string().len())
        .max()
        .unwrap_or(0)
        .max(11);
    for r in &v.rows {
        let (word, reason) = match &r.status {
            Status::Found => ("found", None),
            Status::Missing => ("missing", None),
            Status::Mismatched { reason } => ("mismatched", Some(reason)),
        };
        let digest = r.digest.as_deref().map(short).unwrap_or_default();
        let mut line = format!(
            "  {:width$}  {:10}  {:19}  {}",
            r.platform.to_string(),
            word,
            digest,
            r.needed_by.join(", ")
        );
        if let Some(d) = &r.deep
            && r.status == Status::Found
        {
            let _ = write!(line, "  [{}]", d.summary);
        }
        let _ = writeln!(out, "{}", line.trim_end());
        if let Some(reason) = reason {
            let _ = writeln!(out, "  {:width$}  ↳ {reason}", "");
        }
    }
}

/// The last lines: verified (with records, or platforms), consistent (nothing
/// required), or what failed in each reference that failed.
fn render_conclusion(out: &mut String, verdicts: &[Verdict]) {
    let failed: Vec<&Verdict> = verdicts.iter().filter(|v| !v.ok()).collect();
    let records = !verdicts.is_empty() && super::referrers::records_ok(verdicts);
    if failed.is_empty() && records && verdicts.iter().all(|v| v.rows.is_empty()) {
        let _ = writeln!(
            out,
            "\nverified: {} reference(s), each with a verification record that agrees with what the registry holds now",
            verdicts.len()
        );
    } else if failed.is_empty() && verdicts.iter().all(|v| v.rows.is_empty()) {
        let _ = writeln!(
            out,
            "\nconsistent: {} reference(s) listed; nothing was required of them (--target or --platform says what must be there)",
            verdicts.len()
        );
    } else if failed.is_empty() {
        let _ = writeln!(
            out,
            "\nverified: {} reference(s), every required platform present{}",
            verdicts.len(),
            if records {
                ", each with a verification record that agrees"
            } else {
                ""
            }
        );
    } else {
        let _ = writeln!(
            out,
            "\nverification failed for {} of {} reference(s):",
            failed.len(),
            verdicts.len()
        );
        for v in failed {
            for r in &v.rows {
                match &r.status {
                    Status::Missing => {
                        let _ = writeln!(
                            out,
                            "  {}: {} is missing (needed by {})",
                            v.reference,
                            r.platform,
                            r.needed_by.join(", ")
                        );
                    }
                    Status::Mismatched { reason } => {
                        let _ = writeln!(out, "  {}: {}: {reason}", v.reference, r.platform);
                    }
                    Status::Found => {}
                }
            }
            for p in &v.problems {
                let _ = writeln!(out, "  {}: {p}", v.reference);
            }
        }
    }
}

/// `--signed-by`: each signer's status on each required digest.
fn render_signatures(out: &mut String, v: &Verdict) {
    let mut gates: Vec<&crate::signing::Gate> = Vec::new();
    for s in &v.signatures {
        if !gates.contains(&&s.signed_by) {
            gates.push(&s.signed_by);
        }
    }
    for g in gates {
        let each: Vec<String> = v
            .signatures
            .iter()
            .filter(|s| &s.signed_by == g)
            .map(|s| {
                // `record`: the verification record's attestation (--require-record).
                let status = match (s.status.clone(), s.of == "record") {
                    (crate::signing::Status::Valid, false) => "signed",
                    (crate::signing::Status::Missing, false) => "NOT SIGNED",
                    (crate::signing::Status::Invalid, false) => "NOT VALIDLY SIGNED",
                    (crate::signing::Status::Valid, true) => "attested",
                    (crate::signing::Status::Missing, true) => "NOT ATTESTED",
                    (crate::signing::Status::Invalid, true) => "NOT VALIDLY ATTESTED",
                };
                format!("{} {status}", s.of)
            })
            .collect();
        let _ = writeln!(out, "  signatures by {g}: {}", each.join(", "));
    }
}

/// The referrers of each digest that has any, and the record found.
fn render_referrers(out: &mut String, v: &Verdict) {
    if let Some(first) = v.referrers.first() {
        let _ = writeln!(out, "  referrers, listed through {}:", first.via.describe());
        let width = v.referrers.iter().map(|l| l.of.len()).max().unwrap_or(0);
        for l in &v.referrers {
            for r in &l.referrers {
                let what = match r.predicate_type.as_deref() {
                    Some(crate::provenance::record::PREDICATE_TYPE) => {
                        "  mpbuild verification record".to_string()
                    }
                    Some(p) => format!("  {p}"),
                    None => String::new(),
                };
                let _ = writeln!(
                    out,
                    "    {:width$}  {}  {}  {} B{what}",
                    l.of,
                    short(&r.digest),
                    r.artifact_type.as_deref().unwrap_or("(no artifact type)"),
                    r.size,
                );
            }
        }
    }
    if let Some(rc) = &v.record
        && let Some(d) = &rc.record
    {
        let _ = writeln!(
            out,
            "  record: {} agrees with what the registry holds (verified {}{})",
            short(d),
            rc.verified_at.as_deref().unwrap_or("at an unknown time"),
            rc.source_commit
                .as_deref()
                .map(|c| format!(", source commit {c}"))
                .unwrap_or_default()
        );
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    command: &'static str,
    result: &'static str,
    exit_code: i32,
    ok: bool,
    references: &'a [Verdict],
}

/// The JSON report: the same facts.
pub fn render_json(verdicts: &[Verdict]) -> String {
    let ok = verdicts.iter().all(Verdict::ok);
    let report = JsonReport {
        schema_version: 1,
        command: "verify",
        result: if ok { "ok" } else { "failed" },
        exit_code: if ok { 0 } else { 1 },
        ok,
        references: verdicts,
    };
    serde_json::to_string_pretty(&report).unwrap_or_default()
}
