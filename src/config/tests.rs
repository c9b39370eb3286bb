use super::*;

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
        Fixture { dir }
    }

    fn parse(&self, yaml: &str) -> Result<Project, ConfigError> {
        let env = Env {
            host: Platform::linux("arm64", ""),
            var: &|name| (name == "GIT_SHA").then(|| "abc123".to_string()),
            preview: false,
            overrides: &[],
            git: &|_| crate::gitmeta::GitMeta::default(),
        };
        parse(&self.dir.path().join("mpbuild.yaml"), yaml, &env)
    }

    fn err(&self, yaml: &str) -> String {
        let e = self.parse(yaml).expect_err("expected an error");
        let text = e.to_string();
        text.replace(&self.dir.path().display().to_string(), "DIR")
    }
}

const GOOD: &str = r#"version: 1
images:
  api:
    repository: 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api
    tags: [latest, "${GIT_SHA}"]
    build_args: {RUST_VERSION: "1.83", N: 3}
    targets:
      - service: apprunner
      - service: ecs-fargate
        arch: ARM64
      - service: lambda
        arch: arm64
        tag: "${GIT_SHA}-lambda"
      - service: local
      - platform: linux/arm/v7
"#;

#[test]
fn the_issue_example_loads() {
    let f = Fixture::new();
    let p = f.parse(GOOD).unwrap();
    let img = &p.images[0];
    assert_eq!(img.tags, vec!["latest", "abc123"]);
    assert_eq!(img.dockerfile, "Dockerfile");
    assert_eq!(
        img.build_args,
        vec![
            ("RUST_VERSION".into(), "1.83".into()),
            ("N".into(), "3".into())
        ]
    );
    let t: Vec<String> = img
        .targets
        .iter()
        .map(|t| {
            format!(
                "{} {} {:?}",
                t.label(),
                crate::platform::join(&t.platforms),
                t.tag
            )
        })
        .collect();
    assert_eq!(
        t,
        vec![
            "apprunner linux/amd64 None",
            "ecs-fargate linux/arm64 None",
            "lambda linux/arm64 Some(\"abc123-lambda\")",
            "local linux/arm64 None",
            "platform linux/arm/v7 None",
        ]
    );
}

#[test]
fn unknown_service_suggests_and_points_at_it() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace("service: ecs-fargate", "service: ecs-fargte"));
    assert!(
        e.starts_with("unknown service `ecs-fargte`; did you mean `ecs-fargate`?\n"),
        "{e}"
    );
    assert!(e.contains("DIR/mpbuild.yaml:9:18"), "{e}");
    assert!(e.contains("mpbuild targets"), "{e}");
}

#[test]
fn unknown_key_is_an_error_with_location() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace("    tags:", "    tagz:"));
    assert!(e.starts_with("unknown field `tagz`"), "{e}");
    assert!(e.contains("mpbuild.yaml:5:5"), "{e}");
}

#[test]
fn service_that_cannot_run_the_arch_quotes_its_rule() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace(
        "      - service: apprunner\n",
        "      - service: apprunner\n        arch: arm64\n",
    ));
    assert!(e.starts_with("apprunner cannot run linux/arm64"), "{e}");
    assert!(e.contains("AWS App Runner runs linux/amd64"), "{e}");
    assert!(e.contains("apprunner-roadmap/issues/98"), "{e}");
}

#[test]
fn unset_variable_is_named() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace("${GIT_SHA}-lambda", "${BUILD_ID}-lambda"));
    assert!(
        e.starts_with("environment variable `BUILD_ID` is not set"),
        "{e}"
    );
    assert!(e.contains(":13:"), "{e}");
}

#[test]
fn lambda_needs_its_own_tag_and_one_arch() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace("        tag: \"${GIT_SHA}-lambda\"\n", ""));
    assert!(
        e.contains("lambda needs a single-platform image manifest"),
        "{e}"
    );
    let e = f.err(&GOOD.replace(
        "        arch: arm64\n        tag:",
        "        arch: [arm64, x86_64]\n        tag:",
    ));
    assert!(e.contains("lambda takes one architecture per image"), "{e}");
}

