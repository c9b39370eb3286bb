//! What every summary's table cells share. Their text comes from outside (deployment
//! file names, image references, tags, registry answers), so nothing in it may render
//! as markdown or HTML: plain text has every character that starts a link, an image,
//! emphasis, a code span or an entity escaped ([`cell`]); code is fenced by more
//! backticks than any run inside it ([`code`]). Both keep a table row one row: no line
//! break, every `|` escaped.

/// `sha256:` and the first 12 hex digits, in code.
pub fn short_digest(d: &str) -> String {
    let (algo, hex) = d.split_once(':').unwrap_or(("", d));
    code(&format!("{algo}:{}", hex.get(..12).unwrap_or(hex)))
}

/// Text safe in a table cell (and on a line of its own): no `|`, no line break, no
/// HTML, no entity, no markdown — `[x](y)`, `![x](y)`, `**x**`, `` `x` `` show as
/// typed.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '~' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    // At the start of a line, `#`, `-`, `+`, `=` and `1.` begin a heading or a list.
    if out.starts_with(['#', '-', '+', '=']) {
        out.insert(0, '\\');
    }
    let digits = out.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && out[digits..].starts_with('.') {
        out.insert(digits, '\\');
    }
    out
}

/// `s` as inline code, shown exactly (but line breaks, which become spaces): fenced by
/// one backtick more than the longest run of backticks in it, padded with a space
/// when it begins or ends with one (CommonMark strips one from each side). `—` when
/// empty (an empty code span does not exist).
pub fn code(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    if s.is_empty() {
        return "—".into();
    }
    let longest = s
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or_default();
    let fence = "`".repeat(longest + 1);
    let pad = s.starts_with('`') || s.ends_with('`') || (s.starts_with(' ') && s.ends_with(' '));
    let space = if pad { " " } else { "" };
    format!("{fence}{space}{s}{space}{fence}")
}
