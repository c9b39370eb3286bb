//! The real cosign on the stack, for the signing and deploy-gate tests: a generated key
//! pair, and cosign's own verdict on a signature or on the verification record's
//! attestation — an observer independent of mpbuild.

use std::path::Path;
use std::process::{Command, Output};

use super::{Stack, text};

/// The keys' password; never to appear in any output.
pub const PASSWORD: &str = "pw-9f3c1e-correct-horse";
pub const WRONG: &str = "pw-77d2aa-wrong-battery";

/// The verification record's predicate type (its JSON Schema's URL).
pub const RECORD_TYPE: &str =
    "https://github.com/acme/mpbuild/blob/main/schema/verification-record.v1.schema.json";

/// `cosign ARGS` with the stack's environment, in `dir`.
pub fn cosign(stack: &Stack, dir: &Path, args: &[&str], password: &str) -> Output {
    let mut c = Command::new("cosign");
    stack.apply_env(&mut c);
    c.current_dir(dir)
        .env("COSIGN_PASSWORD", password)
        .args(args)
        .output()
        .expect("spawn cosign")
}

/// `PREFIX.key` and `PREFIX.pub` in `dir`, the key encrypted with [`PASSWORD`].
pub fn key_pair(stack: &Stack, dir: &Path, prefix: &str) {
    let out = cosign(
        stack,
        dir,
        &["generate-key-pair", "--output-key-prefix", prefix],
        PASSWORD,
    );
    assert!(out.status.success(), "{}", text(&out));
}

/// Signs each of `references` with the private key `key` (no transparency log).
pub fn sign(stack: &Stack, dir: &Path, key: &str, references: &[String]) {
    let mut args = vec!["sign", "--yes", "--key", key, "--tlog-upload=false"];
    args.extend(references.iter().map(String::as_str));
    let out = cosign(stack, dir, &args, PASSWORD);
    assert!(out.status.success(), "{}", text(&out));
}

/// The real cosign's verdict on `reference` with the public key `key`.
pub fn verifies(stack: &Stack, dir: &Path, key: &str, reference: &str) -> bool {
    let out = cosign(
        stack,
        dir,
        &[
            "verify",
            "--key",
            key,
            "--insecure-ignore-tlog=true",
            reference,
        ],
        "",
    );
    out.status.success()
}

/// The real `cosign verify-attestation` of the record's predicate type on `reference`
/// with `key`: the attested statements, or cosign's error.
pub fn attested(
    stack: &Stack,
    dir: &Path,
    key: &str,
    reference: &str,
) -> Result<Vec<serde_json::Value>, String> {
    use base64::Engine;
    let out = cosign(
        stack,
        dir,
        &[
            "verify-attestation",
            "--key",
            key,
            "--type",
            RECORD_TYPE,
            "--insecure-ignore-tlog=true",
            reference,
        ],
        "",
    );
    if !out.status.success() {
        return Err(text(&out));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| {
            let envelope: serde_json::Value = serde_json::from_str(l).unwrap();
            let payload = base64::engine::general_purpose::STANDARD
                .decode(envelope["payload"].as_str().unwrap())
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&payload).unwrap()
        })
        .collect())
}

/// The digest of `arch`'s manifest in the index `index`.
pub fn digest_of(index: &serde_json::Value, arch: &str) -> String {
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == arch)
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string()
}
