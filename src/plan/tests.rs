use std::path::PathBuf;

use super::bake::relative_to;
use super::*;
use crate::config::{AttestationMode, Env, parse};

fn project(yaml: &str, files: &[&str]) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    for f in files {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "FROM scratch\n").unwrap();
    }
    let env = Env {
        host: Platform::linux("arm64", ""),
        var: &|n| (n == "GIT_SHA").then(|| "abc123".into()),
        preview: false,
        overrides: &[],
        git: &|_| crate::gitmeta::GitMeta::default(),
    };
    let p = parse(&dir.path().join("mpbuild.yaml"), yaml, &env).unwrap();
    (dir, p)
}

fn options(output: Output) -> Options {
    Options {
        output,
        work_dir: PathBuf::from("/work"),
        builder: None,
    }
}

/// The issue's example project (the CLI tests read the same file).
const ISSUE: &str = include_str!("../../tests/fixtures/project/issue-example.yaml");

#[test]
fn union_tags_and_single_manifest_targets() {
    let (_d, p) = project(ISSUE, &["Dockerfile"]);
    let plan = Plan::new(&p, &options(Output::OciLayout));
    let img = &plan.images[0];
    assert_eq!(
        platform::join(&img.platforms),
        "linux/amd64,linux/arm64,linux/arm/v7"
    );
    assert_eq!(img.tags, vec!["latest", "abc123"]);
    assert_eq!(img.single_tags.len(), 1);
    assert_eq!(img.single_tags[0].tag, "abc123-lambda");
    assert_eq!(img.single_tags[0].platform.to_string(), "linux/arm64");
    // Lambda breaks on attestations in an index, apprunner is unconfirmed: referrers.
    assert_eq!(img.attestations_mode, AttestationMode::Referrers);
    assert!(img.attestations, "{}", img.attestations_reason);
    assert!(img.attestations_reason.contains("apprunner"));
    assert!(plan.bake.is_none());
}

#[test]
fn exact_argv_for_the_docker_driver() {
    let (_d, p) = project(ISSUE, &["Dockerfile"]);
    let plan = Plan::new(&p, &options(Output::OciLayout));
    assert_eq!(
        crate::shell::join(&plan.images[0].command),
        "docker buildx build --platform linux/amd64,linux/arm64,linux/arm/v7 --file Dockerfile \
             --build-arg RUST_VERSION=1.83 --provenance=mode=min --sbom=false \
             --metadata-file /work/api.metadata.json --progress=rawjson \
             --output type=oci,tar=false,dest=/work/api -- ."
    );
}

#[test]
fn exact_argv_for_push_by_digest_with_cache_and_builder() {
    let yaml = "version: 1\nimages:\n  web:\n    repository: ghcr.io/acme/web\n    context: web\n    stage: runtime\n    cache: registry\n    secrets: [\"id=npm,env=NPM_TOKEN\"]\n    tags: [latest]\n    targets:\n      - service: gke\n        arch: [amd64, arm64]\n";
    let (_d, p) = project(yaml, &["web/Dockerfile"]);
    let mut o = options(Output::PushByDigest);
    o.builder = Some("acme".into());
    let plan = Plan::new(&p, &o);
    let img = &plan.images[0];
    // gke says `attestations: ok`, but no source confirms it: referrers.
    assert_eq!(img.attestations_mode, AttestationMode::Referrers);
    assert_eq!(
        img.attestations_reason,
        "referrers of each platform manifest, out of the index (gke: not confirmed to accept attestation manifests)"
    );
    assert_eq!(
        crate::shell::join(&img.command),
        "docker buildx build --builder acme --platform linux/amd64,linux/arm64 --file web/Dockerfile \
             --target runtime --secret id=npm,env=NPM_TOKEN --provenance=mode=min --sbom=false \
             --cache-from type=registry,ref=ghcr.io/acme/web:buildcache-linux-amd64 \
             --cache-from type=registry,ref=ghcr.io/acme/web:buildcache-linux-arm64 \
             --cache-from type=registry,ref=ghcr.io/acme/web:buildcache \
             --cache-to type=registry,ref=ghcr.io/acme/web:buildcache,mode=max,ignore-error=true \
             --metadata-file /work/web.metadata.json --progress=rawjson \
             --output type=image,name=ghcr.io/acme/web,push-by-digest=true,name-canonical=true,push=true -- web"
    );
}

