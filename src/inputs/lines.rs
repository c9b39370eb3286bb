//! A Dockerfile's logical lines, as BuildKit's parser reads them: parser directives
//! (`# escape=`, `# syntax=`, `# check=`) and comments dropped, continuation lines joined
//! with the escape character, heredoc bodies skipped. Read by the base-image reader
//! (dockerfile.rs) and the stage reader (stages.rs), so both see the same instructions.

/// A logical line: its first physical line and its text (continuations joined).
pub struct Logical {
    pub line: usize,
    pub text: String,
    /// The file's escape character (`\\`, or `` ` `` under `# escape=`` ` ``), which
    /// the variable expander reads too.
    pub escape: char,
}

/// Logical lines: parser directives and comments dropped, continuation lines joined
/// (with the `# escape=` character), heredoc bodies (`RUN <<EOF … EOF`) skipped.
pub fn logical_lines(text: &str) -> Vec<Logical> {
    let mut escape = '\\';
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    let mut directives = true;
    let mut heredocs: Vec<(String, bool)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if let Some((end, strip_tabs)) = heredocs.first() {
            let body = if *strip_tabs {
                raw.trim_start_matches('\t')
            } else {
                raw
            };
            if body == end {
                heredocs.remove(0);
            }
            continue;
        }
        let trimmed = raw.trim();
        if directives {
            match trimmed.strip_prefix('#').and_then(directive) {
                Some(("escape", v)) => {
                    if v == "`" {
                        escape = '`';
                    }
                    continue;
                }
                Some(_) => continue,
                None => directives = false,
            }
        }
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_some()) {
            continue;
        }
        if trimmed.is_empty() {
            continue;
        }
        let (body, continued) = match trimmed.strip_suffix(escape) {
            Some(b) => (b, true),
            None => (trimmed, false),
        };
        let entry = current.get_or_insert_with(|| Logical {
            line: i + 1,
            text: String::new(),
            escape,
        });
        if !entry.text.is_empty() {
            entry.text.push(' ');
        }
        entry.text.push_str(body.trim());
        if !continued {
            let done = current.take().expect("just set");
            heredocs = heredoc_ends(&done.text);
            out.push(done);
        }
    }
    out.extend(current);
    out
}

/// A parser directive (`escape`, `syntax`, `check`; the key lowercased) and its value, as
/// BuildKit's parser/directives.go `ParseLine` reads the text after `#`: the regexp
/// `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, so `# escape = `` ` ``` counts.
fn directive(text: &str) -> Option<(&'static str, &str)> {
    let (key, value) = text.split_once('=')?;
    let key = key.trim();
    let value = value.trim();
    let word = key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric());
    if !word || value.is_empty() {
        return None;
    }
    ["escape", "syntax", "check"]
        .into_iter()
        .find(|k| key.eq_ignore_ascii_case(k))
        .map(|k| (k, value))
}

/// The terminators of the heredocs an instruction opens (`<<EOF`, `<<-EOF`, `<<"EOF"`),
/// for `RUN`, `COPY` and `ADD`; each with whether its body's leading tabs are stripped.
fn heredoc_ends(text: &str) -> Vec<(String, bool)> {
    let keyword = text.split_whitespace().next().unwrap_or_default();
    if !["RUN", "COPY", "ADD"].contains(&keyword.to_ascii_uppercase().as_str()) {
        return Vec::new();
    }
    let mut ends = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<<") {
        let mut after = &rest[at + 2..];
        let strip = after.starts_with('-');
        if strip {
            after = &after[1..];
        }
        let word: String = after
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() {
            ends.push((word, strip));
        }
        rest = &rest[at + 2..];
    }
    ends
}

#[cfg(test)]
mod tests {
    use super::*;

    /// parser/directives.go: whitespace around `=` and any case of the key are allowed;
    /// an unknown key or a blank value ends the directives.
    #[test]
    fn directives_as_buildkit_matches_them() {
        assert_eq!(directive(" escape = `"), Some(("escape", "`")));
        assert_eq!(directive("ESCAPE=`  "), Some(("escape", "`")));
        assert_eq!(
            directive(" syntax =docker/dockerfile:1"),
            Some(("syntax", "docker/dockerfile:1"))
        );
        assert_eq!(directive(" escape ="), None);
        assert_eq!(directive(" other=x"), None);
        assert_eq!(directive(" a comment"), None);
        let lines = logical_lines("# escape = `\nFROM a `\n  AS b\n");
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].text.as_str(), lines[0].escape),
            ("FROM a AS b", '`')
        );
        // Not a directive: the escape stays `\`.
        let lines = logical_lines("# hello\n# escape=`\nFROM a\n");
        assert_eq!(lines[0].escape, '\\');
    }
}
