//! The project file's JSON Schema: the committed file is what `mpbuild schema` prints,
//! the examples and the catalog validate against it, and it refuses what the checker
//! refuses (unknown keys, wrong types, `repository` with `repositories`).

mod common;

use common::cli::{APP, mpbuild, repo, schema_validator, yaml_to_json};

#[test]
fn the_committed_schema_is_what_mpbuild_schema_prints() {
    let out = mpbuild(&repo()).arg("schema").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(repo().join("schema/mpbuild.schema.json")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        committed,
        "schema/mpbuild.schema.json is stale: run `mpbuild schema > schema/mpbuild.schema.json`"
    );
}

#[test]
fn every_example_and_the_catalog_validate_against_the_schema() {
    let v = schema_validator();
    let mut checked = 0;
    for entry in std::fs::read_dir(repo().join("examples")).unwrap() {
        let file = entry.unwrap().path().join("mpbuild.yaml");
        if !file.is_file() {
            continue;
        }
        let doc = yaml_to_json(&std::fs::read_to_string(&file).unwrap());
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
        checked += 1;
    }
    assert!(checked >= 7, "{checked}");
    // The issue example and the init template, too.
    assert!(v.is_valid(&yaml_to_json(APP)));
    // The built-in catalog's entries have the shape `services:` takes.
    let catalog = yaml_to_json(mpbuild::catalog::BUILTIN_YAML);
    let as_project = serde_json::json!({"version": 1, "services": catalog["services"]});
    let errors: Vec<String> = v.iter_errors(&as_project).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn the_schema_rejects_unknown_keys_and_wrong_types() {
    let v = schema_validator();
    for bad in [
        APP.replace("    tags:", "    tagz:"),
        APP.replace("version: 1", "version: 1\nimagez: {}"),
        APP.replace(
            "      - service: apprunner\n",
            "      - service: apprunner\n        archh: amd64\n",
        ),
        APP.replace("version: 1", "version: 2"),
        "version: 1\nservices:\n  - title: no name\n    platforms: [linux/amd64]\n".to_string(),
    ] {
        assert!(!v.is_valid(&yaml_to_json(&bad)), "accepted:\n{bad}");
    }
}

#[test]
fn the_schema_takes_repository_or_repositories_not_both_nor_neither() {
    let v = schema_validator();
    let one = "    repository: 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api\n";
    let many = "    repositories: [123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api, ghcr.io/acme/api]\n";
    assert!(v.is_valid(&yaml_to_json(&APP.replace(one, many))));
    for bad in [
        APP.replace(one, &format!("{one}{many}")),
        APP.replace(one, ""),
        APP.replace(one, "    repositories: []\n"),
    ] {
        assert!(!v.is_valid(&yaml_to_json(&bad)), "accepted:\n{bad}");
    }
}
