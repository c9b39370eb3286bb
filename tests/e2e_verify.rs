//! `mpbuild verify` against the real registry, with images built by real buildx.

mod common;

use common::{Stack, text};
use mpbuild::registry::{self, Client, Reference};

/// Builds `files` for `platforms` and pushes it to `image` with extra buildx flags.
fn build(stack: &Stack, image: &str, platforms: &str, flags: &[&str], files: &[(&str, &[u8])]) {
    let ctx = stack.context(files);
    let mut cmd = stack.docker();
    cmd.args([
        "buildx",
        "build",
        "--progress=quiet",
        "--platform",
        platforms,
        "-t",
        image,
        "--push",
    ])
    .args(flags)
    .arg(ctx.path());
    stack.ok(&mut cmd);
}

fn scratch_with(stack: &Stack, arch: &str) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("busybox", std::fs::read(stack.busybox(arch)).unwrap()),
        (
            "Dockerfile",
            b"FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\"]\nCMD [\"true\"]\n".to_vec(),
        ),
    ]
}

fn refs<'a>(files: &'a [(&'static str, Vec<u8>)]) -> Vec<(&'static str, &'a [u8])> {
    files.iter().map(|(n, b)| (*n, b.as_slice())).collect()
}

#[test]
fn oci_index_with_attestations_passes_and_lists_them_apart() {
    let Some(stack) = common::stack() else { return };
    let _emu = stack.emulation_shared();
    let image = format!("{}:v1", stack.unique_repo("oci-index"));
    let dockerfile = format!("FROM {}\nRUN echo built > /built\n", stack.base_image);
    build(
        &stack,
        &image,
        "linux/amd64,linux/arm64",
        &["--provenance=mode=min"],
        &[("Dockerfile", dockerfile.as_bytes())],
    );
    let out = stack.run(&[
        "verify",
        &image,
        "--target",
        "apprunner",
        "--target",
        "ecs-fargate:ARM64",
        "--deep",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("attestations: 2 manifest(s), not counted as platforms"),
        "{t}"
    );
    assert!(t.contains("is an ELF for AArch64"), "{t}");
    let json = stack.run(&[
        "verify",
        &image,
        "--platform",
        "linux/arm64/v8",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(
        v["references"][0]["attestations"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn docker_manifest_list_and_single_manifest() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("docker-list");
    let list = format!("{repo}:list");
    let files: Vec<(&str, &[u8])> = vec![("Dockerfile", b"FROM scratch\nCOPY Dockerfile /x\n")];
    build(
        &stack,
        &list,
        "linux/amd64,linux/arm64",
        &[
            "--provenance=false",
            "--output",
            "type=image,oci-mediatypes=false",
        ],
        &files,
    );
    let out = stack.run(&["verify", &list, "--target", "eks:amd64,arm64"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let single = format!("{repo}:lambda");
    build(
        &stack,
        &single,
        "linux/arm64",
        &["--provenance=false"],
        &files,
    );
    let out = stack.run(&["verify", &single, "--target", "lambda:arm64"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // An index is refused for Lambda even when it holds the right platform.
    let out = stack.run(&["verify", &list, "--target", "lambda:arm64"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("needs a plain single-platform image manifest"),
        "{}",
        text(&out)
    );
    // A plain manifest of the wrong platform is refused too.
    let out = stack.run(&["verify", &single, "--target", "lambda:x86_64"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn arm64_only_image_fails_for_app_runner_naming_the_platform() {
    let Some(stack) = common::stack() else { return };
    let image = format!("{}:latest", stack.unique_repo("arm-only"));
    let files = scratch_with(&stack, "arm64");
    build(
        &stack,
        &image,
        "linux/arm64",
        &["--provenance=false"],
        &refs(&files),
    );
    let out = stack.run(&["verify", &image, "--target", "apprunner"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("linux/amd64 is missing (needed by apprunner)"),
        "{t}"
    );
}

#[test]
fn index_whose_arm64_config_says_amd64_is_a_mismatch() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("lying-index");
    let amd = format!("{repo}:amd64");
    let files = scratch_with(&stack, "amd64");
    build(
        &stack,
        &amd,
        "linux/amd64",
        &["--provenance=false"],
        &refs(&files),
    );
    // An index that claims arm64 for the amd64 image.
    let client = Client::new(registry::Options::default()).unwrap();
    let r = Reference::parse(&amd).unwrap();
    let m = client.get_manifest(&r).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": m.media_type, "digest": m.digest, "size": m.bytes.len(), "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": m.media_type, "digest": m.digest, "size": m.bytes.len(), "platform": {"os": "linux", "architecture": "arm64"}},
        ]
    })
    .to_string();
    client
        .put_manifest(
            &r.repository,
            "lying",
            "application/vnd.oci.image.index.v1+json",
            index.as_bytes(),
        )
        .unwrap();
    let out = stack.run(&[
        "verify",
        &format!("{repo}:lying"),
        "--target",
        "ecs-fargate:ARM64",
    ]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("the index entry says linux/arm64 but its image config says linux/amd64"),
        "{t}"
    );
    // An inventory asks nothing of it but consistency: the lie still fails…
    let out = stack.run(&["verify", &format!("{repo}:lying"), "--inventory"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("image config says linux/amd64"), "{t}");
    // …and an honest image is listed, exit 0.
    let out = stack.run(&["verify", &amd, "--inventory"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("platforms: linux/amd64"), "{t}");
    assert!(t.contains("consistent: 1 reference(s) listed"), "{t}");
    // Without --target, --platform or --inventory there is nothing to check: exit 2.
    let out = stack.run(&["verify", &amd]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[test]
fn arm64_image_carrying_an_x86_64_entrypoint_fails_only_with_deep() {
    let Some(stack) = common::stack() else { return };
    let image = format!("{}:latest", stack.unique_repo("buildplatform-mistake"));
    // The FROM --platform=$BUILDPLATFORM mistake: an amd64 binary in the arm64 image.
    let files = scratch_with(&stack, "amd64");
    build(
        &stack,
        &image,
        "linux/arm64",
        &["--provenance=false"],
        &refs(&files),
    );
    let out = stack.run(&["verify", &image, "--platform", "linux/arm64"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = stack.run(&["verify", &image, "--platform", "linux/arm64", "--deep"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("/bin/busybox is an ELF for x86-64, but the platform is linux/arm64"),
        "{t}"
    );
}

#[test]
fn missing_tag_fails_and_unreachable_registry_is_exit_4() {
    let Some(stack) = common::stack() else { return };
    let out = stack.run(&[
        "verify",
        &format!("{}:nope", stack.unique_repo("absent")),
        "--target",
        "apprunner",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("does not exist in the registry"));
    let out = stack.run(&["verify", "127.0.0.1:1/x:y", "--target", "apprunner"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(4), "{t}");
    assert!(t.contains("127.0.0.1:1") && t.contains("help:"), "{t}");
    let out = stack.run(&["verify", "Not A Ref", "--target", "apprunner"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// An arm64 image whose programs lead to `mytool`, an x86-64 ELF, three ways: a
/// `#!/usr/bin/env mytool` script, an entrypoint script that execs its Cmd, and a
/// shell-form CMD. Only `--deep` sees it; it names the chain that leads there.
#[test]
fn a_wrong_arch_program_behind_env_an_entrypoint_script_and_a_shell_form_cmd() {
    let Some(stack) = common::stack() else { return };
    let arm = std::fs::read(stack.busybox("arm64")).unwrap();
    let x86 = std::fs::read(stack.busybox("amd64")).unwrap();
    let base = "FROM scratch\nCOPY busybox-arm64 /bin/sh\nCOPY busybox-arm64 /usr/bin/env\nCOPY mytool /usr/local/bin/mytool\nCOPY run /app/run\nCOPY entry.sh /entry.sh\n";
    let cases = [
        (
            "env-shebang",
            "ENTRYPOINT [\"/app/run\"]\n",
            "/usr/local/bin/mytool is an ELF for x86-64, but the platform is linux/arm64 (via /app/run → /usr/bin/env)",
        ),
        (
            "entry-script",
            "ENTRYPOINT [\"/entry.sh\"]\nCMD [\"mytool\", \"--serve\"]\n",
            "/usr/local/bin/mytool is an ELF for x86-64, but the platform is linux/arm64 (via /entry.sh)",
        ),
        (
            "shell-form",
            "CMD mytool --serve\n",
            "/usr/local/bin/mytool is an ELF for x86-64, but the platform is linux/arm64 (via /bin/sh)",
        ),
    ];
    for (name, tail, expected) in cases {
        let image = format!("{}:latest", stack.unique_repo(name));
        let dockerfile = format!("{base}{tail}");
        build(
            &stack,
            &image,
            "linux/arm64",
            &["--provenance=false"],
            &[
                ("Dockerfile", dockerfile.as_bytes()),
                ("busybox-arm64", &arm),
                ("mytool", &x86),
                ("run", b"#!/usr/bin/env mytool\nprint hello\n"),
                ("entry.sh", b"#!/bin/sh\nset -e\nexec \"$@\"\n"),
            ],
        );
        let out = stack.run(&["verify", &image, "--platform", "linux/arm64"]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
        let out = stack.run(&["verify", &image, "--platform", "linux/arm64", "--deep"]);
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {t}");
        assert!(t.contains(expected), "{name}: {t}");
        if name == "env-shebang" {
            // `--deep=all` finds it among every executable ELF file of the image.
            let out = stack.run(&["verify", &image, "--platform", "linux/arm64", "--deep=all"]);
            let t = text(&out);
            assert_eq!(out.status.code(), Some(1), "{t}");
            assert!(
                t.contains(
                    "1 of 3 executable ELF file(s) are not for linux/arm64: /usr/local/bin/mytool (x86-64)"
                ),
                "{t}"
            );
        }
    }
}