#[test]
fn index_service_with_a_tag_is_refused() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace(
        "      - service: apprunner\n",
        "      - service: apprunner\n        tag: x\n",
    ));
    assert!(e.contains("`tag:` is for single-manifest targets"), "{e}");
}

#[test]
fn bad_repository_and_tags() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace("amazonaws.com/api", "amazonaws.com/API"));
    assert!(e.contains("path component `API` is not valid"), "{e}");
    let e = f.err(&GOOD.replace("amazonaws.com/api", "amazonaws.com/api:latest"));
    assert!(e.contains("contains a tag"), "{e}");
    let e = f.err(&GOOD.replace(
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api",
        "http://localhost:5000/api",
    ));
    assert!(
        e.contains("a repository has no scheme; drop `http://`") && !e.contains("contains a tag"),
        "{e}"
    );
    let e = f.err(&GOOD.replace(
        "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/api",
        "localhost:99999/api",
    ));
    assert!(e.contains("not a port number"), "{e}");
    let e = f.err(&GOOD.replace("[latest,", "[-latest,"));
    assert!(e.contains("`-latest` is not a valid tag"), "{e}");
}

#[test]
fn float_build_arg_must_be_quoted() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace("RUST_VERSION: \"1.83\"", "RUST_VERSION: 1.80"));
    assert!(e.contains("quote it"), "{e}");
}

#[test]
fn missing_dockerfile_and_context() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace("    tags:", "    context: nope\n    tags:"));
    assert!(e.contains("build context `nope` is not a directory"), "{e}");
    let e = f.err(&GOOD.replace("    tags:", "    dockerfile: api.Dockerfile\n    tags:"));
    assert!(e.contains("no Dockerfile at `api.Dockerfile`"), "{e}");
}

#[test]
fn project_services_override_the_catalog() {
    let f = Fixture::new();
    let yaml = "version: 1\nservices:\n  edge-box:\n    title: Edge box\n    platforms: [linux/arm64]\nimages:\n  a:\n    repository: r.example.com/a\n    tags: [x]\n    targets:\n      - service: edge-box\n";
    let p = f.parse(yaml).unwrap();
    assert_eq!(
        p.images[0].targets[0].platforms[0].to_string(),
        "linux/arm64"
    );
}

#[test]
fn a_project_entry_overrides_only_the_fields_it_gives() {
    let f = Fixture::new();
    // The map form: lambda gets a note and its arm64 default, keeps everything else.
    let yaml = "version: 1\nservices:\n  lambda:\n    default: [linux/arm64]\n    note: ours\nimages:\n  a:\n    repository: r.example.com/a\n    targets:\n      - service: lambda\n        tag: x-lambda\n";
    let p = f.parse(yaml).unwrap();
    let builtin = crate::catalog::Catalog::builtin();
    let before = builtin.get("lambda").unwrap();
    let after = p.catalog.get("lambda").unwrap();
    assert_eq!(after.note.as_deref(), Some("ours"));
    assert_eq!(
        after.default_platforms(&Platform::linux("amd64", "")),
        vec![Platform::linux("arm64", "")]
    );
    assert_eq!(after.title, before.title);
    assert_eq!(after.manifest, before.manifest);
    assert_eq!(after.sources, before.sources);
    assert_eq!(after.reviewed, before.reviewed);
    assert_eq!(after.arch_aliases, before.arch_aliases);
    assert_eq!(after.origin, crate::catalog::Origin::Project { line: 3 });
    // The target took the overridden default.
    assert_eq!(
        p.images[0].targets[0].platforms,
        vec![Platform::linux("arm64", "")]
    );
}

