//! What every summary's table cells share.

/// `sha256:` and the first 12 hex digits, in code.
pub fn short_digest(d: &str) -> String {
    let (algo, hex) = d.split_once(':').unwrap_or(("", d));
    format!("`{algo}:{}`", hex.get(..12).unwrap_or(hex))
}

/// Text safe in a table cell: no `|`, no line break, no HTML.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
