//! The harness is real: the failure mpbuild exists to prevent, reproduced on the stack.

mod common;

use std::process::Command;

/// An arm64-only image, pushed as a plain manifest, run on this x86-64 machine without
/// emulation: `exec format error` — what App Runner does with it. With emulation it runs.
#[test]
fn arm64_only_image_fails_with_exec_format_error_without_emulation() {
    let Some(stack) = common::stack() else { return };
    let repo = stack.unique_repo("arm64-only");
    let image = format!("{repo}:latest");
    let busybox = std::fs::read(stack.busybox("arm64")).unwrap();
    let ctx = stack.context(&[
        ("busybox", &busybox),
        (
            "Dockerfile",
            b"FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\", \"echo\", \"hello from arm64\"]\n",
        ),
    ]);
    // FROM scratch + COPY: no RUN step, so no emulation is needed to build it.
    stack.ok(stack
        .docker()
        .args([
            "buildx",
            "build",
            "--progress=quiet",
            "--provenance=false",
            "--platform",
            "linux/arm64",
            "-t",
            &image,
            "--push",
        ])
        .arg(ctx.path()));
    let (code, body) = stack.registry_get(&format!(
        "/v2/{}/manifests/latest",
        repo.split_once('/').unwrap().1
    ));
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains("application/vnd.docker.distribution.manifest.v2+json")
            || body.contains("application/vnd.oci.image.manifest.v1+json"),
        "{body}"
    );

    let _ = stack.docker().args(["image", "rm", "-f", &image]).output();
    {
        let _off = stack.emulation_off();
        let out = stack
            .docker()
            .args(["run", "--rm", "--pull=always", &image])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "ran without emulation?\n{stderr}");
        assert!(stderr.contains("exec format error"), "{stderr}");
    }
    let _on = stack.emulation_shared();
    let out = stack.ok(stack.docker().args(["run", "--rm", &image]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello from arm64"
    );
}

/// The base image tests build `FROM` holds both platforms, and a RUN step works on each.
#[test]
fn base_image_is_multi_platform_and_runs_everywhere() {
    let Some(stack) = common::stack() else { return };
    let (repo, digest) = (&stack.base_repo, &stack.base_digest);
    let (code, body) = stack.registry_get(&format!("/v2/{repo}/manifests/{digest}"));
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let archs: Vec<String> = v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap().to_string())
        .collect();
    assert!(
        archs.contains(&"amd64".into()) && archs.contains(&"arm64".into()),
        "{archs:?}"
    );
    let _on = stack.emulation_shared();
    for (platform, machine) in [("linux/amd64", "x86_64"), ("linux/arm64", "aarch64")] {
        let out = stack.ok(stack.docker().args([
            "run",
            "--rm",
            "--platform",
            platform,
            &stack.base_image,
            "uname",
            "-m",
        ]));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), machine);
    }
    let _ = Command::new("true").status();
}
