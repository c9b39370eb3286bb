use std::path::PathBuf;

use super::*;
use crate::platform::Platform;

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

/// Each image use: `LINE container: reference` (or `?written` when unresolved).
fn images(found: &[Found]) -> Vec<String> {
    found
        .iter()
        .flat_map(|f| &f.images)
        .map(|u| {
            let what = match &u.image {
                Image::Literal { text, .. } => text.clone(),
                Image::Unresolved { written, .. } => format!("?{written}"),
            };
            format!("{} {}: {what}", u.line, u.container)
        })
        .collect()
}

fn p(s: &str) -> Platform {
    Platform::parse(s).unwrap()
}

#[test]
fn ecs_task_definitions() {
    let found = read_all("ecs/taskdef-registered.json", None, None).unwrap();
    assert_eq!(
        summary(&found),
        vec!["ecs-fargate orders linux/arm64 ecs/taskdef-registered.json:23"]
    );
    assert_eq!(
        images(&found),
        ["7 orders: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders:latest"]
    );
    assert_eq!(
        summary(&read_all("ecs/taskdef-register.json", None, None).unwrap()),
        vec!["ecs-ec2 billing-batch linux/amd64 ecs/taskdef-register.json:2 (default)"]
    );
}

#[test]
fn cdk_output_with_long_form_intrinsics() {
    let found = read_all("cdk/template.json", None, None).unwrap();
    assert_eq!(
        summary(&found),
        vec!["ecs-fargate ApiTaskDef1A2B3C4D linux/arm64 cdk/template.json:18"]
    );
    assert_eq!(images(&found), ["9 api: ?{Fn::Join: …}"]);
}

