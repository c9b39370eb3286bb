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

    /// Keeps a progress item on its step: only of a step already seen whose items are
    /// read (an export or push, see [`State::exporting`]), at most [`MAX_STATUSES`] of
    /// each, ids clipped (and matched clipped, so an over-long id is one item).
    fn status(&mut self, st: VertexStatus) {
        let Some(step) = self.steps.get_mut(&st.vertex) else {
            return;
        };
        if !is_export(&step.name) {
            return;
        }
        let done = st.completed.is_some();
        let id = clip(st.id, MAX_TEXT_LINE);
        match step.statuses.iter().position(|s| s.0 == id) {
            Some(i) => {
                let mut item = step.statuses.remove(i);
                (item.1, item.2, item.3) = (st.current, st.total, done);
                step.statuses.push(item);
            }
            None if step.statuses.len() < MAX_STATUSES => {
                step.statuses.push((id, st.current, st.total, done));
            }
            None => {}
        }
    }

    /// The export (or push) step running now, if one is: its name, what it does now
    /// (its latest progress item still running), and the bytes its items report
    /// (done, total of those that have one; BuildKit's numbers, summed saturating).
    pub fn exporting(&self) -> Option<Exporting> {
        let step = self
            .steps
            .values()
            .filter(|s| s.started && !s.completed)
            .filter(|s| is_export(&s.name))
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
            done: crate::heartbeat::total(step.statuses.iter().map(|s| s.1)),
            // A total only when every item has one.
            total: if step.statuses.iter().all(|s| s.2 > 0) {
                crate::heartbeat::total(step.statuses.iter().map(|s| s.2))
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

/// Whether a step's progress items are read: an export's or a push's (the image, written
/// or pushed, or its cache).
pub fn is_export(name: &str) -> bool {
    // A bake of several images names each step with its target, the export too:
    // `[api] exporting to oci image format`.
    let name = match step_target(name) {
        Some(_) => name.split_once("] ").map_or(name, |(_, rest)| rest),
        None => name,
    };
    name.starts_with("exporting") || name.starts_with("pushing")
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
mod tests;
