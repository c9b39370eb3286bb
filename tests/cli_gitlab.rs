//! `plan --format gitlab-pipeline`: the child pipeline examples/ci/gitlab-ci.yml runs.
//! The YAML is snapshot-tested, then read as GitLab reads it: the stages in order, one
//! leg job per platform of the targets (its runner tag where GitLab hosts one of that
//! CPU, QEMU registered where it does not), merge needing every leg's artifacts, every
//! job extending the `.mpbuild` template, only GitLab job keywords, and every command
//! one mpbuild's own parser accepts. Put after examples/ci/gitlab-mpbuild.yml (the
//! template), the file is one document with no key twice.

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::cli::{project, repo};
use serde_json::Value;

fn mpbuild(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("mpbuild").unwrap();
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("MPBUILD_WORK_DIR", "/WORK")
        .env("GIT_SHA", "abc1234");
    cmd
}

/// Two images: `api` for Fargate on both CPUs with `smoke:`, `pi` for a 32-bit Arm board
/// (no hosted GitLab runner of that CPU).
const PROJECT: &str = r#"version: 1
images:
  api:
    repository: registry.example.com/acme/api
    tags: ["${GIT_SHA}"]
    targets: [{service: ecs-fargate, arch: [X86_64, ARM64]}]
    smoke: {run: [/api, --version]}
  pi:
    repository: registry.example.com/acme/pi
    tags: [latest]
    targets: [{platform: linux/arm/v7}]
"#;

/// The pipeline's text and its document, from `mpbuild ARGS` in `dir`.
fn pipeline(dir: &Path, args: &[&str]) -> (String, Value) {
    let out = mpbuild(dir).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "", "a warning in a plan that CI reads");
    let yaml = String::from_utf8(out.stdout).unwrap();
    let doc: Value = serde_saphyr::from_str(&yaml).expect("the pipeline parses as YAML");
    (yaml, doc)
}

/// What GitLab allows in a job (the keywords these jobs may use).
const JOB_KEYS: &[&str] = &[
    "extends",
    "stage",
    "tags",
    "variables",
    "script",
    "needs",
    "artifacts",
];

