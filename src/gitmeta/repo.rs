//! The git state of the repository holding the project, from git itself: HEAD's commit,
//! its branch, the tags pointing at it, `origin`'s default branch (its `HEAD`), the
//! commit's time and `origin`'s address. Each git run is bounded in time and output
//! (`child.rs`); a directory that is no repository, or a machine without git, gives
//! nothing.

use std::path::Path;
use std::time::Duration;

use super::meta::{GitMeta, Semver};

/// How long one git command may take.
const LIMIT: Duration = Duration::from_secs(10);

/// `git -C DIR ARGS…`'s first line of output, when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let mut argv: Vec<std::ffi::OsString> = vec!["-C".into(), dir.as_os_str().into()];
    argv.extend(args.iter().map(Into::into));
    // No pager, no prompt for credentials, no lock taken on the index.
    let expr = duct::cmd("git", argv)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin_null();
    match crate::child::run(&expr, Some(LIMIT), crate::child::ANSWER_CAP) {
        crate::child::Waited::Exited(out) if out.status.success() => {
            let text = String::from_utf8(out.stdout).ok()?;
            Some(text.trim().to_string()).filter(|t| !t.is_empty())
        }
        _ => None,
    }
}

/// The repository's state, or None when `dir` is in no git repository. With
/// `with_refs` false only what a CI leaves out is read (default branch, source, time).
pub(super) fn read(dir: &Path, with_refs: bool) -> Option<GitMeta> {
    let sha = git(dir, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])?;
    let mut m = GitMeta {
        from: "git".into(),
        ..GitMeta::default()
    };
    if with_refs {
        m.branch = git(dir, &["symbolic-ref", "--quiet", "--short", "HEAD"]);
        m.tag = git(dir, &["tag", "--points-at", "HEAD"]).and_then(|list| pick_tag(&list));
        m.sha = Some(sha);
    }
    m.default_branch = git(
        dir,
        &[
            "symbolic-ref",
            "--quiet",
            "--short",
            "refs/remotes/origin/HEAD",
        ],
    )
    .map(|r| r.strip_prefix("origin/").unwrap_or(&r).to_string());
    m.created = git(dir, &["log", "-1", "--format=%cI", "HEAD"]);
    m.source = git(dir, &["remote", "get-url", "origin"]).and_then(|u| web_address(&u));
    Some(m)
}

/// Of the tags on HEAD: the highest semantic version, else the first by name.
fn pick_tag(list: &str) -> Option<String> {
    let tags: Vec<&str> = list
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    tags.iter()
        .filter_map(|t| Semver::parse(t).map(|v| (v, *t)))
        .max_by(|(a, _), (b, _)| {
            (a.major, a.minor, a.patch, a.pre.is_none()).cmp(&(
                b.major,
                b.minor,
                b.patch,
                b.pre.is_none(),
            ))
        })
        .map(|(_, t)| t.to_string())
        .or_else(|| tags.iter().min().map(|t| t.to_string()))
}

/// A remote's URL as a web address, without credentials: `git@github.com:acme/api.git`
/// and `https://token@github.com/acme/api.git` are `https://github.com/acme/api`. A
/// local path or another scheme gives nothing.
pub(super) fn web_address(url: &str) -> Option<String> {
    let url = url.trim();
    let (host, path) = if let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("ssh://"))
        .or_else(|| url.strip_prefix("git://"))
    {
        let (authority, path) = rest.split_once('/')?;
        // user:password@host:port → host (a port of ssh:// is not the web's).
        let host = authority.rsplit('@').next()?;
        let host = if url.starts_with("ssh://") || url.starts_with("git://") {
            host.split(':').next()?
        } else {
            host
        };
        (host.to_string(), path.to_string())
    } else if let Some((user_host, path)) = url.split_once(':') {
        // scp-like: [user@]host:path
        if user_host.contains('/') || path.starts_with("//") {
            return None;
        }
        (user_host.rsplit('@').next()?.to_string(), path.to_string())
    } else {
        return None;
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    if host.is_empty() || path.is_empty() {
        return None;
    }
    Some(format!("https://{host}/{path}"))
}
