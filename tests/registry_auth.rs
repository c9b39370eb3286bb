//! The registry client and `mpbuild verify` against real registries the tests start:
//! Basic auth (htpasswd), Bearer tokens from a token server the test runs, TLS with a
//! private CA, credentials from config.json and from a credential helper (one that
//! hangs is cut off), plain HTTP to a registry named with its port. Registries that
//! misbehave (die mid-way, serve tampered content): tests/registry_faults.rs.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use common::run::mpbuild_with_credentials as mpbuild;
use common::tls::{openssl, private_ca};
use common::{Stack, text};
use mpbuild::registry::credentials::Store;
use mpbuild::registry::{self, Client, Placed, Reference, Repository};

const USER: &str = "ci-user";
const PASS: &str = "s3cret-Pa55word";

fn htpasswd(dir: &Path) -> PathBuf {
    let out = Command::new("htpasswd")
        .args(["-Bbn", USER, PASS])
        .output()
        .expect("htpasswd (apache2-utils)");
    assert!(out.status.success());
    let p = dir.join("htpasswd");
    std::fs::write(&p, out.stdout).unwrap();
    p
}

/// A self-signed certificate (signs tokens).
fn cert(dir: &Path) -> (PathBuf, PathBuf) {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        None,
    );
    (cert, key)
}

/// A client with Docker credentials read from `docker_config` (a directory).
fn client(docker_config: &Path, ca: Option<&Path>) -> std::sync::Arc<Client> {
    Client::with_store(
        registry::Options {
            ca_file: ca.map(Path::to_path_buf),
            retry: registry::Retry {
                attempts: 2,
                first_delay: Duration::from_millis(50),
                max_total: Duration::from_secs(5),
            },
            ..registry::Options::default()
        },
        Store::from_dir(docker_config).unwrap(),
    )
}

fn docker_config_with_auths(dir: &Path, registry: &str) -> PathBuf {
    let cfg = dir.join("docker-auths");
    std::fs::create_dir_all(&cfg).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
    std::fs::write(
        cfg.join("config.json"),
        format!(r#"{{"auths":{{"{registry}":{{"auth":"{auth}"}}}}}}"#),
    )
    .unwrap();
    cfg
}

/// Uploads a small linux/amd64 image (one layer holding a real x86-64 busybox) as
/// `REPO:v1` with the client's write side: blob upload, mount, manifest PUTs.
fn push_image(stack: &Stack, client: &Client, registry: &str) -> String {
    let repo = Repository::parse(&format!("{registry}/team/app")).unwrap();
    let mut tar = tar::Builder::new(Vec::new());
    let busybox = std::fs::read(stack.busybox("amd64")).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_size(busybox.len() as u64);
    h.set_mode(0o755);
    tar.append_data(&mut h, "bin/busybox", &busybox[..])
        .unwrap();
    let layer = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&tar.into_inner().unwrap()).unwrap();
        e.finish().unwrap()
    };
    let config = br#"{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/busybox"]},"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    for blob in [&layer, &config] {
        let digest = mpbuild::digest::sha256(blob);
        let data = blob.clone();
        let open = move || -> std::io::Result<Box<dyn Read + Send>> {
            Ok(Box::new(std::io::Cursor::new(data.clone())))
        };
        client
            .upload_blob(&repo, &digest, blob.len() as u64, &open)
            .unwrap();
        assert!(client.blob_exists(&repo, &digest, false).unwrap());
    }
    // Mount into another repository of the same registry.
    let other = Repository::parse(&format!("{registry}/team/copy")).unwrap();
    assert!(matches!(
        client
            .place_blob(&other, &mpbuild::digest::sha256(&layer), [&repo])
            .unwrap(),
        Placed::Mounted
    ));
    // A mount from a repository without the blob is declined; the session the
    // registry opened instead takes the blob.
    let extra = b"a blob only the session brings".to_vec();
    let extra_digest = mpbuild::digest::sha256(&extra);
    let empty = Repository::parse(&format!("{registry}/team/empty")).unwrap();
    let Placed::Upload(session) = client.place_blob(&other, &extra_digest, [&empty]).unwrap()
    else {
        panic!("a mount of a blob the source lacks was not declined")
    };
    let data = extra.clone();
    let open = move || -> std::io::Result<Box<dyn Read + Send>> {
        Ok(Box::new(std::io::Cursor::new(data.clone())))
    };
    client
        .finish_upload(&other, &session, &extra_digest, extra.len() as u64, &open)
        .unwrap();
    assert!(client.blob_exists(&other, &extra_digest, false).unwrap());
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": mpbuild::digest::sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": mpbuild::digest::sha256(&layer), "size": layer.len()}],
    })
    .to_string();
    let md = client
        .put_manifest(
            &repo,
            &mpbuild::digest::sha256(manifest.as_bytes()),
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        )
        .unwrap();
    client
        .put_manifest(
            &repo,
            "v1",
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes(),
        )
        .unwrap();
    let r = Reference::parse(&format!("{repo}:v1")).unwrap();
    let fetched = client.get_manifest(&r).unwrap();
    assert_eq!(fetched.digest, md);
    format!("{repo}:v1")
}

