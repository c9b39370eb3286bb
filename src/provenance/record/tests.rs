use super::*;
use crate::registry::manifest::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};

pub(crate) fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

/// A record of a two-platform index with a Lambda tag (arm64's manifest) and a Heroku
/// tag (amd64's, converted to Docker media types).
pub(crate) fn predicate() -> Predicate {
    let platform = |p: &str, d: char, by: &[&str]| PlatformRecord {
        platform: p.into(),
        digest: digest(d),
        media_type: OCI_MANIFEST.into(),
        required_by: by.iter().map(|s| s.to_string()).collect(),
        config: p.into(),
        deep: Some(DeepRecord {
            ok: true,
            summary: "/app is an ELF for the platform".into(),
        }),
        smoke: None,
        build: Some(BuildRecord {
            node: Some("default".into()),
            built: "native".into(),
            total_s: 1.5,
            native_s: 1.5,
            emulated_s: 0.0,
            steps: 3,
            cached: 1,
        }),
    };
    let mut arm = platform("linux/arm64", 'b', &["lambda:arm64"]);
    arm.build.as_mut().unwrap().built = "emulated".into();
    arm.smoke = Some(SmokeRecord {
        ok: true,
        exit_code: Some(0),
        duration_s: 2.0,
        native: false,
        node: "default".into(),
        command: vec!["app".into(), "--version".into()],
    });
    Predicate {
        mpbuild: Tool::this(),
        image: "api".into(),
        repository: "registry.example/api".into(),
        digest: digest('a'),
        media_type: OCI_INDEX.into(),
        verified_at: "2026-12-07T10:00:00Z".into(),
        source_commit: Some("3f2a9c1".into()),
        inputs_fingerprint: Some(digest('f')),
        plan_fingerprint: digest('e'),
        builder: Some("default (docker)".into()),
        deep: "entrypoint".into(),
        attestations: "referrers".into(),
        platforms: vec![platform("linux/amd64", 'c', &["heroku"]), arm],
        tags: vec![
            TagRecord {
                tag: "latest".into(),
                digest: digest('a'),
                media_type: OCI_INDEX.into(),
                platform: None,
                service: None,
            },
            TagRecord {
                tag: "v1-lambda".into(),
                digest: digest('b'),
                media_type: OCI_MANIFEST.into(),
                platform: Some("linux/arm64".into()),
                service: Some("lambda:arm64".into()),
            },
            TagRecord {
                tag: "v1-heroku".into(),
                digest: digest('d'),
                media_type: DOCKER_MANIFEST.into(),
                platform: Some("linux/amd64".into()),
                service: Some("heroku".into()),
            },
        ],
    }
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    jsonschema::draft202012::new(&schema).expect("a valid draft 2020-12 schema")
}

#[test]
fn a_record_validates_against_its_schema_and_reads_back() {
    let s = Statement::new(predicate());
    let doc: serde_json::Value = serde_json::from_slice(&s.bytes()).unwrap();
    let errors: Vec<String> = validator()
        .iter_errors(&doc)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{doc:#}");
    assert_eq!(Statement::parse(&s.bytes()).unwrap(), s);
    // The schema's own id is the predicate type.
    let schema: serde_json::Value = serde_json::from_str(SCHEMA).unwrap();
    assert_eq!(schema["$id"], PREDICATE_TYPE);
}

#[test]
fn the_schema_holds_a_record_to_its_fields() {
    let v = validator();
    let good: serde_json::Value =
        serde_json::from_slice(&Statement::new(predicate()).bytes()).unwrap();
    let broken = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut d = good.clone();
        f(&mut d);
        !v.is_valid(&d)
    };
    assert!(broken(
        &|d| d["predicateType"] = "https://slsa.dev/provenance/v1".into()
    ));
    assert!(broken(&|d| {
        d["predicate"].as_object_mut().unwrap().remove("platforms");
    }));
    assert!(broken(
        &|d| d["predicate"]["platforms"][0]["digest"] = "sha256:short".into()
    ));
    assert!(broken(
        &|d| d["predicate"]["platforms"][1]["build"]["built"] = "maybe".into()
    ));
    assert!(broken(
        &|d| d["subject"][0]["digest"] = serde_json::json!({"md5": "00"})
    ));
    assert!(broken(&|d| d["predicate"]["attestations"] = "off".into()));
}

#[test]
fn the_subject_is_the_index_each_platform_and_each_converted_tag_once() {
    let s = Statement::new(predicate());
    let names: Vec<(&str, String)> = s
        .subject
        .iter()
        .map(|x| (x.name.as_str(), x.digest().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("index", digest('a')),
            ("linux/amd64", digest('c')),
            ("linux/arm64", digest('b')),
            ("v1-heroku", digest('d')),
        ]
    );
    assert_eq!(s.subject[3].media_type, DOCKER_MANIFEST);
    assert!(s.names(&digest('b')) && !s.names(&digest('9')));
}

#[test]
fn the_records_artifact_is_found_by_its_listing_alone() {
    let s = Statement::new(predicate());
    let subject = Descriptor {
        media_type: OCI_INDEX.into(),
        digest: digest('a'),
        size: 321,
        platform: None,
        artifact_type: None,
        annotations: Default::default(),
    };
    let a = s.artifact(&subject, &digest('7'), 99);
    let bytes = a.bytes();
    let entry = a.descriptor(&bytes);
    assert!(is_record_entry(&entry), "{entry:?}");
    let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(m["subject"]["size"], 321);
    assert_eq!(
        m["layers"][0]["annotations"][PREDICATE_ANNOTATION],
        PREDICATE_TYPE
    );
    // A buildx attestation, or an in-toto referrer of another predicate, is not one.
    let mut other = entry.clone();
    other.annotations.insert(
        PREDICATE_ANNOTATION.into(),
        "https://slsa.dev/provenance/v1".into(),
    );
    assert!(!is_record_entry(&other));
    other.artifact_type = Some(crate::provenance::BUILDX_ATTESTATION.into());
    assert!(!is_record_entry(&other));
}