#[test]
fn services_take_the_catalogs_list_shape() {
    let f = Fixture::new();
    // Entries as in src/catalog/services.yaml: a list with `name:`. An alias names the
    // built-in entry it overrides.
    let yaml = "version: 1\nservices:\n  - name: edge-box\n    title: Edge box\n    platforms: [linux/arm64]\n    manifest: single\n  - name: app-runner\n    status: ours\nimages:\n  a:\n    repository: r.example.com/a\n    tags: [x]\n    targets:\n      - service: edge-box\n        tag: edge\n      - service: apprunner\n";
    let p = f.parse(yaml).unwrap();
    let edge = p.catalog.get("edge-box").unwrap();
    assert_eq!(edge.title, "Edge box");
    assert_eq!(edge.manifest, crate::catalog::ManifestKind::Single);
    let ar = p.catalog.get("apprunner").unwrap();
    assert_eq!(ar.status.as_deref(), Some("ours"));
    assert_eq!(ar.title, "AWS App Runner");
    assert_eq!(
        p.catalog
            .services()
            .iter()
            .filter(|s| s.name == "apprunner")
            .count(),
        1
    );
    // A new service needs platforms; a list entry needs a name.
    let e = f.err(&yaml.replace("    platforms: [linux/arm64]\n", ""));
    assert!(
        e.contains("`edge-box` is not a built-in service, so it needs `platforms:`"),
        "{e}"
    );
    let e = f.err(&yaml.replace("  - name: edge-box\n    title", "  - title"));
    assert!(e.contains("has no `name:`"), "{e}");
    assert!(e.contains("mpbuild.yaml:3:"), "{e}");
}

#[test]
fn discovery_walks_up() {
    let f = Fixture::new();
    std::fs::write(f.dir.path().join(FILE_NAME), GOOD).unwrap();
    let sub = f.dir.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    assert_eq!(
        discover(None, &sub).unwrap(),
        Path::new("../../mpbuild.yaml")
    );
    assert_eq!(
        discover(None, f.dir.path()).unwrap(),
        Path::new("mpbuild.yaml")
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        discover(None, empty.path()),
        Err(ConfigError::NotFound { .. })
    ));
}

#[test]
fn duplicate_tags_across_images() {
    let f = Fixture::new();
    let yaml = "version: 1\nimages:\n  a:\n    repository: r.example.com/x\n    tags: [latest]\n    targets: [{service: apprunner}]\n  b:\n    repository: r.example.com/x\n    tags: [latest]\n    targets: [{service: apprunner}]\n";
    let e = f.err(yaml);
    assert!(
        e.contains("images `a` and `b` both publish r.example.com/x:latest"),
        "{e}"
    );
}

#[test]
fn unknown_keys_and_values_suggest_the_closest_valid_one() {
    let f = Fixture::new();
    let e = f.err(&GOOD.replace("    tags:", "    tagz:"));
    assert!(
        e.starts_with("unknown field `tagz`; did you mean `tags`?"),
        "{e}"
    );
    assert!(
        e.contains("valid here: repository, repositories, context, dockerfile"),
        "{e}"
    );
    let e = f.err(&GOOD.replace("    build_args:", "    buildargs:"));
    assert!(
        e.starts_with("unknown field `buildargs`; did you mean `build_args`?"),
        "{e}"
    );
    let e = f.err(&GOOD.replace(
        "      - platform: linux/arm/v7",
        "      - platfrom: linux/arm/v7",
    ));
    assert!(
        e.starts_with("unknown field `platfrom`; did you mean `platform`?"),
        "{e}"
    );
    let e = f.err(&GOOD.replace("version: 1", "version: 1\nmirrorz: []"));
    assert!(
        e.starts_with("unknown field `mirrorz`; did you mean `mirrors`?"),
        "{e}"
    );
    // Nothing close: no guess, the valid keys still listed.
    let e = f.err(&GOOD.replace("    tags:", "    zzzzzzzz:"));
    assert!(e.starts_with("unknown field `zzzzzzzz`\n"), "{e}");
    assert!(e.contains("valid here: repository"), "{e}");
    // A catalog value: `manifest: singel`.
    let e = f.err(&GOOD.replace(
        "images:",
        "services:\n  - name: box\n    platforms: [linux/amd64]\n    manifest: singel\nimages:",
    ));
    assert!(e.contains("did you mean `single`?"), "{e}");
}

