use super::*;
use crate::platform::Platform;

fn host() -> Platform {
    Platform::linux("arm64", "")
}

#[test]
fn builtin_catalog_loads_and_covers_the_required_services() {
    let c = Catalog::builtin();
    for name in [
        "apprunner",
        "ecs-fargate",
        "ecs-ec2",
        "eks",
        "kubernetes",
        "lambda",
        "batch",
        "elastic-beanstalk",
        "cloud-run",
        "gke",
        "gke-autopilot",
        "azure-container-apps",
        "azure-app-service",
        "azure-container-instances",
        "fly",
        "heroku",
        "raspberry-pi",
        "local",
        "apple-silicon",
        "ecs-express",
        "eks-fargate",
        "aks",
        "azure-functions",
        "lightsail",
        "scaleway",
        "jetson",
        "ecs-fargate-windows",
        "aci-windows",
        "app-service-windows",
    ] {
        let s = c.get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert!(!s.sources.is_empty(), "{name} has no source");
    }
}

#[test]
fn every_builtin_entry_is_sourced_and_reviewed() {
    let c = Catalog::builtin();
    let mut problems = Vec::new();
    for s in c.services() {
        for m in s.unsourced() {
            problems.push(format!("{}: no source for {m}", s.name));
        }
        if s.reviewed.is_none() {
            problems.push(format!("{}: no `reviewed:` date", s.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_source_check_catches_what_it_should() {
    let raw: RawService = serde_saphyr::from_str(
            "platforms: [linux/amd64, linux/arm64]\nconfirmed: [platforms, manifest]\nsources:\n  - {url: 'https://a.example', for: [linux/amd64]}\n  - https://b.example\n",
        )
        .unwrap();
    let s = raw.into_service("x", Origin::Builtin).unwrap();
    assert_eq!(
        s.unsourced(),
        vec!["runs linux/arm64", "confirmed manifest"]
    );
    assert_eq!(
        s.source_urls(),
        vec!["https://a.example", "https://b.example"]
    );
    let raw: RawService = serde_saphyr::from_str(
        "platforms: any\nsources: [{url: 'https://a.example', for: [platforms]}]\n",
    )
    .unwrap();
    assert!(
        raw.into_service("x", Origin::Builtin)
            .unwrap()
            .unsourced()
            .is_empty()
    );
    let bad: RawService = serde_saphyr::from_str(
        "platforms: [linux/amd64]\nsources: [{url: 'https://a.example', for: [vibes]}]\n",
    )
    .unwrap();
    let e = bad.into_service("x", Origin::Builtin).unwrap_err();
    assert!(e.contains("`vibes` is neither a fact"), "{e}");
    for date in ["2026-13-01", "yesterday", "2026-1-1"] {
        let bad: RawService =
            serde_saphyr::from_str(&format!("platforms: [linux/amd64]\nreviewed: {date}\n"))
                .unwrap();
        assert!(bad.into_service("x", Origin::Builtin).is_err(), "{date}");
    }
}

#[test]
fn catalog_review_2026_11() {
    let c = Catalog::builtin();
    let amd64 = Platform::linux("amd64", "");
    let arm64 = Platform::linux("arm64", "");
    let win = Platform::parse("windows/amd64").unwrap();
    let apprunner = c.get("apprunner").unwrap();
    assert!(apprunner.status.as_deref().unwrap().contains("2026-04-30"));
    assert!(apprunner.source_urls().contains(
        &"https://docs.aws.amazon.com/apprunner/latest/dg/apprunner-availability-change.html"
    ));
    let express = c.get("ecs-express").unwrap();
    assert_eq!(express.default_platforms(&host()), vec![amd64.clone()]);
    assert_eq!(express.parse_arch("ARM64").unwrap(), arm64);
    assert!(!express.is_confirmed(Fact::Platforms));
    assert_eq!(express.attestations, Attestations::Unknown);
    for alias in ["cloud-run-jobs", "cloud-run-worker-pools"] {
        assert_eq!(c.get(alias).unwrap().name, "cloud-run");
    }
    assert!(!c.get("eks-fargate").unwrap().can_run(&arm64, &host()));
    assert!(
        c.get("eks")
            .unwrap()
            .note
            .as_deref()
            .unwrap()
            .contains("general-purpose")
    );
    let heroku = c.get("heroku").unwrap();
    assert_eq!(heroku.media_types, Some(MediaTypes::Docker));
    assert!(heroku.is_confirmed(Fact::MediaTypes));
    assert_eq!(heroku.parse_arch("fir").unwrap(), arm64);
    assert_eq!(heroku.default_platforms(&host()), vec![amd64.clone()]);
    assert!(c.get("aks").unwrap().can_run(&arm64, &host()));
    for name in ["azure-functions", "lightsail", "scaleway"] {
        let s = c.get(name).unwrap();
        assert!(
            s.can_run(&amd64, &host()) && !s.can_run(&arm64, &host()),
            "{name}"
        );
    }
    let jetson = c.get("jetson").unwrap();
    assert_eq!(jetson.default_platforms(&host()), vec![arm64.clone()]);
    assert!(jetson.note.as_deref().unwrap().contains("L4T"));
    for name in ["ecs-fargate-windows", "aci-windows", "app-service-windows"] {
        let s = c.get(name).unwrap();
        assert_eq!(s.default_platforms(&host()), vec![win.clone()], "{name}");
        assert!(!s.can_run(&amd64, &host()), "{name}");
        assert_eq!(s.parse_arch("amd64").unwrap(), win, "{name}");
        assert!(s.note.as_deref().unwrap().contains("os.version"), "{name}");
    }
    assert_eq!(
        c.get("ecs-windows").unwrap().parse_arch("X86_64").unwrap(),
        win
    );
}

#[test]
fn new_entries_keep_attestations_off_unless_confirmed() {
    // The rule: attestations go on only where every target is confirmed to take
    // them. Entries added from the 2026-11 review say `unknown` unless confirmed.
    let c = Catalog::builtin();
    for name in [
        "ecs-express",
        "eks-fargate",
        "aks",
        "azure-functions",
        "lightsail",
        "scaleway",
        "jetson",
        "ecs-fargate-windows",
        "aci-windows",
        "app-service-windows",
    ] {
        let s = c.get(name).unwrap();
        assert!(
            s.attestations != Attestations::Ok || s.is_confirmed(Fact::Attestations),
            "{name}"
        );
    }
}

#[test]
fn facts_from_research() {
    let c = Catalog::builtin();
    let amd64 = Platform::linux("amd64", "");
    let arm64 = Platform::linux("arm64", "");
    let apprunner = c.get("apprunner").unwrap();
    assert!(apprunner.can_run(&amd64, &host()));
    assert!(!apprunner.can_run(&arm64, &host()));
    let lambda = c.get("lambda").unwrap();
    assert_eq!(lambda.manifest, ManifestKind::Single);
    assert_eq!(lambda.default_platforms(&host()), vec![amd64.clone()]);
    assert_eq!(lambda.parse_arch("arm64").unwrap(), arm64);
    assert_eq!(lambda.parse_arch("x86_64").unwrap(), amd64);
    let fargate = c.get("ecs-fargate").unwrap();
    assert_eq!(fargate.parse_arch("ARM64").unwrap(), arm64);
    assert_eq!(fargate.parse_arch("X86_64").unwrap(), amd64);
    let pi = c.get("raspberry-pi").unwrap();
    assert_eq!(pi.parse_arch("armv7").unwrap().to_string(), "linux/arm/v7");
    assert_eq!(pi.parse_arch("32-bit").unwrap().to_string(), "linux/arm/v7");
    assert!(!pi.can_run(&amd64, &host()));
    let local = c.get("local").unwrap();
    assert_eq!(local.default_platforms(&host()), vec![arm64.clone()]);
    assert_eq!(local.default_platforms(&amd64), vec![amd64.clone()]);
    let k8s = c.get("kubernetes").unwrap();
    assert!(k8s.can_run(&Platform::linux("s390x", ""), &host()));
    assert!(!c.get("cloud-run").unwrap().can_run(&arm64, &host()));
    assert!(!c.get("apprunner").unwrap().is_confirmed(Fact::Manifest));
}

#[test]
fn lookup_by_alias_and_suggestions() {
    let c = Catalog::builtin();
    assert_eq!(c.get("App-Runner").unwrap().name, "apprunner");
    assert_eq!(c.get("k8s").unwrap().name, "kubernetes");
    assert_eq!(c.suggest("ecs-fargte"), Some("ecs-fargate"));
    assert_eq!(c.suggest("lamda"), Some("lambda"));
    assert_eq!(c.suggest("cloudrun2"), Some("cloud-run"));
    assert_eq!(c.suggest("zzzzzzzzzzzzzz"), None);
}

#[test]
fn project_entries_override() {
    let mut c = Catalog::builtin();
    let raw: RawService =
        serde_saphyr::from_str("platforms: [linux/arm64]\nmanifest: single\n").unwrap();
    c.insert(
        raw.into_service("apprunner", Origin::Project { line: 3 })
            .unwrap(),
    );
    let s = c.get("apprunner").unwrap();
    assert!(s.can_run(&Platform::linux("arm64", ""), &host()));
    assert_eq!(s.origin, Origin::Project { line: 3 });
    let bad: RawService =
        serde_saphyr::from_str("platforms: [linux/arm64]\ndefault: [linux/amd64]\n").unwrap();
    assert!(bad.into_service("x", Origin::Builtin).is_err());
}

#[test]
fn the_embedded_json_says_what_the_yaml_says() {
    // The binary parses the JSON `build.rs` makes from services.yaml; a YAML scalar that
    // changed type on the way (a date, a number, `no`) would show here.
    let from_yaml: BuiltinFile = serde_saphyr::from_str(BUILTIN_YAML).unwrap();
    let from_json = Catalog::builtin_raw();
    assert_eq!(from_yaml.services.len(), from_json.len());
    assert!(from_json.len() > 20);
    for (y, j) in from_yaml.services.iter().zip(&from_json) {
        assert_eq!(format!("{y:?}"), format!("{j:?}"));
    }
}

#[test]
fn a_clouds_name_suggests_its_services_not_the_closest_spelling() {
    let c = Catalog::builtin();
    let google = c.did_you_mean("gcr");
    assert!(
        google.contains("`cloud-run`") && google.contains("`gke`"),
        "{google}"
    );
    assert!(!google.contains("ecs-fargate"), "{google}");
    assert_eq!(c.did_you_mean("GCP"), google);
    assert_eq!(c.did_you_mean("lamda"), "; did you mean `lambda`?");
    assert_eq!(c.did_you_mean("zzzzzzzzzzzzzz"), "");
}
