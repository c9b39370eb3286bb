//! `{{…}}` parts in tags, labels and annotations: `{{sha}}`, `{{short_sha}}`,
//! `{{branch}}`, `{{tag}}`, `{{semver}}` (or `{{version}}`), `{{major}}`, `{{minor}}`,
//! `{{patch}}`, `{{pr}}`. A part the build has no value for (`{{semver}}` on a branch,
//! `{{branch}}` on a git tag) leaves the tag out, with the reason, as metadata-action
//! makes no `type=semver` tag on a branch; an unknown part is an error at its place.
//!
//! In a tag, values are made tag-safe (`feature/login` → `feature-login`); in a label
//! or annotation they are kept as they are.

use super::meta::{GitMeta, Semver, short};

/// Every part, as the errors list them.
pub const PARTS: [&str; 10] = [
    "sha",
    "short_sha",
    "branch",
    "tag",
    "semver",
    "version",
    "major",
    "minor",
    "patch",
    "pr",
];

/// Where the text goes: a tag (values made tag-safe) or a label or annotation value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Tag,
    Label,
}

/// A text with its parts expanded, or left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expanded {
    Text(String),
    /// The build has no value for a part: why.
    Skipped(String),
}

/// A text whose parts cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    /// `{{name}}` is no part; `at` and `len` in characters of the text.
    Unknown {
        name: String,
        at: usize,
        len: usize,
        near: Option<&'static str>,
    },
    /// `{{` without `}}`.
    Unclosed { at: usize },
    /// `{{sha}}` or `{{short_sha}}`, and no commit is known.
    NoCommit { part: String },
}

/// Whether `text` has any `{{…}}`.
pub fn has_parts(text: &str) -> bool {
    text.contains("{{")
}

/// `text` with its parts filled from `meta`.
pub fn expand(text: &str, meta: &GitMeta, use_: Use) -> Result<Expanded, TemplateError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed = 0usize;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let open_at = consumed + rest[..i].chars().count();
        let after = &rest[i + 2..];
        let Some(end) = after.find("}}") else {
            return Err(TemplateError::Unclosed { at: open_at });
        };
        let name = after[..end].trim();
        match value(name, meta, use_) {
            Ok(Ok(v)) => {
                // A later `${VAR}` expansion must leave a `$` of a value alone.
                out.push_str(&v.replace('$', "$$"));
            }
            // Every build has a commit: none known means the project is not where git
            // or the CI can say, an error rather than a tag left out.
            Ok(Err(why)) if why.is_empty() => {
                return Err(TemplateError::NoCommit {
                    part: name.to_string(),
                });
            }
            Ok(Err(why)) => return Ok(Expanded::Skipped(why)),
            Err(Unknown) => {
                let near = PARTS
                    .iter()
                    .map(|p| (crate::catalog::edit_distance(name, p), *p))
                    .filter(|(d, p)| *d <= 1.max(p.len() / 3))
                    .min_by_key(|(d, _)| *d)
                    .map(|(_, p)| p);
                return Err(TemplateError::Unknown {
                    name: name.to_string(),
                    at: open_at,
                    len: end + 4,
                    near,
                });
            }
        }
        let used = i + 2 + end + 2;
        consumed += rest[..used].chars().count();
        rest = &rest[used..];
    }
    out.push_str(rest);
    if use_ == Use::Tag && out.contains("$$") {
        // Only values were escaped; a tag-safe value holds no `$`.
        out = out.replace("$$", "$");
    }
    Ok(Expanded::Text(out))
}

/// Not a part.
struct Unknown;

/// A part's value, or why the build has none.
fn value(name: &str, meta: &GitMeta, use_: Use) -> Result<Result<String, String>, Unknown> {
    let safe = |s: &str| match use_ {
        Use::Tag => tag_safe(s),
        Use::Label => s.to_string(),
    };
    let semver = || -> Result<Semver, String> {
        match &meta.tag {
            None => Err(format!(
                "`{{{{{name}}}}}`: HEAD has no git tag (a branch or pull request build)"
            )),
            Some(t) => Semver::parse(t).ok_or_else(|| {
                format!("`{{{{{name}}}}}`: the git tag `{t}` is not a semantic version")
            }),
        }
    };
    let release = || -> Result<Semver, String> {
        let v = semver()?;
        match &v.pre {
            Some(_) => Err(format!(
                "`{{{{{name}}}}}`: {} is a pre-release; only {{{{semver}}}} and {{{{tag}}}} tags are made from one",
                meta.tag.as_deref().unwrap_or_default()
            )),
            None => Ok(v),
        }
    };
    Ok(match name {
        "sha" | "short_sha" => match &meta.sha {
            Some(s) if name == "sha" => Ok(s.clone()),
            Some(s) => Ok(short(s)),
            None => Err(String::new()),
        },
        "branch" => meta.branch.as_deref().map(safe).ok_or_else(|| {
            "`{{branch}}`: not a branch build (a git tag, a pull request, or a detached HEAD)"
                .to_string()
        }),
        "tag" => meta
            .tag
            .as_deref()
            .map(safe)
            .ok_or_else(|| "`{{tag}}`: HEAD has no git tag".to_string()),
        "semver" | "version" => semver().map(|v| v.text()),
        "major" => release().map(|v| v.major.to_string()),
        "minor" => release().map(|v| v.minor.to_string()),
        "patch" => release().map(|v| v.patch.to_string()),
        "pr" => meta
            .pr
            .clone()
            .ok_or_else(|| "`{{pr}}`: not a pull or merge request build".to_string()),
        _ => return Err(Unknown),
    })
}

/// A text as a tag: each run of characters a tag cannot hold becomes one `-`, no `.`
/// or `-` first, at most 128 characters (`feature/login` → `feature-login`).
pub fn tag_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
            out.push(c);
            dash = false;
        } else if !dash {
            out.push('-');
            dash = true;
        }
    }
    let trimmed = out.trim_start_matches(['.', '-']);
    trimmed.chars().take(128).collect()
}

/// What a `when:` of a tag asks, and whether this build is one.
pub fn when(condition: &str, meta: &GitMeta) -> Option<Result<(), String>> {
    Some(match condition {
        "default_branch" => match (&meta.branch, &meta.default_branch) {
            (Some(b), Some(d)) if b == d => Ok(()),
            (Some(b), Some(d)) => Err(format!("`{b}` is not the default branch (`{d}`)")),
            (None, _) => Err("not a branch build".into()),
            (Some(_), None) => Err(
                "the default branch is unknown (no CI variable says, and the repository has no origin/HEAD: `git remote set-head origin --auto`)".into(),
            ),
        },
        "branch" => meta.branch.as_ref().map(|_| ()).ok_or_else(|| "not a branch build".into()),
        "tag" => meta.tag.as_ref().map(|_| ()).ok_or_else(|| "HEAD has no git tag".into()),
        "semver" => match meta.semver() {
            Some(v) if v.pre.is_none() => Ok(()),
            Some(_) => Err("the git tag is a pre-release".into()),
            None => Err("HEAD has no semantic-version git tag".into()),
        },
        "pr" => meta.pr.as_ref().map(|_| ()).ok_or_else(|| "not a pull or merge request build".into()),
        _ => return None,
    })
}

/// The words `when:` takes.
pub const WHEN: [&str; 5] = ["default_branch", "branch", "tag", "semver", "pr"];