const SMOKE: &str = "version: 1\nimages:\n  a:\n    repository: r.example.com/a\n    tags: [x]\n    targets: [{service: apprunner}, {service: apple-silicon}]\n";

#[test]
fn smoke_shorthand_and_full_form() {
    let f = Fixture::new();
    let p = f
        .parse(&format!("{SMOKE}    smoke: [app, --version, 600]\n"))
        .unwrap();
    let s = p.images[0].smoke.as_ref().unwrap();
    assert_eq!(s.run, vec!["app", "--version", "600"]);
    assert_eq!(s.timeout, SMOKE_TIMEOUT);
    assert!(s.platforms.is_empty() && s.expect.is_none() && s.env.is_empty());
    let p = f
        .parse(&format!(
            "{SMOKE}    smoke:\n      run: [sh, -c, 'echo $HOME']\n      expect: '^v\\d+'\n      timeout: 30s\n      env: {{LOG: debug, N: 3}}\n      platforms: [linux/arm64]\n"
        ))
        .unwrap();
    let s = p.images[0].smoke.as_ref().unwrap();
    assert_eq!(s.run, vec!["sh", "-c", "echo $HOME"]);
    assert_eq!(s.expect.as_deref(), Some("^v\\d+"));
    assert_eq!(s.timeout, std::time::Duration::from_secs(30));
    assert_eq!(
        s.env,
        vec![("LOG".into(), "debug".into()), ("N".into(), "3".into())]
    );
    assert_eq!(s.platforms, vec![Platform::linux("arm64", "")]);
    let p = f
        .parse(&format!("{SMOKE}    smoke: {{run: [true], timeout: 5}}\n"))
        .unwrap();
    assert_eq!(
        p.images[0].smoke.as_ref().unwrap().timeout,
        std::time::Duration::from_secs(5)
    );
    assert!(f.parse(SMOKE).unwrap().images[0].smoke.is_none());
}

#[test]
fn smoke_errors_point_at_the_value() {
    let f = Fixture::new();
    let e = f.err(&format!(
        "{SMOKE}    smoke:\n      run: [app]\n      expect: 'v(1'\n"
    ));
    assert!(
        e.starts_with("`expect:` is not a valid regular expression"),
        "{e}"
    );
    assert!(e.contains("mpbuild.yaml:9:15"), "{e}");
    let e = f.err(&format!(
        "{SMOKE}    smoke:\n      run: [app]\n      tmeout: 5\n"
    ));
    assert!(e.starts_with("unknown field `tmeout`"), "{e}");
    assert!(e.contains("mpbuild.yaml:9:"), "{e}");
    let e = f.err(&format!("{SMOKE}    smoke: []\n"));
    assert!(e.contains("the smoke command is empty"), "{e}");
    assert!(e.contains("mpbuild.yaml:7:"), "{e}");
    let e = f.err(&format!(
        "{SMOKE}    smoke:\n      run: [app]\n      timeout: soon\n"
    ));
    assert!(e.contains("timeout `soon` is not a duration"), "{e}");
    assert!(e.contains("mpbuild.yaml:9:16"), "{e}");
    let e = f.err(&format!(
        "{SMOKE}    smoke:\n      run: [app]\n      platforms: [linux/s390x]\n"
    ));
    assert!(e.contains("not built for linux/s390x"), "{e}");
    assert!(e.contains("mpbuild.yaml:9:19"), "{e}");
    let e = f.err(&format!(
        "{SMOKE}    smoke:\n      run: [app]\n      env: {{1X: y}}\n"
    ));
    assert!(e.contains("`1X` is not a variable name"), "{e}");
    let e = f.err(&format!("{SMOKE}    smoke: [app, 1.50]\n"));
    assert!(e.contains("quote it"), "{e}");
}