/// Each leg writes its own platform's cache (legs on separate runners no longer
/// overwrite one ref) and reads every ref; where the cache lives is not part of what
/// the build makes, so it changes no fingerprint.
#[test]
fn legs_write_their_own_platform_cache() {
    let yaml = "version: 1\nimages:\n  web:\n    repository: ghcr.io/acme/web\n    cache: registry\n    tags: [latest]\n    targets:\n      - service: gke\n        arch: [amd64, arm64]\n";
    let (_d, p) = project(yaml, &["Dockerfile"]);
    let o = options(Output::PushByDigest);
    let images: Vec<&crate::config::Image> = p.images.iter().collect();
    let writes = |platform: &str| {
        let leg = Plan::leg(&p, &images, &o, &[Platform::parse(platform).unwrap()]);
        let argv = &leg.plan.images[0].command;
        let at = argv.iter().position(|a| a == "--cache-to").unwrap();
        let reads = argv.iter().filter(|a| *a == "--cache-from").count();
        (
            argv[at + 1].clone(),
            reads,
            leg.plan.images[0].fingerprint.clone(),
        )
    };
    let (amd, amd_reads, amd_fp) = writes("linux/amd64");
    let (arm, arm_reads, arm_fp) = writes("linux/arm64");
    assert_eq!(
        amd,
        "type=registry,ref=ghcr.io/acme/web:buildcache-linux-amd64,mode=max,ignore-error=true"
    );
    assert_eq!(
        arm,
        "type=registry,ref=ghcr.io/acme/web:buildcache-linux-arm64,mode=max,ignore-error=true"
    );
    assert_eq!((amd_reads, arm_reads), (2, 2));
    let full = Plan::new(&p, &o);
    assert_eq!(amd_fp, full.images[0].fingerprint);
    assert_eq!(arm_fp, full.images[0].fingerprint);
    let none = project(
        &yaml.replace("cache: registry", "cache: none"),
        &["Dockerfile"],
    )
    .1;
    assert_eq!(
        Plan::new(&none, &o).images[0].build_fingerprint,
        full.images[0].build_fingerprint
    );
}

