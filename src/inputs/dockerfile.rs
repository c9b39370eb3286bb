//! The images a Dockerfile builds from: every `FROM` and every `COPY --from=`/`RUN
//! --mount=…,from=` that names an image rather than an earlier stage, with `ARG`s expanded
//! from the build args and the global `ARG` defaults, as BuildKit does. A reference that
//! still holds a variable after expansion is reported as unresolved, never guessed.

use std::collections::BTreeMap;

use super::expand::{Vars, expand, meta_arg};
use super::lines::{Logical, logical_lines};
use crate::registry::{Client, Reference};

/// One image the build reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseRef {
    /// The reference after expansion (`docker.io/library/alpine:3.20`, as written).
    pub reference: String,
    /// 1-based line in the Dockerfile.
    pub line: usize,
    /// Why it cannot be resolved (a variable with no value), if so.
    pub unresolved: Option<String>,
}

/// Adds `reference` unless it is `scratch`, an earlier stage, or already listed.
fn add(reference: &str, at: &Logical, vars: &Vars, stages: &[String], out: &mut Vec<BaseRef>) {
    let is_stage = |r: &str| {
        let lower = r.to_ascii_lowercase();
        lower == "scratch" || stages.contains(&lower)
    };
    if is_stage(reference) {
        return;
    }
    let (reference, unresolved) = match expand(reference, vars, at.escape) {
        Ok(r) if !r.is_empty() => (r, None),
        // dockerfile2llb refuses it: "base name (…) should not be blank".
        Ok(_) => (
            reference.to_string(),
            Some(format!("`{reference}` expands to nothing")),
        ),
        Err(why) => (reference.to_string(), Some(format!("`{reference}` {why}"))),
    };
    if unresolved.is_none() && is_stage(&reference) {
        return;
    }
    if !out.iter().any(|b| b.reference == reference) {
        out.push(BaseRef {
            reference,
            line: at.line,
            unresolved,
        });
    }
}

