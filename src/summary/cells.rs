//! What every summary's table cells share. Their text comes from outside (deployment
//! file names, image references, tags, registry answers), so nothing in it may render
//! as markdown or HTML: plain text has every character that starts a link, an image,
//! emphasis, a code span or an entity escaped ([`cell`]); code is fenced by more
//! backticks than any run inside it ([`code`]). Both keep a table row one row: no line
//! break, every `|` escaped.
//!
//! GitHub also links bare addresses in text (GFM's "Autolinks (extension)": `www.` and
//! a domain, `http://`/`https://`/`ftp://` and a domain, `name@domain.tld`, after
//! `mailto:`/`xmpp:` too), and github.com runs that a second time on the rendered text,
//! after escapes and entities are read (micromark-extension-gfm-autolink-literal's
//! notes), so a backslash or `&#58;` does not stop it. A plain cell puts an invisible
//! U+2060 WORD JOINER in each one's trigger (`https:⁠//`, `www⁠.`, `a@⁠b.example`): the
//! text reads the same, and no address in it is a link. Code spans are never linked.

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
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
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
        if autolink_trigger(&chars, i) {
            out.push(WORD_JOINER);
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

/// Invisible, and no break: what splits an address's trigger in two.
const WORD_JOINER: char = '\u{2060}';

/// Whether `chars[i]` ends what makes GitHub link an address: the `:` of `://`, the
/// third `w` of `www.` (any case), or an `@` before a domain with a dot (an email
/// address; `repo@sha256:…` is none, and stays as typed).
fn autolink_trigger(chars: &[char], i: usize) -> bool {
    let at = |k: usize| chars.get(k).copied();
    match chars[i] {
        ':' => at(i + 1) == Some('/') && at(i + 2) == Some('/'),
        'w' | 'W' => {
            i >= 2
                && chars[i - 2..=i]
                    .iter()
                    .all(|c| c.eq_ignore_ascii_case(&'w'))
                && at(i + 1) == Some('.')
        }
        '@' => {
            let domain = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_'));
            let mut dot = false;
            let mut len = 0;
            for c in domain {
                dot |= *c == '.';
                len += 1;
            }
            len > 0 && dot
        }
        _ => false,
    }
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
