//! What a build's progress stream says about its cache: sources it could not read
//! (`importing cache manifest from REF` with `not found`: normal for a platform's first
//! build) and whether the export was written. With `ignore-error=true` (which mpbuild
//! adds) BuildKit finishes the build when the export fails and marks the `exporting
//! cache to …` step with the error (seen with buildx 0.13 and an unreachable registry):
//! that is a warning, never a failed build.

use serde::{Deserialize, Serialize};

use super::progress::State;
use super::steps;

/// The cache of one image's build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CacheOutcome {
    /// Cache sources not read, each with why (`REF: not found`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_read: Vec<String>,
    /// The cache was exported.
    pub written: bool,
    /// Why the export failed (the build went on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_error: Option<String>,
}

/// The cache outcome of `image`'s build (`targets`: the bake's targets, or empty for a
/// single build).
pub fn outcome(state: &State, targets: &[String], image: &str) -> CacheOutcome {
    let mut out = CacheOutcome::default();
    let mut order: Vec<_> = state.steps.values().collect();
    order.sort_by_key(|s| s.order);
    for s in order {
        let label = steps::parse(&s.name, targets);
        if !targets.is_empty() && label.target.as_deref() != Some(image) {
            continue;
        }
        let error = s.error.as_deref().filter(|e| !e.is_empty());
        if let Some(source) = label.command.strip_prefix("importing cache manifest from ") {
            if let Some(e) = error {
                out.not_read.push(format!("{source}: {}", short(e)));
            }
        } else if label.command.starts_with("exporting cache to ") {
            match error {
                Some(e) => out.write_error = Some(e.to_string()),
                None => out.written |= s.completed,
            }
        }
    }
    if targets.is_empty() {
        // A local cache that is not there yet is a warning line, not a step.
        for l in &state.text {
            if let Some(rest) = l.strip_prefix("WARNING: local cache import at ")
                && let Some((dir, _)) = rest.split_once(" not found")
            {
                out.not_read.push(format!("{dir}: not found"));
            }
        }
    }
    out
}

/// An import error without BuildKit's prefix: `failed to configure registry cache
/// importer: REF: not found` → `not found`.
fn short(e: &str) -> &str {
    if e.ends_with(": not found") {
        return "not found";
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildx::progress::Parser;

    fn state(fixture: &str) -> State {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/buildx/emulation/{fixture}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut p = Parser::default();
        let mut s = State::default();
        for l in text.lines() {
            if let Some(e) = p.line(l) {
                s.apply(e);
            }
        }
        s
    }

    #[test]
    fn a_failed_export_is_a_warning_and_missing_sources_are_named() {
        let s = state("cache-export-failed.rawjson");
        let o = outcome(&s, &[], "app");
        assert!(!o.written);
        assert!(
            o.write_error
                .as_deref()
                .unwrap()
                .contains("dial tcp 127.0.0.1:1: connect: connection refused"),
            "{o:?}"
        );
        // A cache source not found, then a RUN that fails: the RUN failed the build.
        let mut p = Parser::default();
        let mut two = State::default();
        for l in [
            r#"{"vertexes":[{"digest":"a","name":"importing cache manifest from r/x:buildcache","started":"2026-12-07T14:40:19Z","completed":"2026-12-07T14:40:19Z","error":"failed to configure registry cache importer: r/x:buildcache: not found"}]}"#,
            r#"{"vertexes":[{"digest":"b","name":"[2/2] RUN false","started":"2026-12-07T14:40:20Z","completed":"2026-12-07T14:40:21Z","error":"process did not complete successfully: exit code: 1"}]}"#,
        ] {
            two.apply(p.line(l).unwrap());
        }
        assert_eq!(two.failed().unwrap().name, "[2/2] RUN false");
        assert_eq!(
            outcome(&two, &[], "app").not_read,
            vec!["r/x:buildcache: not found"]
        );
        let s = state("arm64-alone.rawjson");
        let o = outcome(&s, &[], "app");
        assert_eq!(
            o.not_read,
            vec![
                "127.0.0.1:5000/emuexp/nothere:bc: not found".to_string(),
                "/tmp/emu-exp/nolocal: not found".to_string()
            ]
        );
        assert!(steps::is_cache_step("[api] exporting cache to registry"));
        assert!(!steps::is_cache_step(
            "[api linux/arm64 2/3] RUN exporting cache to x"
        ));
    }
}