/// The images `dockerfile` reads, given the build args.
pub fn base_refs(dockerfile: &str, build_args: &BTreeMap<String, String>) -> Vec<BaseRef> {
    let mut globals = Vars::new();
    let mut stages: Vec<String> = Vec::new();
    let mut out: Vec<BaseRef> = Vec::new();
    let mut seen_from = false;
    for l in logical_lines(dockerfile) {
        let mut words = l.text.split_whitespace();
        let Some(instr) = words.next() else { continue };
        let rest: Vec<&str> = words.collect();
        match instr.to_ascii_uppercase().as_str() {
            "ARG" if !seen_from => meta_arg(&rest, &mut globals, build_args, l.escape),
            "FROM" => {
                seen_from = true;
                let args: Vec<&str> = rest
                    .iter()
                    .copied()
                    .filter(|w| !w.starts_with("--"))
                    .collect();
                if let Some(image) = args.first() {
                    add(image, &l, &globals, &stages, &mut out);
                }
                if args.len() >= 3 && args[1].eq_ignore_ascii_case("as") {
                    stages.push(args[2].to_ascii_lowercase());
                } else {
                    stages.push(stages.len().to_string());
                }
            }
            "COPY" | "ADD" | "RUN" => {
                for w in rest.iter().filter(|w| w.starts_with("--")) {
                    let from = w.strip_prefix("--from=").map(str::to_string).or_else(|| {
                        w.strip_prefix("--mount=").and_then(|m| {
                            m.split(',')
                                .find_map(|kv| kv.strip_prefix("from="))
                                .map(str::to_string)
                        })
                    });
                    if let Some(from) = from {
                        add(&from, &l, &globals, &stages, &mut out);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A base image's digest: the one written in the reference, else the registry's.
pub fn resolve(client: &Client, reference: &str) -> anyhow::Result<String> {
    let r = Reference::parse(reference)?;
    if let Some(d) = &r.digest {
        return Ok(d.clone());
    }
    Ok(client.get_manifest(&r)?.digest.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn refs(text: &str, a: &[(&str, &str)]) -> Vec<(String, Option<String>)> {
        base_refs(text, &args(a))
            .into_iter()
            .map(|b| (b.reference, b.unresolved))
            .collect()
    }

    #[test]
    fn stages_scratch_and_args() {
        let df = "# syntax=docker/dockerfile:1\nARG BASE=alpine:3.20\nARG GO=1.23\nFROM --platform=$BUILDPLATFORM golang:${GO} AS build\nRUN --mount=type=cache,target=/root \\\n    go build\nFROM ${BASE}\nCOPY --from=build /app /app\nCOPY --from=ghcr.io/acme/tools:1 /t /t\nFROM scratch AS final\nCOPY --from=1 /x /x\nFROM build\n";
        assert_eq!(
            refs(df, &[]),
            vec![
                ("golang:1.23".into(), None),
                ("alpine:3.20".into(), None),
                ("ghcr.io/acme/tools:1".into(), None),
            ]
        );
        // Build args override ARG defaults.
        assert_eq!(
            refs(df, &[("BASE", "r.example/base@sha256:abc")])[1].0,
            "r.example/base@sha256:abc"
        );
    }

    #[test]
    fn unresolved_variables_are_said_not_guessed() {
        let r = refs("ARG BASE\nFROM $BASE\n", &[]);
        assert_eq!(r.len(), 1);
        assert!(r[0].1.as_ref().unwrap().contains("$BASE"), "{r:?}");
        let r = refs("ARG BASE\nFROM ${BASE:-debian:12}\n", &[]);
        assert_eq!(r, vec![("debian:12".into(), None)]);
        // An ARG declared after FROM does not apply to FROM.
        let r = refs("FROM ${LATE}\nARG LATE=x\n", &[]);
        assert!(r[0].1.is_some());
    }

    /// dockerfile2llb `buildMetaArgs`: `ARG X=` sets X to "" (so `${X+word}` gives the
    /// word, `${X-word}` nothing), `ARG X` leaves it unset; each default is expanded
    /// with the `ARG`s before it, a build arg winning.
    #[test]
    fn global_args_as_buildkit_builds_them() {
        let df = "ARG TAG=\nFROM alpine:3.20${TAG+-fips}\nFROM busybox${TAG-:1}\n";
        assert_eq!(
            refs(df, &[]),
            vec![("alpine:3.20-fips".into(), None), ("busybox".into(), None)]
        );
        let df = "ARG TAG=3.20\nARG BASE=alpine:${TAG}\nFROM ${BASE}\n";
        assert_eq!(refs(df, &[]), vec![("alpine:3.20".into(), None)]);
        assert_eq!(
            refs(df, &[("TAG", "3.21")]),
            vec![("alpine:3.21".into(), None)]
        );
        let r = refs("ARG BASE=alpine:${TAG}\nFROM ${BASE}\n", &[]);
        assert_eq!(
            r[0].1.as_deref(),
            Some("`${BASE}` uses $BASE, whose default uses $TAG, which has no value")
        );
        // A blank base name is an error in BuildKit, never a reference.
        let r = refs("ARG BASE=\nFROM $BASE\n", &[]);
        assert_eq!(r[0].1.as_deref(), Some("`$BASE` expands to nothing"));
    }

    #[test]
    fn run_mount_from_and_escape_directive() {
        let df = "# escape=`\nFROM alpine `\n  AS a\nRUN --mount=type=bind,from=busybox:1,target=/b true\n";
        assert_eq!(
            refs(df, &[]),
            vec![("alpine".into(), None), ("busybox:1".into(), None)]
        );
    }

    /// BuildKit runs its shell lexer on `FROM`'s base name (dockerfile2llb's
    /// `ProcessWordWithMatches(st.BaseName, globalArgs)`): `\\$` is a literal `$`, quotes
    /// go, and `# escape=`` ` `` makes the backtick the escape and a backslash text.
    #[test]
    fn escapes_and_quotes_as_buildkit_reads_from() {
        let df = "ARG TAG=3.20\nFROM alpine:\\${TAG}\nFROM \"busybox:$TAG\"\n";
        assert_eq!(
            refs(df, &[]),
            vec![
                ("alpine:${TAG}".into(), None),
                ("busybox:3.20".into(), None)
            ]
        );
        let df = "# escape=`\nARG TAG=3.20\nFROM alpine:`${TAG}\nFROM busybox:\\$TAG\n";
        assert_eq!(
            refs(df, &[]),
            vec![
                ("alpine:${TAG}".into(), None),
                ("busybox:\\3.20".into(), None)
            ]
        );
    }

    #[test]
    fn a_heredoc_body_is_no_instruction() {
        // The body's `FROM evil:1` is text written to a file, not a base image.
        let df = "FROM alpine\nRUN <<EOF\nFROM evil:1\nEOF\nCOPY --from=busybox:1 /x /x\n";
        assert_eq!(
            refs(df, &[]),
            vec![("alpine".into(), None), ("busybox:1".into(), None)]
        );
    }
}
