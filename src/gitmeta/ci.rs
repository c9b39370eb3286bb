//! The git state a CI gives its jobs in variables: GitHub Actions (`GITHUB_SHA`,
//! `GITHUB_REF` — `refs/heads/B`, `refs/tags/T`, `refs/pull/N/merge` —, the server and
//! repository, and the default branch from the event payload at `GITHUB_EVENT_PATH`)
//! and GitLab CI (`CI_COMMIT_SHA`, `CI_COMMIT_BRANCH`, `CI_COMMIT_TAG`,
//! `CI_MERGE_REQUEST_IID`, `CI_DEFAULT_BRANCH`, `CI_PROJECT_URL`,
//! `CI_COMMIT_TIMESTAMP`).

use super::meta::GitMeta;

/// The most of an event payload read: GitHub's are JSON documents of at most a few
/// megabytes.
const EVENT_CAP: u64 = 32 << 20;

/// The CI's git state, when mpbuild runs in a CI it knows.
pub(super) fn read(var: &dyn Fn(&str) -> Option<String>) -> Option<GitMeta> {
    let get = |k: &str| var(k).filter(|v| !v.is_empty());
    if get("GITHUB_ACTIONS").as_deref() == Some("true") {
        return Some(github(&get));
    }
    if get("GITLAB_CI").as_deref() == Some("true") {
        return Some(gitlab(&get));
    }
    None
}

fn github(get: &dyn Fn(&str) -> Option<String>) -> GitMeta {
    let mut m = GitMeta {
        sha: get("GITHUB_SHA"),
        from: "GitHub Actions".into(),
        ..GitMeta::default()
    };
    if let Some(r) = get("GITHUB_REF") {
        if let Some(b) = r.strip_prefix("refs/heads/") {
            m.branch = Some(b.to_string());
        } else if let Some(t) = r.strip_prefix("refs/tags/") {
            m.tag = Some(t.to_string());
        } else if let Some(rest) = r.strip_prefix("refs/pull/") {
            m.pr = rest
                .split('/')
                .next()
                .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
                .map(str::to_string);
        }
    }
    if let (Some(server), Some(repo)) = (get("GITHUB_SERVER_URL"), get("GITHUB_REPOSITORY")) {
        m.source = Some(format!("{}/{repo}", server.trim_end_matches('/')));
    }
    if let Some(path) = get("GITHUB_EVENT_PATH") {
        let event = crate::fsread::read_bytes(std::path::Path::new(&path), EVENT_CAP)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
        if let Some(e) = event {
            m.default_branch = e["repository"]["default_branch"]
                .as_str()
                .map(str::to_string);
            m.created = e["head_commit"]["timestamp"].as_str().map(str::to_string);
        }
    }
    m
}

fn gitlab(get: &dyn Fn(&str) -> Option<String>) -> GitMeta {
    GitMeta {
        sha: get("CI_COMMIT_SHA"),
        branch: get("CI_COMMIT_BRANCH"),
        tag: get("CI_COMMIT_TAG"),
        pr: get("CI_MERGE_REQUEST_IID"),
        default_branch: get("CI_DEFAULT_BRANCH"),
        source: get("CI_PROJECT_URL"),
        created: get("CI_COMMIT_TIMESTAMP"),
        from: "GitLab CI".into(),
    }
}
