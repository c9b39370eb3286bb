//! A Dockerfile's `ARG` expansion, as the base-image reader (`dockerfile.rs`: `FROM`,
//! `COPY --from=`, `RUN --mount=…,from=`) and the stage reader (`stages.rs`: `FROM` and
//! `--platform=`) both need it, read as BuildKit's shell lexer reads a word
//! (moby/buildkit frontend/dockerfile/shell/lex.go: `processStopOn`, `processDollar`,
//! `processName`, `processSingleQuote`, `processDoubleQuote`; dockerfile2llb runs it on
//! `FROM`'s base name and `--platform` with the global `ARG`s, which `buildMetaArgs`
//! builds: [`meta_arg`]):
//! - `$VAR`, `${VAR}`: the value, an empty one included; an unset variable (`ARG X` with
//!   no default and no build arg) makes the word unresolved (BuildKit reads it as
//!   nothing; mpbuild does not guess that the build means that).
//! - `${VAR:-word}`/`${VAR:+word}`: the word when the variable is unset or empty / the
//!   word when it is set and not empty, else nothing. Without the colon (`${VAR-word}`,
//!   `${VAR+word}`) only unset counts: `ARG X=` is set. The word is expanded. Other
//!   modifiers (`?`, `#`, `%`, `/`) make the word unresolved.
//! - A name is letters, digits and `_`; a digit starts a name of digits only (`$1abc` is
//!   `$1` then `abc`) and `@ * # ? - $ ! 0` are names of one character (`$-`), all
//!   unset unless an `ARG` sets them. A name with a non-ASCII character is unresolved
//!   (Go's and Rust's Unicode classes differ).
//! - The escape character (`\`, or `` ` `` under `# escape=`` ` ``) takes the next
//!   character literally: `\$VAR` is `$VAR`; one at the end is dropped.
//! - `'…'` is literal, `"…"` expands `$` and unescapes only `"`, `$` and the escape
//!   character; the quotes go. A quote not closed (an error in BuildKit) is unresolved.
//! - A `$` not followed by a name is kept as written.

use std::collections::BTreeMap;
use std::iter::Peekable;
use std::str::Chars;

/// A variable's value as far as mpbuild can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Set (`ARG X=…`, `ARG X=`, a build arg), possibly to "".
    Set(String),
    /// Set, to a default that uses something with no value; why, as [`expand`] says it.
    Unknown(String),
}

/// The variables a word is expanded with. A name not in the map is unset.
pub type Vars = BTreeMap<String, Value>;

/// Reads one global `ARG` instruction's words (`X`, `X=default`) into `vars`, as
/// dockerfile2llb's `buildMetaArgs` does: a build arg for a declared name wins; else the
/// default, expanded with the `ARG`s before it; `ARG X` with neither leaves `X` as it was
/// (unset, or an earlier `ARG X=…`).
pub fn meta_arg(
    words: &[&str],
    vars: &mut Vars,
    build_args: &BTreeMap<String, String>,
    escape: char,
) {
    for w in words {
        let (name, default) = match w.split_once('=') {
            Some((n, d)) => (n, Some(d)),
            None => (*w, None),
        };
        let value = match (build_args.get(name), default) {
            (Some(v), _) => Value::Set(v.clone()),
            (None, Some(d)) => match expand(d, vars, escape) {
                Ok(v) => Value::Set(v),
                Err(why) => Value::Unknown(why),
            },
            (None, None) => continue,
        };
        vars.insert(name.to_string(), value);
    }
}

/// `s` with its variables expanded from `vars` and its escapes and quotes read, where
/// `escape` is the Dockerfile's escape character; `Err(why)` for the first thing in the
/// result mpbuild cannot tell (`uses $X, which has no value`), to follow the word.
pub fn expand(s: &str, vars: &Vars, escape: char) -> Result<String, String> {
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
    vars: &'a Vars,
    escape: char,
    /// Why the result cannot be told, for the first thing it uses without a value.
    missing: Option<String>,
}

