//! `${VAR}` in tags and build arguments, from the environment. An unset variable is an
//! error naming it; `${VAR:-default}` gives a default; `$$` is a literal `$`.

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
    fn unset_and_empty_are_errors() {
        assert_eq!(expand("${NOPE}", &env), Err(Unset::Var("NOPE".into())));
        assert_eq!(expand("${EMPTY}", &env), Err(Unset::Var("EMPTY".into())));
        assert!(matches!(expand("${A", &env), Err(Unset::Malformed(_))));
        assert!(matches!(expand("${A-B}", &env), Err(Unset::Malformed(_))));
    }
}
