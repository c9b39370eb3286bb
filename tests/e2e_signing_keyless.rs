//! Keyless and KMS signing on the real stack with a fake cosign (no network here for
//! an OIDC token or a KMS): the configuration, the exact cosign invocation with the CI's
//! token in cosign's environment only, and a KMS that cannot be reached (exit 4, no
//! tag moved). The real cosign's tests are in e2e_signing.rs.

mod common;

use common::cosign::{RECORD_TYPE, digest_of};
use common::text;

/// A fake cosign: answers `version --json` as cosign 2.5 does, records every other
/// call's argv (one argument a line) and the OIDC variables it was given into
/// `$FAKE_COSIGN_LOG`, and fails like a KMS that cannot be reached when
/// `$FAKE_COSIGN_KMS_DOWN` is set.
const FAKE_COSIGN: &str = r#"#!/bin/sh
if [ "$1" = version ]; then echo '{"gitVersion":"v2.5.0"}'; exit 0; fi
{ echo "--- call"; for a in "$@"; do echo "$a"; done
  echo "env ACTIONS_ID_TOKEN_REQUEST_TOKEN=${ACTIONS_ID_TOKEN_REQUEST_TOKEN:-}"
  echo "env COSIGN_PASSWORD=${COSIGN_PASSWORD:-<unset>}"; } >> "$FAKE_COSIGN_LOG"
if [ -n "${FAKE_COSIGN_KMS_DOWN:-}" ]; then
  echo 'Error: signing: getting signer: awskms: operation error KMS: GetPublicKey, dial tcp: lookup kms.us-east-1.amazonaws.com: no such host' >&2
  exit 1
fi
exit 0
"#;

#[test]
fn keyless_runs_cosign_with_the_ci_token_in_its_environment_and_a_kms_outage_is_exit_4() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("keyless");
    let yaml = format!(
        "version: 1\nimages:\n  web:\n    repository: {repo}\n    tags: [latest]\n    sign: {{keyless: true}}\n    targets:\n      - service: apprunner\n      - service: apple-silicon\n"
    );
    let dir = stack.project(&yaml, "FROM scratch\nCOPY Dockerfile /x\n");
    let p = dir.path();
    let fake = p.join("fake-cosign");
    std::fs::write(&fake, FAKE_COSIGN).unwrap();
    let mut perms = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).unwrap();
    let log = p.join("cosign.log");
    const TOKEN: &str = "oidc-request-token-5be1c2";
    let run = || {
        stack
            .run_in(p)
            .env("MPBUILD_COSIGN", &fake)
            .env("FAKE_COSIGN_LOG", &log)
            .env_remove_oidc()
    };

    // No OIDC token source: refused before anything is built.
    let out = run().output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(
        t.contains("image `web`: keyless signing needs an OIDC token, and none is available here"),
        "{t}"
    );
    assert!(t.contains("id-token: write"), "{t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), None);
    assert!(!log.exists(), "cosign ran");

    // GitHub Actions' token variables (a fake endpoint): cosign gets them through its
    // environment, and nothing else carries them.
    let (out, doc) = run()
        .env("ACTIONS_ID_TOKEN_REQUEST_URL", "http://127.0.0.1:9/token")
        .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", TOKEN)
        .json(&["push", "--progress", "plain", "--format", "json"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(!t.contains(TOKEN), "{t}");
    let index = stack.tag_digest(&repo, "latest").unwrap();
    let m = stack.manifest(&repo, "latest");
    let amd = digest_of(&m, "amd64");
    let arm = digest_of(&m, "arm64");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls,
        format!(
            "--- call\nsign\n--yes\n--\n{repo}@{index}\n{repo}@{amd}\n{repo}@{arm}\nenv ACTIONS_ID_TOKEN_REQUEST_TOKEN={TOKEN}\nenv COSIGN_PASSWORD=<unset>\n\
             {}",
            [&index, &amd, &arm]
                .map(|d| format!("--- call\nattest\n--yes\n--type={RECORD_TYPE}\n--predicate=-\n--\n{repo}@{d}\nenv ACTIONS_ID_TOKEN_REQUEST_TOKEN={TOKEN}\nenv COSIGN_PASSWORD=<unset>\n"))
                .concat()
        )
    );
    assert_eq!(doc["signed"][0]["signer"]["kind"], "keyless", "{doc}");

    // A KMS key whose KMS cannot be reached: exit 4, no tag moved.
    std::fs::write(
        p.join("mpbuild.yaml"),
        yaml.replace("{keyless: true}", "{key: \"awskms:///alias/release\"}"),
    )
    .unwrap();
    std::fs::write(p.join("Dockerfile"), "FROM scratch\nCOPY mpbuild.yaml /y\n").unwrap();
    let out = run()
        .env("FAKE_COSIGN_KMS_DOWN", "1")
        .output(&["push", "--progress", "plain"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains("signing failed: no tag moved"), "{t}");
    assert!(t.contains("no such host"), "{t}");
    // cosign's own `Error:` line is quoted under mpbuild's `error:` line, not a label.
    assert!(
        t.contains(
            "cosign exited with status 1, printing:\n    | Error: signing: getting signer: awskms"
        ),
        "{t}"
    );
    assert!(!t.lines().any(|l| l.starts_with("Error")), "{t}");
    assert_eq!(stack.tag_digest(&repo, "latest"), Some(index));
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains("\nsign\n--yes\n--key=awskms:///alias/release\n--tlog-upload=false\n--\n"),
        "{calls}"
    );
}

/// The OIDC variables of the machine running the tests are not the test's.
trait NoOidc {
    fn env_remove_oidc(self) -> Self;
}

impl NoOidc for common::run::Run {
    fn env_remove_oidc(self) -> Self {
        self.env("SIGSTORE_ID_TOKEN", "")
            .env("ACTIONS_ID_TOKEN_REQUEST_URL", "")
            .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
            .env("BUILDKITE_AGENT_ACCESS_TOKEN", "")
    }
}
