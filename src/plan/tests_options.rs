//! Build options from mpbuild.yaml (and `--set`) to the buildx argv, the bake file and
//! the fingerprint.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::config::{Env, Override, parse};

fn load(yaml: &str, overrides: &[&str]) -> Result<(tempfile::TempDir, Project), String> {
    let dir = tempfile::tempdir().unwrap();
    for f in ["Dockerfile", "tools/Dockerfile", "shared/x.txt"] {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "FROM scratch\n").unwrap();
    }
    let overrides: Vec<Override> = overrides
        .iter()
        .map(|o| Override::parse(o).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    let env = Env {
        host: Platform::linux("arm64", ""),
        var: &|n| (n == "TEAM").then(|| "payments".into()),
        preview: false,
        overrides: &overrides,
        git: &|_| crate::gitmeta::GitMeta::default(),
    };
    let path = dir.path().join("mpbuild.yaml");
    let p = parse(&path, yaml, &env).map_err(|e| {
        e.to_string()
            .replace(&dir.path().display().to_string(), "DIR")
    })?;
    Ok((dir, p))
}

fn options() -> Options {
    Options {
        output: Output::PushByDigest,
        work_dir: PathBuf::from("/work"),
        builder: None,
    }
}

const ALL: &str = r#"version: 1
images:
  api:
    repository: r.example.com/api
    tags: [v1]
    ssh: [default]
    contexts:
      base: docker-image://alpine:3.20
      shared: shared
    no_cache: true
    pull: true
    shm_size: 2g
    ulimits: ["nofile=1024:2048"]
    network: none
    add_hosts: {db.lan: 10.0.0.5}
    labels: {org.opencontainers.image.title: api, team: "${TEAM}"}
    annotations: {"index,manifest:org.opencontainers.image.description": "the API", com.example.x: "1"}
    targets: [{service: apple-silicon, arch: [amd64, arm64]}]
"#;

#[test]
fn every_option_is_a_buildx_flag() {
    let (_d, p) = load(ALL, &[]).unwrap();
    let plan = Plan::new(&p, &options());
    assert_eq!(
        crate::shell::join(&plan.images[0].command),
        "docker buildx build --platform linux/amd64,linux/arm64 --file Dockerfile \
         --ssh default --build-context base=docker-image://alpine:3.20 --build-context shared=shared \
         --label org.opencontainers.image.title=api --label team=payments \
         --annotation 'index,manifest:org.opencontainers.image.description=the API' \
         --annotation manifest:com.example.x=1 \
         --shm-size 2g --ulimit nofile=1024:2048 --network none --add-host db.lan=10.0.0.5 \
         --no-cache --pull --provenance=mode=min --sbom=false \
         --metadata-file /work/api.metadata.json --progress=rawjson \
         --output type=image,name=r.example.com/api,push-by-digest=true,name-canonical=true,push=true -- ."
    );
}

#[test]
fn every_option_is_a_bake_attribute() {
    let yaml = format!(
        "{ALL}  web:\n    repository: r.example.com/web\n    tags: [v1]\n    targets: [{{service: apprunner}}]\n"
    );
    let (_d, p) = load(&yaml, &[]).unwrap();
    let plan = Plan::new(&p, &options());
    let t = &plan.bake.as_ref().unwrap().file["target"]["api"];
    assert_eq!(t["ssh"], json!(["default"]));
    assert_eq!(
        t["contexts"],
        json!({"base": "docker-image://alpine:3.20", "shared": "shared"})
    );
    assert_eq!(
        t["labels"],
        json!({"org.opencontainers.image.title": "api", "team": "payments"})
    );
    assert_eq!(
        t["annotations"],
        json!([
            "index,manifest:org.opencontainers.image.description=the API",
            "manifest:com.example.x=1"
        ])
    );
    assert_eq!(t["shm-size"], json!("2g"));
    assert_eq!(t["ulimits"], json!(["nofile=1024:2048"]));
    assert_eq!(t["network"], json!("none"));
    assert_eq!(t["extra-hosts"], json!({"db.lan": "10.0.0.5"}));
    assert_eq!(t["no-cache"], json!(true));
    assert_eq!(t["pull"], json!(true));
    // The web target uses none of them.
    let w = plan.bake.as_ref().unwrap().file["target"]["web"]
        .as_object()
        .unwrap()
        .clone();
    for k in [
        "ssh",
        "contexts",
        "labels",
        "network",
        "no-cache",
        "pull",
        "extra-hosts",
    ] {
        assert!(!w.contains_key(k), "{k}");
    }
    // network and extra-hosts need newer buildx in a bake than the stack's 0.13.
    let (v, why) = needs_version(&plan.bake.as_ref().unwrap().file).unwrap();
    assert_eq!(v, crate::buildx::Version(0, 25, 0));
    assert!(why.contains("add_hosts"), "{why}");
}

