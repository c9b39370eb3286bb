//! `${VAR}` in tags and build arguments, from the environment. An unset variable is an
//! error naming it; `${VAR:-default}` gives a default; `$$` is a literal `$`.
//!
//! A preview (`mpbuild plan`) shows an unset variable as a placeholder instead: its
//! lookup answers [`PREVIEW_UNSET`] for it, and the checks that apply a grammar (tags,
//! repositories, references) look through placeholders.

/// What a preview's lookup answers for an unset variable. The environment cannot hold
/// a NUL byte, so no real value is ever taken for it.
pub const PREVIEW_UNSET: &str = "\u{0}unset";

/// How an unset variable shows in a preview: `<GIT_SHA unset>`.
pub fn placeholder(name: &str) -> String {
    format!("<{name} unset>")
}

/// Where `text` holds placeholders: (start, end, name) of each.
fn placeholder_spans(text: &str) -> Vec<(usize, usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find('<') {
        let start = from + i;
        let rest = &text[start + 1..];
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if name_len > 0 && rest[name_len..].starts_with(" unset>") {
            let end = start + 1 + name_len + " unset>".len();
            out.push((start, end, &rest[..name_len]));
            from = end;
        } else {
            from = start + 1;
        }
    }
    out
}

/// The variables shown as placeholders in `text`.
pub fn placeholders(text: &str) -> Vec<String> {
    placeholder_spans(text)
        .into_iter()
        .map(|(_, _, n)| n.to_string())
        .collect()
}

/// `text` with each placeholder replaced by `x`, for the grammar checks.
pub fn without_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, end, _) in placeholder_spans(text) {
        out.push_str(&text[last..start]);
        out.push('x');
        last = end;
    }
    out.push_str(&text[last..]);
    out
}

/// Expands `${NAME}` and `${NAME:-default}` with `lookup`. Returns the name of the first
/// unset (or empty) variable as the error.
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, Unset> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Err(Unset::Malformed(input.to_string()));
            };
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Unset::Malformed(input.to_string()));
            }
            match (lookup(name).filter(|v| !v.is_empty()), default) {
                (Some(v), Some(d)) if v == PREVIEW_UNSET => out.push_str(d),
                (Some(v), None) if v == PREVIEW_UNSET => out.push_str(&placeholder(name)),
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(Unset::Var(name.to_string())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Unset {
    Var(String),
    Malformed(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "GIT_SHA" => Some("abc123".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands() {
        assert_eq!(expand("${GIT_SHA}-lambda", &env).unwrap(), "abc123-lambda");
        assert_eq!(expand("latest", &env).unwrap(), "latest");
        assert_eq!(expand("${NOPE:-dev}", &env).unwrap(), "dev");
        assert_eq!(expand("a$$b", &env).unwrap(), "a$b");
        assert_eq!(expand("$x", &env).unwrap(), "$x");
    }

    #[test]
    fn a_preview_shows_unset_variables_as_placeholders() {
        let preview = |name: &str| env(name).or_else(|| Some(PREVIEW_UNSET.to_string()));
        assert_eq!(
            expand("${GIT_SHA}-${BUILD}", &preview).unwrap(),
            "abc123-<BUILD unset>"
        );
        assert_eq!(expand("${BUILD:-dev}", &preview).unwrap(), "dev");
        let shown = expand("v${A}.${B}", &preview).unwrap();
        assert_eq!(placeholders(&shown), vec!["A", "B"]);
        assert_eq!(without_placeholders(&shown), "vx.x");
        assert_eq!(without_placeholders("<x> a<b unset"), "<x> a<b unset");
    }

    #[test]
    fn unset_and_empty_are_errors() {
        assert_eq!(expand("${NOPE}", &env), Err(Unset::Var("NOPE".into())));
        assert_eq!(expand("${EMPTY}", &env), Err(Unset::Var("EMPTY".into())));
        assert!(matches!(expand("${A", &env), Err(Unset::Malformed(_))));
        assert!(matches!(expand("${A-B}", &env), Err(Unset::Malformed(_))));
    }
}