impl Word<'_> {
    fn miss(&mut self, why: String) -> String {
        self.missing.get_or_insert(why);
        String::new()
    }

    /// The text up to `stop` (consumed) or the end; with whether `stop` was found.
    fn until(&mut self, stop: Option<char>) -> (String, bool) {
        let mut out = String::new();
        while let Some(c) = self.chars.next() {
            match c {
                _ if Some(c) == stop => return (out, true),
                '$' => out.push_str(&self.dollar()),
                '\'' => out.push_str(&self.single_quoted()),
                '"' => out.push_str(&self.double_quoted()),
                _ if c == self.escape => out.extend(self.chars.next()),
                _ => out.push(c),
            }
        }
        (out, false)
    }

    fn single_quoted(&mut self) -> String {
        let mut out = String::new();
        for c in self.chars.by_ref() {
            if c == '\'' {
                return out;
            }
            out.push(c);
        }
        self.miss("has a quote that is not closed".into())
    }

    fn double_quoted(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.chars.next() {
            match c {
                '"' => return out,
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
        self.miss("has a quote that is not closed".into())
    }

    /// A name as lex.go's `processName` reads one: digits only after a digit, one of
    /// `@*#?-$!0`, or letters, digits and `_`. Non-ASCII characters are read into it
    /// (Rust's classes hold Go's), for [`Word::lookup`] to refuse.
    fn name(&mut self) -> String {
        let mut name = String::new();
        let first = self.chars.peek().copied();
        if first.is_some_and(|c| "@*#?-$!".contains(c)) {
            name.extend(self.chars.next());
            return name;
        }
        let digits = first.is_some_and(char::is_numeric);
        while let Some(&c) = self.chars.peek() {
            let fits = if digits {
                c.is_numeric()
            } else {
                c.is_alphanumeric() || c == '_'
            };
            if !fits {
                break;
            }
            name.push(c);
            self.chars.next();
        }
        name
    }

    /// `name`'s value: `Ok(None)` when unset, `Err(why)` when mpbuild cannot tell.
    fn lookup(&self, name: &str) -> Result<Option<&str>, String> {
        if !name.is_ascii() {
            return Err(format!("uses ${name}, a name mpbuild does not read"));
        }
        match self.vars.get(name) {
            None => Ok(None),
            Some(Value::Set(v)) => Ok(Some(v)),
            Some(Value::Unknown(why)) => Err(format!("uses ${name}, whose default {why}")),
        }
    }

    /// `name`'s value, or nothing with the reason noted.
    fn value(&mut self, name: &str) -> String {
        match self.lookup(name) {
            Ok(Some(v)) => v.to_string(),
            Ok(None) => self.miss(format!("uses ${name}, which has no value")),
            Err(why) => self.miss(why),
        }
    }

    /// What a `$` (already read) stands for.
    fn dollar(&mut self) -> String {
        if self.chars.peek() != Some(&'{') {
            let name = self.name();
            if name.is_empty() {
                return "$".into();
            }
            return self.value(&name);
        }
        self.chars.next();
        let name = self.name();
        let mut modifier = self.chars.next();
        let colon = modifier == Some(':');
        match modifier {
            Some('}') if !name.is_empty() => return self.value(&name),
            Some(':') => modifier = self.chars.next(),
            _ => {}
        }
        let before = self.missing.clone();
        let (word, closed) = match modifier {
            Some('-' | '+') => self.until(Some('}')),
            _ => (String::new(), false),
        };
        if !closed || name.is_empty() {
            // An unknown modifier, `${}` or no `}`: unresolved.
            return self.miss(format!("uses ${{{name}…}}, a form mpbuild does not read"));
        }
        // lex.go: `!set || (nullIsUnset && value == "")`, nullIsUnset after `:` only.
        let set = match self.lookup(&name) {
            Ok(v) => v.is_some_and(|v| !(colon && v.is_empty())),
            // Set to something unknown: whether it is empty is unknown too.
            Err(_) if !colon => true,
            Err(why) => {
                self.missing = before;
                return self.miss(why);
            }
        };
        if set != (modifier == Some('+')) {
            // The word is not in the result: what it lacks does not count.
            self.missing = before;
        }
        match (modifier, set) {
            (Some('-'), true) => self.value(&name),
            (Some('+'), false) => String::new(),
            _ => word,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        [("BASE", "alpine:3.20"), ("GO", "1.23"), ("EMPTY", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::Set(v.to_string())))
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
        // Defaults: `:-` and `-` alike for an unset variable; a set one wins.
        assert_eq!(ok("${NOPE:-debian:12}"), "debian:12");
        assert_eq!(ok("${NOPE-debian:12}"), "debian:12");
        assert_eq!(ok("${BASE:-x}"), "alpine:3.20");
        assert_eq!(ok("${NOPE:-}"), "");
        // The default is a word of its own: expanded, escapes read.
        assert_eq!(ok("${NOPE:-golang:$GO}"), "golang:1.23");
        assert_eq!(ok("${NOPE:-a\\}b}"), "a}b");
    }

    /// lex.go `processDollar`: `!set || (nullIsUnset && value == "")`, where
    /// `nullIsUnset` is true only after `:`. `ARG EMPTY=` is set, to "".
    #[test]
    fn a_set_empty_variable_counts_as_unset_only_after_a_colon() {
        assert_eq!(ok("${EMPTY:-x}"), "x");
        assert_eq!(ok("${EMPTY-x}"), "");
        assert_eq!(ok("r/app${EMPTY:+-x}"), "r/app");
        assert_eq!(ok("alpine:3.20${EMPTY+-fips}"), "alpine:3.20-fips");
        // A plain reference to it is "", as in BuildKit: `alpine:3.20$EMPTY` is a
        // suffix left out on purpose.
        assert_eq!(ok("alpine:3.20$EMPTY"), "alpine:3.20");
        assert_eq!(ok("a${EMPTY}b"), "ab");
    }

    #[test]
    fn alternatives_give_the_word_only_for_a_variable_with_a_value() {
        assert_eq!(ok("r/app${GO:+-go$GO}"), "r/app-go1.23");
        assert_eq!(ok("r/app${GO+-go}"), "r/app-go");
        assert_eq!(ok("r/app${NOPE:+-x}"), "r/app");
        assert_eq!(ok("r/app${NOPE+-x}"), "r/app");
        // A word left out does not need its variables; one kept does.
        assert_eq!(ok("${BASE:-$NOPE}"), "alpine:3.20");
        assert_eq!(ok("a${NOPE:+$NOPE2}"), "a");
        assert_eq!(err("${GO:+$NOPE}"), "uses $NOPE, which has no value");
        assert_eq!(err("${NOPE:-$NOPE2}"), "uses $NOPE2, which has no value");
    }

    #[test]
    fn unset_without_a_default_names_the_variable() {
        assert_eq!(err("$NOPE"), "uses $NOPE, which has no value");
        assert_eq!(err("r/${NOPE}:1"), "uses $NOPE, which has no value");
        // The first one without a value is the one named.
        assert_eq!(err("$GO$A$B"), "uses $A, which has no value");
        // What stages.rs's stage platforms see: a `BUILDPLATFORM` it was not given.
        assert_eq!(
            expand("$BUILDPLATFORM", &Vars::new(), '\\'),
            Err("uses $BUILDPLATFORM, which has no value".into())
        );
        // Forms this reader does not take are unresolved, never guessed.
        let form = "a form mpbuild does not read";
        assert_eq!(err("${BASE%:*}"), format!("uses ${{BASE…}}, {form}"));
        assert_eq!(err("${BASE:?}"), format!("uses ${{BASE…}}, {form}"));
        assert_eq!(err("${}"), format!("uses ${{…}}, {form}"));
        assert_eq!(err("${NOPE:-x"), format!("uses ${{NOPE…}}, {form}"));
        // A quote not closed is an error in BuildKit.
        assert_eq!(err("\"alpine"), "has a quote that is not closed");
        assert_eq!(err("'alpine"), "has a quote that is not closed");
    }

    /// lex.go `processName` and `isSpecialParam`: a digit starts a name of digits, and
    /// `@ * # ? - $ ! 0` are names of one character; BuildKit reads them (unset: "").
    #[test]
    fn special_and_positional_parameters_are_names_as_buildkit_reads_them() {
        assert_eq!(err("a$-b"), "uses $-, which has no value");
        assert_eq!(err("a$$b"), "uses $$, which has no value");
        assert_eq!(err("a$@"), "uses $@, which has no value");
        assert_eq!(err("${#}"), "uses $#, which has no value");
        assert_eq!(err("$1abc"), "uses $1, which has no value");
        // `$1` then `GO`: never the variable `1GO`.
        let mut v = vars();
        v.insert("1".into(), Value::Set("x".into()));
        assert_eq!(expand("$1GO", &v, '\\'), Ok("xGO".into()));
        assert_eq!(expand("${--d}", &v, '\\'), Ok("d".into()));
        // Non-ASCII letters are name characters in Go too: unresolved, never `$GO`+`é`.
        assert_eq!(err("$GOé"), "uses $GOé, a name mpbuild does not read");
    }

    #[test]
    fn a_dollar_without_a_name_stays_as_written() {
        assert_eq!(ok("a$"), "a$");
        assert_eq!(ok("a$/b"), "a$/b");
        assert_eq!(ok("${BASE}$"), "alpine:3.20$");
    }

    /// dockerfile2llb `buildMetaArgs`: each default expanded with the `ARG`s before it;
    /// a build arg for a declared name wins; `ARG X` alone leaves `X` unset.
    #[test]
    fn meta_args_expand_their_defaults_in_order() {
        let mut v = Vars::new();
        let none = BTreeMap::new();
        meta_arg(
            &["TAG=3.20", "BASE=alpine:${TAG}", "LATE=$AFTER", "AFTER=x"],
            &mut v,
            &none,
            '\\',
        );
        meta_arg(&["EMPTY=", "UNSET", "Q=\"a:$TAG\""], &mut v, &none, '\\');
        assert_eq!(v["BASE"], Value::Set("alpine:3.20".into()));
        assert_eq!(v["EMPTY"], Value::Set(String::new()));
        assert_eq!(v["Q"], Value::Set("a:3.20".into()));
        assert!(!v.contains_key("UNSET"));
        assert_eq!(
            v["LATE"],
            Value::Unknown("uses $AFTER, which has no value".into())
        );
        assert_eq!(
            expand("${LATE}", &v, '\\'),
            Err("uses $LATE, whose default uses $AFTER, which has no value".into())
        );
        // Set to something unknown: `+` without a colon still knows it is set.
        assert_eq!(expand("a${LATE+b}", &v, '\\'), Ok("ab".into()));
        assert!(expand("a${LATE:+b}", &v, '\\').is_err());
        // Build args win, and a later default sees them.
        let args = [("TAG".to_string(), "3.21".to_string())].into();
        let mut v = Vars::new();
        meta_arg(&["TAG=3.20", "BASE=alpine:${TAG}"], &mut v, &args, '\\');
        assert_eq!(v["BASE"], Value::Set("alpine:3.21".into()));
        // `ARG X` again keeps the earlier default.
        meta_arg(&["TAG"], &mut v, &BTreeMap::new(), '\\');
        assert_eq!(v["TAG"], Value::Set("3.21".into()));
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
