use super::*;
use crate::buildx::docker::Node;
use crate::emulation::measure::{ImageTiming, Measured};
use crate::emulation::remedy::Move;
use std::collections::BTreeMap;

const DOCKERFILE: &str = "ARG BASE=busybox\nFROM --platform=$BUILDPLATFORM ${BASE} AS assets\nRUN ./make-assets.sh\nFROM ${BASE} AS unused\nRUN never\nFROM ${BASE}\nRUN apk add --no-cache tini\nRUN npm ci\nCOPY --from=assets /out /srv\nRUN head -c 100000000 /dev/zero | sha256sum > /digest\n";

fn parsed() -> Dockerfile {
    crate::inputs::stages::parse(DOCKERFILE, &BTreeMap::new())
}

fn docker() -> Builder {
    Builder {
        name: "default".into(),
        driver: "docker".into(),
        nodes: vec![Node {
            name: "default".into(),
            platforms: vec!["linux/amd64".into(), "linux/arm64".into()],
            ..Node::default()
        }],
    }
}

fn two_nodes() -> Builder {
    let node = |n: &str, p: &str| Node {
        name: n.into(),
        configured: vec![p.into()],
        platforms: vec![p.into()],
        ..Node::default()
    };
    Builder {
        name: "b".into(),
        driver: "remote".into(),
        nodes: vec![node("b0", "linux/amd64"), node("b1", "linux/arm64")],
    }
}

fn platforms() -> Vec<Platform> {
    vec![Platform::linux("amd64", ""), Platform::linux("arm64", "")]
}

fn run(df: Result<&Dockerfile, String>, builder: &Builder, history: &History) -> Forecast {
    let ps = platforms();
    forecast(
        &Input {
            image: "app",
            dockerfile_path: "Dockerfile",
            dockerfile: df,
            stage: None,
            platforms: &ps,
        },
        builder,
        history,
    )
}

/// A history with the heavy step's last time on arm64.
fn history() -> History {
    let dir = tempfile::tempdir().unwrap();
    let work = crate::workdir::WorkDir::open(&crate::workdir::Location::at(&dir.path().join("w")))
        .unwrap();
    crate::emulation::history::record(
        &work,
        &[ImageTiming {
            image: "app".into(),
            platforms: Vec::new(),
            measured: vec![Measured {
                platform: "linux/arm64".into(),
                instruction: "RUN head -c 100000000 /dev/zero | sha256sum > /digest".into(),
                line: 10,
                seconds: 11.6,
                emulated: true,
            }],
            cache: Default::default(),
            export: None,
        }],
    );
    crate::emulation::history::load(work.root())
}

#[test]
fn emulated_runs_of_the_reachable_target_stages() {
    let df = parsed();
    let f = run(Ok(&df), &docker(), &history());
    let [amd, arm] = &f.platforms[..] else {
        panic!("{f:?}")
    };
    assert!(amd.native && amd.emulated.is_empty(), "{amd:?}");
    assert!(!arm.native);
    let lines: Vec<(&str, Option<f64>)> = arm
        .emulated
        .iter()
        .map(|s| (s.at.as_str(), s.last_s))
        .collect();
    // Not the $BUILDPLATFORM stage (line 3), not the unused stage (line 5).
    assert_eq!(
        lines,
        vec![
            ("Dockerfile:7", None),
            ("Dockerfile:8", None),
            ("Dockerfile:10", Some(11.6))
        ]
    );
    assert_eq!(arm.emulated[1].work, Work::Dependencies);
    assert_eq!(arm.emulated[0].stage, "stage 2");

    let [
        Remedy::NativeNode { platforms, runners },
        Remedy::BuildPlatformStage {
            from,
            from_instruction,
            moves,
            stays,
            ..
        },
    ] = &f.remedies[..]
    else {
        panic!("{:?}", f.remedies)
    };
    assert_eq!(platforms, &["linux/arm64".to_string()]);
    assert_eq!(
        runners,
        &[("linux/arm64".to_string(), "ubuntu-24.04-arm".to_string())]
    );
    assert_eq!(
        (from.as_str(), from_instruction.as_str()),
        ("Dockerfile:6", "FROM ${BASE}")
    );
    let at = |v: &[Move]| v.iter().map(|m| m.at.clone()).collect::<Vec<_>>();
    assert_eq!(at(moves), vec!["Dockerfile:8", "Dockerfile:10"]);
    assert_eq!(at(stays), vec!["Dockerfile:7"]);
}

#[test]
fn native_nodes_need_no_remedy() {
    let df = parsed();
    let f = run(Ok(&df), &two_nodes(), &History::default());
    assert!(
        f.platforms
            .iter()
            .all(|p| p.native && p.emulated.is_empty()),
        "{f:?}"
    );
    assert_eq!(f.platforms[1].node.as_deref(), Some("b1"));
    assert!(f.remedies.is_empty());
}

#[test]
fn a_fixed_platform_stage_is_emulated_for_every_target() {
    let df = crate::inputs::stages::parse(
        "FROM --platform=linux/amd64 tool AS t\nRUN x86-only-tool > /out\nFROM base\nCOPY --from=t /out /out\n",
        &BTreeMap::new(),
    );
    // An arm64-only builder: the amd64 tool stage runs under QEMU for both images.
    let arm_only = Builder {
        name: "arm".into(),
        driver: "remote".into(),
        nodes: vec![Node {
            name: "arm0".into(),
            configured: vec!["linux/arm64".into()],
            platforms: vec!["linux/arm64".into()],
            ..Node::default()
        }],
    };
    let f = run(Ok(&df), &arm_only, &History::default());
    assert!(
        f.platforms
            .iter()
            .all(|p| p.emulated.len() == 1 && p.emulated[0].at == "Dockerfile:2"),
        "{f:?}"
    );
}

#[test]
fn an_unreadable_dockerfile_is_said() {
    let f = run(
        Err("Dockerfile: No such file".into()),
        &docker(),
        &History::default(),
    );
    assert_eq!(f.unknown.as_deref(), Some("Dockerfile: No such file"));
    assert!(f.platforms.is_empty());
    let df = parsed();
    let ps = platforms();
    let f = forecast(
        &Input {
            image: "app",
            dockerfile_path: "Dockerfile",
            dockerfile: Ok(&df),
            stage: Some("nope"),
            platforms: &ps,
        },
        &docker(),
        &History::default(),
    );
    assert_eq!(f.unknown.as_deref(), Some("Dockerfile has no stage `nope`"));
}
