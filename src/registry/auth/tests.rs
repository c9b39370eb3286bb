use super::*;
use crate::registry::credentials::Store;
use crate::registry::test_server::{self, Reply, Server, serve, status};
use crate::registry::{Client, Options};

#[test]
fn bearer_and_basic() {
    assert_eq!(
        parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull,push""#
        ),
        Some(Challenge::Bearer {
            realm: "https://auth.docker.io/token".into(),
            service: Some("registry.docker.io".into()),
            scope: Some("repository:library/busybox:pull,push".into()),
            error: None,
        })
    );
    assert_eq!(
        parse_challenge(r#"Basic realm="Registry Realm""#),
        Some(Challenge::Basic {
            realm: Some("Registry Realm".into())
        })
    );
    assert_eq!(
        parse_challenge(r#"bearer realm=https://t.example/token, error="insufficient_scope""#),
        Some(Challenge::Bearer {
            realm: "https://t.example/token".into(),
            service: None,
            scope: None,
            error: Some("insufficient_scope".into()),
        })
    );
    assert_eq!(parse_challenge("Negotiate abc"), None);
    assert_eq!(parse_challenge("Bearer service=x"), None);
}

#[test]
fn credentials_go_to_a_token_realm_only_over_https() {
    let none: &[String] = &[];
    assert!(realm_policy("https", "https://auth.docker.io/token", none).is_ok());
    assert!(realm_policy("http", "https://auth.example/token", none).is_ok());
    // A downgrade is refused, loopback or not.
    let e = realm_policy("https", "http://auth.example/token", none).unwrap_err();
    assert!(e.contains("downgrade"), "{e}");
    assert!(realm_policy("https", "http://127.0.0.1:5001/token", none).is_err());
    // A plain-HTTP registry: loopback or listed token hosts only.
    assert!(realm_policy("http", "http://127.0.0.1:5001/token", none).is_ok());
    assert!(realm_policy("http", "http://auth.lan:5001/token", none).is_err());
    assert!(
        realm_policy(
            "http",
            "http://auth.lan:5001/token",
            &["auth.lan:5001".into()]
        )
        .is_ok()
    );
    assert!(realm_policy("http", "ftp://auth.lan/token", none).is_err());
}

fn upload_through(registry: &Server, repo: &str, store: Store) -> std::sync::Arc<Client> {
    let c = test_server::client(Options::default(), store);
    test_server::plain_http(&c, &registry.addr);
    let repo = Repository::parse(&format!("{}/{repo}", registry.addr)).unwrap();
    let data = b"layer".to_vec();
    let digest = crate::digest::sha256(&data);
    let open = move || -> std::io::Result<Box<dyn std::io::Read + Send>> {
        Ok(Box::new(std::io::Cursor::new(data.clone())))
    };
    c.upload_blob(&repo, &digest, 5, &open).unwrap();
    c
}

/// Storage on another host: records what it gets, accepts every upload.
fn storage() -> Server {
    serve(|_| status(201, &[]))
}

#[test]
fn basic_credentials_stay_on_the_registry_host() {
    let store_at = storage();
    let port = store_at.addr.rsplit_once(':').unwrap().1.to_string();
    let registry = serve(move |r| {
        if r.header("authorization").is_none() {
            return status(401, &[("WWW-Authenticate", r#"Basic realm="test""#)]);
        }
        let location = format!("http://localhost:{port}/upload/1?_state=s");
        status(202, &[("Location", location.as_str())])
    });
    let dir = tempfile::tempdir().unwrap();
    let store = test_server::basic_store(dir.path(), &registry.addr, "u", "secret");
    upload_through(&registry, "app", store);
    let own = registry.requests();
    assert!(
        own.iter().any(|r| r.method == "POST"
            && r.header("authorization")
                .is_some_and(|a| a.starts_with("Basic "))),
        "{own:?}"
    );
    let foreign = store_at.requests();
    assert_eq!(foreign.len(), 1, "{foreign:?}");
    assert_eq!(foreign[0].method, "PUT");
    assert!(
        foreign[0]
            .path
            .starts_with("/upload/1?_state=s&digest=sha256:")
    );
    assert_eq!(foreign[0].header("authorization"), None, "{foreign:?}");
}

#[test]
fn the_bearer_token_stays_on_the_registry_host() {
    let store_at = storage();
    let port = store_at.addr.rsplit_once(':').unwrap().1.to_string();
    let tokens = serve(|_| Reply::Full(200, Vec::new(), br#"{"token":"tok-123"}"#.to_vec()));
    let realm = format!(
        r#"Bearer realm="http://{}/token",service="reg""#,
        tokens.addr
    );
    let registry = serve(move |r| {
        if r.header("authorization") != Some("Bearer tok-123") {
            return status(401, &[("WWW-Authenticate", realm.as_str())]);
        }
        let location = format!("http://localhost:{port}/upload/1");
        status(202, &[("Location", location.as_str())])
    });
    upload_through(&registry, "app", Store::default());
    let foreign = store_at.requests();
    assert_eq!(foreign.len(), 1, "{foreign:?}");
    assert_eq!(foreign[0].header("authorization"), None, "{foreign:?}");
}

#[test]
fn no_credentials_to_a_plain_http_token_service_elsewhere() {
    let registry = serve(|_| {
        status(
            401,
            &[(
                "WWW-Authenticate",
                r#"Bearer realm="http://auth.invalid/token",service="reg""#,
            )],
        )
    });
    let dir = tempfile::tempdir().unwrap();
    let store = test_server::basic_store(dir.path(), &registry.addr, "u", "secret");
    let c = test_server::client(Options::default(), store);
    test_server::plain_http(&c, &registry.addr);
    let r = crate::registry::Reference::parse(&format!("{}/app:v1", registry.addr)).unwrap();
    let err = c.get_manifest(&r).unwrap_err();
    assert!(matches!(err, RegistryError::InsecureAuth { .. }), "{err}");
    assert_eq!(crate::exit::Coded::code(&err), crate::exit::Code::Registry);
    assert!(
        err.to_string().contains("http://auth.invalid/token"),
        "{err}"
    );
}
