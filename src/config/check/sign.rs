//! `sign:` (the project's default and an image's own): how cosign signs the image's
//! digests before a tag moves — a key file with its password in an environment
//! variable, a KMS URI, or keyless — or `false`. Whether the key file is there and the
//! password or an OIDC token is set is checked when a push starts, not here (`plan` and
//! `verify` read the file on machines without them).

use std::path::Path;

use serde_saphyr::Spanned;

use crate::config::raw::RawSignSpec;
use crate::config::smoke_values::is_env_name;
use crate::config::{Checker, ConfigError};
use crate::signing::{DEFAULT_PASSWORD_ENV, KMS_SCHEMES, Signer};

const HELP: &str = "write `sign: {key: cosign.key, password_env: COSIGN_PASSWORD}`, `sign: {key: awskms:///alias/release}` (or gcpkms://, azurekms://, hashivault://), `sign: {keyless: true}`, or `sign: false`";

impl Checker<'_> {
    /// `sign:` → the signer, or `None` for `sign: false`.
    pub(in crate::config) fn sign(
        &self,
        dir: &Path,
        raw: Spanned<RawSignSpec>,
    ) -> Result<Option<Signer>, ConfigError> {
        let pos = self.pos(&raw);
        let s = match raw.value {
            RawSignSpec::Bool(false) => return Ok(None),
            RawSignSpec::Bool(true) => {
                return Err(self.err(
                    pos,
                    "`sign: true` does not say how to sign",
                    Some(HELP.into()),
                ));
            }
            RawSignSpec::Full(s) => *s,
        };
        let keyless = s.keyless.as_ref().is_some_and(|k| k.value);
        let signer = match (&s.key, keyless) {
            (Some(_), true) => {
                return Err(self.err(
                    self.pos(s.keyless.as_ref().expect("keyless")),
                    "`keyless: true` goes without `key:`: a signature is made with one or the other",
                    Some(HELP.into()),
                ));
            }
            (None, true) => Signer::Keyless,
            (None, false) => {
                return Err(self.err(
                    pos,
                    "`sign:` names neither `key:` nor `keyless: true`",
                    Some(HELP.into()),
                ));
            }
            (Some(k), false) => self.sign_key(dir, k)?,
        };
        if let Some(p) = &s.password_env {
            if !matches!(signer, Signer::Key { .. }) {
                return Err(self.err(
                    self.pos(p),
                    "`password_env:` goes with a key file",
                    Some("a KMS key and keyless signing have no password; drop it".into()),
                ));
            }
            if !is_env_name(&p.value) {
                return Err(self.err(
                    self.pos(p),
                    format!("`{}` is not an environment variable name", p.value),
                    Some("name the variable that holds the key's password, e.g. COSIGN_PASSWORD (the password itself never goes in the file)".into()),
                ));
            }
        }
        Ok(Some(match signer {
            Signer::Key { path, .. } => Signer::Key {
                path,
                password_env: s
                    .password_env
                    .map_or_else(|| DEFAULT_PASSWORD_ENV.to_string(), |p| p.value),
            },
            other => other,
        }))
    }

    fn sign_key(&self, dir: &Path, k: &Spanned<String>) -> Result<Signer, ConfigError> {
        let key = self.expand(k)?;
        if let Some((scheme, _)) = key.split_once("://") {
            let full = format!("{scheme}://");
            if !KMS_SCHEMES.contains(&full.as_str()) {
                return Err(self.err(
                    self.pos(k),
                    format!("`{full}` is not a KMS mpbuild signs with"),
                    Some(format!(
                        "valid: {}, or a key file's path",
                        KMS_SCHEMES.join(", ")
                    )),
                ));
            }
            if key.len() == full.len() {
                return Err(self.err(
                    self.pos(k),
                    format!("`{key}` names no key"),
                    Some(HELP.into()),
                ));
            }
            return Ok(Signer::Kms { uri: key });
        }
        if key.is_empty() || key.starts_with('-') || key.chars().any(char::is_control) {
            return Err(self.err(
                self.pos(k),
                format!("`{}` is not a key file's path", key.escape_debug()),
                Some(HELP.into()),
            ));
        }
        if key.ends_with(".pub") {
            return Err(self.err(
                self.pos(k),
                format!("`{key}` looks like a public key; signing takes the private key"),
                Some("name the private key (`cosign.key`); the public key is what `mpbuild verify --signed-by` and admission policies take".into()),
            ));
        }
        Ok(Signer::Key {
            path: dir.join(key),
            password_env: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::{ConfigError, Env, Project, parse};
    use crate::platform::Platform;
    use crate::signing::Signer;

    fn parse_in(dir: &std::path::Path, yaml: &str) -> Result<Project, ConfigError> {
        std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").unwrap();
        let env = Env {
            host: Platform::linux("amd64", ""),
            var: &|name| (name == "KEY_DIR").then(|| "keys".to_string()),
            preview: false,
            overrides: &[],
            git: &|_| crate::gitmeta::GitMeta::default(),
        };
        parse(&dir.join("mpbuild.yaml"), yaml, &env)
    }

    fn project(sign: &str, image_sign: &str) -> String {
        format!(
            "version: 1\n{sign}images:\n  api:\n    repository: r.example/api\n    tags: [v1]\n{image_sign}    targets:\n      - service: local\n  worker:\n    repository: r.example/worker\n    tags: [v1]\n    targets:\n      - service: local\n"
        )
    }

    fn signers(sign: &str, image_sign: &str) -> Result<Vec<Option<Signer>>, String> {
        let dir = tempfile::tempdir().unwrap();
        parse_in(dir.path(), &project(sign, image_sign))
            .map(|p| p.images.into_iter().map(|i| i.sign).collect())
            .map_err(|e| {
                e.to_string()
                    .replace(&dir.path().display().to_string(), "DIR")
            })
    }

    #[test]
    fn the_project_default_and_an_image_override() {
        let dir = tempfile::tempdir().unwrap();
        let p = parse_in(
            dir.path(),
            &project(
                "sign:\n  key: ${KEY_DIR}/cosign.key\n  password_env: RELEASE_KEY_PW\n",
                "    sign: {keyless: true}\n",
            ),
        )
        .unwrap();
        assert_eq!(p.images[0].sign, Some(Signer::Keyless));
        assert_eq!(
            p.images[1].sign,
            Some(Signer::Key {
                path: dir.path().join("keys/cosign.key"),
                password_env: "RELEASE_KEY_PW".into()
            })
        );
        assert_eq!(
            signers(
                "sign: {key: gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k}\n",
                "    sign: false\n"
            )
            .unwrap(),
            [
                None,
                Some(Signer::Kms {
                    uri: "gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k".into()
                })
            ]
        );
        // A key file's password is in COSIGN_PASSWORD unless the file names another.
        let s = signers("", "    sign: {key: cosign.key}\n").unwrap();
        assert!(matches!(&s[0], Some(Signer::Key { password_env, path })
            if password_env == "COSIGN_PASSWORD" && path.ends_with("cosign.key")));
        assert_eq!(s[1], None);
        let _ = PathBuf::new();
    }

    #[test]
    fn errors_point_at_the_value() {
        let cases = [
            (
                "sign: true\n",
                "",
                "`sign: true` does not say how to sign",
                "mpbuild.yaml:2:7",
            ),
            (
                "sign: {}\n",
                "",
                "`sign:` names neither `key:` nor `keyless: true`",
                "mpbuild.yaml:2:7",
            ),
            (
                "",
                "    sign: {key: k8s://ns/key}\n",
                "`k8s://` is not a KMS mpbuild signs with",
                "mpbuild.yaml:6:17",
            ),
            (
                "",
                "    sign: {key: cosign.key, keyless: true}\n",
                "`keyless: true` goes without `key:`",
                "mpbuild.yaml:6:38",
            ),
            (
                "",
                "    sign: {keyless: true, password_env: PW}\n",
                "`password_env:` goes with a key file",
                "mpbuild.yaml:6:41",
            ),
            (
                "",
                "    sign: {key: c.key, password_env: \"my pass\"}\n",
                "`my pass` is not an environment variable name",
                "mpbuild.yaml:6:38",
            ),
            (
                "",
                "    sign: {key: cosign.pub}\n",
                "`cosign.pub` looks like a public key",
                "mpbuild.yaml:6:17",
            ),
            (
                "",
                "    sign: {key: awskms://}\n",
                "`awskms://` names no key",
                "mpbuild.yaml:6:17",
            ),
            (
                "sign: {kee: x}\n",
                "",
                "unknown field `kee`; did you mean `key`?",
                "mpbuild.yaml:2:8",
            ),
        ];
        for (sign, image_sign, message, at) in cases {
            let e = signers(sign, image_sign).expect_err(message);
            assert!(e.starts_with(message), "{message}: {e}");
            assert!(e.contains(at), "{at}: {e}");
        }
    }
}
