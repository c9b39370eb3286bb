//! A Dockerfile's `ARG` expansion, as the base-image reader (`dockerfile.rs`: `FROM`,
//! `COPY --from=`, `RUN --mount=…,from=`) and the stage reader (`stages.rs`: `FROM` and
//! `--platform=`) both need it, read as BuildKit's shell lexer reads a word
//! (moby/buildkit frontend/dockerfile/shell/lex.go: `processStopOn`, `processDollar`,
//! `processSingleQuote`, `processDoubleQuote`; dockerfile2llb runs it on `FROM`'s base
//! name and `--platform` with the global `ARG`s):
//! - `$VAR`, `${VAR}`, `${VAR:-word}`/`${VAR-word}` (the word when the variable has no
//!   value) and `${VAR:+word}`/`${VAR+word}` (the word when it has one, else nothing),
//!   the word itself expanded. A variable that is unset or empty is one with no value
//!   (the readers keep `ARG X` and `ARG X=` alike); without a default it makes the value
//!   unresolved. Other modifiers (`?`, `#`, `%`, `/`) make it unresolved too.
//! - The escape character (`\`, or `` ` `` under `# escape=`` ` ``) takes the next
//!   character literally: `\$VAR` is `$VAR`; one at the end is dropped.
//! - `'…'` is literal, `"…"` expands `$` and unescapes only `"`, `$` and the escape
//!   character; the quotes go.
//! - A `$` not followed by a name is kept as written.

use std::collections::BTreeMap;
use std::iter::Peekable;
use std::str::Chars;

/// `s` with its variables expanded from `vars` and its escapes and quotes read, where
/// `escape` is the Dockerfile's escape character; `Err(name)` for the first variable
/// with no value and no default (or a form this reader does not know) in the result.
pub fn expand(s: &str, vars: &BTreeMap<String, String>, escape: char) -> Result<String, String> {
    let mut w = Word {
        chars: s.chars().peekable(),
        vars,
        escape,
        missing: None,
    };
    let (out, _) = w.until(None);
    w.missing.map_or(Ok(out), Err)
}

struct Word<'a> {
    chars: Peekable<Chars<'a>>,
    vars: &'a BTreeMap<String, String>,
    escape: char,
    /// The first variable without a value the result uses.
    missing: Option<String>,
}

