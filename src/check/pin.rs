//! `--pin`: once every reference passed, each is written back into its file as
//! `REPO:TAG@sha256:…`, the digest just verified, so the deploy runs exactly what was
//! checked. Only the reference's own bytes change (the parser says where they are;
//! quotes, comments, order and formatting stay); a reference that already names a
//! digest is left as it is, so a second `--pin` changes nothing. A value compose
//! interpolates, or one written with escapes, is not rewritten (the file does not hold
//! the reference as such) and is listed with why. Each file is replaced atomically
//! (a new file beside it, renamed over it), and only if it still holds what was read.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use super::{Report, Source, Target};

/// One reference pinned: where, what it was, what it is now.
#[derive(Debug, Clone, Serialize)]
pub struct Pinned {
    pub at: String,
    pub from: String,
    pub to: String,
}

/// A reference that passed but was not rewritten, and why.
#[derive(Debug, Clone, Serialize)]
pub struct NotPinned {
    pub at: String,
    pub reference: String,
    pub why: String,
}

/// What `--pin` did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub pinned: Vec<Pinned>,
    pub not_pinned: Vec<NotPinned>,
    /// Files rewritten.
    pub files: Vec<String>,
}

#[derive(Debug)]
pub enum PinError {
    Write { file: String, message: String },
    Changed { file: String },
}

impl std::fmt::Display for PinError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::exit::Coded;
        let message = match self {
            PinError::Write { file, message } => format!("cannot pin {file}: {message}"),
            PinError::Changed { file } => {
                format!("{file} changed while mpbuild checked it; nothing was written to it")
            }
        };
        crate::exit::write_with_help(f, &message, self.help().as_deref())
    }
}

impl std::error::Error for PinError {}

impl crate::exit::Coded for PinError {
    fn code(&self) -> crate::exit::Code {
        crate::exit::Code::Usage
    }

    fn help(&self) -> Option<String> {
        Some(match self {
            PinError::Write { .. } => {
                "nothing was written to it; fix that and run `mpbuild check --pin` again".into()
            }
            PinError::Changed { .. } => "run `mpbuild check --pin` again".into(),
        })
    }
}

/// One edit: the bytes `start..end` of a file become `text`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// Rewrites every passed reference of `report` in `sources` with its digest. Call it
/// only when the report passed.
pub fn pin(report: &Report, sources: &[Source]) -> Result<Outcome, PinError> {
    let mut outcome = Outcome::default();
    let mut edits: BTreeMap<usize, Vec<Edit>> = BTreeMap::new();
    for c in report.uses.iter().filter(|c| c.passed()) {
        let u = &c.use_;
        let at = format!("{}:{}", u.file, u.line);
        let (Target::Reference(r), Some(digest)) = (&u.target, c.digest()) else {
            continue;
        };
        if r.digest.is_some() {
            continue; // already pinned: the digest is what was checked
        }
        let not = |why: &str| NotPinned {
            at: at.clone(),
            reference: u.written.clone(),
            why: why.to_string(),
        };
        if u.interpolated {
            outcome.not_pinned.push(not(
                "compose fills in a variable of it; pin the variable's value instead",
            ));
            continue;
        }
        let source = &sources[u.source];
        let Some((start, len)) = u.span else {
            outcome
                .not_pinned
                .push(not("mpbuild cannot tell where its bytes are"));
            continue;
        };
        let Some((inner_start, inner_end)) = bare(&source.text, start, len, &u.written) else {
            outcome.not_pinned.push(not(
                "it is written with escapes or across lines; pin it by hand",
            ));
            continue;
        };
        let tag = if r.tag.is_some() { "" } else { ":latest" };
        let to = format!("{}{tag}@{digest}", u.written);
        let list = edits.entry(u.source).or_default();
        if !list.iter().any(|e| e.start == inner_start) {
            list.push(Edit {
                start: inner_start,
                end: inner_end,
                text: to.clone(),
            });
        }
        outcome.pinned.push(Pinned {
            at,
            from: u.written.clone(),
            to,
        });
    }
    for (index, mut list) in edits {
        let source = &sources[index];
        if source.path.is_none() {
            continue; // standard input: refused before the check ran
        }
        list.sort_by_key(|e| std::cmp::Reverse(e.start));
        let mut text = source.text.clone();
        for e in &list {
            text.replace_range(e.start..e.end, &e.text);
        }
        // The edit leaves a file that reads as before, but for the digests.
        if let Err(e) = crate::deploy::node::parse(&text) {
            return Err(PinError::Write {
                file: source.shown.clone(),
                message: format!(
                    "pinned, it would not parse ({}:{}: {})",
                    e.line, e.column, e.message
                ),
            });
        }
        write(source, &text)?;
        outcome.files.push(source.shown.clone());
    }
    Ok(outcome)
}

/// Where the reference's own characters are within the value written at
/// `start..start+len`: the value itself, or its inside when quoted; None when what is
/// written there is not exactly `value` (escapes, a folded scalar).
fn bare(text: &str, start: usize, len: usize, value: &str) -> Option<(usize, usize)> {
    let raw = text.get(start..start + len)?;
    let quoted = (raw.len() >= 2)
        && ((raw.starts_with('"') && raw.ends_with('"'))
            || (raw.starts_with('\'') && raw.ends_with('\'')));
    let (s, e) = if quoted {
        (start + 1, start + len - 1)
    } else {
        (start, start + len)
    };
    (text.get(s..e)? == value).then_some((s, e))
}

/// Replaces the file with `text`: a new file beside it (same permissions), renamed over
/// it, only if the file still holds what was read. A symlink is followed to the file it
/// names, which is the one replaced.
fn write(source: &Source, text: &str) -> Result<(), PinError> {
    let path = source.path.as_deref().expect("checked by the caller");
    let err = |message: String| PinError::Write {
        file: source.shown.clone(),
        message,
    };
    let real = std::fs::canonicalize(path).map_err(|e| err(e.to_string()))?;
    let now = crate::fsread::read_text(&real, crate::fsread::MAX_TEXT_BYTES)
        .map_err(|e| err(e.to_string()))?;
    if now != source.text {
        return Err(PinError::Changed {
            file: source.shown.clone(),
        });
    }
    let dir = real.parent().unwrap_or(Path::new("."));
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.mpbuild-pin.{}", std::process::id()));
    let perms = std::fs::metadata(&real)
        .map_err(|e| err(e.to_string()))?
        .permissions();
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::set_permissions(&tmp, perms)?;
        std::fs::rename(&tmp, &real)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::bare;

    #[test]
    fn the_bytes_of_a_value_plain_or_quoted() {
        let text = "a: app:1\nb: \"app:2\"\nc: 'app:3'\nd: \"app\\x3a4\"\n";
        let at = |needle: &str| text.find(needle).unwrap();
        assert_eq!(bare(text, at("app:1"), 5, "app:1"), Some((3, 8)));
        let s = at("\"app:2\"");
        assert_eq!(bare(text, s, 7, "app:2"), Some((s + 1, s + 6)));
        let s = at("'app:3'");
        assert_eq!(bare(text, s, 7, "app:3"), Some((s + 1, s + 6)));
        // Written with an escape: not the value's own characters.
        let s = at("\"app\\x3a4\"");
        assert_eq!(bare(text, s, 10, "app:4"), None);
    }
}
