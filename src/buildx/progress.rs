//! buildx's `--progress=rawjson` stream on stderr: BuildKit `SolveStatus` objects
//! (`vertexes`, `statuses`, `logs`, `warnings`), pretty-printed over several lines, and
//! after a failure some plain text (the Dockerfile excerpt and `ERROR: …`). The parser
//! takes lines; the state tracks steps, the current step, each step's log tail and the
//! failing step.

use std::collections::{HashMap, VecDeque};

use base64::Engine;
use serde::Deserialize;

/// How many log lines are kept per step.
pub const LOG_TAIL: usize = 20;

#[derive(Debug, Default, Deserialize)]
pub struct SolveStatus {
    #[serde(default)]
    pub vertexes: Vec<Vertex>,
    #[serde(default)]
    pub logs: Vec<Log>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Vertex {
    pub digest: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub started: Option<String>,
    #[serde(default)]
    pub completed: Option<String>,
    #[serde(default)]
    pub cached: bool,
    #[serde(default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Log {
    pub vertex: String,
    /// base64 of the bytes the step wrote.
    #[serde(default)]
    pub data: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Warning {
    #[serde(default)]
    pub short: Option<String>,
}

/// One thing the stream said.
#[derive(Debug)]
pub enum Event {
    Status(SolveStatus),
    /// A line of plain text (buildx's own messages, the error summary).
    Text(String),
}

/// Splits the stream into JSON objects and text lines.
#[derive(Debug, Default)]
pub struct Parser {
    buf: String,
}

impl Parser {
    /// Feeds one line (without its newline); returns what it completed.
    pub fn line(&mut self, line: &str) -> Option<Event> {
        if self.buf.is_empty() {
            let t = line.trim_start();
            if !t.starts_with('{') {
                return (!line.trim().is_empty()).then(|| Event::Text(line.to_string()));
            }
            if let Ok(s) = serde_json::from_str::<SolveStatus>(t) {
                return Some(Event::Status(s));
            }
        }
        self.buf.push_str(line);
        self.buf.push('\n');
        // A pretty-printed object ends with a `}` alone at the start of a line.
        if line.trim_end() == "}" {
            match serde_json::from_str::<SolveStatus>(&self.buf) {
                Ok(s) => {
                    self.buf.clear();
                    return Some(Event::Status(s));
                }
                Err(e) if !e.is_eof() => {
                    let text = std::mem::take(&mut self.buf);
                    return Some(Event::Text(text.trim_end().to_string()));
                }
                Err(_) => {}
            }
        }
        None
    }

    /// Whatever is left at the end of the stream, as text.
    pub fn finish(&mut self) -> Option<Event> {
        let rest = std::mem::take(&mut self.buf);
        (!rest.trim().is_empty()).then(|| Event::Text(rest.trim_end().to_string()))
    }
}

/// A step of the build.
#[derive(Debug, Clone, Default)]
pub struct Step {
    pub name: String,
    pub started: bool,
    pub completed: bool,
    pub cached: bool,
    pub error: Option<String>,
    pub log: VecDeque<String>,
    /// A partial line of log output.
    partial: String,
    /// Order of first appearance.
    pub order: usize,
}

/// Everything known about a build (or a bake of several images) so far.
#[derive(Debug, Default)]
pub struct State {
    pub steps: HashMap<String, Step>,
    /// Plain text lines buildx printed (the error summary).
    pub text: Vec<String>,
    pub warnings: Vec<String>,
    next_order: usize,
}

/// A step that changed state, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Started(String),
    Done { name: String, cached: bool },
    Failed { name: String, error: String },
}

impl State {
    /// Applies an event; returns the step changes it caused.
    pub fn apply(&mut self, event: Event) -> Vec<Change> {
        let mut changes = Vec::new();
        match event {
            Event::Text(t) => self.text.extend(t.lines().map(str::to_string)),
            Event::Status(s) => {
                for v in s.vertexes {
                    let order = self.next_order;
                    let step = self.steps.entry(v.digest.clone()).or_insert_with(|| Step {
                        order,
                        ..Step::default()
                    });
                    if step.order == order {
                        self.next_order += 1;
                    }
                    if !v.name.is_empty() {
                        step.name = v.name.clone();
                    }
                    if v.started.is_some() && !step.started {
                        step.started = true;
                        changes.push(Change::Started(step.name.clone()));
                    }
                    if v.cached {
                        step.cached = true;
                    }
                    if let Some(e) = v.error.filter(|e| !e.is_empty()) {
                        if step.error.is_none() {
                            changes.push(Change::Failed {
                                name: step.name.clone(),
                                error: e.clone(),
                            });
                        }
                        step.error = Some(e);
                        step.completed = true;
                    } else if v.completed.is_some() && !step.completed {
                        step.completed = true;
                        changes.push(Change::Done {
                            name: step.name.clone(),
                            cached: step.cached,
                        });
                    }
                }
                for l in s.logs {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(l.data.as_bytes())
                        .unwrap_or_default();
                    let text = String::from_utf8_lossy(&bytes);
                    let step = self.steps.entry(l.vertex).or_default();
                    step.partial.push_str(&text);
                    while let Some(i) = step.partial.find('\n') {
                        let line: String = step.partial.drain(..=i).collect();
                        step.log
                            .push_back(line.trim_end_matches(['\n', '\r']).to_string());
                        if step.log.len() > LOG_TAIL {
                            step.log.pop_front();
                        }
                    }
                }
                self.warnings
                    .extend(s.warnings.into_iter().filter_map(|w| w.short));
            }
        }
        changes
    }

