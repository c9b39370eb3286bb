//! `repositories:`: more than one repository per image, or `repository:`, never both,
//! never neither; each entry checked like `repository:`, none twice; errors at the
//! entry's line:col.

use super::*;

fn parse(yaml: &str) -> Result<Project, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let env = Env {
        host: Platform::linux("arm64", ""),
        var: &|name| (name == "ACCOUNT").then(|| "123456789012".to_string()),
        preview: false,
        overrides: &[],
        git: &|_| crate::gitmeta::GitMeta::default(),
    };
    parse_in(&dir, yaml, &env)
}

fn parse_in(dir: &tempfile::TempDir, yaml: &str, env: &Env) -> Result<Project, ConfigError> {
    super::parse(&dir.path().join("mpbuild.yaml"), yaml, env)
}

/// The error as printed (the message, then `--> …/mpbuild.yaml:LINE:COL`).
fn err(yaml: &str) -> String {
    parse(yaml).expect_err("expected an error").to_string()
}

const TWO: &str = "version: 1\nimages:\n  api:\n    repositories:\n      - ${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/api\n      - ghcr.io/acme/api\n    tags: [v1]\n    targets: [{service: apprunner}]\n";

#[test]
fn the_first_is_the_repository_and_the_others_follow() {
    let p = parse(TWO).unwrap();
    let img = &p.images[0];
    assert_eq!(
        img.repository.as_written(),
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/api"
    );
    let also: Vec<&str> = img.also.iter().map(|r| r.as_written()).collect();
    assert_eq!(also, ["ghcr.io/acme/api"]);
    // `repository:` alone has no others.
    let one = TWO.replace(
        "repositories:\n      - ${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/api\n      - ghcr.io/acme/api\n",
        "repository: ghcr.io/acme/api\n",
    );
    assert!(parse(&one).unwrap().images[0].also.is_empty());
}

#[test]
fn errors_point_at_the_entry() {
    let e = err(&TWO.replace("ghcr.io/acme/api", "ghcr.io/acme/API"));
    assert!(
        e.contains("mpbuild.yaml:6:9\n") && e.contains("path component `API` is not valid"),
        "{e}"
    );
    let e = err(&TWO.replace(
        "ghcr.io/acme/api",
        "${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/api",
    ));
    assert!(
        e.contains("mpbuild.yaml:6:9\n") && e.contains("is listed twice"),
        "{e}"
    );
    let e = err(&TWO.replace(
        "    repositories:\n",
        "    repository: ghcr.io/acme/api\n    repositories:\n",
    ));
    assert!(
        e.contains("mpbuild.yaml:6:7\n") && e.contains("both `repository:` and `repositories:`"),
        "{e}"
    );
    let e = err(
        "version: 1\nimages:\n  api:\n    repositories: []\n    targets: [{service: apprunner}]\n",
    );
    assert!(
        e.contains("mpbuild.yaml:4:19\n") && e.contains("`repositories:` is empty"),
        "{e}"
    );
    let e =
        err("version: 1\nimages:\n  api:\n    tags: [v1]\n    targets: [{service: apprunner}]\n");
    assert!(
        e.contains("mpbuild.yaml:3:3\n") && e.contains("has no `repository:`"),
        "{e}"
    );
}

#[test]
fn a_tag_published_twice_in_another_repository_is_refused() {
    let yaml = format!(
        "{TWO}  web:\n    repository: ghcr.io/acme/api\n    tags: [v1]\n    targets: [{{service: apprunner}}]\n"
    );
    let e = err(&yaml);
    assert!(
        e.contains("images `api` and `web` both publish ghcr.io/acme/api:v1"),
        "{e}"
    );
}