#[test]
fn basic_auth_with_config_json_auths() {
    let Some(stack) = common::stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: test\n    path: {}",
        htpasswd(dir.path()).display()
    );
    let reg = stack.start_registry(&auth, None);
    let cfg = docker_config_with_auths(dir.path(), &reg.addr);
    let image = push_image(&stack, &client(&cfg, None), &reg.addr);

    let out = mpbuild(
        &stack,
        &cfg,
        None,
        &[
            "verify",
            &image,
            "--target",
            "apprunner",
            "--deep",
            "--verbose",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("registry: GET"), "verbose logs requests: {t}");
    assert!(
        !t.contains(PASS)
            && !t.contains(
                &base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"))
            ),
        "secret leaked: {t}"
    );

    // No credentials: exit 4, naming the registry and how to log in.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = mpbuild(
        &stack,
        &empty,
        None,
        &["verify", &image, "--target", "apprunner"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&reg.addr) && t.contains(&format!("docker login {}", reg.addr)),
        "{t}"
    );

    // Wrong credentials: refused, and the wrong password is not echoed either.
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{USER}:wrong-Pa55"));
    std::fs::write(
        bad.join("config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.addr),
    )
    .unwrap();
    let out = mpbuild(
        &stack,
        &bad,
        None,
        &["verify", &image, "--target", "apprunner", "-v"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("credentials were refused") && !t.contains("wrong-Pa55") && !t.contains(&auth),
        "{t}"
    );
}

/// A token server: grants the scopes asked for to USER:PASS (Basic), nothing to others.
fn token_server(cert: &Path, key: &Path, service: &str) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let der = openssl(
        &["x509", "-in", cert.to_str().unwrap(), "-outform", "DER"],
        None,
    );
    let x5c = base64::engine::general_purpose::STANDARD.encode(der);
    let key = key.to_path_buf();
    let service = service.to_string();
    let handle = std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap_or_default();
            let mut authorized = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let expected =
                    base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASS}"));
                if line
                    .to_ascii_lowercase()
                    .starts_with("authorization: basic ")
                    && line.trim_end().ends_with(&expected)
                {
                    authorized = true;
                }
            }
            if request.contains("/quit") {
                return;
            }
            if !authorized {
                let _ = stream.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            let query = request
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .split_once('?')
                .map(|(_, q)| q.to_string())
                .unwrap_or_default();
            let access: Vec<serde_json::Value> = query
                .split('&')
                .filter_map(|kv| kv.strip_prefix("scope="))
                .map(|s| s.replace("%3A", ":").replace("%2F", "/").replace("%2C", ","))
                .filter_map(|s| {
                    let mut parts = s.splitn(3, ':');
                    let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                    Some(serde_json::json!({"type": kind, "name": name, "actions": actions.split(',').collect::<Vec<_>>()}))
                })
                .collect();
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
            let header =
                serde_json::json!({"alg": "RS256", "typ": "JWT", "x5c": [x5c]}).to_string();
            let claims = serde_json::json!({
                "iss": "test-issuer", "sub": USER, "aud": service, "exp": now + 300, "nbf": now - 10,
                "iat": now, "jti": format!("{now}-{}", rand_suffix()), "access": access,
            })
            .to_string();
            let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
            let sig = openssl(
                &["dgst", "-sha256", "-sign", key.to_str().unwrap()],
                Some(signing_input.as_bytes()),
            );
            let token = format!("{signing_input}.{}", b64(&sig));
            let body = serde_json::json!({"token": token}).to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (addr, handle)
}

