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

/// The most kept of one line buildx prints (`child::read_line_capped`): 8 MiB.
pub const MAX_LINE: usize = 8 << 20;
/// Bounds on what is kept of a build's output, whatever buildx (or a command in a
/// smoke run) prints: a multi-line JSON object, plain text lines (the last ones), one
/// line of a step's log, warnings, steps.
const MAX_OBJECT: usize = 16 << 20;
const MAX_TEXT_LINES: usize = 200;
const MAX_TEXT_LINE: usize = 4096;
const MAX_PARTIAL: usize = 64 << 10;
const MAX_WARNINGS: usize = 100;
const MAX_STEPS: usize = 100_000;
const MAX_STATUSES: usize = 1_000;

/// `s` cut to at most `max` bytes, at a character boundary.
fn clip(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut at = max;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push('…');
    }
    s
}

#[derive(Debug, Default, Deserialize)]
pub struct SolveStatus {
    #[serde(default)]
    pub vertexes: Vec<Vertex>,
    #[serde(default)]
    pub logs: Vec<Log>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    #[serde(default)]
    pub statuses: Vec<VertexStatus>,
}

/// A step's progress item: `exporting layers`, `pushing sha256:…` with the bytes done
/// (`current`) and, where BuildKit knows it, the whole (`total`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VertexStatus {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub vertex: String,
    #[serde(default)]
    pub current: u64,
    #[serde(default)]
    pub total: u64,
    #[serde(default)]
    pub completed: Option<String>,
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
        if self.buf.len() > MAX_OBJECT {
            // An object that never ends: what came is text, and kept clipped.
            let text = std::mem::take(&mut self.buf);
            return Some(Event::Text(text.trim_end().to_string()));
        }
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
    /// When BuildKit first said it started and last said it completed (nanoseconds
    /// since the epoch, by the clock of the node that ran it).
    pub started_at: Option<i128>,
    pub completed_at: Option<i128>,
    /// A partial line of log output.
    partial: String,
    /// Its progress items by id: (bytes done, total or 0, completed), the latest last.
    pub statuses: Vec<(String, u64, u64, bool)>,
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
    /// How long buildx ran, from its start to the end of its output (set by the runner).
    pub wall: Option<std::time::Duration>,
    next_order: usize,
}