#[test]
fn one_tag_for_two_platforms_of_single_manifest_targets() {
    let f = Fixture::new();
    // What `init --service lambda --service lambda:arm64` used to write.
    let yaml = "version: 1\nimages:\n  a:\n    repository: r.example.com/a\n    tags: [latest]\n    targets:\n      - service: lambda\n        tag: latest-lambda\n      - service: lambda\n        arch: arm64\n        tag: latest-lambda\n";
    let e = f.err(yaml);
    assert!(
        e.contains(
            "image `a`: tag `latest-lambda` is given twice, to lambda for linux/amd64 and lambda for linux/arm64 (line 7)"
        ),
        "{e}"
    );
    // file:line:col of the second target.
    assert!(e.contains("DIR/mpbuild.yaml:9:9"), "{e}");
    assert!(e.contains("\"latest-lambda-arm64\""), "{e}");
    // Across services and `platform:` targets too.
    let yaml = "version: 1\nimages:\n  a:\n    repository: r.example.com/a\n    targets:\n      - service: lambda\n        arch: arm64\n        tag: fn\n      - platform: linux/amd64\n        tag: fn\n";
    assert!(f.err(yaml).contains("tag `fn` is given twice"));
    // The same platform under one tag is one manifest: fine…
    let yaml = "version: 1\nimages:\n  a:\n    repository: r.example.com/a\n    targets:\n      - service: lambda\n        arch: arm64\n        tag: fn\n      - platform: linux/arm64\n        tag: fn\n";
    f.parse(yaml).unwrap();
    // …unless one of them needs Docker media types and the other does not.
    let yaml = "version: 1\nimages:\n  a:\n    repository: r.example.com/a\n    targets:\n      - service: lambda\n        tag: fn\n      - service: heroku\n        tag: fn\n";
    let e = f.err(yaml);
    assert!(
        e.contains("to lambda with OCI media types and heroku with Docker"),
        "{e}"
    );
}

#[test]
fn deep_all_and_deep_ignore() {
    let f = Fixture::new();
    let base = "version: 1\nDEEP\nimages:\n  a:\n    repository: r.example.com/a\n    tags: [x]\nIMAGE    targets: [{service: apprunner}]\n";
    let load = |top: &str, image: &str| base.replace("DEEP\n", top).replace("IMAGE", image);
    let img = |top: &str, image: &str| {
        let p = f.parse(&load(top, image)).unwrap();
        let i = &p.images[0];
        (i.deep, i.deep_all, i.deep_ignore.clone())
    };
    assert_eq!(img("", ""), (false, false, vec![]));
    assert_eq!(img("deep: true\n", ""), (true, false, vec![]));
    assert_eq!(img("deep: all\n", ""), (true, true, vec![]));
    assert_eq!(img("", "    deep: entrypoint\n"), (true, false, vec![]));
    assert_eq!(
        img("deep: all\n", "    deep: false\n"),
        (false, false, vec![])
    );
    assert_eq!(
        img(
            "",
            "    deep: all\n    deep_ignore: [/usr/bin/qemu-*, /opt/cross]\n"
        ),
        (
            true,
            true,
            vec!["/usr/bin/qemu-*".to_string(), "/opt/cross".to_string()]
        )
    );
    let e = f.err(&load("deep: everything\n", ""));
    assert!(e.contains("deep: `everything` is not valid"), "{e}");
    assert!(e.contains("mpbuild.yaml:2:7"), "{e}");
    let e = f.err(&load("", "    deep: all\n    deep_ignore: [opt/cross]\n"));
    assert!(e.contains("`opt/cross` is not an absolute path"), "{e}");
    let e = f.err(&load("", "    deep: true\n    deep_ignore: [/opt]\n"));
    assert!(e.contains("`deep_ignore:` goes with `deep: all`"), "{e}");
}

