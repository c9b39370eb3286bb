//! A build's git state as values (`GitMeta`), a semantic version read from a git tag,
//! and a commit id's short form: what `ci`, `repo` and `template` share. How the state
//! is read and what it yields (versions, OCI keys) is in `mod.rs`.

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
