use std::collections::BTreeMap;

use super::template::{Expanded, TemplateError, Use, expand, tag_safe, when};
use super::*;

fn meta(branch: Option<&str>, tag: Option<&str>) -> GitMeta {
    GitMeta {
        sha: Some("860c1904a1ce19322e91ac35af1ab07466440c37".into()),
        branch: branch.map(str::to_string),
        tag: tag.map(str::to_string),
        default_branch: Some("main".into()),
        from: "test".into(),
        ..GitMeta::default()
    }
}

fn text(t: &str, m: &GitMeta) -> String {
    match expand(t, m, Use::Tag).unwrap() {
        Expanded::Text(s) => s,
        Expanded::Skipped(why) => format!("skipped: {why}"),
    }
}

#[test]
fn a_semver_tag_gives_its_parts_like_metadata_action() {
    let m = meta(None, Some("v1.2.3"));
    assert_eq!(text("{{semver}}", &m), "1.2.3");
    assert_eq!(text("{{version}}", &m), "1.2.3");
    assert_eq!(text("{{major}}.{{minor}}", &m), "1.2");
    assert_eq!(text("{{ major }}", &m), "1");
    assert_eq!(text("v{{major}}", &m), "v1");
    assert_eq!(text("{{patch}}", &m), "3");
    assert_eq!(text("{{tag}}", &m), "v1.2.3");
    assert_eq!(text("sha-{{short_sha}}", &m), "sha-860c190");
    assert_eq!(
        text("{{sha}}", &m),
        "860c1904a1ce19322e91ac35af1ab07466440c37"
    );
    assert!(text("{{branch}}", &m).starts_with("skipped: `{{branch}}`: not a branch build"));
}

#[test]
fn pre_releases_give_only_the_full_version() {
    let m = meta(None, Some("v2.0.8-beta.67"));
    assert_eq!(text("{{semver}}", &m), "2.0.8-beta.67");
    assert!(text("{{major}}.{{minor}}", &m).contains("is a pre-release"));
    assert_eq!(
        when("semver", &m),
        Some(Err("the git tag is a pre-release".into()))
    );
}

#[test]
fn branches_are_made_tag_safe_in_tags_and_kept_in_labels() {
    let m = meta(Some("feature/Login page"), None);
    assert_eq!(text("{{branch}}", &m), "feature-Login-page");
    assert_eq!(
        expand("{{branch}}", &m, Use::Label).unwrap(),
        Expanded::Text("feature/Login page".into())
    );
    assert!(text("{{semver}}", &m).starts_with("skipped: `{{semver}}`: HEAD has no git tag"));
    assert_eq!(tag_safe("..//x"), "x");
    assert_eq!(tag_safe(&"a".repeat(200)).len(), 128);
}

#[test]
fn unknown_parts_are_errors_with_a_place_and_a_suggestion() {
    let m = meta(Some("main"), None);
    assert_eq!(
        expand("v-{{shortsha}}", &m, Use::Tag),
        Err(TemplateError::Unknown {
            name: "shortsha".into(),
            at: 2,
            len: 12,
            near: Some("short_sha"),
        })
    );
    assert_eq!(
        expand("{{sha", &m, Use::Tag),
        Err(TemplateError::Unclosed { at: 0 })
    );
    let none = GitMeta::default();
    assert_eq!(
        expand("{{short_sha}}", &none, Use::Tag),
        Err(TemplateError::NoCommit {
            part: "short_sha".into()
        })
    );
}

#[test]
fn latest_on_the_default_branch_only() {
    assert_eq!(
        when("default_branch", &meta(Some("main"), None)),
        Some(Ok(()))
    );
    assert_eq!(
        when("default_branch", &meta(Some("dev"), None)),
        Some(Err("`dev` is not the default branch (`main`)".into()))
    );
    assert!(
        when("default_branch", &meta(None, Some("v1.0.0")))
            .unwrap()
            .is_err()
    );
    let mut unknown = meta(Some("main"), None);
    unknown.default_branch = None;
    assert!(
        when("default_branch", &unknown)
            .unwrap()
            .unwrap_err()
            .contains("default branch is unknown")
    );
    assert_eq!(when("sometimes", &unknown), None);
}

