//! The one writer of stdout and stderr. A run makes one [`Printer`] from `-q` and
//! `--color` and hands it to whatever prints: commands (their report, text or JSON),
//! the progress display ([`crate::buildx::Ui`] draws through it), the registry's
//! request log (`-v`), the signal handler and the error at the end. Text from outside
//! never reaches the terminal raw: every line is escaped here ([`crate::escape`]);
//! mpbuild's own colour codes are added after escaping. Nothing about output lives in
//! process-wide flags: what a printer was made with travels with it.
//!
//! The macros [`out!`](crate::out), [`outln!`](crate::outln), [`err!`](crate::err) and
//! [`errln!`](crate::errln) format and print through a printer:
//! `outln!(printer, "pushed {name}")`.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::ColorArg;
use crate::escape;

/// Where and how a run prints. Cheap to clone (the clones share what was printed).
#[derive(Clone)]
pub struct Printer {
    inner: Arc<Inner>,
}

struct Inner {
    /// `-q`: errors only.
    quiet: bool,
    color: ColorArg,
    /// Whether this run printed its JSON document (a failure then prints no second one).
    json_printed: AtomicBool,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("quiet", &self.inner.quiet)
            .field("color", &self.inner.color)
            .finish()
    }
}

impl Default for Printer {
    fn default() -> Self {
        Printer::new(false, ColorArg::Auto)
    }
}

impl Printer {
    pub fn new(quiet: bool, color: ColorArg) -> Printer {
        Printer {
            inner: Arc::new(Inner {
                quiet,
                color,
                json_printed: AtomicBool::new(false),
            }),
        }
    }

    /// `-q`: errors only.
    pub fn quiet(&self) -> bool {
        self.inner.quiet
    }

    /// `--color`.
    pub fn color(&self) -> ColorArg {
        self.inner.color
    }

    /// Text on stdout, control characters escaped.
    pub fn out(&self, text: &str) {
        print!("{}", escape::text(text));
    }

    /// A line on stdout, control characters escaped.
    pub fn outln(&self, text: &str) {
        println!("{}", escape::text(text));
    }

    /// Text on stderr, control characters escaped.
    pub fn err(&self, text: &str) {
        eprint!("{}", escape::text(text));
    }

    /// A line on stderr, control characters escaped.
    pub fn errln(&self, text: &str) {
        eprintln!("{}", escape::text(text));
    }

    /// A line printed above progress bars (`println` keeps them whole), escaped.
    pub fn above_bars(&self, bars: &indicatif::MultiProgress, text: &str) {
        let _ = bars.println(escape::text(text).as_ref());
    }

    /// A one-line field for a progress bar's message: every control character escaped,
    /// newlines included.
    pub fn bar_message(&self, text: &str) -> String {
        escape::line(text).into_owned()
    }

    /// A document mpbuild generates from its own definitions (a completion script, a
    /// man page) on stdout, byte for byte.
    pub fn document(&self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        out.write_all(bytes)?;
        out.flush()
    }

    /// A command's JSON document on stdout (DEL, C1 and bidi overrides escaped too).
    pub fn json(&self, doc: &str) {
        self.inner.json_printed.store(true, Ordering::SeqCst);
        println!("{}", escape::json(doc));
    }

    /// A JSON value, pretty-printed, as the command's document: its `schema_version`,
    /// `command`, `result` and `exit_code` first, in that order (every document's
    /// head), then the rest.
    pub fn value(&self, doc: &serde_json::Value) {
        self.json(&head_first(doc));
    }

    /// Whether this run printed its JSON document.
    pub fn json_printed(&self) -> bool {
        self.inner.json_printed.load(Ordering::SeqCst)
    }

    /// Whether mpbuild's own messages on stderr are coloured: `--color always`, or
    /// `auto` on a terminal without `NO_COLOR`.
    pub fn color_stderr(&self) -> bool {
        match self.inner.color {
            ColorArg::Always => true,
            ColorArg::Never => false,
            ColorArg::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        }
    }

    /// A message's label (`error`, `warning`, `note`) in bold red or yellow when colour
    /// is on.
    pub fn label(&self, word: &str) -> String {
        if !self.color_stderr() {
            return format!("{word}:");
        }
        let code = if word == "error" { "1;31" } else { "1;33" };
        format!("\x1b[{code}m{word}\x1b[0m:")
    }

    /// `LABEL: MESSAGE` on stderr, the message escaped, the label coloured after.
    pub fn labelled(&self, word: &str, message: &str) {
        eprintln!("{} {}", self.label(word), escape::text(message));
    }

    /// The error that ended a run: its message, then any cause the message does not
    /// already say.
    pub fn error(&self, err: &anyhow::Error) {
        self.labelled("error", &error_text(err));
    }
}

/// An error as mpbuild shows it: the message, and each cause it does not already say
/// on a `caused by:` line of its own.
pub fn error_text(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(&format!("\n  caused by: {c}"));
        }
    }
    text
}

/// Formats and prints text on stdout through a printer: `out!(printer, "{x}")`.
#[macro_export]
macro_rules! out {
    ($p:expr, $($t:tt)*) => {
        $p.out(&format!($($t)*))
    };
}

/// Formats and prints a line on stdout through a printer.
#[macro_export]
macro_rules! outln {
    ($p:expr, $($t:tt)*) => {
        $p.outln(&format!($($t)*))
    };
}

/// Formats and prints text on stderr through a printer.
#[macro_export]
macro_rules! err {
    ($p:expr, $($t:tt)*) => {
        $p.err(&format!($($t)*))
    };
}

/// Formats and prints a line on stderr through a printer.
#[macro_export]
macro_rules! errln {
    ($p:expr, $($t:tt)*) => {
        $p.errln(&format!($($t)*))
    };
}

/// The keys every JSON document starts with, in this order.
pub const HEAD: [&str; 4] = ["schema_version", "command", "result", "exit_code"];

/// `doc` pretty-printed with [`HEAD`]'s keys first (serde_json's maps are sorted).
pub fn head_first(doc: &serde_json::Value) -> String {
    struct Ordered<'a>(Vec<(&'a String, &'a serde_json::Value)>);
    impl serde::Serialize for Ordered<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(self.0.iter().copied())
        }
    }
    let Some(map) = doc.as_object() else {
        return serde_json::to_string_pretty(doc).unwrap_or_default();
    };
    let rank = |k: &str| HEAD.iter().position(|h| *h == k).unwrap_or(HEAD.len());
    let mut entries: Vec<_> = map.iter().collect();
    // Stable: the other keys keep their (sorted) order.
    entries.sort_by_key(|(k, _)| rank(k));
    serde_json::to_string_pretty(&Ordered(entries)).unwrap_or_default()
}
