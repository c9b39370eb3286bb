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
mod repo;
pub mod template;

use std::path::Path;

pub use template::{Expanded, PARTS};

/// A build's git state. Every part may be unknown; `template` says why when a tag or
/// label needs one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitMeta {
    /// The full commit id.
    pub sha: Option<String>,
    /// The branch built (none for a tag, a pull request or a detached HEAD).
    pub branch: Option<String>,
    /// The git tag built (`v1.2.3`).
    pub tag: Option<String>,
    /// The pull (GitHub) or merge (GitLab) request's number.
    pub pr: Option<String>,
    /// The repository's default branch.
    pub default_branch: Option<String>,
    /// The repository's web address (no credentials).
    pub source: Option<String>,
    /// The commit's time (RFC 3339).
    pub created: Option<String>,
    /// Where the values came from: "GitHub Actions", "GitLab CI", "git" (and "git"
    /// after a CI's name when the repository filled gaps).
    pub from: String,
}

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

/// The first 7 characters of a commit id (metadata-action's default length).
pub fn short(sha: &str) -> String {
    sha.chars().take(7).collect()
}

/// A semantic version read from a git tag (`v1.2.3`, `1.2.3-rc.1`, `v2.0.0+build.5`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Semver {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: Option<String>,
    pub build: Option<String>,
}

impl Semver {
    pub fn parse(tag: &str) -> Option<Semver> {
        let t = tag.strip_prefix('v').unwrap_or(tag);
        let (core, build) = match t.split_once('+') {
            Some((c, b)) => (c, Some(b.to_string())),
            None => (t, None),
        };
        let (core, pre) = match core.split_once('-') {
            Some((c, p)) => (c, Some(p.to_string())),
            None => (core, None),
        };
        let ident_ok = |s: &Option<String>| {
            s.as_deref().is_none_or(|s| {
                !s.is_empty()
                    && s.split('.').all(|p| {
                        !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    })
            })
        };
        if !ident_ok(&pre) || !ident_ok(&build) {
            return None;
        }
        let mut nums = core.split('.');
        let mut num = || -> Option<u64> {
            let n = nums.next()?;
            let leading_zero = n.len() > 1 && n.starts_with('0');
            (!leading_zero && n.chars().all(|c| c.is_ascii_digit()))
                .then(|| n.parse().ok())
                .flatten()
        };
        let (major, minor, patch) = (num()?, num()?, num()?);
        if nums.next().is_some() {
            return None;
        }
        Some(Semver {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    /// `1.2.3`, `1.2.3-rc.1` (build metadata as `-` and the rest: a tag has no `+`).
    pub fn text(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if let Some(p) = &self.pre {
            s.push('-');
            s.push_str(p);
        }
        if let Some(b) = &self.build {
            s.push('-');
            s.push_str(b);
        }
        s
    }
}

#[cfg(test)]
mod tests;
