//! `check`'s job summary: its JSON document (what `check --format json` prints) as
//! markdown — one row per image reference in the deployment files: where it is written
//! (`FILE:LINE`), the reference, the digest it resolved to, the platforms its workload
//! needs and those the image holds, and the verdict (ok, or every problem found).

use std::fmt::Write as _;

use serde_json::Value;

use super::cells::{cell, code, short_digest};

/// The summary of one `check` document.
pub fn markdown(doc: &Value) -> String {
    let mut out = String::new();
    let result = doc["result"].as_str().unwrap_or("error");
    let _ = writeln!(out, "### mpbuild check: {result}\n");
    let n = &doc["summary"];
    let count = |k: &str| n[k].as_u64().unwrap_or(0);
    let mut parts = vec![format!("{} verified", count("verified"))];
    for (k, what) in [
        ("failed", "failed"),
        ("unresolved", "unresolved"),
        ("invalid", "not image references"),
        ("errors", "registry errors"),
    ] {
        if count(k) > 0 {
            parts.push(format!("{} {what}", count(k)));
        }
    }
    let _ = writeln!(
        out,
        "{} reference(s) in {} file(s): {}.\n",
        count("references"),
        doc["files"].as_u64().unwrap_or(0),
        parts.join(", ")
    );
    out.push_str(
        "| deployment file | image | digest | platforms needed | platforms found | verdict |\n",
    );
    out.push_str("| --- | --- | --- | --- | --- | --- |\n");
    let refs = doc["references"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for r in refs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(r["at"].as_str().unwrap_or_default()),
            code(r["reference"].as_str().unwrap_or_default()),
            r["digest"].as_str().map(short_digest).unwrap_or("—".into()),
            list(strings(&r["platforms"])),
            found(r),
            verdict(r)
        );
    }
    if refs.is_empty() {
        out.push_str("| — | — | — | — | — | no image reference found |\n");
    }
    for s in doc["skipped"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let _ = writeln!(
            out,
            "\nNot checked: {} {}: {}",
            cell(s["at"].as_str().unwrap_or_default()),
            cell(s["resource"].as_str().unwrap_or_default()),
            cell(s["why"].as_str().unwrap_or_default())
        );
    }
    out.push('\n');
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

fn list(items: Vec<String>) -> String {
    if items.is_empty() {
        "—".into()
    } else {
        cell(&items.join(", "))
    }
}

/// The platforms the image holds: each required one found (or there but wrong), then
/// the others; a required one that is not there is said missing.
fn found(r: &Value) -> String {
    let v = &r["verification"];
    if v.is_null() {
        return "—".into();
    }
    let mut held = Vec::new();
    let mut missing = Vec::new();
    for row in v["rows"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
        let p = row["platform"].as_str().unwrap_or_default().to_string();
        match row["status"].as_str() {
            Some("missing") => missing.push(p),
            _ => held.push(p),
        }
    }
    held.extend(strings(&v["extra"]));
    let mut out = list(held);
    if !missing.is_empty() {
        let _ = write!(out, " (**missing** {})", cell(&missing.join(", ")));
    }
    out
}

/// `ok` (and what else was proven: signatures, the record), or the verdict and each
/// problem.
fn verdict(r: &Value) -> String {
    let status = r["status"].as_str().unwrap_or("error");
    let mut out = match status {
        "ok" | "unresolved" => status.to_string(),
        other => format!("**{other}**"),
    };
    let v = &r["verification"];
    let signatures = v["signatures"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut proven = Vec::new();
    if signatures.iter().any(|s| s["of"] != "record") {
        proven.push("signed");
    }
    if signatures.iter().any(|s| s["of"] == "record") {
        proven.push("record attested");
    } else if v["record"]["record"].is_string() {
        proven.push("record found");
    }
    if status == "ok" && !proven.is_empty() {
        let _ = write!(out, " ({})", proven.join(", "));
    }
    let problems: Vec<String> = strings(&r["problems"]).iter().map(|p| cell(p)).collect();
    if !problems.is_empty() {
        let _ = write!(out, ": {}", problems.join("<br>"));
    }
    out
}
