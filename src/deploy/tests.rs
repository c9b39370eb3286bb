use std::path::PathBuf;

use super::*;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/deploy")
        .join(rel)
}

fn read_all(
    rel: &str,
    resource: Option<&str>,
    cluster: Option<&[Platform]>,
) -> Result<Vec<Found>, DeployError> {
    read(&fixture(rel), rel, resource, cluster)
}

fn summary(found: &[Found]) -> Vec<String> {
    found
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {}{}",
                f.service.as_deref().unwrap_or("-"),
                f.resource,
                crate::platform::join(&f.platforms),
                f.source,
                if f.defaulted { " (default)" } else { "" }
            )
        })
        .collect()
}

fn p(s: &str) -> Platform {
    Platform::parse(s).unwrap()
}

#[test]
fn ecs_task_definitions() {
    assert_eq!(
        summary(&read_all("ecs/taskdef-registered.json", None, None).unwrap()),
        vec!["ecs-fargate orders linux/arm64 ecs/taskdef-registered.json:23"]
    );
    assert_eq!(
        summary(&read_all("ecs/taskdef-register.json", None, None).unwrap()),
        vec!["ecs-ec2 billing-batch linux/amd64 ecs/taskdef-register.json:2 (default)"]
    );
}

#[test]
fn cdk_output_with_long_form_intrinsics() {
    assert_eq!(
        summary(&read_all("cdk/template.json", None, None).unwrap()),
        vec!["ecs-fargate ApiTaskDef1A2B3C4D linux/arm64 cdk/template.json:18"]
    );
}

#[test]
fn sam_with_short_form_tags_and_globals() {
    assert_eq!(
        summary(&read_all("sam/template.yaml", None, None).unwrap()),
        vec![
            "lambda ReportFunction linux/amd64 sam/template.yaml:38",
            "lambda ThumbnailFunction linux/arm64 sam/template.yaml:14",
        ]
    );
    let one = read_all("sam/template.yaml", Some("ThumbnailFunction"), None).unwrap();
    assert_eq!(one.len(), 1);
    let e = read_all("sam/template.yaml", Some("Nope"), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no resource `Nope`") && e.contains("ThumbnailFunction"),
        "{e}"
    );
}

#[test]
fn kubernetes_directory_selector_affinity_and_cluster_default() {
    assert_eq!(
        summary(&read_all("k8s", None, None).unwrap()),
        vec![
            "kubernetes Deployment/api linux/arm64 k8s/api.yaml:29",
            "kubernetes CronJob/nightly-report linux/amd64,linux/arm64 k8s/report-cron.yaml:17",
        ]
    );
    let e = read_all("k8s-unconstrained", None, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("k8s-unconstrained/worker.yaml:1") && e.contains("cluster_archs"),
        "{e}"
    );
    let cluster = [p("linux/amd64"), p("linux/arm64")];
    assert_eq!(
        summary(&read_all("k8s-unconstrained", None, Some(&cluster)).unwrap()),
        vec![
            "kubernetes StatefulSet/worker linux/amd64,linux/arm64 k8s-unconstrained/worker.yaml:1 (default)"
        ]
    );
}

#[test]
fn compose_platforms() {
    assert_eq!(
        summary(&read_all("compose/compose.yaml", None, None).unwrap()),
        vec![
            "- sidecar linux/arm64 compose/compose.yaml:10",
            "- web linux/amd64 compose/compose.yaml:5",
        ]
    );
}

#[test]
fn compose_only_the_services_running_this_image_decide() {
    let read_image = |repo: &str, resource: Option<&str>| {
        read_for_image(
            &fixture("compose/compose.yaml"),
            "compose/compose.yaml",
            resource,
            None,
            Some(repo),
        )
    };
    // `image: REPO:${TAG:-latest}`: the repository matches whatever the tag.
    assert_eq!(
        summary(&read_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/app", None).unwrap()),
        vec!["- web linux/amd64 compose/compose.yaml:5"]
    );
    assert_eq!(
        summary(&read_image("ghcr.io/acme/sidecar", None).unwrap()),
        vec!["- sidecar linux/arm64 compose/compose.yaml:10"]
    );
    // Named with `resource:`, a service decides whatever its image says.
    assert_eq!(
        summary(&read_image("r.example.com/other", Some("sidecar")).unwrap()),
        vec!["- sidecar linux/arm64 compose/compose.yaml:10"]
    );
    // No service runs the image: say so, and how to pick one.
    let e = read_image("r.example.com/other", None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("compose/compose.yaml:1: no compose service has `image: r.example.com/other` (services: db, sidecar, web)")
            && e.contains("`resource: SERVICE`"),
        "{e}"
    );
    // The service that runs it states no platform: compose would run the host's.
    let e = read_image("postgres", None).unwrap_err().to_string();
    assert!(
        e.starts_with("compose/compose.yaml:11: compose service `db` runs docker.io/library/postgres but states no `platform:`"),
        "{e}"
    );
}

#[test]
fn compose_image_repositories() {
    use super::compose::repository_of;
    assert_eq!(repository_of("postgres:16"), "docker.io/library/postgres");
    assert_eq!(
        repository_of("r.example.com:5000/a/b:${TAG:-x}"),
        "r.example.com:5000/a/b"
    );
    assert_eq!(
        repository_of("r.example.com/a@sha256:0123"),
        "r.example.com/a"
    );
    assert_eq!(repository_of("localhost:5000/app"), "localhost:5000/app");
}

#[test]
fn copilot_manifests() {
    assert_eq!(
        summary(&read_all("copilot", None, None).unwrap()),
        vec![
            "ecs-fargate api linux/arm64 copilot/api/manifest.yml:13",
            "apprunner web linux/amd64 copilot/web/manifest.yml:1 (default)",
            "ecs-fargate worker linux/arm64 copilot/worker/manifest.yml:7",
        ]
    );
}

#[test]
fn files_without_workloads_are_errors() {
    let e = read_all("k8s/config.yaml", None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no container workload"), "{e}");
}