#[test]
fn index_annotations_only_where_there_is_an_index() {
    // One platform, no attestations: buildx pushes a plain manifest, no index.
    let yaml = "version: 1\nimages:\n  api:\n    repository: r.example.com/api\n    tags: [v1]\n    attestations: off\n    annotations: {\"index:a\": one, \"index,manifest:b\": two}\n    targets: [{service: apprunner}]\n";
    let (_d, p) = load(yaml, &[]).unwrap();
    let argv = crate::shell::join(&Plan::new(&p, &options()).images[0].command);
    assert!(argv.contains("--annotation manifest:b=two"), "{argv}");
    assert!(!argv.contains("a=one"), "{argv}");
}

#[test]
fn what_changes_the_result_is_in_the_fingerprint_and_what_does_not_is_not() {
    let base = "version: 1\nimages:\n  api:\n    repository: r.example.com/api\n    tags: [v1]\n    targets: [{service: apprunner}]\n";
    let fp = |extra: &str| {
        let (_d, p) = load(&format!("{base}{extra}"), &[]).unwrap();
        Plan::new(&p, &options()).images[0]
            .build_fingerprint
            .clone()
    };
    let plain = fp("");
    for same in [
        "    no_cache: true\n",
        "    pull: true\n",
        "    shm_size: 1g\n",
        "    ulimits: [nproc=100]\n",
    ] {
        assert_eq!(fp(same), plain, "{same}");
    }
    for changed in [
        "    labels: {a: b}\n",
        "    annotations: {a: b}\n",
        "    contexts: {x: shared}\n",
        "    ssh: [default]\n",
        "    network: none\n",
        "    add_hosts: {h: 10.0.0.1}\n",
        "    dockerfile_inline: \"FROM scratch\\n\"\n",
    ] {
        assert_ne!(fp(changed), plain, "{changed}");
    }
    assert_ne!(
        fp("    dockerfile_inline: \"FROM scratch\\n\"\n"),
        fp("    dockerfile_inline: \"FROM busybox\\n\"\n")
    );
}

#[test]
fn an_inline_dockerfile_is_written_for_buildx_build_and_given_to_bake() {
    let yaml = "version: 1\nimages:\n  api:\n    repository: r.example.com/api\n    tags: [v1]\n    dockerfile_inline: |\n      FROM busybox\n      RUN true\n    targets: [{service: apprunner}]\n  web:\n    repository: r.example.com/web\n    tags: [v1]\n    targets: [{service: apprunner}]\n";
    let (_d, p) = load(yaml, &[]).unwrap();
    let plan = Plan::new(&p, &options());
    let api = &plan.images[0];
    assert_eq!(api.dockerfile, "/work/api.Dockerfile");
    assert!(crate::shell::join(&api.command).contains("--file /work/api.Dockerfile"));
    let t = &plan.bake.as_ref().unwrap().file["target"]["api"];
    assert_eq!(t["dockerfile-inline"], json!("FROM busybox\nRUN true\n"));
    assert!(t.get("dockerfile").is_none());
    assert_eq!(
        api.dockerfile_text(Path::new("/nonexistent")).unwrap(),
        "FROM busybox\nRUN true\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let mut o = options();
    o.work_dir = dir.path().to_path_buf();
    let plan = Plan::new(&p, &o);
    write_inline(&plan.images).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("api.Dockerfile")).unwrap(),
        "FROM busybox\nRUN true\n"
    );
}

