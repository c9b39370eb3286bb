//! Reading deployment files: a file or a directory's files, bounded, each document
//! handed to the reader of its format (ECS, CloudFormation, Kubernetes, compose,
//! Copilot).

use std::path::Path;

use super::found::{Context, DeployError, Found};
use super::node::{self, Node};
use super::{cloudformation, compose, copilot, ecs, kubernetes};
use crate::platform::Platform;

/// Every workload of a file or directory, with no selection.
pub fn read_path(
    path: &Path,
    display: &str,
    cluster_archs: Option<&[Platform]>,
) -> Result<Vec<Found>, DeployError> {
    let mut found = Vec::new();
    for (file, shown) in files(path, display)? {
        let text = read_file(&file, &shown)?;
        let env = |name: &str| std::env::var(name).ok();
        let ctx = Context {
            file: &shown,
            cluster: cluster_archs,
            env: &env,
        };
        found.extend(read_text(&text, &ctx)?);
    }
    Ok(found)
}

/// The deployment files at `path`, each with the name messages show: the file itself,
/// or every *.yaml, *.yml and *.json under a directory, sorted.
pub fn files(path: &Path, display: &str) -> Result<Vec<(std::path::PathBuf, String)>, DeployError> {
    if !path.is_dir() {
        return Ok(vec![(path.to_path_buf(), display.to_string())]);
    }
    let files = crate::fsread::walk(path, &|p| {
        p.extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
    })
    .map_err(|e| DeployError::Walk {
        message: e.shown_as(path, Path::new(display)).to_string(),
    })?;
    Ok(files
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(path).unwrap_or(&f);
            let shown = match display.trim_end_matches('/') {
                "." => rel.display().to_string(),
                dir => format!("{dir}/{}", rel.display()),
            };
            (f, shown)
        })
        .collect())
}

/// A deployment file's text, read bounded (see [`read`]).
pub fn read_file(path: &Path, display: &str) -> Result<String, DeployError> {
    crate::fsread::read_text(path, crate::fsread::MAX_TEXT_BYTES).map_err(|e| DeployError::Read {
        path: display.to_string(),
        message: e.to_string(),
    })
}

/// The workloads of one deployment file's text (every document of it).
pub fn read_text(text: &str, ctx: &Context) -> Result<Vec<Found>, DeployError> {
    let docs = node::parse(text).map_err(|e| {
        let hint = if text.contains("{{") {
            "; it looks like a Helm or Go template: render it first (`helm template … | mpbuild check -`)"
        } else {
            ""
        };
        DeployError::Parse {
            path: ctx.file.to_string(),
            line: e.line,
            column: e.column,
            message: e.message,
            hint: hint.to_string(),
        }
    })?;
    let mut out = Vec::new();
    for doc in &docs {
        out.extend(read_doc(doc, ctx)?);
    }
    Ok(out)
}

fn read_doc(doc: &Node, ctx: &Context) -> Result<Vec<Found>, DeployError> {
    if ecs::is(doc) {
        ecs::read(doc, ctx)
    } else if cloudformation::is(doc) {
        cloudformation::read(doc, ctx)
    } else if kubernetes::is(doc) {
        kubernetes::read(doc, ctx)
    } else if compose::is(doc) {
        compose::read(doc, ctx)
    } else if copilot::is(doc) {
        copilot::read(doc, ctx)
    } else {
        // Not a workload (a ConfigMap, a Service, …): nothing to read from it.
        Ok(Vec::new())
    }
}