#[test]
fn media_types_docker_for_a_whole_image() {
    let f = Fixture::new();
    let yaml = "version: 1\nimages:\n  a:\n    repository: r.example.com/a\n    tags: [x]\n    MEDIA\n    targets: [{service: apprunner}]\n";
    let p = f
        .parse(&yaml.replace("MEDIA", "media_types: docker"))
        .unwrap();
    assert!(p.images[0].docker_media_types);
    let p = f.parse(&yaml.replace("MEDIA", "media_types: oci")).unwrap();
    assert!(!p.images[0].docker_media_types);
    let e = f.err(&yaml.replace("MEDIA", "media_types: v2"));
    assert!(
        e.contains("unknown media_types `v2`") && e.contains(":6:18"),
        "{e}"
    );
    let e = f.err(&yaml.replace("MEDIA", "media_types: docker\n    attestations: true"));
    assert!(
        e.contains("`attestations: index` cannot go with `media_types: docker`"),
        "{e}"
    );
    let e = f.err(&yaml.replace("MEDIA", "media_types: docker\n    attestations: referrers"));
    assert!(
        e.contains("`attestations: referrers` cannot go with `media_types: docker`")
            && e.contains("only with OCI media types"),
        "{e}"
    );
    // The project-wide default goes where it can: not to an image of Docker media types.
    let p = f
        .parse(&format!(
            "attestations: referrers\n{}",
            yaml.replace("MEDIA", "media_types: docker")
        ))
        .unwrap();
    assert_eq!(p.images[0].attestations, None);
    // …and `off` is fine with it.
    let p = f
        .parse(&yaml.replace("MEDIA", "media_types: docker\n    attestations: off"))
        .unwrap();
    assert_eq!(p.images[0].attestations, Some(AttestationMode::Off));
    let e = f.err(&yaml.replace("MEDIA", "attestations: sometimes"));
    assert!(
        e.contains("attestations: `sometimes` is not valid") && e.contains("`referrers`"),
        "{e}"
    );
}

#[test]
fn a_key_written_twice_is_said_in_the_files_terms() {
    let f = Fixture::new();
    let e = f.err("version: 1\nimages:\n  a:\n    repository: r.example.com/a\n    repository: r.example.com/b\n");
    assert!(
        e.starts_with("the key `repository` appears twice in one mapping"),
        "{e}"
    );
    assert!(e.contains("mpbuild.yaml:5:5"), "{e}");
    assert!(!e.contains("Options"), "{e}");
}

#[test]
fn cache_kinds_and_the_explicit_form() {
    let f = Fixture::new();
    for (kind, cache) in [
        ("registry", Cache::Registry),
        ("gha", Cache::Gha),
        ("local", Cache::Local),
        ("none", Cache::None),
    ] {
        let p = f.parse(&format!("{SMOKE}    cache: {kind}\n")).unwrap();
        assert_eq!(p.images[0].cache, cache, "{kind}");
    }
    assert_eq!(f.parse(SMOKE).unwrap().images[0].cache, Cache::None);
    let p = f
        .parse(&format!(
            "{SMOKE}    cache:\n      from: [\"type=registry,ref=r/x:main\", r/x:pr-1]\n      to: type=registry,ref=r/x:pr-1,mode=max\n"
        ))
        .unwrap();
    assert_eq!(
        p.images[0].cache,
        Cache::Explicit {
            from: vec!["type=registry,ref=r/x:main".into(), "r/x:pr-1".into()],
            to: Some("type=registry,ref=r/x:pr-1,mode=max".into()),
        }
    );
    let e = f.err(&format!("{SMOKE}    cache: s3\n"));
    assert!(e.contains("unknown cache `s3`") && e.contains("gha"), "{e}");
    assert!(e.contains("mpbuild.yaml:"), "{e}");
    let e = f.err(&format!("{SMOKE}    cache: {{}}\n"));
    assert!(e.contains("neither `from:` nor `to:`"), "{e}");
    let e = f.err(&format!(
        "{SMOKE}    cache: {{to: \"type=local,dest=a b\"}}\n"
    ));
    assert!(e.contains("buildx reads it as one argument"), "{e}");
    let e = f.err(&format!("{SMOKE}    cache: {{from: [x], too: y}}\n"));
    assert!(e.contains("too"), "{e}");
}