/// The top-level keys of `yaml` in the order written (serde_json's maps are sorted).
fn keys_in_order(yaml: &str) -> Vec<String> {
    let doc: Value = serde_saphyr::from_str(yaml).unwrap();
    let mut keys: Vec<(usize, String)> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(|k| {
            let at = yaml
                .lines()
                .position(|l| {
                    l.strip_prefix(&serde_json::to_string(k).unwrap())
                        .or_else(|| l.strip_prefix(k.as_str()))
                        .is_some_and(|r| r.starts_with(':'))
                })
                .unwrap_or_else(|| panic!("{k} not at the start of a line"));
            (at, k.clone())
        })
        .collect();
    keys.sort();
    keys.into_iter().map(|(_, k)| k).collect()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

/// Runs a script line's mpbuild command with `--help` appended under `sh`, the leg's
/// variables set: clap reads every flag before it prints the help, so an unknown flag
/// or a bad value fails here.
fn parses(dir: &Path, line: &str, vars: &Value) {
    let bin = Path::new(env!("CARGO_BIN_EXE_mpbuild")).parent().unwrap();
    let mut c = std::process::Command::new("sh");
    c.arg("-ec")
        .arg(format!("{line} --help"))
        .current_dir(dir)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()));
    for (k, v) in vars.as_object().into_iter().flatten() {
        c.env(k, v.as_str().unwrap());
    }
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{line}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_gitlab_pipeline_is_a_leg_per_platform_then_merge() {
    let dir = project(PROJECT);
    let (yaml, doc) = pipeline(dir.path(), &["plan", "--format", "gitlab-pipeline"]);
    insta::assert_snapshot!(yaml);

    let stages = strings(&doc["stages"]);
    assert_eq!(stages, ["mpbuild-legs", "mpbuild-merge"]);
    assert_eq!(
        keys_in_order(&yaml),
        [
            "stages",
            "leg linux-amd64",
            "leg linux-arm64",
            "leg linux-arm-v7",
            "merge"
        ]
    );
    let binfmt = "docker run --privileged --rm \"${MPBUILD_BINFMT_IMAGE:-tonistiigi/binfmt:latest}\" --install all";
    for (job, platform, tag) in [
        (
            "leg linux-amd64",
            "linux/amd64",
            Some("saas-linux-small-amd64"),
        ),
        (
            "leg linux-arm64",
            "linux/arm64",
            Some("saas-linux-small-arm64"),
        ),
        ("leg linux-arm-v7", "linux/arm/v7", None),
    ] {
        let j = &doc[job];
        for key in j.as_object().unwrap().keys() {
            assert!(JOB_KEYS.contains(&key.as_str()), "{job}: `{key}`");
        }
        assert_eq!(j["extends"], ".mpbuild", "{job}");
        assert_eq!(j["stage"], stages[0], "{job}");
        assert_eq!(j["variables"]["MPBUILD_PLATFORM"], platform, "{job}");
        let script = strings(&j["script"]);
        match tag {
            Some(tag) => {
                assert_eq!(strings(&j["tags"]), [tag], "{job}");
                assert_eq!(script.len(), 1, "{job}: {script:?}");
            }
            None => {
                assert!(j.get("tags").is_none(), "{job}: a tag no runner has");
                assert_eq!(script[0], binfmt, "{job}: emulated without QEMU");
            }
        }
        let push = script.last().unwrap();
        assert_eq!(
            *push,
            "mpbuild push --platform \"$MPBUILD_PLATFORM\" --digests-dir digests --progress plain"
        );
        parses(dir.path(), push, &j["variables"]);
        assert_eq!(strings(&j["artifacts"]["paths"]), ["digests/"]);
    }
    let merge = &doc["merge"];
    for key in merge.as_object().unwrap().keys() {
        assert!(JOB_KEYS.contains(&key.as_str()), "merge: `{key}`");
    }
    assert_eq!(merge["extends"], ".mpbuild");
    // A later stage, and every leg's records downloaded (needs with artifacts).
    let at = |s: &Value| stages.iter().position(|x| s == *x).unwrap();
    assert!(at(&merge["stage"]) > at(&doc["leg linux-amd64"]["stage"]));
    let needs: Vec<(&str, bool)> = merge["needs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["job"].as_str().unwrap(), n["artifacts"] == true))
        .collect();
    assert_eq!(
        needs,
        [
            ("leg linux-amd64", true),
            ("leg linux-arm64", true),
            ("leg linux-arm-v7", true)
        ]
    );
    // `api` has smoke: merge runs it on every platform, QEMU first.
    let script = strings(&merge["script"]);
    assert_eq!(script[0], binfmt);
    assert_eq!(
        script[1],
        "mpbuild merge --digests-dir digests --metadata-file merged.json --progress plain"
    );
    parses(dir.path(), script[1], &Value::Null);
    assert_eq!(merge["artifacts"]["when"], "always");
    assert_eq!(strings(&merge["artifacts"]["paths"]), ["merged.json"]);
}

#[test]
fn merge_registers_qemu_only_for_smoke_and_the_project_flags_are_passed_on() {
    let dir = project(&PROJECT.replace("    smoke: {run: [/api, --version]}\n", ""));
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::rename(dir.path().join("mpbuild.yaml"), sub.join("mpbuild.yaml")).unwrap();
    std::fs::rename(dir.path().join("Dockerfile"), sub.join("Dockerfile")).unwrap();
    let args = [
        "-f",
        "sub/mpbuild.yaml",
        "--set",
        "api.build_args.A=x y",
        "--no-cache",
        "plan",
        "--format",
        "gitlab-pipeline",
        "--image",
        "api",
    ];
    let (yaml, doc) = pipeline(dir.path(), &args);
    // Only `api`'s platforms.
    assert_eq!(
        keys_in_order(&yaml),
        ["stages", "leg linux-amd64", "leg linux-arm64", "merge"]
    );
    let script = strings(&doc["merge"]["script"]);
    assert_eq!(
        script,
        [
            "mpbuild --file sub/mpbuild.yaml --set 'api.build_args.A=x y' --set '*.no_cache' merge --image api --digests-dir digests --metadata-file merged.json --progress plain"
        ],
        "no smoke: no QEMU in merge"
    );
    parses(dir.path(), script[0], &Value::Null);
    let leg = strings(&doc["leg linux-arm64"]["script"]);
    assert!(
        leg[0].starts_with("mpbuild --file sub/mpbuild.yaml --set 'api.build_args.A=x y' --set '*.no_cache' push --image api --platform "),
        "{leg:?}"
    );
    parses(
        dir.path(),
        leg[0],
        &doc["leg linux-arm64"]["variables"].clone(),
    );
}

/// examples/ci/gitlab-ci.yml's `plan` job writes the template, then the pipeline: one
/// document, the template first, no key twice, every job's template there.
#[test]
fn the_template_and_the_pipeline_make_one_child_pipeline() {
    let template = std::fs::read_to_string(repo().join("examples/ci/gitlab-mpbuild.yml")).unwrap();
    let t: Value = serde_saphyr::from_str(&template).unwrap();
    let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
    assert_eq!(keys, [".mpbuild"], "the template is one hidden job");
    for key in ["image", "services", "before_script", "variables"] {
        assert!(t[".mpbuild"].get(key).is_some(), "{key}");
    }
    let dir = project(PROJECT);
    let (yaml, doc) = pipeline(dir.path(), &["plan", "--format", "gitlab-pipeline"]);
    let whole: Value = serde_saphyr::from_str(&format!("{template}{yaml}")).unwrap();
    let n = doc.as_object().unwrap().len();
    assert_eq!(whole.as_object().unwrap().len(), n + 1, "a key twice");
    assert_eq!(whole[".mpbuild"], t[".mpbuild"]);
    for (name, job) in whole.as_object().unwrap() {
        if let Some(e) = job.get("extends") {
            assert!(whole.get(e.as_str().unwrap()).is_some(), "{name}: {e}");
        }
    }
    // The parent: plan writes exactly that file, build runs it as a child pipeline and
    // takes its result.
    let parent: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(repo().join("examples/ci/gitlab-ci.yml")).unwrap(),
    )
    .unwrap();
    assert_eq!(parent["include"][0]["local"], ".gitlab/mpbuild.yml");
    assert_eq!(
        strings(&parent["plan"]["script"]),
        [
            "cp .gitlab/mpbuild.yml mpbuild-pipeline.yml",
            "mpbuild plan --format gitlab-pipeline >> mpbuild-pipeline.yml"
        ]
    );
    assert_eq!(
        strings(&parent["plan"]["artifacts"]["paths"]),
        ["mpbuild-pipeline.yml"]
    );
    let trigger = &parent["build"]["trigger"];
    assert_eq!(trigger["include"][0]["artifact"], "mpbuild-pipeline.yml");
    assert_eq!(trigger["include"][0]["job"], "plan");
    assert_eq!(trigger["strategy"], "depend");
    assert_eq!(strings(&parent["build"]["needs"]), ["plan"]);
    let stages = strings(&parent["stages"]);
    assert!(
        stages.iter().position(|s| parent["plan"]["stage"] == *s)
            < stages.iter().position(|s| parent["build"]["stage"] == *s)
    );
}