#[test]
fn attestations_in_the_index_only_where_every_target_is_confirmed_else_referrers() {
    let mode = |project_default: &str, image: &str, targets: &str| {
        let yaml = format!(
            "version: 1\n{project_default}images:\n  web:\n    repository: r.example.com/web\n    tags: [v1]\n{image}    targets: {targets}\n"
        );
        let (_d, p) = project(&yaml, &["Dockerfile"]);
        let plan = Plan::new(&p, &options(Output::PushByDigest));
        let img = &plan.images[0];
        assert_eq!(
            img.attestations,
            img.attestations_mode != AttestationMode::Off
        );
        (img.attestations_mode, img.attestations_reason.clone())
    };
    let on = |targets: &str| mode("", "", targets);
    // ok and confirmed with a source: in the index.
    assert_eq!(
        on("[{service: cloud-run}, {service: apple-silicon}, {service: local}]"),
        (
            AttestationMode::Index,
            "index: every target is confirmed to accept attestation manifests in an index".into()
        )
    );
    // ok but unconfirmed counts as unconfirmed: referrers, not nothing.
    assert_eq!(
        on("[{service: cloud-run}, {service: ecs-fargate}]"),
        (
            AttestationMode::Referrers,
            "referrers of each platform manifest, out of the index (ecs-fargate: not confirmed to accept attestation manifests)".into()
        )
    );
    // unknown, break and unconfirmed are all named, once each.
    let (m, why) = on(
        "[{service: eks}, {service: apprunner}, {service: lambda, tag: l}, {service: eks, arch: arm64}]",
    );
    assert_eq!(m, AttestationMode::Referrers);
    assert_eq!(
        why,
        "referrers of each platform manifest, out of the index (eks: not confirmed to accept attestation manifests; apprunner: not confirmed to accept attestation manifests; lambda breaks on attestation manifests)"
    );
    // A project override that confirms the fact puts them in the index.
    let yaml = "version: 1\nservices:\n  ecs-fargate:\n    platforms: [linux/amd64, linux/arm64]\n    attestations: ok\n    confirmed: [attestations]\n    sources: [{url: 'https://example.com/ours', for: [attestations, platforms]}]\nimages:\n  web:\n    repository: r.example.com/web\n    tags: [v1]\n    targets: [{service: ecs-fargate}]\n";
    let (_d, p) = project(yaml, &["Dockerfile"]);
    assert_eq!(
        Plan::new(&p, &options(Output::PushByDigest)).images[0].attestations_mode,
        AttestationMode::Index
    );
    // Written: the image's choice over the project's, booleans as before.
    let lambda = "[{service: lambda, tag: l}]";
    assert_eq!(
        mode("attestations: off\n", "", lambda),
        (AttestationMode::Off, "off: set in the project file".into())
    );
    assert_eq!(
        mode(
            "attestations: off\n",
            "    attestations: referrers\n",
            lambda
        )
        .0,
        AttestationMode::Referrers
    );
    assert_eq!(
        mode("", "    attestations: true\n", lambda).0,
        AttestationMode::Index
    );
    assert_eq!(
        mode("", "    attestations: false\n", lambda).0,
        AttestationMode::Off
    );
    // The mode is part of what the plan promises (legs and merge agree on it).
    let fp = |m: &str| {
        let yaml = format!(
            "version: 1\nimages:\n  web:\n    repository: r.example.com/web\n    tags: [v1]\n    attestations: {m}\n    targets: [{{service: cloud-run}}]\n"
        );
        let (_d, p) = project(&yaml, &["Dockerfile"]);
        Plan::new(&p, &options(Output::PushByDigest)).images[0]
            .fingerprint
            .clone()
    };
    assert_ne!(fp("index"), fp("referrers"));
    assert_ne!(fp("index"), fp("off"));
}

#[test]
fn docker_media_types_for_heroku_and_for_a_whole_image() {
    let yaml = "version: 1\nimages:\n  web:\n    repository: r.example.com/web\n    tags: [v1]\n    targets:\n      - service: cloud-run\n      - service: heroku\n        tag: v1-heroku\n      - service: lambda\n        tag: v1-lambda\n";
    let (_d, p) = project(yaml, &["Dockerfile"]);
    let plan = Plan::new(&p, &options(Output::PushByDigest));
    let img = &plan.images[0];
    let singles: Vec<(&str, bool)> = img
        .single_tags
        .iter()
        .map(|s| (s.tag.as_str(), s.docker))
        .collect();
    assert_eq!(singles, vec![("v1-heroku", true), ("v1-lambda", false)]);
    assert!(!img.docker_media_types);
    assert!(!crate::shell::join(&img.command).contains("oci-mediatypes"));
    // The whole image: buildx writes Docker media types when pushing by digest…
    let yaml = yaml.replace(
        "    tags: [v1]\n",
        "    tags: [v1]\n    media_types: docker\n",
    );
    let (_d, p) = project(&yaml, &["Dockerfile"]);
    let plan = Plan::new(&p, &options(Output::PushByDigest));
    let img = &plan.images[0];
    assert!(img.docker_media_types);
    assert!(img.single_tags.iter().all(|s| s.docker));
    assert!(!img.attestations);
    assert_eq!(img.attestations_mode, AttestationMode::Off);
    assert!(img.attestations_reason.contains("media_types: docker"));
    assert!(
            crate::shell::join(&img.command).contains(
                "--output type=image,name=r.example.com/web,push-by-digest=true,name-canonical=true,push=true,oci-mediatypes=false"
            ),
            "{}",
            crate::shell::join(&img.command)
        );
    // …and the OCI layout of the docker driver is converted at upload.
    let plan = Plan::new(&p, &options(Output::OciLayout));
    assert!(plan.images[0].docker_media_types);
    assert!(!crate::shell::join(&plan.images[0].command).contains("oci-mediatypes"));
}

