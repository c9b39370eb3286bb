//! What a smoke run's values must be — a timeout, an `expect:` pattern, environment
//! names — for the checker of `smoke:` and for `mpbuild smoke`'s flags alike.

use std::time::Duration;

/// The longest timeout accepted (a smoke run is a quick check, not a test suite).
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// `30`, `"30s"`, `"2m"` → a duration (1 s to 1 h).
pub fn parse_timeout(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.strip_suffix('s') {
        Some(n) => (n, 1),
        None => match t.strip_suffix('m') {
            Some(n) => (n, 60),
            None => (t, 1),
        },
    };
    let n: u64 = num.trim().parse().map_err(|_| {
        format!("timeout `{text}` is not a duration: write seconds (`30`, `\"30s\"`) or minutes (`\"2m\"`)")
    })?;
    let d = Duration::from_secs(n.saturating_mul(unit));
    if d.is_zero() || d > MAX_TIMEOUT {
        return Err(format!(
            "timeout `{text}` is out of range: between 1 second and 1 hour"
        ));
    }
    Ok(d)
}

/// `expect:` compiled: multi-line, so `^` and `$` also match at line ends (`\A`, `\z`
/// anchor the whole output).
pub fn smoke_regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .multi_line(true)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            // regex's own message spans lines (the pattern with a caret); keep its last
            // line, the reason.
            let reason = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            format!("`expect:` is not a valid regular expression: {reason}")
        })
}

/// A variable name the command's environment can take (it is written into the
/// generated Dockerfile's `ENV`, so nothing else may pass).
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
