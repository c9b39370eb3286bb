//! Tags, labels and annotations from git: `{{…}}` parts expanded from the build's git
//! state (`gitmeta`), `when:` conditions on tags, and `git_metadata:` (the OCI keys
//! source, revision, created and version). An unknown part or condition is an error at
//! its place; a part this build has no value for leaves its tag or label out, with the
//! reason (`plan` shows it).

use serde_saphyr::Spanned;

use crate::config::raw::{RawDeep, RawTag};
use crate::config::{Annotation, BuildOptions, Checker, ConfigError, Level, Pos};
use crate::gitmeta::template::{self, Expanded, TemplateError, Use};
use crate::gitmeta::{GitMeta, PARTS};

/// A tag or label entry: its text, or why this build leaves it out.
pub(in crate::config) enum Entry {
    Text(String),
    LeftOut(String),
}

impl Checker<'_> {
    fn git(&self) -> &GitMeta {
        self.git.get_or_init(|| {
            let dir = self
                .path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            (self.env.git)(dir)
        })
    }

    /// The place of the characters `at..at+len` of the scalar at `pos` (after its
    /// opening quote, if it has one).
    fn inner(&self, pos: Pos, at: usize, len: usize) -> Pos {
        let quoted = crate::config::error::line_of(self.text, pos.line)
            .and_then(|l| l.chars().nth(pos.column.saturating_sub(1) as usize))
            .is_some_and(|c| c == '"' || c == '\'');
        Pos {
            line: pos.line,
            column: pos.column + at as u32 + u32::from(quoted),
            len: len as u32,
        }
    }

    /// `text`'s `{{…}}` parts expanded for `use_` (before `${VAR}`).
    pub(in crate::config) fn git_parts(
        &self,
        text: &str,
        pos: Pos,
        use_: Use,
    ) -> Result<Entry, ConfigError> {
        if !template::has_parts(text) {
            return Ok(Entry::Text(text.to_string()));
        }
        match template::expand(text, self.git(), use_) {
            Ok(Expanded::Text(t)) => Ok(Entry::Text(t)),
            Ok(Expanded::Skipped(why)) => Ok(Entry::LeftOut(why)),
            Err(TemplateError::Unknown { name, at, len, near }) => Err(self.err(
                self.inner(pos, at, len),
                format!("`{{{{{name}}}}}` is not a git part"),
                Some(format!(
                    "{}parts: {}",
                    near.map(|n| format!("did you mean `{{{{{n}}}}}`? ")).unwrap_or_default(),
                    PARTS.map(|p| format!("{{{{{p}}}}}")).join(", ")
                )),
            )),
            Err(TemplateError::Unclosed { at }) => Err(self.err(
                self.inner(pos, at, 2),
                "`{{` without `}}`",
                Some("write a part as {{short_sha}}".into()),
            )),
            // A preview shows what it can without a repository.
            Err(TemplateError::NoCommit { part }) if self.env.preview => Ok(Entry::LeftOut(
                format!("`{{{{{part}}}}}`: no commit known here"),
            )),
            Err(TemplateError::NoCommit { part }) => Err(self.err(
                pos,
                format!("`{{{{{part}}}}}`: no commit is known: {} is in no git repository and no CI variable names one", self.path.display()),
                Some("run in the repository's checkout (actions/checkout, GitLab's clone), or set GITHUB_SHA / CI_COMMIT_SHA".into()),
            )),
        }
    }

    /// A `tags:` entry: its `when:` and its parts, then `${VAR}`; the tag, or why it is
    /// left out.
    fn tag_entry(&self, t: &Spanned<RawTag>) -> Result<Entry, ConfigError> {
        let (text, pos) = match &t.value {
            RawTag::Plain(s) => (s.as_str(), self.pos(t)),
            RawTag::When(w) => {
                let word = &w.when.value;
                match template::when(word, self.git()) {
                    None => {
                        return Err(self.err(
                            self.pos(&w.when),
                            format!("`when: {word}` is not a condition"),
                            Some(format!("conditions: {}", template::WHEN.join(", "))),
                        ));
                    }
                    Some(Err(why)) => {
                        return Ok(Entry::LeftOut(format!("when: {word}: {why}")));
                    }
                    Some(Ok(())) => (w.tag.value.as_str(), self.pos(&w.tag)),
                }
            }
        };
        match self.git_parts(text, pos, Use::Tag)? {
            Entry::Text(expanded) => {
                let s = Spanned::new(expanded, t.referenced, t.defined);
                Ok(Entry::Text(self.expand(&s)?))
            }
            left_out => Ok(left_out),
        }
    }

    /// An image's `tags:`: each entry expanded, or left out with the reason; a tag two
    /// entries give (`{{branch}}` and `latest` on a branch named `latest`) made once.
    pub(in crate::config) fn image_tags(
        &self,
        raw: &[Spanned<RawTag>],
        left_out: &mut Vec<(String, String)>,
    ) -> Result<Vec<String>, ConfigError> {
        let mut tags = Vec::new();
        for t in raw {
            let tag = match self.tag_entry(t)? {
                Entry::Text(tag) => tag,
                Entry::LeftOut(why) => {
                    left_out.push((t.value.text().to_string(), why));
                    continue;
                }
            };
            self.check_tag(&tag, self.pos(t))?;
            if tags.contains(&tag) {
                // The same text twice is a mistake.
                let written = t.value.text();
                if raw.iter().filter(|o| o.value.text() == written).count() > 1 {
                    return Err(self.err(
                        self.pos(t),
                        format!("tag `{tag}` is listed twice"),
                        None,
                    ));
                }
                continue;
            }
            tags.push(tag);
        }
        Ok(tags)
    }

    /// `git_metadata:` adds the OCI keys git knows to the labels, the annotations, or
    /// both; a key the image sets itself keeps the image's value.
    pub(in crate::config) fn git_metadata(
        &self,
        raw: &Spanned<RawDeep>,
        o: &mut BuildOptions,
    ) -> Result<(), ConfigError> {
        let (labels, annotations) = match &raw.value {
            RawDeep::Bool(b) => (*b, *b),
            RawDeep::Word(w) if w == "labels" => (true, false),
            RawDeep::Word(w) if w == "annotations" => (false, true),
            RawDeep::Word(w) => {
                return Err(self.err(
                    self.pos(raw),
                    format!("git_metadata: `{w}` is not valid"),
                    Some(
                        "write `true` (labels and annotations), `labels`, `annotations` or `false`"
                            .into(),
                    ),
                ));
            }
        };
        if !labels && !annotations {
            return Ok(());
        }
        let git = self.git();
        if git.sha.is_none() && !self.env.preview {
            return Err(self.err(
                self.pos(raw),
                "git_metadata: no commit is known: the project is in no git repository and no CI variable names one",
                Some("run in the repository's checkout, or set GITHUB_SHA / CI_COMMIT_SHA".into()),
            ));
        }
        for (key, value) in git.oci() {
            if labels && !o.labels.iter().any(|(k, _)| k == key) {
                o.labels.push((key.to_string(), value.clone()));
            }
            if annotations && !o.annotations.iter().any(|a| a.key == key) {
                o.annotations.push(Annotation {
                    levels: vec![Level::Index, Level::Manifest],
                    key: key.to_string(),
                    value,
                });
            }
        }
        Ok(())
    }
}
