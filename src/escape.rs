//! Strings from outside — registry answers, index fields, records, project and
//! deployment files, child processes' output — shown on a terminal with their control
//! characters escaped, so that none can move the cursor, erase or rewrite a line, set
//! the window title or ring the bell (`\x1b]0;title\x07`, `\x1b[2K\r…`).
//!
//! Applied by the printer ([`crate::printer`]) to everything mpbuild writes as text ([`text`]:
//! newlines and tabs kept, for mpbuild's own multi-line reports), and inside one-line
//! fields where a newline would forge a line of its own ([`Line`], [`line`]). JSON
//! output escapes C0 controls by itself; [`json`] escapes DEL, C1 and the bidi
//! overrides too. mpbuild's own colour codes are added after escaping.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

/// Whether `c` is shown escaped: C0 controls, DEL, C1 controls, and the bidirectional
/// overrides and isolates (which reorder what follows them on screen).
fn hidden(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn push_escaped(out: &mut String, c: char) {
    let _ = match c {
        '\r' => out.write_str("\\r"),
        '\n' => out.write_str("\\n"),
        '\t' => out.write_str("\\t"),
        c if (c as u32) < 0x80 => write!(out, "\\x{:02x}", c as u32),
        c => write!(out, "\\u{{{:x}}}", c as u32),
    };
}

fn escape(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(|c| hidden(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if hidden(c) && !keep(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text for a terminal: every control character escaped but newline and tab.
pub fn text(s: &str) -> Cow<'_, str> {
    escape(s, |c| c == '\n' || c == '\t')
}

/// One line for a terminal: every control character escaped, newlines included.
pub fn line(s: &str) -> Cow<'_, str> {
    escape(s, |_| false)
}

/// A JSON document for a terminal: serde_json escapes C0 controls, not DEL, C1 or the
/// bidi overrides; those become `\uXXXX` escapes (the same string to a JSON reader).
pub fn json(doc: &str) -> Cow<'_, str> {
    // Raw newlines, tabs and CRs in a serialised document are its layout: inside
    // strings serde_json has escaped them already.
    let hidden = |c: char| hidden(c) && !matches!(c, '\n' | '\t' | '\r');
    if !doc.chars().any(hidden) {
        return Cow::Borrowed(doc);
    }
    let mut out = String::with_capacity(doc.len() + 16);
    for c in doc.chars() {
        if hidden(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Shows a string from outside as one line, control characters escaped:
/// `format!("{}", Line(&registry_message))`.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a>(pub &'a str);

impl fmt::Display for Line<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&line(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_sent() {
        let title = "\x1b]0;title\x07";
        assert_eq!(text(title), "\\x1b]0;title\\x07");
        let forged = "v8\x1b[2K\rverified: everything is fine";
        assert_eq!(text(forged), "v8\\x1b[2K\\rverified: everything is fine");
        // C1 (a one-byte CSI), DEL, bidi overrides.
        assert_eq!(
            text("a\u{9b}2Jb\x7f\u{202e}c"),
            "a\\u{9b}2Jb\\x7f\\u{202e}c"
        );
        // mpbuild's own layout survives `text`, not `line`.
        assert_eq!(text("a\n\tb"), "a\n\tb");
        assert_eq!(line("a\nverified"), "a\\nverified");
        assert_eq!(Line("x\x1by").to_string(), "x\\x1by");
        // Nothing to escape: borrowed as it is, UTF-8 untouched.
        assert!(matches!(text("linux/arm64 → ok"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_stays_json_without_raw_controls() {
        let doc =
            serde_json::to_string_pretty(&serde_json::json!({"m": "a\u{9b}b\x7f\x1b\n"})).unwrap();
        let shown = json(&doc);
        assert!(!shown.chars().any(|c| hidden(c) && c != '\n'), "{shown}");
        assert!(shown.contains('\n'), "the layout stays: {shown}");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back["m"], "a\u{9b}b\x7f\x1b\n");
    }
}
