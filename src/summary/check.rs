//! `check`'s job summary: its JSON document (what `check --format json` prints) as
//! markdown — one row per image reference in the deployment files: where it is written
//! (`FILE:LINE`), the reference, the digest it resolved to, the platforms its workload
//! needs and those the image holds, and the verdict (ok, or every problem found); with
//! `--pin`, what it wrote in each reference's place (or why not).

use std::fmt::Write as _;

use serde_json::Value;

use super::cells::{cell, code, short_digest};

/// The summary of one `check` document; `pin` when `--pin` was given (its `pin` field
/// is there only when every reference passed and `--pin` ran).
pub fn markdown(doc: &Value, pin: bool) -> String {
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
        "| deployment file | image | digest | platforms needed | platforms found | verdict |",
    );
    out.push_str(if pin { " pinned |\n" } else { "\n" });
    out.push_str("| --- | --- | --- | --- | --- | --- |");
    out.push_str(if pin { " --- |\n" } else { "\n" });
    let refs = doc["references"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for r in refs {
        let _ = write!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            cell(r["at"].as_str().unwrap_or_default()),
            code(r["reference"].as_str().unwrap_or_default()),
            r["digest"].as_str().map(short_digest).unwrap_or("—".into()),
            list(strings(&r["platforms"])),
            found(r),
            verdict(r)
        );
        if pin {
            let _ = write!(out, " {} |", pinned(r, &doc["pin"]));
        }
        out.push('\n');
    }
    if refs.is_empty() {
        out.push_str("| — | — | — | — | — | no image reference found |");
        out.push_str(if pin { " — |\n" } else { "\n" });
    }
    if pin {
        out.push_str(&pin_line(&doc["pin"]));
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

/// What `--pin` wrote in `r`'s place: the pinned reference, why it was not, or that it
/// already names a digest; `—` when `--pin` did not run.
fn pinned(r: &Value, outcome: &Value) -> String {
    let at = &r["at"];
    let reference = &r["reference"];
    let list = |k: &str| outcome[k].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if let Some(p) = list("pinned")
        .iter()
        .find(|p| p["at"] == *at && p["from"] == *reference)
    {
        return code(p["to"].as_str().unwrap_or_default());
    }
    if let Some(n) = list("not_pinned")
        .iter()
        .find(|n| n["at"] == *at && n["reference"] == *reference)
    {
        return format!(
            "not pinned: {}",
            cell(n["why"].as_str().unwrap_or_default())
        );
    }
    let by_digest = reference.as_str().is_some_and(names_a_digest);
    if outcome.is_object() && by_digest {
        "already by digest".into()
    } else {
        "—".into()
    }
}

/// The line under the table: how many references `--pin` wrote into how many files, or
/// why it wrote nothing.
/// Whether a reference as written names a digest: what follows its last `@` is one of an
/// algorithm mpbuild checks (`sha256:…`, `sha512:…`), whatever names the repository (a
/// `${VAR}` included).
fn names_a_digest(reference: &str) -> bool {
    reference
        .rsplit_once('@')
        .is_some_and(|(_, d)| crate::digest::Algorithm::of(d).is_ok())
}

fn pin_line(outcome: &Value) -> String {
    if !outcome.is_object() {
        return "\n`--pin` wrote nothing: every reference must pass first.\n".into();
    }
    let pinned = outcome["pinned"].as_array().map_or(0, Vec::len);
    let files = strings(&outcome["files"]);
    let not_pinned = outcome["not_pinned"].as_array().map_or(0, Vec::len);
    match (pinned, not_pinned) {
        (0, 0) => {
            return "\n`--pin`: nothing to pin, every reference already names its digest.\n".into();
        }
        (0, n) => {
            return format!("\n`--pin` wrote nothing: {n} reference(s) could not be pinned.\n");
        }
        _ => {}
    }
    let files: Vec<String> = files.iter().map(|f| cell(f)).collect();
    format!(
        "\n`--pin` pinned {pinned} reference(s) in {} file(s): {}.\n",
        files.len(),
        files.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::names_a_digest;

    #[test]
    fn a_reference_names_a_digest_by_either_algorithm_mpbuild_checks() {
        let hex = |n: usize| "a".repeat(n);
        for yes in [
            format!("r.example/app@sha256:{}", hex(64)),
            format!("r.example/app:v1@sha512:{}", hex(128)),
            format!("${{REGISTRY}}/app@sha256:{}", hex(64)),
        ] {
            assert!(names_a_digest(&yes), "{yes}");
        }
        for no in [
            "r.example/app:v1",
            "r.example/app",
            "user@host/app:v1",
            "r.example/app@md5:abc",
        ] {
            assert!(!names_a_digest(no), "{no}");
        }
    }
}