fn rand_suffix() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn bearer_tokens_with_a_credential_helper() {
    let Some(stack) = common::stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = cert(dir.path());
    let (token_addr, _server) = token_server(&cert, &key, "test-registry");
    let auth = format!(
        "auth:\n  token:\n    realm: http://{token_addr}/token\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: {}",
        cert.display()
    );
    let reg = stack.start_registry(&auth, None);
    // Credentials from a helper, as after `aws ecr get-login-password | docker login`.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-mpbtest");
    std::fs::write(
        &helper,
        format!("#!/bin/sh\nread server\necho \"{{\\\"ServerURL\\\":\\\"$server\\\",\\\"Username\\\":\\\"{USER}\\\",\\\"Secret\\\":\\\"{PASS}\\\"}}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = dir.path().join("docker-helper");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"mpbtest"}}}}"#, reg.addr),
    )
    .unwrap();

    let c = Client::with_store(
        registry::Options::default(),
        Store::from_dir(&cfg).unwrap().with_search_path(&bin),
    );
    let image = push_image(&stack, &c, &reg.addr);
    let out = mpbuild(
        &stack,
        &cfg,
        Some(&bin),
        &[
            "verify",
            &image,
            "--platform",
            "linux/amd64",
            "--deep",
            "-v",
        ],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!t.contains(PASS), "{t}");
    // The token server refuses anonymous requests: exit 4 with the login hint.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = mpbuild(
        &stack,
        &empty,
        None,
        &["verify", &image, "--platform", "linux/amd64"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains("not authorized") && t.contains("docker login"),
        "{t}"
    );
    let _ = TcpStream::connect(&token_addr)
        .and_then(|mut s| s.write_all(b"GET /quit HTTP/1.1\r\n\r\n"));
}

#[test]
fn tls_with_a_private_ca() {
    let Some(stack) = common::stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(dir.path());
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: test\n    path: {}",
        htpasswd(dir.path()).display()
    );
    let reg = stack.start_registry(&auth, Some((&cert, &key)));
    let cfg = docker_config_with_auths(dir.path(), &reg.addr);
    // The client probes loopback registries for TLS first, like Docker.
    let image = push_image(&stack, &client(&cfg, Some(&ca)), &reg.addr);
    let ca = ca.to_str().unwrap();
    let out = mpbuild(
        &stack,
        &cfg,
        None,
        &["verify", &image, "--target", "apprunner", "--ca-file", ca],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Without the CA: exit 4 with the certificate problem and what to do.
    let out = mpbuild(
        &stack,
        &cfg,
        None,
        &["verify", &image, "--target", "apprunner"],
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains("TLS") && t.contains("--ca-file"), "{t}");
}

/// A credential helper that never answers is cut off after
/// `credentials::HELPER_TIMEOUT` (10 s): exit 4 naming the helper, not a hung verify.
#[test]
fn a_credential_helper_that_hangs_is_cut_off() {
    let Some(stack) = common::stack() else { return };
    let dir = tempfile::tempdir().unwrap();
    let auth = format!(
        "auth:\n  htpasswd:\n    realm: test\n    path: {}",
        htpasswd(dir.path()).display()
    );
    let reg = stack.start_registry(&auth, None);
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-slow");
    // Not `exec`: the sleep is a grandchild holding the helper's stdout open, the
    // harder case for the timeout (it ends by itself within a minute).
    std::fs::write(&helper, "#!/bin/sh\nsleep 60\n").unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = dir.path().join("docker-slow");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"slow"}}}}"#, reg.addr),
    )
    .unwrap();
    let timeout = mpbuild::registry::credentials::HELPER_TIMEOUT;
    let started = Instant::now();
    let out = mpbuild(
        &stack,
        &cfg,
        Some(&bin),
        &[
            "verify",
            &format!("{}/team/app:v1", reg.addr),
            "--target",
            "apprunner",
        ],
    );
    let took = started.elapsed();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(
        t.contains(&format!(
            "credential helper `docker-credential-slow` failed: no answer within {}s",
            timeout.as_secs()
        )),
        "{t}"
    );
    assert!(
        took >= timeout && took < timeout + Duration::from_secs(20),
        "took {took:?} with a {timeout:?} helper timeout: {t}"
    );
}

/// `--insecure-registry HOST:PORT` lets mpbuild speak plain HTTP to that registry, port
/// included. Loopback addresses are probed anyway, so the registry (plain HTTP, on a
/// free port, not 5000) is named by an IPv4-mapped IPv6 address: still 127.0.0.1 on
/// the wire, but not a loopback name to mpbuild.
#[test]
fn insecure_registry_with_a_port() {
    let Some(stack) = common::stack() else { return };
    let reg = stack.start_registry("", None);
    let empty = tempfile::tempdir().unwrap();
    let image = push_image(&stack, &client(empty.path(), None), &reg.addr);
    let port = reg.addr.rsplit_once(':').unwrap().1;
    assert_ne!(port, "5000");
    let host = format!("[::ffff:127.0.0.1]:{port}");
    let image = image.replacen(&reg.addr, &host, 1);
    let verify = |extra: &[&str]| {
        let mut args = vec!["verify", image.as_str(), "--target", "apprunner"];
        args.extend_from_slice(extra);
        mpbuild(&stack, empty.path(), None, &args)
    };
    // Not listed: HTTPS, which this registry does not speak.
    let out = verify(&[]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains(&format!("GET https://{host}/v2/")), "{t}");
    // The same host with another port is another registry.
    let other = "[::ffff:127.0.0.1]:5000".to_string();
    let out = verify(&["--insecure-registry", &other]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains(&format!("GET https://{host}/v2/")), "{t}");
    // Listed with its port: plain HTTP, verified.
    let out = verify(&["--insecure-registry", &host]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("every required platform present"), "{t}");
}