#[test]
fn several_images_make_one_bake_file() {
    let yaml = "version: 1\nimages:\n  api:\n    repository: r.example.com/api\n    context: api\n    dockerfile: docker/api.Dockerfile\n    build_args: {A: b}\n    tags: [v1]\n    targets: [{service: apprunner}]\n  worker:\n    repository: r.example.com/worker\n    context: worker\n    tags: [v1]\n    targets: [{service: apple-silicon, arch: [amd64, arm64]}]\n";
    let (_d, p) = project(
        yaml,
        &["docker/api.Dockerfile", "api/main.go", "worker/Dockerfile"],
    );
    let plan = Plan::new(&p, &options(Output::OciLayout));
    let bake = plan.bake.as_ref().unwrap();
    assert_eq!(
        crate::shell::join(&bake.command),
        "docker buildx bake --file /work/bake.json --metadata-file /work/bake.metadata.json --progress=rawjson"
    );
    let f = &bake.file;
    assert_eq!(f["group"]["default"]["targets"], json!(["api", "worker"]));
    assert_eq!(
        f["target"]["api"]["dockerfile"],
        json!("../docker/api.Dockerfile")
    );
    assert_eq!(f["target"]["api"]["args"], json!({"A": "b"}));
    // apprunner is not confirmed to accept attestations in an index: they are made,
    // and go to referrers.
    assert_eq!(
        f["target"]["api"]["attest"],
        json!(["type=provenance,mode=min", "type=sbom,disabled=true"])
    );
    assert_eq!(f["target"]["worker"]["dockerfile"], json!("Dockerfile"));
    assert_eq!(
        f["target"]["worker"]["platforms"],
        json!(["linux/amd64", "linux/arm64"])
    );
    assert_eq!(
        f["target"]["worker"]["attest"],
        json!(["type=provenance,mode=min", "type=sbom,disabled=true"])
    );
    assert_eq!(
        f["target"]["worker"]["output"],
        json!(["type=oci,tar=false,dest=/work/worker"])
    );
    assert_eq!(plan.commands().len(), 1);
}

#[test]
fn local_builds_load_the_host_platform_under_a_local_name() {
    let (_d, p) = project(ISSUE, &["Dockerfile"]);
    let plan = Plan::new(&p, &options(Output::OciLayout));
    let argv = plan.images[0].local_argv(&[Platform::linux("arm64", "")]);
    assert_eq!(
        crate::shell::join(&argv),
        "docker buildx build --platform linux/arm64 --file Dockerfile --build-arg RUST_VERSION=1.83 \
             --progress=rawjson --provenance=false --load --tag localhost/api:linux-arm64 -- ."
    );
    let two = [Platform::linux("amd64", ""), Platform::linux("arm", "v7")];
    assert_eq!(
        plan.images[0].local_name(&two),
        "localhost/api:linux-amd64_linux-arm-v7"
    );
}

#[test]
fn relative_paths_for_bake() {
    assert_eq!(relative_to("Dockerfile", "."), "Dockerfile");
    assert_eq!(relative_to("api/Dockerfile", "api"), "Dockerfile");
    assert_eq!(
        relative_to("docker/x.Dockerfile", "api"),
        "../docker/x.Dockerfile"
    );
    assert_eq!(relative_to("./a/b/Dockerfile", "a/c"), "../b/Dockerfile");
}

#[test]
fn annotations_go_before_the_end_of_options() {
    let (_d, p) = project(
        "version: 1\nimages:\n  api:\n    repository: r.example/api\n    tags: [latest]\n    targets: [{service: apprunner}, {service: apple-silicon}]\n",
        &["Dockerfile"],
    );
    let mut plan = Plan::new(&p, &options(Output::PushByDigest));
    plan.annotate("api", "dev.mpbuild.inputs", "sha256:x");
    let argv = &plan.images[0].command;
    assert_eq!(
        argv[argv.len() - 4..],
        [
            "--annotation",
            "index:dev.mpbuild.inputs=sha256:x",
            "--",
            "."
        ]
    );
}