const LINKED: &str = "version: 1\nimages:\n  api:\n    repository: r.example.com/api\n    tags: [v1]\n    contexts: {tools: \"target:tools\"}\n    targets: [{service: apple-silicon, arch: [amd64, arm64]}]\n  tools:\n    repository: r.example.com/tools\n    context: tools\n    tags: [v1]\n    targets: [{service: apprunner}]\n";

#[test]
fn another_image_as_a_context_is_a_linked_bake_target() {
    let (_d, p) = load(LINKED, &[]).unwrap();
    // api alone still needs bake: `docker buildx build` takes no `target:` context.
    let api = p.images.iter().find(|i| i.name == "api").unwrap();
    let plan = Plan::for_images(&p, &[api], &options());
    let bake = plan
        .bake
        .as_ref()
        .expect("a bake for one image with a target: context");
    let f = &bake.file;
    assert_eq!(f["group"]["default"]["targets"], json!(["api"]));
    assert_eq!(
        f["target"]["api"]["contexts"],
        json!({"tools": "target:api--tools"})
    );
    let linked = &f["target"]["api--tools"];
    // Built for api's platforms, from tools' own context, exporting nothing.
    assert_eq!(linked["platforms"], json!(["linux/amd64", "linux/arm64"]));
    assert_eq!(linked["context"], json!("tools"));
    assert!(linked.get("output").is_none());
    // tools' inputs are api's inputs: its plan rides along for the fingerprint.
    assert_eq!(plan.images[0].linked[0].plan.name, "tools");
    // A leg restricts the linked image to the leg's platform.
    let leg = Plan::leg(&p, &[api], &options(), &[Platform::linux("arm64", "")]);
    let lf = &leg.plan.bake.as_ref().unwrap().file;
    assert_eq!(
        lf["target"]["api--tools"]["platforms"],
        json!(["linux/arm64"])
    );
}

#[test]
fn context_errors_are_located() {
    let unknown = LINKED.replace("target:tools", "target:tool");
    let e = load(&unknown, &[]).unwrap_err();
    assert!(
        e.contains("`target:tool`, but there is no image `tool`"),
        "{e}"
    );
    assert!(e.contains("did you mean `target:tools`?"), "{e}");
    let cycle = LINKED.replace(
        "    context: tools\n",
        "    context: tools\n    contexts: {api: \"target:api\"}\n",
    );
    let e = load(&cycle, &[]).unwrap_err();
    assert!(e.contains("is its own build context through"), "{e}");
    let bad = ALL.replace("shm_size: 2g", "shm_size: 2x");
    let e = load(&bad, &[]).unwrap_err();
    assert!(e.contains("shm_size `2x` is not a size"), "{e}");
    assert!(e.contains("mpbuild.yaml:12:15"), "{e}");
    let both = ALL.replace(
        "    ssh: [default]\n",
        "    ssh: [default]\n    dockerfile: Dockerfile\n    dockerfile_inline: FROM x\n",
    );
    let e = load(&both, &[]).unwrap_err();
    assert!(
        e.contains("both `dockerfile:` and `dockerfile_inline:`"),
        "{e}"
    );
}

#[test]
fn set_overrides_like_bake() {
    let (_d, p) = load(
        ALL,
        &[
            "api.shm_size=4g",
            "*.labels.team=core",
            "api.args.V=2",
            "api.no-cache=false",
            "api.contexts.base=docker-image://busybox:1",
            "api.tags=v2,v3",
        ],
    )
    .unwrap();
    let i = &p.images[0];
    assert_eq!(i.options.shm_size.as_deref(), Some("4g"));
    assert!(i.options.labels.contains(&("team".into(), "core".into())));
    assert_eq!(i.build_args, vec![("V".to_string(), "2".to_string())]);
    assert!(!i.options.no_cache);
    assert_eq!(
        i.options.contexts[0].1,
        crate::config::NamedContext::Image("busybox:1".into())
    );
    assert_eq!(i.tags, vec!["v2", "v3"]);
    // The same rules as a written value.
    let e = load(ALL, &["api.shm_size=lots"]).unwrap_err();
    assert!(e.contains("shm_size `lots` is not a size"), "{e}");
    let e = load(ALL, &["web.pull"]).unwrap_err();
    assert!(
        e.contains("no image matches `web`") && e.contains("images: api"),
        "{e}"
    );
}
