//! What a person sees while mpbuild works: one progress bar per image on a terminal, or
//! plain lines when stderr is not a terminal (CI, make), `NO_COLOR` is set or plain
//! output was asked for. Every log line goes through the bars so nothing garbles.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::progress::{Change, State, step_target};
use crate::heartbeat::{Beat, Bytes, Progress, Ticker};
use crate::printer::Printer;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Plain,
    /// Nothing but errors (JSON output on stdout, tests).
    Quiet,
}

impl Mode {
    /// Bars on a terminal without `NO_COLOR`; plain lines otherwise.
    pub fn detect(plain_requested: bool) -> Mode {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if plain_requested || no_color || !std::io::stderr().is_terminal() {
            Mode::Plain
        } else {
            Mode::Bars
        }
    }
}

/// The display for one mpbuild run, drawn through the run's printer.
pub struct Ui {
    mode: Mode,
    printer: Printer,
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    started: Instant,
}

impl Ui {
    pub fn new(printer: &Printer, mode: Mode) -> Ui {
        let multi = MultiProgress::new();
        if mode != Mode::Bars {
            multi.set_draw_target(ProgressDrawTarget::hidden());
        }
        Ui {
            mode,
            printer: printer.clone(),
            multi,
            bars: Mutex::new(HashMap::new()),
            started: Instant::now(),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The printer it draws through.
    pub fn printer(&self) -> &Printer {
        &self.printer
    }

    /// Prints a line without garbling the bars, control characters escaped.
    pub fn line(&self, text: &str) {
        match self.mode {
            Mode::Bars => self.printer.above_bars(&self.multi, text),
            Mode::Plain => self.printer.errln(text),
            Mode::Quiet => {}
        }
    }

    /// Starts a bar (or a plain line) for each image of a build.
    pub fn start_images(&self, images: &[String]) {
        let width = images.iter().map(String::len).max().unwrap_or(0);
        let style = ProgressStyle::with_template(&format!(
            "{{prefix:>{width}.bold}} [{{elapsed_precise}}] {{bar:20}} {{pos}}/{{len}} steps  {{wide_msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let mut bars = self.bars.lock().unwrap();
        for name in images {
            if self.mode == Mode::Bars {
                let bar = self.multi.add(ProgressBar::new(0));
                bar.set_style(style.clone());
                bar.set_prefix(name.clone());
                bar.enable_steady_tick(Duration::from_millis(200));
                bars.insert(name.clone(), bar);
            } else {
                self.line(&format!("[{name}] building"));
            }
        }
    }

    /// Shows a step change of the build (or bake) of `images`.
    pub fn step(&self, images: &[String], change: &Change, state: &State) {
        let name = match change {
            Change::Started(n) | Change::Done { name: n, .. } | Change::Failed { name: n, .. } => n,
        };
        // Which image: the bake target in the step's name, or the only image.
        let image = match step_target(name) {
            Some(t) if images.iter().any(|i| i == t) => Some(t.to_string()),
            _ if images.len() == 1 => Some(images[0].clone()),
            _ => None,
        };
        match self.mode {
            Mode::Bars => {
                let bars = self.bars.lock().unwrap();
                for (img, bar) in bars.iter() {
                    if image.as_deref().is_some_and(|i| i != img) {
                        continue;
                    }
                    let target = (images.len() > 1).then_some(img.as_str());
                    let (done, total) = state.counts(target);
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                    let step = state.current(target).unwrap_or("");
                    bar.set_message(self.printer.bar_message(step));
                }
            }
            Mode::Plain => {
                let tag = image.as_deref().unwrap_or("build");
                match change {
                    Change::Started(n) if !n.starts_with("[internal]") => {
                        self.line(&format!("[{tag}] {n}"));
                    }
                    Change::Done { name, cached: true } if !name.starts_with("[internal]") => {
                        self.line(&format!("[{tag}] cached {name}"));
                    }
                    // A cache not found or not written fails nothing (`ignore-error=true`).
                    Change::Failed { name, error } if super::steps::is_cache_step(name) => {
                        let word = if name.contains("exporting") {
                            "warning"
                        } else {
                            "cache"
                        };
                        self.line(&format!("[{tag}] {word}: {name}: {error}"));
                    }
                    Change::Failed { name, error } if !error.contains("context canceled") => {
                        self.line(&format!("[{tag}] FAILED {name}: {error}"));
                    }
                    _ => {}
                }
            }
            Mode::Quiet => {}
        }
    }

    /// Ends the bars of a build.
    pub fn finish_images(&self, images: &[String], ok: bool, state: &State) {
        let bars = self.bars.lock().unwrap();
        for name in images {
            let target = (images.len() > 1).then_some(name.as_str());
            let (done, total) = state.counts(target);
            let word = match (ok, crate::cancel::requested()) {
                (true, _) => "built",
                (false, true) => "interrupted",
                (false, false) => "failed",
            };
            if let Some(bar) = bars.get(name) {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                bar.finish_with_message(word.to_string());
            } else {
                self.line(&format!(
                    "[{name}] {word}: {done}/{total} steps in {:.1}s",
                    self.started.elapsed().as_secs_f64()
                ));
            }
        }
    }
}

/// The bytes of one long phase (an upload, a copy): a bar by bytes on a terminal, a
/// heartbeat line every few seconds in plain mode (`crate::heartbeat`), nothing when
/// quiet. Its counter is shared by the phase's parallel blob copies.
pub struct ByteBar {
    bar: ProgressBar,
    bytes: Arc<Bytes>,
    ticker: Mutex<Option<Ticker>>,
}

impl Ui {
    /// Starts the bytes of a phase, named `what` ("[web] upload", "mirror SRC → DEST"),
    /// in plain mode also a line saying it starts.
    pub fn byte_bar(&self, what: &str) -> ByteBar {
        let bytes = Arc::new(Bytes::default());
        let bar = ProgressBar::new(0);
        let mut ticker = None;
        match self.mode {
            Mode::Bars => {
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar.set_message(self.printer.bar_message(what));
                return ByteBar {
                    bar: self.multi.add(bar),
                    bytes,
                    ticker: Mutex::new(None),
                };
            }
            Mode::Plain => {
                self.line(what);
                if let Some(every) = crate::heartbeat::interval() {
                    let (printer, counter) = (self.printer.clone(), Arc::clone(&bytes));
                    let mut beat = Beat::new(what);
                    ticker = Some(Ticker::start(every, move || {
                        let (done, total) = counter.get();
                        if let Some(line) = beat.tick(done, total) {
                            printer.errln(&line);
                        }
                    }));
                }
            }
            Mode::Quiet => {}
        }
        bar.set_draw_target(ProgressDrawTarget::hidden());
        ByteBar {
            bar,
            bytes,
            ticker: Mutex::new(ticker),
        }
    }
}

impl ByteBar {
    fn show(&self) {
        let (done, total) = self.bytes.get();
        self.bar.set_length(total);
        self.bar.set_position(done);
    }

    /// Bytes moved and to move, so far.
    pub fn bytes(&self) -> (u64, u64) {
        self.bytes.get()
    }

    /// The phase is over: the bar goes, the heartbeat stops.
    pub fn finish(&self) {
        drop(self.ticker.lock().unwrap().take());
        self.bar.finish_and_clear();
    }
}

impl Drop for ByteBar {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Progress for ByteBar {
    fn add_total(&self, bytes: u64) {
        self.bytes.add_total(bytes);
        self.show();
    }
    fn skip(&self, bytes: u64) {
        self.bytes.skip(bytes);
        self.show();
    }
    fn advance(&self, bytes: u64) {
        self.bytes.advance(bytes);
        self.show();
    }
    fn rewind(&self, bytes: u64) {
        self.bytes.rewind(bytes);
        self.show();
    }
}
