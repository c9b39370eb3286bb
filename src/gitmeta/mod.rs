//! What a build is of, in git's terms — the commit, the branch, the git tag (and the
//! semantic version in it), the pull or merge request, the default branch, where the
//! source lives and when the commit was made — for tags (`{{short_sha}}`,
//! `{{major}}.{{minor}}`, `when: default_branch`) and OCI labels and annotations
//! (`org.opencontainers.image.revision`, …), as docker/metadata-action derives them.
//!
//! Read from the CI's environment where a CI says (`ci`: GitHub Actions, GitLab CI),
//! with what it leaves out read from the repository (`repo`: git itself, bounded in
//! time and output). `template` expands the `{{…}}` parts of a tag or label.

mod ci;
mod meta;
mod repo;
pub mod template;

use std::path::Path;

pub use meta::{GitMeta, Semver, short};
pub use template::{Expanded, PARTS};

impl GitMeta {
    /// The build's git state: the CI's variables (through `var`), completed from the
    /// repository holding `dir`.
    pub fn read(dir: &Path, var: &dyn Fn(&str) -> Option<String>) -> GitMeta {
        let mut meta = ci::read(var).unwrap_or_default();
        let needs_repo = meta.sha.is_none()
            || meta.created.is_none()
            || meta.default_branch.is_none()
            || meta.source.is_none();
        if needs_repo && let Some(local) = repo::read(dir, meta.sha.is_none()) {
            meta.fill_from(local);
        }
        meta
    }

    /// Takes from `other` what this one does not know. The branch, tag and request
    /// are taken only when this one knows no commit (a CI's values describe its event;
    /// the checkout's HEAD may be detached on it).
    fn fill_from(&mut self, other: GitMeta) {
        let mine = self.sha.is_some();
        if !mine {
            self.sha = other.sha;
            self.branch = other.branch;
            self.tag = other.tag;
            self.pr = other.pr;
        }
        if self.default_branch.is_none() {
            self.default_branch = other.default_branch;
        }
        if self.source.is_none() {
            self.source = other.source;
        }
        if self.created.is_none() {
            self.created = other.created;
        }
        self.from = if self.from.is_empty() {
            other.from
        } else {
            format!("{} and git", self.from)
        };
    }

    /// `{{semver}}` and its parts, when the git tag is a semantic version.
    pub fn semver(&self) -> Option<Semver> {
        Semver::parse(self.tag.as_deref()?)
    }

    /// `org.opencontainers.image.version`: the semantic version, else the git tag,
    /// else the branch, else the short commit.
    pub fn version(&self) -> Option<String> {
        if let Some(v) = self.semver() {
            return Some(v.text());
        }
        self.tag
            .clone()
            .or_else(|| self.branch.as_deref().map(template::tag_safe))
            .or_else(|| self.sha.as_deref().map(short))
    }

    /// The OCI keys filled from git, with their values where known.
    pub fn oci(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.push((k, v));
            }
        };
        put("org.opencontainers.image.source", self.source.clone());
        put("org.opencontainers.image.revision", self.sha.clone());
        put("org.opencontainers.image.created", self.created.clone());
        put("org.opencontainers.image.version", self.version());
        out
    }
}

#[cfg(test)]
mod tests;
