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

/// dockerd started as `scripts/stack up` starts it, on a state directory of its own
/// whose data root dockerd cannot start on (Debian's dockerd 26 exits with "context
/// deadline exceeded" on a builder cache grown over a day of runs, moby/moby#48569;
/// here its cache database is not a database, which fails the same start at once): the
/// data root — only caches — is emptied and dockerd started again, which then answers;
/// `down` leaves no mount behind.
#[test]
fn dockerd_starts_again_on_an_empty_data_root_when_it_cannot_start_on_its_own() {
    let Some(stack) = common::stack() else { return };
    // Under the stack's state directory: where CI gives dockerd a filesystem its
    // overlay snapshots work on (a container's /tmp may not be one).
    let state = tempfile::Builder::new()
        .prefix("e2e-stack-")
        .tempdir_in(&stack.state_dir)
        .unwrap();
    let data_root = state.path().join("docker");
    std::fs::create_dir_all(data_root.join("buildkit")).unwrap();
    std::fs::write(data_root.join("buildkit/cache.db"), "not a bolt database").unwrap();
    std::fs::write(data_root.join("left-by-an-earlier-run"), "").unwrap();
    let script = |arg: &str| {
        let mut c = Command::new("bash");
        c.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/stack"))
            .arg(arg)
            .env("MPBUILD_STACK_DIR", state.path())
            .env("MPBUILD_STACK_CACHE", stack.prefix.parent().unwrap())
            .env_remove("DOCKER_HOST");
        c
    };
    // Its dockerd stops even when an assertion fails.
    struct Down<'a>(&'a dyn Fn(&str) -> Command);
    impl Drop for Down<'_> {
        fn drop(&mut self) {
            let _ = (self.0)("down").output();
        }
    }
    let down = Down(&script);
    let out = script("start-dockerd").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "start-dockerd failed:\n{err}");
    assert!(
        err.contains("dockerd did not start on its data root")
            && err.contains("start once more on an empty one"),
        "{err}"
    );
    assert!(
        !data_root.join("left-by-an-earlier-run").exists(),
        "the data root was not emptied"
    );
    let version = Command::new(stack.prefix.join("usr/bin/docker"))
        .args(["version", "--format", "{{.Server.Version}}"])
        .env(
            "DOCKER_HOST",
            format!("unix://{}", state.path().join("docker.sock").display()),
        )
        .output()
        .unwrap();
    assert!(
        version.status.success() && !version.stdout.is_empty(),
        "the second dockerd does not answer: {}",
        String::from_utf8_lossy(&version.stderr)
    );
    drop(down);
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let root = state.path().to_str().unwrap();
    assert!(
        !mounts
            .lines()
            .any(|l| l.split(' ').nth(1).is_some_and(|m| m.starts_with(root))),
        "mounts left under {root}:\n{mounts}"
    );
}
