//! A Dockerfile's `ARG` expansion, as the base-image reader (`dockerfile.rs`: `FROM`,
//! `COPY --from=`, `RUN --mount=…,from=`) and the stage reader (`stages.rs`: `FROM` and
//! `--platform=`) both need it: `$VAR`, `${VAR}`, `${VAR:-default}` and
//! `${VAR-default}` from the build args and global `ARG` defaults. A variable that is
//! unset or empty takes the default (both forms alike) or makes the value unresolved.
//! A `$` not followed by a name is kept as written; so is the escape character (BuildKit
//! would read `\$` as a literal `$`: such a value is left as the readers found it).

use std::collections::BTreeMap;

/// `s` with its variables expanded from `vars`; `Err(name)` for the first variable
/// with no value and no default.
pub fn expand(s: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let (name, default) = if chars.peek() == Some(&'{') {
            chars.next();
            let inner: String = chars.by_ref().take_while(|c| *c != '}').collect();
            match inner.split_once(":-").or_else(|| inner.split_once('-')) {
                Some((n, d)) => (n.to_string(), Some(d.to_string())),
                None => (inner, None),
            }
        } else {
            let mut name = String::new();
            while let Some(&c) = chars.peek() {
                if !(c.is_ascii_alphanumeric() || c == '_') {
                    break;
                }
                name.push(c);
                chars.next();
            }
            if name.is_empty() {
                out.push('$');
                continue;
            }
            (name, None)
        };
        match (vars.get(&name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(v),
            (None, Some(d)) => out.push_str(&d),
            (None, None) => return Err(name),
        }
    }
    Ok(out)
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
        expand(s, &vars()).unwrap()
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
    }

    #[test]
    fn unset_or_empty_without_a_default_names_the_variable() {
        assert_eq!(expand("$NOPE", &vars()), Err("NOPE".into()));
        assert_eq!(expand("r/${NOPE}:1", &vars()), Err("NOPE".into()));
        assert_eq!(expand("${EMPTY}", &vars()), Err("EMPTY".into()));
        // The first one without a value is the one named.
        assert_eq!(expand("$GO$A$B", &vars()), Err("A".into()));
        // What stages.rs's stage platforms see: a `BUILDPLATFORM` it was not given.
        assert_eq!(
            expand("$BUILDPLATFORM", &BTreeMap::new()),
            Err("BUILDPLATFORM".into())
        );
    }

    #[test]
    fn a_dollar_without_a_name_and_the_escape_character_stay_as_written() {
        assert_eq!(ok("a$"), "a$");
        assert_eq!(ok("a$-b"), "a$-b");
        assert_eq!(ok("${BASE}$"), "alpine:3.20$");
        // Not BuildKit's `\$` escape: the backslash stays and the variable expands, as
        // both readers did before they shared this function.
        assert_eq!(ok("\\$GO"), "\\1.23");
        assert_eq!(ok("`$GO"), "`1.23");
    }
}