    /// Steps whose name starts with `prefix` (a bake target) or all steps.
    fn matching<'a>(&'a self, target: Option<&'a str>) -> impl Iterator<Item = &'a Step> + 'a {
        self.steps.values().filter(move |s| {
            !s.name.is_empty() && target.is_none_or(|t| step_target(&s.name) == Some(t))
        })
    }

    /// (done, total) steps, for a bake target or the whole build.
    pub fn counts(&self, target: Option<&str>) -> (usize, usize) {
        let mut done = 0;
        let mut total = 0;
        for s in self.matching(target) {
            total += 1;
            if s.completed {
                done += 1;
            }
        }
        (done, total)
    }

    /// The step most recently started and not finished.
    pub fn current<'a>(&'a self, target: Option<&'a str>) -> Option<&'a str> {
        self.matching(target)
            .filter(|s| s.started && !s.completed)
            .max_by_key(|s| s.order)
            .map(|s| s.name.as_str())
    }

    /// The step that failed first — preferring a real error over the cancellations
    /// that follow it on other platforms.
    pub fn failed(&self) -> Option<&Step> {
        let mut failed: Vec<&Step> = self.steps.values().filter(|s| s.error.is_some()).collect();
        failed.sort_by_key(|s| {
            let e = s.error.as_deref().unwrap_or_default();
            (e.contains("context canceled"), s.order)
        });
        failed.first().copied()
    }

    /// buildx's own `ERROR: …` line, if it printed one.
    pub fn error_line(&self) -> Option<&str> {
        self.text
            .iter()
            .rev()
            .find(|l| l.starts_with("ERROR:"))
            .map(String::as_str)
    }
}

/// The bake target a step belongs to: `[api linux/amd64 2/3] RUN …` → `api`. Steps of a
/// single build (`[linux/amd64 2/3]`, `[internal] …`) have none.
pub fn step_target(name: &str) -> Option<&str> {
    let inner = name.strip_prefix('[')?.split(']').next()?;
    let first = inner.split_whitespace().next()?;
    let looks_like_platform = first.contains('/');
    let looks_like_count = first.contains('/') || first.chars().all(|c| c.is_ascii_digit());
    if first == "internal" || looks_like_platform || looks_like_count || first == "stage-0" {
        return None;
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(fixture: &str) -> State {
        let text = std::fs::read_to_string(format!(
            "{}/tests/fixtures/buildx/{fixture}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let mut p = Parser::default();
        let mut s = State::default();
        for line in text.lines() {
            if let Some(e) = p.line(line) {
                s.apply(e);
            }
        }
        if let Some(e) = p.finish() {
            s.apply(e);
        }
        s
    }

    #[test]
    fn a_real_successful_build() {
        let s = run("success.rawjson");
        let (done, total) = s.counts(None);
        assert!(total >= 5, "{total}");
        assert_eq!(done, total);
        assert!(s.failed().is_none());
        assert!(s.current(None).is_none());
        let run_step = s
            .steps
            .values()
            .find(|st| st.name.contains("RUN echo hello"))
            .unwrap();
        assert!(
            run_step.log.iter().any(|l| l == "hello"),
            "{:?}",
            run_step.log
        );
    }

    #[test]
    fn a_real_failing_build_names_the_step_and_its_log() {
        let s = run("failing-run.rawjson");
        let f = s.failed().unwrap();
        assert!(f.name.contains("RUN echo hello && sleep 0.2"), "{}", f.name);
        assert!(
            f.error.as_deref().unwrap().contains("exit code: 2"),
            "{:?}",
            f.error
        );
        assert!(
            f.log.iter().any(|l| l.contains("can't open")),
            "{:?}",
            f.log
        );
        assert_eq!(
            s.error_line(),
            Some(
                "ERROR: failed to solve: process \"/bin/sh -c echo hello && sleep 0.2\" did not complete successfully: exit code: 2"
            )
        );
    }

    #[test]
    fn compact_objects_and_text_lines() {
        let mut p = Parser::default();
        assert!(matches!(p.line(r#"{"vertexes":[{"digest":"d1","name":"[api linux/amd64 1/2] FROM x","started":"t"}]}"#), Some(Event::Status(_))));
        assert!(matches!(
            p.line("#0 building with \"default\" instance"),
            Some(Event::Text(_))
        ));
        assert!(p.line("").is_none());
    }

    #[test]
    fn bake_targets_from_step_names() {
        assert_eq!(step_target("[api linux/amd64 2/4] RUN make"), Some("api"));
        assert_eq!(step_target("[worker 1/2] FROM docker.io/x"), Some("worker"));
        assert_eq!(step_target("[linux/arm64 2/3] RUN echo"), None);
        assert_eq!(
            step_target("[internal] load build definition from Dockerfile"),
            None
        );
        assert_eq!(
            step_target("[api internal] load .dockerignore"),
            Some("api")
        );
        assert_eq!(step_target("exporting to oci image format"), None);
    }
}