/// What [`State::exporting`] finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exporting {
    pub step: String,
    pub now: Option<String>,
    pub done: u64,
    pub total: u64,
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
            Event::Text(t) => {
                self.text
                    .extend(t.lines().map(|l| clip(l.to_string(), MAX_TEXT_LINE)));
                if self.text.len() > MAX_TEXT_LINES {
                    self.text.drain(..self.text.len() - MAX_TEXT_LINES);
                }
            }
            Event::Status(s) => {
                for v in s.vertexes {
                    if self.steps.len() >= MAX_STEPS && !self.steps.contains_key(&v.digest) {
                        continue;
                    }
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
                    let started = v.started.as_deref().and_then(super::timing::parse_time);
                    if started.is_some() && step.started_at.is_none() {
                        step.started_at = started;
                    }
                    if let Some(done) = v.completed.as_deref().and_then(super::timing::parse_time) {
                        step.completed_at = Some(step.completed_at.map_or(done, |c| c.max(done)));
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
                    if self.steps.len() >= MAX_STEPS && !self.steps.contains_key(&l.vertex) {
                        continue;
                    }
                    let step = self.steps.entry(l.vertex).or_default();
                    step.partial.push_str(&text);
                    if step.partial.len() > MAX_PARTIAL && !step.partial.contains('\n') {
                        // A line without end: kept clipped, as a line of its own.
                        let long = std::mem::take(&mut step.partial);
                        step.partial = clip(long, MAX_TEXT_LINE);
                        step.partial.push('\n');
                    }
                    while let Some(i) = step.partial.find('\n') {
                        let line: String = step.partial.drain(..=i).collect();
                        step.log.push_back(clip(
                            line.trim_end_matches(['\n', '\r']).to_string(),
                            MAX_TEXT_LINE,
                        ));
                        if step.log.len() > LOG_TAIL {
                            step.log.pop_front();
                        }
                    }
                }
                for st in s.statuses {
                    self.status(st);
                }
                let room = MAX_WARNINGS.saturating_sub(self.warnings.len());
                self.warnings.extend(
                    s.warnings
                        .into_iter()
                        .filter_map(|w| w.short)
                        .take(room)
                        .map(|w| clip(w, MAX_TEXT_LINE)),
                );
            }
        }
        changes
    }

    /// Keeps a progress item on its step (only of a step already seen; bounded).
    fn status(&mut self, st: VertexStatus) {
        let Some(step) = self.steps.get_mut(&st.vertex) else {
            return;
        };
        let done = st.completed.is_some();
        match step.statuses.iter().position(|s| s.0 == st.id) {
            Some(i) => {
                let mut item = step.statuses.remove(i);
                (item.1, item.2, item.3) = (st.current, st.total, done);
                step.statuses.push(item);
            }
            None if step.statuses.len() < MAX_STATUSES => {
                let id = clip(st.id, MAX_TEXT_LINE);
                step.statuses.push((id, st.current, st.total, done));
            }
            None => {}
        }
    }

    /// The export (or push) step running now, if one is: its name, what it does now
    /// (its latest progress item still running), and the bytes its items report
    /// (done, total of those that have one).
    pub fn exporting(&self) -> Option<Exporting> {
        let step = self
            .steps
            .values()
            .filter(|s| s.started && !s.completed)
            .filter(|s| s.name.starts_with("exporting") || s.name.starts_with("pushing"))
            .max_by_key(|s| s.order)?;
        let now = step
            .statuses
            .iter()
            .rev()
            .find(|s| !s.3)
            .map(|s| s.0.clone());
        Some(Exporting {
            step: step.name.clone(),
            now,
            done: step.statuses.iter().map(|s| s.1).sum(),
            // A total only when every item has one.
            total: if step.statuses.iter().all(|s| s.2 > 0) {
                step.statuses.iter().map(|s| s.2).sum()
            } else {
                0
            },
        })
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
    /// that follow it on other platforms, and over a cache source not found or a cache
    /// not written (which never fail a build by themselves).
    pub fn failed(&self) -> Option<&Step> {
        let mut failed: Vec<&Step> = self.steps.values().filter(|s| s.error.is_some()).collect();
        failed.sort_by_key(|s| {
            let e = s.error.as_deref().unwrap_or_default();
            (
                super::steps::is_cache_step(&s.name),
                e.contains("context canceled"),
                s.order,
            )
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

    /// What buildx (or a smoke command) prints without end stays within bounds: text
    /// lines, an object that never closes, a log line without a newline.
    #[test]
    fn endless_output_is_kept_bounded() {
        let mut p = Parser::default();
        let mut s = State::default();
        for i in 0..10_000 {
            if let Some(ev) = p.line(&format!("line {i} {}", "x".repeat(10_000))) {
                s.apply(ev);
            }
        }
        assert_eq!(s.text.len(), MAX_TEXT_LINES);
        assert!(s.text.iter().all(|l| l.len() <= MAX_TEXT_LINE + 3));
        assert!(
            s.text[0].starts_with("line 9800 "),
            "the last lines are kept"
        );
        let mut events = 0;
        p.line("{");
        for _ in 0..3_000 {
            if p.line(&"\"y\": 1,".repeat(1_000)).is_some() {
                events += 1;
            }
        }
        assert!(events > 0 && p.buf.len() <= MAX_OBJECT, "{}", p.buf.len());
        let chunk = base64::engine::general_purpose::STANDARD.encode("z".repeat(100_000));
        for _ in 0..100 {
            let status = format!(
                r#"{{"vertexes":[{{"digest":"sha256:a","name":"[1/1] RUN yes"}}],"logs":[{{"vertex":"sha256:a","data":"{chunk}"}}]}}"#
            );
            s.apply(p.line(&status).expect("one line, one status"));
        }
        let step = &s.steps["sha256:a"];
        assert!(
            step.partial.len() <= MAX_PARTIAL + 200_000,
            "{}",
            step.partial.len()
        );
        assert!(step.log.len() <= LOG_TAIL);
        assert!(step.log.iter().all(|l| l.len() <= MAX_TEXT_LINE + 3));
    }

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
    fn the_running_export_and_its_progress_items() {
        let mut p = Parser::default();
        let mut s = State::default();
        fn feed(p: &mut Parser, s: &mut State, line: &str) {
            let ev = p.line(line).expect("one line, one status");
            s.apply(ev);
        }
        feed(
            &mut p,
            &mut s,
            r#"{"vertexes":[{"digest":"e","name":"exporting to image","started":"t"}]}"#,
        );
        feed(
            &mut p,
            &mut s,
            r#"{"statuses":[{"id":"exporting layers","vertex":"e","current":0}]}"#,
        );
        let now = s.exporting().unwrap();
        assert_eq!(now.step, "exporting to image");
        assert_eq!(now.now.as_deref(), Some("exporting layers"));
        assert_eq!((now.done, now.total), (0, 0));
        feed(
            &mut p,
            &mut s,
            r#"{"statuses":[{"id":"exporting layers","vertex":"e","completed":"t"},{"id":"pushing sha256:a","vertex":"e","current":30,"total":100},{"id":"pushing sha256:b","vertex":"e","current":5,"total":10}]}"#,
        );
        feed(
            &mut p,
            &mut s,
            r#"{"statuses":[{"id":"pushing sha256:a","vertex":"e","current":60,"total":100}]}"#,
        );
        let now = s.exporting().unwrap();
        // The latest item still running; no total while one item has none.
        assert_eq!(now.now.as_deref(), Some("pushing sha256:a"));
        assert_eq!((now.done, now.total), (65, 0));
        // A status of a step never seen is dropped; a finished export is none.
        feed(
            &mut p,
            &mut s,
            r#"{"statuses":[{"id":"x","vertex":"unknown","current":1}]}"#,
        );
        feed(
            &mut p,
            &mut s,
            r#"{"vertexes":[{"digest":"e","name":"exporting to image","started":"t","completed":"t"}]}"#,
        );
        assert_eq!(s.exporting(), None);
        assert!(!s.steps.contains_key("unknown"));
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