impl Word<'_> {
    /// The text up to `stop` (consumed) or the end; with whether `stop` was found.
    fn until(&mut self, stop: Option<char>) -> (String, bool) {
        let mut out = String::new();
        while let Some(c) = self.chars.next() {
            match c {
                _ if Some(c) == stop => return (out, true),
                '$' => out.push_str(&self.dollar()),
                '\'' => out.extend(self.chars.by_ref().take_while(|c| *c != '\'')),
                '"' => out.push_str(&self.double_quoted()),
                _ if c == self.escape => out.extend(self.chars.next()),
                _ => out.push(c),
            }
        }
        (out, false)
    }

    fn double_quoted(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.chars.next() {
            match c {
                '"' => break,
                '$' => out.push_str(&self.dollar()),
                _ if c == self.escape => match self.chars.peek() {
                    Some(&n) if n == '"' || n == '$' || n == self.escape => {
                        out.push(n);
                        self.chars.next();
                    }
                    Some(_) => out.push(c),
                    None => {}
                },
                _ => out.push(c),
            }
        }
        out
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(&c) = self.chars.peek() {
            if !(c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            name.push(c);
            self.chars.next();
        }
        name
    }

    /// `name`'s value, or nothing with `name` noted as missing.
    fn value(&mut self, name: String) -> String {
        match self.vars.get(&name).filter(|v| !v.is_empty()) {
            Some(v) => v.clone(),
            None => {
                self.missing.get_or_insert(name);
                String::new()
            }
        }
    }

    /// What a `$` (already read) stands for.
    fn dollar(&mut self) -> String {
        if self.chars.peek() != Some(&'{') {
            let name = self.name();
            if name.is_empty() {
                return "$".into();
            }
            return self.value(name);
        }
        self.chars.next();
        let name = self.name();
        let modifier = match self.chars.next() {
            Some('}') if !name.is_empty() => return self.value(name),
            Some(':') => self.chars.next(),
            other => other,
        };
        let before = self.missing.clone();
        let (word, closed) = match modifier {
            Some('-' | '+') => self.until(Some('}')),
            _ => (String::new(), false),
        };
        if !closed || name.is_empty() {
            // An unknown modifier, `${}` or no `}`: unresolved.
            return self.value(format!("{{{name}…}}"));
        }
        let set = self.vars.get(&name).is_some_and(|v| !v.is_empty());
        let used = set == (modifier == Some('+'));
        if !used {
            // The word is not in the result: what it lacks does not count.
            self.missing = before;
        }
        match (modifier, set) {
            (Some('-'), true) => self.vars[&name].clone(),
            (_, false) if modifier == Some('+') => String::new(),
            _ => word,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        [("BASE", "alpine:3.20"), ("GO", "1.23"), ("EMPTY", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn ok(s: &str) -> String {
        expand(s, &vars(), '\\').unwrap()
    }

    fn err(s: &str) -> String {
        expand(s, &vars(), '\\').unwrap_err()
    }

    #[test]
    fn braces_bare_names_and_defaults() {
        assert_eq!(ok("${BASE}"), "alpine:3.20");
        assert_eq!(ok("$BASE"), "alpine:3.20");
        assert_eq!(ok("golang:${GO}-alpine"), "golang:1.23-alpine");
        // A bare name ends at the first character that is not a letter, digit or `_`.
        assert_eq!(ok("golang:$GO-alpine"), "golang:1.23-alpine");
        assert_eq!(ok("plain:tag"), "plain:tag");
        // Defaults: `:-` and `-` alike, for an unset or an empty variable; a set one wins.
        assert_eq!(ok("${NOPE:-debian:12}"), "debian:12");
        assert_eq!(ok("${NOPE-debian:12}"), "debian:12");
        assert_eq!(ok("${EMPTY:-x}"), "x");
        assert_eq!(ok("${EMPTY-x}"), "x");
        assert_eq!(ok("${BASE:-x}"), "alpine:3.20");
        assert_eq!(ok("${NOPE:-}"), "");
        // The default is a word of its own: expanded, escapes read.
        assert_eq!(ok("${NOPE:-golang:$GO}"), "golang:1.23");
        assert_eq!(ok("${NOPE:-a\\}b}"), "a}b");
    }

    #[test]
    fn alternatives_give_the_word_only_for_a_variable_with_a_value() {
        assert_eq!(ok("r/app${GO:+-go$GO}"), "r/app-go1.23");
        assert_eq!(ok("r/app${GO+-go}"), "r/app-go");
        assert_eq!(ok("r/app${NOPE:+-x}"), "r/app");
        assert_eq!(ok("r/app${EMPTY:+-x}"), "r/app");
        // A word left out does not need its variables; one kept does.
        assert_eq!(ok("${BASE:-$NOPE}"), "alpine:3.20");
        assert_eq!(ok("a${NOPE:+$NOPE2}"), "a");
        assert_eq!(err("${GO:+$NOPE}"), "NOPE");
        assert_eq!(err("${NOPE:-$NOPE2}"), "NOPE2");
    }

    #[test]
    fn unset_or_empty_without_a_default_names_the_variable() {
        assert_eq!(err("$NOPE"), "NOPE");
        assert_eq!(err("r/${NOPE}:1"), "NOPE");
        assert_eq!(err("${EMPTY}"), "EMPTY");
        // The first one without a value is the one named.
        assert_eq!(err("$GO$A$B"), "A");
        // What stages.rs's stage platforms see: a `BUILDPLATFORM` it was not given.
        assert_eq!(
            expand("$BUILDPLATFORM", &BTreeMap::new(), '\\'),
            Err("BUILDPLATFORM".into())
        );
        // Forms this reader does not take are unresolved, never guessed.
        assert_eq!(err("${BASE%:*}"), "{BASE…}");
        assert_eq!(err("${BASE:?}"), "{BASE…}");
        assert_eq!(err("${}"), "{…}");
        assert_eq!(err("${NOPE:-x"), "{NOPE…}");
    }

    #[test]
    fn a_dollar_without_a_name_stays_as_written() {
        assert_eq!(ok("a$"), "a$");
        assert_eq!(ok("a$-b"), "a$-b");
        assert_eq!(ok("${BASE}$"), "alpine:3.20$");
    }

    /// BuildKit's lexer (frontend/dockerfile/shell/lex.go, `processStopOn`): the escape
    /// token takes the next character as it is, so `\$VAR` is the text `$VAR`; one at
    /// the end of the word is dropped. Under `# escape=`` ` `` the backtick does that and
    /// a backslash is an ordinary character (Windows paths).
    #[test]
    fn the_escape_character_keeps_the_next_one_literal() {
        assert_eq!(ok("\\$GO"), "$GO");
        assert_eq!(ok("\\${GO}"), "${GO}");
        assert_eq!(ok("\\${NOPE}"), "${NOPE}");
        assert_eq!(ok("a\\b\\\\c\\"), "ab\\c");
        assert_eq!(ok("`$GO"), "`1.23");
        let tick = |s: &str| expand(s, &vars(), '`');
        assert_eq!(tick("`$GO"), Ok("$GO".into()));
        assert_eq!(tick("`${NOPE}"), Ok("${NOPE}".into()));
        assert_eq!(tick("c:\\$GO"), Ok("c:\\1.23".into()));
    }

    /// `processSingleQuote` and `processDoubleQuote`: the quotes go, `'…'` is literal,
    /// `"…"` expands and unescapes only `"`, `$` and the escape character.
    #[test]
    fn quotes_as_the_lexer_reads_them() {
        assert_eq!(ok("'$GO'"), "$GO");
        assert_eq!(ok("\"golang:$GO\""), "golang:1.23");
        assert_eq!(ok("\"\\$GO \\a\""), "$GO \\a");
        assert_eq!(ok("x'\\$GO'"), "x\\$GO");
    }
}
