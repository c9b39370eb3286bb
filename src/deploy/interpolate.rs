//! docker compose's `${VAR}` interpolation, which compose files and the image values
//! `image.rs` reads in them both use.

/// Compose's interpolation: `${VAR}`, `$VAR`, `${VAR:-default}` (unset or empty),
/// `${VAR-default}` (unset), `$$` a literal `$`. A variable without a value and
/// without a default (or with `:?`/`?`) is the error, by name.
pub fn interpolate(s: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let (expr, r) = if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| body.to_string())?;
            (&body[..end], &body[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            (&after[..end], &after[end..])
        };
        let name_end = expr
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(expr.len());
        let (name, op) = expr.split_at(name_end);
        let value = env(name);
        let got = match op {
            "" => value.filter(|v| !v.is_empty()),
            _ if op.starts_with(":-") => Some(
                value
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| op[2..].to_string()),
            ),
            _ if op.starts_with('-') => Some(value.unwrap_or_else(|| op[1..].to_string())),
            _ => value.filter(|v| !v.is_empty()),
        };
        out.push_str(&got.ok_or_else(|| name.to_string())?);
        rest = r;
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::interpolate;

    #[test]
    fn compose_interpolation() {
        let env = |n: &str| match n {
            "TAG" => Some("v1".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let ok = |s: &str| interpolate(s, &env).unwrap();
        assert_eq!(ok("app:${TAG}"), "app:v1");
        assert_eq!(ok("app:$TAG"), "app:v1");
        assert_eq!(ok("app:${NOPE:-latest}"), "app:latest");
        assert_eq!(ok("app:${EMPTY:-x}"), "app:x");
        assert_eq!(ok("app:${EMPTY-x}"), "app:");
        assert_eq!(ok("a$$b"), "a$b");
        assert_eq!(interpolate("app:${NOPE}", &env), Err("NOPE".into()));
        assert_eq!(interpolate("app:${NOPE:?set it}", &env), Err("NOPE".into()));
    }
}
