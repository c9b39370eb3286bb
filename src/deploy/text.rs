//! Finding lines in YAML/JSON text without a span-keeping parser: the start of each
//! document, and the first line at or after a given one that holds a key.

/// The first line (1-based) of each YAML document (`---` separators); one entry for a
/// single-document file.
pub fn doc_starts(text: &str) -> Vec<u32> {
    let mut starts = Vec::new();
    let mut pending = true;
    for (i, line) in text.lines().enumerate() {
        let n = i as u32 + 1;
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            pending = true;
            continue;
        }
        let content = !t.trim().is_empty() && !t.trim_start().starts_with('#');
        if pending && content {
            starts.push(n);
            pending = false;
        }
    }
    if starts.is_empty() {
        starts.push(1);
    }
    starts
}

/// The first line at or after `from` where `key` appears as a key: `key:` at the start
/// of a line (YAML, list items too), or `"key":` anywhere (JSON, flow mappings).
pub fn line_of(text: &str, from: u32, key: &str) -> Option<u32> {
    let quoted = format!("\"{key}\"");
    for (i, line) in text.lines().enumerate() {
        let n = i as u32 + 1;
        if n < from {
            continue;
        }
        let t = line.trim_start().trim_start_matches("- ");
        if t.starts_with(&format!("{key}:")) || t.starts_with(&format!("'{key}':")) {
            return Some(n);
        }
        if let Some(at) = line.find(&quoted)
            && line[at + quoted.len()..].trim_start().starts_with(':')
        {
            return Some(n);
        }
        for sep in ["{", ", ", "{ "] {
            if line.contains(&format!("{sep}{key}:")) {
                return Some(n);
            }
        }
    }
    None
}

/// The first line at or after `from` that contains `needle` anywhere.
pub fn line_containing(text: &str, from: u32, needle: &str) -> Option<u32> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i as u32 + 1, l))
        .find(|(n, l)| *n >= from && l.contains(needle))
        .map(|(n, _)| n)
}