#[test]
fn sam_with_short_form_tags_and_globals() {
    let found = read_all("sam/template.yaml", None, None).unwrap();
    assert_eq!(
        summary(&found),
        vec![
            "lambda ThumbnailFunction linux/arm64 sam/template.yaml:14",
            "lambda ReportFunction linux/amd64 sam/template.yaml:38",
        ]
    );
    let Image::Unresolved { why, .. } = &found[0].images[0].image else {
        panic!("{found:?}")
    };
    assert_eq!(
        why,
        "a CloudFormation !Sub value, computed when the stack deploys"
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
fn cloudformation_app_runner_batch_and_ecs_containers() {
    let found = read_all("cfn/services.yaml", None, None).unwrap();
    assert_eq!(
        summary(&found),
        vec![
            "apprunner Web  cfn/services.yaml:3 (default)",
            "batch NightlyFargate linux/arm64 cfn/services.yaml:18",
            "batch NightlyEc2  cfn/services.yaml:19 (default)",
            "ecs-fargate Api linux/amd64 cfn/services.yaml:25 (default)",
        ]
    );
    assert_eq!(found[0].unstated, Some(Unstated::ServiceDefault));
    let catalog = crate::catalog::Catalog::builtin();
    assert_eq!(
        found[0].platforms_with(&catalog, &p("linux/arm64")),
        [p("linux/amd64")],
        "App Runner runs x86-64 whatever the host"
    );
    assert_eq!(
        images(&found),
        [
            "9 service: 123456789012.dkr.ecr.us-east-1.amazonaws.com/web:latest",
            "16 job: 123456789012.dkr.ecr.us-east-1.amazonaws.com/nightly:3",
            "24 job: ?!Sub ${AWS::AccountId}.dkr.ecr.${AWS::Region}.amazonaws.com/nightly:3",
            "31 api: 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:2",
            "33 envoy: public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.6.0-prod",
        ]
    );
}

#[test]
fn kubernetes_directory_selector_affinity_and_cluster_default() {
    let found = read_all("k8s", None, None).unwrap();
    assert_eq!(
        summary(&found),
        vec![
            "kubernetes Deployment/api linux/arm64 k8s/api.yaml:29",
            "kubernetes CronJob/nightly-report linux/amd64,linux/arm64 k8s/report-cron.yaml:17",
        ]
    );
    assert_eq!(
        images(&found),
        [
            "37 api: ghcr.io/acme/api:latest",
            "22 report: ghcr.io/acme/api:latest"
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
fn kubernetes_every_kind_with_a_pod_template_lists_and_every_container() {
    let cluster = [p("linux/amd64"), p("linux/arm64"), p("linux/s390x")];
    let found = read_all("k8s-kinds", None, Some(&cluster)).unwrap();
    assert_eq!(
        summary(&found),
        vec![
            // NotIn [arm64] on a three-architecture cluster.
            "kubernetes DaemonSet/node-agent linux/amd64,linux/s390x k8s-kinds/list.yaml:21",
            // kubernetes.io/os: windows.
            "kubernetes Pod/debug-me windows/amd64 k8s-kinds/list.yaml:34",
            // The v1 workload kind the readers missed.
            "kubernetes ReplicationController/frontend linux/amd64 k8s-kinds/rc.yaml:13",
            // A second term without an arch expression leaves the pod free: the cluster's.
            "kubernetes Rollout/canary linux/amd64,linux/arm64,linux/s390x k8s-kinds/rollout.yaml:1 (default)",
        ]
    );
    assert_eq!(
        images(&found),
        [
            "26 agent: registry.example.com/ops/agent:2.1",
            "37 init container migrate: registry.example.com/app/migrate:1.0",
            "40 app: registry.example.com/app/web:1.0",
            "43 ephemeral container debugger: busybox:1.36",
            "16 php-redis: registry.example.com/guestbook/frontend:v5",
            "22 canary: ?${IMAGE}",
        ]
    );
}

#[test]
fn kubernetes_workloads_count_for_an_image_only_when_they_run_it() {
    // A redis Deployment pinned to amd64 beside the app: it must not add linux/amd64.
    let sel = read_for_image(
        &fixture("k8s-mixed"),
        "k8s-mixed",
        None,
        None,
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/app",
    )
    .unwrap();
    assert_eq!(
        summary(&sel.found),
        ["kubernetes Deployment/app linux/arm64 k8s-mixed/app.yaml:9"]
    );
    assert_eq!(
        sel.ignored,
        [Ignored {
            at: "k8s-mixed/redis.yaml:12".into(),
            resource: "Deployment/redis".into(),
            why: "runs redis:7".into()
        }]
    );
    let e = read_for_image(
        &fixture("k8s-mixed"),
        "k8s-mixed",
        None,
        None,
        "ghcr.io/acme/other",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "k8s-mixed: no workload here runs ghcr.io/acme/other (Deployment/app runs 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1.4, Deployment/redis runs redis:7); name the one that runs this image with `resource: NAME` on the `from:` target"
    );
    // Named with `resource:`, a workload decides whatever it runs.
    let sel = read_for_image(
        &fixture("k8s-mixed"),
        "k8s-mixed",
        Some("redis"),
        None,
        "ghcr.io/acme/other",
    )
    .unwrap();
    assert_eq!(
        summary(&sel.found),
        ["kubernetes Deployment/redis linux/amd64 k8s-mixed/redis.yaml:9"]
    );
}

#[test]
fn compose_platforms() {
    assert_eq!(
        summary(&read_all("compose/compose.yaml", None, None).unwrap()),
        vec![
            "- web linux/amd64 compose/compose.yaml:5",
            "- sidecar linux/arm64 compose/compose.yaml:10",
            "- db  compose/compose.yaml:11",
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
            repo,
        )
        .map(|s| summary(&s.found))
    };
    // `image: REPO:${TAG:-latest}`: the repository matches whatever the tag.
    assert_eq!(
        read_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/app", None).unwrap(),
        vec!["- web linux/amd64 compose/compose.yaml:5"]
    );
    assert_eq!(
        read_image("ghcr.io/acme/sidecar", None).unwrap(),
        vec!["- sidecar linux/arm64 compose/compose.yaml:10"]
    );
    // Named with `resource:`, a service decides whatever its image says.
    assert_eq!(
        read_image("r.example.com/other", Some("sidecar")).unwrap(),
        vec!["- sidecar linux/arm64 compose/compose.yaml:10"]
    );
    // No service runs the image: say so, and how to pick one.
    let e = read_image("r.example.com/other", None)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("compose/compose.yaml: no workload here runs r.example.com/other (web runs 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest, sidecar runs ghcr.io/acme/sidecar:1.2, db runs postgres:16)")
            && e.contains("`resource: NAME`"),
        "{e}"
    );
    // The service that runs it states no platform: compose would run the host's.
    let e = read_image("postgres", None).unwrap_err().to_string();
    assert!(
        e.starts_with("compose/compose.yaml:11: compose service `db` runs postgres:16 but states no `platform:`"),
        "{e}"
    );
    // The same when the service is picked with `resource:` (was: "no container
    // workload found").
    let e = read_image("r.example.com/other", Some("db"))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("compose/compose.yaml:11: compose service `db` runs postgres:16 but states no `platform:`"),
        "{e}"
    );
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

#[test]
fn parse_errors_name_the_file_line_and_column_in_its_own_terms() {
    let env = |_: &str| None;
    let ctx = Context {
        file: "k8s/dup.yaml",
        cluster: None,
        env: &env,
    };
    let e = read_text("kind: Pod\napiVersion: v1\nkind: Deployment\n", &ctx)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "k8s/dup.yaml:3:1: not valid YAML or JSON: the key `kind` appears twice in one mapping; YAML allows each key once, and tools that read this file disagree on which one wins: remove one"
    );
    let e = read_text("image: {{ .Values.image }}\n", &ctx)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("render it first (`helm template … | mpbuild check -`)"),
        "{e}"
    );
}