#[test]
fn semver_grammar() {
    assert_eq!(
        Semver::parse("v1.2.3+build.5").unwrap().text(),
        "1.2.3-build.5"
    );
    for bad in ["1.2", "v1.2.3.4", "01.2.3", "v1.2.x", "1.2.3-", "release-1"] {
        assert!(Semver::parse(bad).is_none(), "{bad}");
    }
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn github_actions_variables() {
    let d = tempfile::tempdir().unwrap();
    let event = d.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"repository": {"default_branch": "trunk"}, "head_commit": {"timestamp": "2026-01-10T00:30:00Z"}}"#,
    )
    .unwrap();
    let var = env(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SHA", "abcdef0123456789"),
        ("GITHUB_REF", "refs/pull/318/merge"),
        ("GITHUB_SERVER_URL", "https://github.com"),
        ("GITHUB_REPOSITORY", "acme/api"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ]);
    let m = ci::read(&var).unwrap();
    assert_eq!(m.pr.as_deref(), Some("318"));
    assert_eq!(m.branch, None);
    assert_eq!(m.default_branch.as_deref(), Some("trunk"));
    assert_eq!(m.source.as_deref(), Some("https://github.com/acme/api"));
    assert_eq!(m.created.as_deref(), Some("2026-01-10T00:30:00Z"));
    let tag = ci::read(&env(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_REF", "refs/tags/v1.2.3"),
    ]))
    .unwrap();
    assert_eq!(tag.tag.as_deref(), Some("v1.2.3"));
}

#[test]
fn gitlab_ci_variables() {
    let m = ci::read(&env(&[
        ("GITLAB_CI", "true"),
        ("CI_COMMIT_SHA", "abc"),
        ("CI_COMMIT_BRANCH", "main"),
        ("CI_DEFAULT_BRANCH", "main"),
        ("CI_PROJECT_URL", "https://gitlab.com/acme/api"),
        ("CI_MERGE_REQUEST_IID", "7"),
    ]))
    .unwrap();
    assert_eq!(when("default_branch", &m), Some(Ok(())));
    assert_eq!(m.pr.as_deref(), Some("7"));
    assert_eq!(ci::read(&env(&[])), None);
}

#[test]
fn remote_addresses_without_credentials() {
    for (url, web) in [
        (
            "git@github.com:acme/api.git",
            Some("https://github.com/acme/api"),
        ),
        (
            "https://x-access-token:s3cret@github.com/acme/api.git",
            Some("https://github.com/acme/api"),
        ),
        (
            "ssh://git@gitlab.example.com:2222/acme/api.git",
            Some("https://gitlab.example.com/acme/api"),
        ),
        ("/srv/git/api.git", None),
        ("file:///srv/git/api.git", None),
    ] {
        assert_eq!(repo::web_address(url).as_deref(), web, "{url}");
    }
}

#[test]
fn a_real_repository() {
    let d = tempfile::tempdir().unwrap();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .arg("-C")
            .arg(d.path())
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .status()
            .expect("git")
            .success();
        assert!(ok, "git {args:?}");
    };
    git(&["init", "-q", "-b", "feature/x"]);
    git(&["commit", "-q", "--allow-empty", "-m", "one"]);
    git(&[
        "remote",
        "add",
        "origin",
        "https://tok@example.com/acme/api.git",
    ]);
    git(&["tag", "v1.9.0"]);
    git(&["tag", "v1.10.0"]);
    git(&["tag", "nightly"]);
    let m = GitMeta::read(d.path(), &|_| None);
    assert_eq!(m.branch.as_deref(), Some("feature/x"));
    assert_eq!(m.tag.as_deref(), Some("v1.10.0"), "the highest version");
    assert_eq!(m.sha.as_ref().map(String::len), Some(40));
    assert_eq!(m.source.as_deref(), Some("https://example.com/acme/api"));
    assert!(m.created.is_some());
    assert_eq!(m.from, "git");
    // Outside any repository: nothing.
    let none = tempfile::tempdir().unwrap();
    assert_eq!(GitMeta::read(none.path(), &|_| None).sha, None);
}
