//! `check`'s job summary against a registry of the test's own (fixed content, so fixed
//! digests): `--summary FILE` and `$GITHUB_STEP_SUMMARY` get one markdown row per
//! reference — FILE:LINE, image, digest, platforms needed and found, verdict.

mod common;

use std::path::Path;
use std::process::Output;

use common::static_registry::{OCI_INDEX, OCI_MANIFEST, StaticRegistry};
use common::text;
use serde_json::json;

const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// `team/app:v1`, an amd64 + arm64 index, and `team/solo`, a plain amd64 manifest
/// (by digest); their digests.
fn registry() -> (StaticRegistry, String, String) {
    let reg = StaticRegistry::start();
    let (amd, amd_size) = reg.image("team/app", "linux", "amd64", LAYER);
    let (arm, arm_size) = reg.image("team/app", "linux", "arm64", LAYER);
    let idx = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": amd, "size": amd_size, "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": OCI_MANIFEST, "digest": arm, "size": arm_size, "platform": {"os": "linux", "architecture": "arm64"}},
    ]})
    .to_string();
    let v1 = reg.manifest("team/app", Some("v1"), OCI_INDEX, idx.as_bytes());
    let (solo, _) = reg.image("team/solo", "linux", "amd64", LAYER);
    (reg, v1, solo)
}

fn deployment(name: &str, arch: &str, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}}}\nspec:\n  template:\n    spec:\n      nodeSelector: {{kubernetes.io/arch: {arch}}}\n      containers:\n        - name: {name}\n          image: {image}\n"
    )
}

fn check(dir: &Path, args: &[&str], summary_env: Option<&Path>) -> Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mpbuild"));
    c.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("DOCKER_CONFIG", dir)
        .env("MPBUILD_REQUEST_TIMEOUT", "10")
        .env("NO_COLOR", "1")
        .arg("check")
        .args(args);
    if let Some(path) = summary_env {
        c.env("GITHUB_STEP_SUMMARY", path);
    }
    c.output().unwrap()
}

#[test]
fn check_writes_one_summary_row_per_reference() {
    let (reg, v1, solo) = registry();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let r = &reg.addr;
    let files = [
        deployment("web", "arm64", &format!("{r}/team/app:v1")),
        deployment("worker", "arm64", &format!("{r}/team/solo@{solo}")),
        deployment("job", "amd64", "${JOB_IMAGE}"),
    ];
    std::fs::write(p.join("deploy.yaml"), files.join("---\n")).unwrap();

    let out = check(p, &["deploy.yaml", "--summary", "summary.md"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let md = std::fs::read_to_string(p.join("summary.md")).unwrap();
    insta::assert_snapshot!(md.replace(r.as_str(), "[REGISTRY]"));

    // In GitHub Actions: appended to $GITHUB_STEP_SUMMARY, after what earlier steps
    // wrote; a passing check says ok.
    std::fs::write(p.join("ok.yaml"), &files[0]).unwrap();
    let step = p.join("step-summary.md");
    std::fs::write(&step, "earlier step\n").unwrap();
    let out = check(p, &["ok.yaml"], Some(&step));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let md = std::fs::read_to_string(&step).unwrap();
    let expected = format!(
        "earlier step\n### mpbuild check: ok\n\n1 reference(s) in 1 file(s): 1 verified.\n\n| deployment file | image | digest | platforms needed | platforms found | verdict |\n| --- | --- | --- | --- | --- | --- |\n| ok.yaml:10 | `{r}/team/app:v1` | `sha256:{}` | linux/arm64 | linux/arm64, linux/amd64 | ok |\n\n",
        &v1[7..19]
    );
    assert_eq!(md, expected);
}

/// With `--pin`, a column says what was written in each reference's place (the pinned
/// reference, that it already names a digest, or why it was not pinned) and a line
/// under the table how many references in which files; a check that fails wrote
/// nothing, and says so. Without `--pin` the column is not there (the test above).
#[test]
fn check_pin_adds_what_it_wrote_to_the_summary() {
    let (reg, _, solo) = registry();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let r = &reg.addr;
    let files = [
        deployment("web", "arm64", &format!("{r}/team/app:v1")),
        deployment("worker", "amd64", &format!("{r}/team/solo@{solo}")),
    ];
    std::fs::write(p.join("deploy.yaml"), files.join("---\n")).unwrap();
    std::fs::write(
        p.join("compose.yaml"),
        format!(
            "services:\n  api:\n    image: ${{API:-{r}/team/app:v1}}\n    platform: linux/amd64\n"
        ),
    )
    .unwrap();
    let args = [
        "deploy.yaml",
        "compose.yaml",
        "--pin",
        "--summary",
        "summary.md",
    ];
    let out = check(p, &args, None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // It did write what the summary says.
    let pinned = std::fs::read_to_string(p.join("deploy.yaml")).unwrap();
    assert!(
        pinned.contains(&format!("image: {r}/team/app:v1@sha256:")),
        "{pinned}"
    );

    // A failing check: --pin writes nothing.
    std::fs::write(
        p.join("bad.yaml"),
        deployment("bad", "arm64", &format!("{r}/team/solo@{solo}")),
    )
    .unwrap();
    let out = check(p, &["bad.yaml", "--pin", "--summary", "summary.md"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let md = std::fs::read_to_string(p.join("summary.md")).unwrap();
    insta::assert_snapshot!(md.replace(r.as_str(), "[REGISTRY]"));
}
