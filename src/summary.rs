//! The job summary: a push's, leg's or merge's JSON result (the document `--format
//! json` prints and `--metadata-file` writes) as markdown — one row per image and
//! platform: digest, native or emulated, build time, smoke run, the tags moved (or why
//! none moved). Appended to `--summary FILE`, or to `$GITHUB_STEP_SUMMARY` when GitHub
//! Actions sets it, so the run's page shows what was published.
//!
//! Made from the JSON document, not from the report's types: what a pipeline reads and
//! what the summary says are one thing.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

mod cells;
pub mod check;
use cells::{cell, code, short_digest};

/// Where the summary goes: `--summary FILE`, else `$GITHUB_STEP_SUMMARY` (when set and
/// not empty), else nowhere.
pub fn target(flag: Option<&Path>, var: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    flag.map(Path::to_path_buf).or_else(|| {
        var("GITHUB_STEP_SUMMARY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Appends `markdown` to `path` (GitHub joins every step's summary: append, never
/// replace).
pub fn append(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(markdown.as_bytes())
}

/// The summary of one JSON result.
pub fn markdown(doc: &Value) -> String {
    let command = doc["command"].as_str().unwrap_or("mpbuild");
    let mut out = String::new();
    let failure = &doc["failure"];
    let _ = match doc["result"].as_str() {
        Some("ok") => writeln!(out, "### mpbuild {command}: ok\n"),
        _ => writeln!(
            out,
            "### mpbuild {command}: failed{}\n",
            failure["reason"]
                .as_str()
                .map(|r| format!(" ({})", cell(r)))
                .unwrap_or_default()
        ),
    };
    out.push_str("| image | platform | digest | build | time | smoke | tags |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    let rows = rows(doc);
    for r in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&r.image),
            cell(&r.platform),
            r.digest.as_deref().map(short_digest).unwrap_or("—".into()),
            r.build,
            r.time,
            r.smoke,
            r.tags
        );
    }
    if rows.is_empty() {
        out.push_str("| — | — | — | — | — | — | nothing was built or checked |\n");
    }
    if let Some(untouched) = failure["untouched"].as_array().filter(|u| !u.is_empty()) {
        let list: Vec<String> = untouched
            .iter()
            .filter_map(Value::as_str)
            .map(code)
            .collect();
        let _ = writeln!(
            out,
            "\n**No tag moved**: {} stays where it was.",
            list.join(", ")
        );
    }
    if let Some(e) = failure["error"].as_str().or(doc["error"].as_str()) {
        let first = e.lines().next().unwrap_or_default();
        let _ = writeln!(out, "\n{}", cell(first));
    }
    out.push('\n');
    out
}

struct Row {
    image: String,
    platform: String,
    digest: Option<String>,
    build: String,
    time: String,
    smoke: String,
    tags: String,
}

/// The rows: from `images` (what was published), else from the verdicts (what was
/// checked before the run stopped).
fn rows(doc: &Value) -> Vec<Row> {
    let mut rows = Vec::new();
    let images = doc["images"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for img in images {
        let name = img["name"].as_str().unwrap_or_default();
        let platforms = img["platforms"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        for (i, p) in platforms.iter().enumerate() {
            let platform = p["platform"].as_str().unwrap_or_default();
            // Index tags on the image's first row; a single-manifest tag on its
            // platform's. Then the same in each other repository (`repositories:`),
            // named.
            let on_row = |t: &&Value| match t["platform"].as_str() {
                Some(tp) => tp == platform,
                None => i == 0,
            };
            let list = |v: &Value| v.as_array().map(Vec::as_slice).unwrap_or(&[]).to_vec();
            let mut tags: Vec<String> = list(&img["tags"])
                .iter()
                .filter(on_row)
                .map(moved)
                .collect();
            for c in list(&img["copies"]) {
                let repo = c["repository"].as_str().unwrap_or_default();
                tags.extend(
                    list(&c["tags"])
                        .iter()
                        .filter(on_row)
                        .map(|t| format!("{} in {}", moved(t), code(repo))),
                );
            }
            let tags = if tags.is_empty() && i == 0 && img["unchanged_since"].is_string() {
                "unchanged: nothing moved".to_string()
            } else {
                tags.join("<br>")
            };
            let (build, time) = timing(img, platform);
            rows.push(Row {
                image: name.to_string(),
                platform: platform.to_string(),
                digest: p["digest"].as_str().map(str::to_string),
                build,
                time,
                smoke: smoke(doc, name, platform),
                tags,
            });
        }
    }
    if !rows.is_empty() {
        return rows;
    }
    let verdicts = doc["verdicts"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    for v in verdicts {
        let reference = v["reference"].as_str().unwrap_or_default();
        let name = doc["smoke"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["reference"] == reference))
            .and_then(|s| s["image"].as_str())
            .unwrap_or_else(|| reference.split('@').next().unwrap_or_default());
        for r in v["rows"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
            let platform = r["platform"].as_str().unwrap_or_default();
            let status = r["status"].as_str().unwrap_or("unknown");
            rows.push(Row {
                image: name.to_string(),
                platform: platform.to_string(),
                digest: r["digest"].as_str().map(str::to_string),
                build: "—".into(),
                time: "—".into(),
                smoke: smoke(doc, name, platform),
                tags: if status == "found" {
                    "not moved".into()
                } else {
                    format!("not moved: {}", cell(status))
                },
            });
        }
    }
    rows
}

/// `tag` or `tag (already there)`.
fn moved(t: &Value) -> String {
    let tag = t["tag"].as_str().unwrap_or_default();
    if t["unchanged"].as_bool() == Some(true) {
        format!("{} (already there)", code(tag))
    } else {
        code(tag)
    }
}

/// native or emulated, and the build time, from the image's timing for `platform`.
fn timing(img: &Value, platform: &str) -> (String, String) {
    let t = img["timing"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["platform"] == platform));
    match t {
        Some(t) => {
            let emulated = t["emulated_s"].as_f64().unwrap_or(0.0);
            let kind = if emulated > 0.0 {
                format!("emulated ({emulated:.1} s)")
            } else {
                "native".to_string()
            };
            let total = t["total_s"].as_f64().unwrap_or(0.0);
            let steps = t["steps"].as_u64().unwrap_or(0);
            let cached = t["cached"].as_u64().unwrap_or(0);
            (kind, format!("{total:.1} s ({cached}/{steps} cached)"))
        }
        None if img["built"] == false => ("not built (unchanged)".into(), "—".into()),
        None => ("—".into(), "—".into()),
    }
}

/// The smoke run of `image` on `platform`: ok or why not, and its time.
fn smoke(doc: &Value, image: &str, platform: &str) -> String {
    let s = doc["smoke"].as_array().and_then(|s| {
        s.iter()
            .find(|s| s["image"] == image && s["platform"] == platform)
    });
    let Some(s) = s else {
        return "—".into();
    };
    let secs = s["duration_s"].as_f64().unwrap_or(0.0);
    let how = if s["native"] == true {
        "native"
    } else {
        "emulated"
    };
    if s["ok"] == true {
        format!("ok ({secs:.1} s, {how})")
    } else {
        format!(
            "**failed**: {} ({how})",
            cell(s["reason"].as_str().unwrap_or("failed"))
        )
    }
}

#[cfg(test)]
mod tests;
