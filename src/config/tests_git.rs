//! Tags and labels from git in mpbuild.yaml: parts, `when:`, `git_metadata:`, and the
//! errors, each at its place.

use super::*;
use crate::gitmeta::GitMeta;

fn load(yaml: &str, git: GitMeta, preview: bool) -> Result<Project, String> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let git = move |_: &Path| git.clone();
    let env = Env {
        host: Platform::linux("amd64", ""),
        var: &|n| (n == "SUFFIX").then(|| "x".into()),
        preview,
        overrides: &[],
        git: &git,
    };
    parse(&dir.path().join("mpbuild.yaml"), yaml, &env).map_err(|e| {
        e.to_string()
            .replace(&dir.path().display().to_string(), "DIR")
    })
}

fn git(branch: Option<&str>, tag: Option<&str>) -> GitMeta {
    GitMeta {
        sha: Some("860c1904a1ce19322e91ac35af1ab07466440c37".into()),
        branch: branch.map(str::to_string),
        tag: tag.map(str::to_string),
        default_branch: Some("main".into()),
        source: Some("https://github.com/acme/api".into()),
        created: Some("2026-01-10T00:30:00Z".into()),
        from: "test".into(),
        ..GitMeta::default()
    }
}

const TAGS: &str = r#"version: 1
images:
  api:
    repository: r.example.com/api
    tags:
      - "{{semver}}"
      - "{{major}}.{{minor}}"
      - "{{major}}"
      - "{{branch}}"
      - "sha-{{short_sha}}-${SUFFIX}"
      - {tag: latest, when: default_branch}
    targets: [{service: apprunner}]
"#;

#[test]
fn a_version_tag_gives_the_version_tags() {
    let p = load(TAGS, git(None, Some("v1.2.3")), false).unwrap();
    assert_eq!(p.images[0].tags, vec!["1.2.3", "1.2", "1", "sha-860c190-x"]);
    let left: Vec<&str> = p.images[0]
        .left_out
        .iter()
        .map(|(t, _)| t.as_str())
        .collect();
    assert_eq!(left, vec!["{{branch}}", "latest"]);
}

#[test]
fn a_branch_gives_its_tag_and_latest_only_on_the_default_branch() {
    let p = load(TAGS, git(Some("feature/login"), None), false).unwrap();
    assert_eq!(p.images[0].tags, vec!["feature-login", "sha-860c190-x"]);
    assert!(
        p.images[0].left_out.iter().any(|(t, why)| t == "latest"
            && why.contains("`feature/login` is not the default branch (`main`)")),
        "{:?}",
        p.images[0].left_out
    );
    let p = load(TAGS, git(Some("main"), None), false).unwrap();
    assert_eq!(p.images[0].tags, vec!["main", "sha-860c190-x", "latest"]);
}

#[test]
fn unknown_parts_and_conditions_are_errors_at_their_place() {
    let e = load(
        &TAGS.replace("{{major}}\"", "{{mayor}}\""),
        git(Some("main"), None),
        false,
    )
    .unwrap_err();
    assert!(e.contains("`{{mayor}}` is not a git part"), "{e}");
    assert!(e.contains("did you mean `{{major}}`?"), "{e}");
    // Line 8, after the quote: column 10.
    assert!(e.contains("mpbuild.yaml:8:10"), "{e}");
    let e = load(
        &TAGS.replace("when: default_branch", "when: main"),
        git(Some("main"), None),
        false,
    )
    .unwrap_err();
    assert!(e.contains("`when: main` is not a condition"), "{e}");
    assert!(e.contains("default_branch, branch, tag, semver, pr"), "{e}");
}

#[test]
fn no_commit_is_an_error_except_in_a_preview() {
    let e = load(TAGS, GitMeta::default(), false).unwrap_err();
    assert!(e.contains("`{{short_sha}}`: no commit is known"), "{e}");
    let p = load(TAGS, GitMeta::default(), true).unwrap_err();
    // Every tag needs git here: nothing would be published, and the reasons say why.
    assert!(p.contains("has no tags for this build"), "{p}");
    assert!(p.contains("no commit known here"), "{p}");
}

#[test]
fn git_metadata_labels_and_annotations() {
    let yaml = "version: 1\nimages:\n  api:\n    repository: r.example.com/api\n    tags: [v1]\n    git_metadata: true\n    labels: {org.opencontainers.image.source: https://example.com/mine, branch: \"{{branch}}\"}\n    targets: [{service: apprunner}]\n";
    let p = load(yaml, git(Some("feature/x"), None), false).unwrap();
    let o = &p.images[0].options;
    let label = |k: &str| {
        o.labels
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    // The image's own value wins; a label keeps the branch as it is.
    assert_eq!(
        label("org.opencontainers.image.source"),
        Some("https://example.com/mine")
    );
    assert_eq!(label("branch"), Some("feature/x"));
    assert_eq!(
        label("org.opencontainers.image.revision"),
        Some("860c1904a1ce19322e91ac35af1ab07466440c37")
    );
    assert_eq!(
        label("org.opencontainers.image.created"),
        Some("2026-01-10T00:30:00Z")
    );
    assert_eq!(label("org.opencontainers.image.version"), Some("feature-x"));
    let a: Vec<&str> = o.annotations.iter().map(|a| a.key.as_str()).collect();
    assert!(a.contains(&"org.opencontainers.image.source"), "{a:?}");
    assert!(
        o.annotations
            .iter()
            .all(|a| a.levels == vec![Level::Index, Level::Manifest])
    );
    let e = load(yaml, GitMeta::default(), false).unwrap_err();
    assert!(e.contains("git_metadata: no commit is known"), "{e}");
    let p = load(
        &yaml.replace("git_metadata: true", "git_metadata: labels"),
        git(None, Some("v2.0.0")),
        false,
    )
    .unwrap();
    assert!(p.images[0].options.annotations.is_empty());
    assert!(
        p.images[0]
            .options
            .labels
            .contains(&("org.opencontainers.image.version".into(), "2.0.0".into()))
    );
}

#[test]
fn a_file_without_parts_runs_no_git() {
    let yaml = "version: 1\nimages:\n  api:\n    repository: r.example.com/api\n    tags: [v1]\n    targets: [{service: apprunner}]\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let env = Env {
        host: Platform::linux("amd64", ""),
        var: &|_| None,
        preview: false,
        overrides: &[],
        git: &|_| panic!("git was read"),
    };
    parse(&dir.path().join("mpbuild.yaml"), yaml, &env).unwrap();
}