/// `--runner PLATFORM=NAME`: a runner of one's own for a platform (its tag here, its
/// label in the github-matrix), or none (`PLATFORM=`: built under QEMU); refused with
/// another format or a malformed value.
#[test]
fn runner_names_a_platforms_runner_or_none() {
    let dir = project(PROJECT);
    let (_, doc) = pipeline(
        dir.path(),
        &[
            "plan",
            "--format",
            "gitlab-pipeline",
            "--runner",
            "linux/arm/v7=pi-runner",
            "--runner",
            "linux/arm64=",
        ],
    );
    let binfmt = "docker run --privileged --rm \"${MPBUILD_BINFMT_IMAGE:-tonistiigi/binfmt:latest}\" --install all";
    let pi = &doc["leg linux-arm-v7"];
    assert_eq!(strings(&pi["tags"]), ["pi-runner"]);
    assert_ne!(strings(&pi["script"])[0], binfmt, "QEMU on a native runner");
    let arm64 = &doc["leg linux-arm64"];
    assert!(arm64.get("tags").is_none(), "{arm64}");
    assert_eq!(strings(&arm64["script"])[0], binfmt);
    assert_eq!(
        strings(&doc["leg linux-amd64"]["tags"]),
        ["saas-linux-small-amd64"]
    );

    let out = mpbuild(dir.path())
        .args([
            "plan",
            "--format",
            "github-matrix",
            "--runner",
            "linux/arm64=my-arm",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let runners: Vec<(&str, &Value)> = m["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["platform"].as_str().unwrap(), &e["runner"]))
        .collect();
    assert_eq!(
        runners,
        [
            ("linux/amd64", &Value::from("ubuntu-24.04")),
            ("linux/arm64", &Value::from("my-arm")),
            ("linux/arm/v7", &Value::Null)
        ]
    );

    let mut refusals = String::new();
    for args in [
        &["plan", "--runner", "linux/arm64=x"][..],
        &["plan", "--format", "gitlab-pipeline", "--runner", "arm64"],
        &[
            "plan",
            "--format",
            "gitlab-pipeline",
            "--runner",
            "linux/sparc=x",
        ],
        // A tag no runner has: the leg would stay pending.
        &[
            "plan",
            "--format",
            "gitlab-pipeline",
            "--runner",
            "linux/arm64=arm\nrunner",
        ],
        &[
            "plan",
            "--format",
            "gitlab-pipeline",
            "--runner",
            "linux/arm64=arm,big",
        ],
        &[
            "plan",
            "--format",
            "gitlab-pipeline",
            "--runner",
            "linux/arm64=a\u{7}b",
        ],
        // The second one was dropped silently.
        &[
            "plan",
            "--format",
            "gitlab-pipeline",
            "--runner",
            "linux/arm64=one",
            "--runner",
            "linux/arm64=two",
        ],
    ] {
        let out = mpbuild(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        refusals.push_str(&format!(
            "$ mpbuild {}\n{}",
            args.iter()
                .map(|a| a.escape_debug().to_string())
                .collect::<Vec<_>>()
                .join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    insta::assert_snapshot!(refusals);
}

/// A secret passed with `--set` stays a `${VAR}` reference in the pipeline (mpbuild
/// expands it in each job from the job's CI variables), never its value; a secret-like
/// build argument written as a literal value is warned about, the value not repeated.
#[test]
fn a_secret_stays_a_reference_and_a_literal_one_is_warned_about() {
    let dir = project(PROJECT);
    let secret = "s3cret-npm-value";
    let out = mpbuild(dir.path())
        .env("NPM_TOKEN", secret)
        .args([
            "--set",
            "api.build_args.NPM_TOKEN=${NPM_TOKEN}",
            "plan",
            "--format",
            "gitlab-pipeline",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr, "", "a reference is not warned about");
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(
        !yaml.contains(secret),
        "the secret in the pipeline:\n{yaml}"
    );
    let doc: Value = serde_saphyr::from_str(&yaml).unwrap();
    for job in ["leg linux-arm64", "merge"] {
        let script = strings(&doc[job]["script"]);
        let line = script.last().unwrap();
        assert!(
            line.starts_with("mpbuild --set 'api.build_args.NPM_TOKEN=${NPM_TOKEN}' "),
            "{job}: {line}"
        );
    }
    // The job expands it: its command, as `plan`, under sh with the CI variable set.
    let merge = strings(&doc["merge"]["script"]).last().unwrap().to_string();
    let (head, _) = merge.split_once(" merge ").unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_mpbuild")).parent().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-ec")
        .arg(format!("{head} plan --image api"))
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("MPBUILD_WORK_DIR", "/WORK")
        .env("GIT_SHA", "abc1234")
        .env("NPM_TOKEN", secret)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("--build-arg NPM_TOKEN={secret} ")),
        "{text}"
    );

    let out = mpbuild(dir.path())
        .args([
            "--set",
            &format!("api.build_args.NPM_TOKEN={secret}"),
            "--set",
            "api.build_args.VERSION=1.2",
            "plan",
            "--format",
            "gitlab-pipeline",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "warning: --set api.build_args.NPM_TOKEN=…: its value is written in clear into every job's script of the pipeline (an artifact anyone with access to the pipeline can download); for a secret, pass the CI variable's name in single quotes, e.g. --set 'app.build_args.NPM_TOKEN=${NPM_TOKEN}': mpbuild expands it in each job"
        ],
        "one warning, for the secret-like name only"
    );
}

/// The QEMU line runs `--privileged`: its image is the template's
/// `MPBUILD_BINFMT_IMAGE` (pinned by digest there), tonistiigi/binfmt:latest without
/// one. Run under sh as the job runs it, `docker` replaced by `echo`.
#[test]
fn qemu_registration_runs_the_image_the_template_chooses() {
    let dir = project(PROJECT);
    let (_, doc) = pipeline(dir.path(), &["plan", "--format", "gitlab-pipeline"]);
    let line = strings(&doc["leg linux-arm-v7"]["script"])[0].to_string();
    let echo = line.strip_prefix("docker ").expect("a docker command");
    let run = |image: Option<&str>| {
        let mut c = std::process::Command::new("sh");
        c.arg("-ec").arg(format!("echo {echo}")).env_clear();
        if let Some(i) = image {
            c.env("MPBUILD_BINFMT_IMAGE", i);
        }
        let out = c.output().unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let pinned = "tonistiigi/binfmt:qemu-v9@sha256:".to_string() + &"a".repeat(64);
    assert_eq!(
        run(Some(&pinned)),
        format!("run --privileged --rm {pinned} --install all\n")
    );
    assert_eq!(
        run(None),
        "run --privileged --rm tonistiigi/binfmt:latest --install all\n"
    );
    let template = std::fs::read_to_string(repo().join("examples/ci/gitlab-mpbuild.yml")).unwrap();
    let t: Value = serde_saphyr::from_str(&template).unwrap();
    assert!(
        t[".mpbuild"]["variables"]["MPBUILD_BINFMT_IMAGE"].is_string(),
        "the template names the image"
    );
}

/// The template's release check: an empty `MPBUILD_SHA256_*` pin fails the job, saying
/// which to fill in (a `.sha256` fetched from the same release proves no more than that
/// the download is whole). Its `want=` and check lines run under sh, curl off PATH.
#[test]
fn an_empty_release_pin_fails_the_install() {
    let template = std::fs::read_to_string(repo().join("examples/ci/gitlab-mpbuild.yml")).unwrap();
    let t: Value = serde_saphyr::from_str(&template).unwrap();
    let before = strings(&t[".mpbuild"]["before_script"]);
    let from = before
        .iter()
        .position(|l| l.starts_with("eval want="))
        .expect("the pin is read");
    let check = before[from..=from + 1].join("\n");
    let run = |pin: &str| {
        let out = std::process::Command::new("/bin/sh")
            .arg("-ec")
            .arg(format!(
                "arch=amd64; name=mpbuild-v0.1.0-linux-amd64\n{check}\necho want=$want"
            ))
            .env_clear()
            .env("PATH", "/nonexistent")
            .env("MPBUILD_SHA256_linux_amd64", pin)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, text) = run("");
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.starts_with("MPBUILD_SHA256_linux_amd64 is empty: set it in the .mpbuild template"),
        "{text}"
    );
    let pin = "b".repeat(64);
    assert_eq!(run(&pin), (Some(0), format!("want={pin}\n")));
}
