use super::*;
use crate::buildx::docker::Node;
use crate::buildx::progress::Parser;
use std::collections::BTreeMap;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/buildx/emulation/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn state(name: &str) -> State {
    let mut p = Parser::default();
    let mut s = State::default();
    for line in fixture(name).lines() {
        if let Some(e) = p.line(line) {
            s.apply(e);
        }
    }
    if let Some(e) = p.finish() {
        s.apply(e);
    }
    s
}

fn dockerfile() -> Dockerfile {
    let mut args = BTreeMap::new();
    args.insert("BASE".to_string(), "r/busybox".to_string());
    crate::inputs::stages::parse(&fixture("Dockerfile"), &args)
}

fn docker_builder() -> Builder {
    Builder {
        name: "default".into(),
        driver: "docker".into(),
        nodes: vec![Node {
            name: "default".into(),
            platforms: vec![
                "linux/amd64".into(),
                "linux/amd64/v2".into(),
                "linux/arm64".into(),
            ],
            ..Node::default()
        }],
    }
}

fn two_nodes() -> Builder {
    let node = |name: &str, p: &str| Node {
        name: name.into(),
        configured: vec![p.into()],
        platforms: vec![p.into()],
        ..Node::default()
    };
    Builder {
        name: "emuexp".into(),
        driver: "remote".into(),
        nodes: vec![
            node("emuexp0", "linux/amd64"),
            node("emuexp1", "linux/arm64"),
        ],
    }
}

fn amd_arm() -> Vec<Platform> {
    vec![Platform::linux("amd64", ""), Platform::linux("arm64", "")]
}

fn run(name: &str, platforms: &[Platform], builder: &Builder) -> ImageTiming {
    let df = dockerfile();
    let images = [ImageSource {
        name: "app",
        platforms,
        dockerfile_path: "Dockerfile",
        dockerfile: Some(&df),
    }];
    measure(&state(name), &images, builder).remove(0)
}

/// On the default builder of an x86 machine the arm64 loop runs under QEMU, the amd64
/// one natively, and the `$BUILDPLATFORM` stage's steps built for arm64 (named
/// `linux/amd64->arm64`) natively too.
#[test]
fn emulated_and_native_steps_of_a_real_build() {
    let t = run("two-platforms.rawjson", &amd_arm(), &docker_builder());
    let [amd, arm] = &t.platforms[..] else {
        panic!("{t:?}")
    };
    assert_eq!(arm.platform, "linux/arm64");
    assert_eq!(arm.node.as_deref(), Some("default"));
    let slow = &arm.slowest[0];
    assert!(slow.step.starts_with("RUN i=0; while"), "{slow:?}");
    assert_eq!(slow.at.as_deref(), Some("Dockerfile:12"));
    assert!(slow.emulated);
    // 14:40:21.201866802 → 14:40:22.461041408.
    assert!((slow.seconds - 1.259).abs() < 0.001, "{}", slow.seconds);
    assert!(
        arm.emulated_s >= 1.6 && arm.emulated_s < arm.total_s,
        "{arm:?}"
    );
    // The gen stage's RUNs ran on amd64 for arm64: native.
    assert!(
        arm.slowest
            .iter()
            .filter(|s| s.step.contains("gen-"))
            .all(|s| !s.emulated),
        "{arm:?}"
    );
    assert_eq!(amd.emulated_s, 0.0, "{amd:?}");
    assert!(amd.slowest.iter().all(|s| !s.emulated));
    assert!(amd.native_s > 0.5 && amd.native_s <= amd.total_s);
    // Dockerfile steps and cache hits (the FROMs were cached); the shared FROM and
    // WORKDIR of `gen` are named for amd64 only.
    assert_eq!((amd.steps, amd.cached), (7, 1));
    assert_eq!((arm.steps, arm.cached), (6, 1));
    let m = t
        .measured
        .iter()
        .find(|m| m.platform == "linux/arm64" && m.line == 12)
        .unwrap();
    assert!(m.emulated && m.instruction.starts_with("RUN i=0;"));
}

/// The same Dockerfile on a node configured for arm64: native.
#[test]
fn a_node_for_the_platform_runs_it_natively() {
    let t = run("two-nodes.rawjson", &amd_arm(), &two_nodes());
    let arm = &t.platforms[1];
    assert_eq!(arm.node.as_deref(), Some("emuexp1"));
    assert_eq!(arm.emulated_s, 0.0, "{arm:?}");
    assert!(arm.slowest.iter().all(|s| !s.emulated));
    assert_eq!(arm.slowest[0].at.as_deref(), Some("Dockerfile:12"));
    assert_eq!(t.platforms[0].node.as_deref(), Some("emuexp0"));
}

/// One platform alone: names carry no platform; the `gen` stage runs on
/// `$BUILDPLATFORM` (this machine), the rest of the RUNs under emulation; every step of
/// the build counts towards the total.
#[test]
fn one_platform_alone() {
    let arm = [Platform::linux("arm64", "")];
    let t = run("arm64-alone.rawjson", &arm, &docker_builder());
    let p = &t.platforms[0];
    let emulated = |line: usize| {
        t.measured
            .iter()
            .find(|m| m.line == line)
            .unwrap_or_else(|| panic!("line {line}: {:?}", t.measured))
            .emulated
    };
    assert!(!emulated(6) && !emulated(7), "the $BUILDPLATFORM stage");
    assert!(emulated(12) && emulated(13), "the image's own RUNs");
    assert!(!emulated(11), "COPY runs no program");
    assert_eq!(p.slowest[0].at.as_deref(), Some("Dockerfile:12"));
    // The two FROMs and WORKDIR are reported cached even with --no-cache.
    assert_eq!((p.steps, p.cached), (8, 3));
    // From `load build definition` to the last step: more than the steps themselves.
    let steps: f64 = t.measured.iter().map(|m| m.seconds).sum();
    assert!(
        p.total_s > p.emulated_s && p.total_s >= steps * 0.5,
        "{p:?}"
    );
    assert!(p.emulated_s > 1.0, "{p:?}");
}

/// Without the Dockerfile (unreadable) the steps are still timed, with no lines.
#[test]
fn no_dockerfile_no_lines() {
    let images = [ImageSource {
        name: "app",
        platforms: &amd_arm(),
        dockerfile_path: "Dockerfile",
        dockerfile: None,
    }];
    let t = measure(&state("two-platforms.rawjson"), &images, &docker_builder()).remove(0);
    assert!(t.platforms[1].slowest[0].emulated);
    assert_eq!(t.platforms[1].slowest[0].at, None);
    assert!(t.measured.is_empty());
}

/// A leg (one image, one platform) counts the whole buildx run when the runner timed
/// it: the client's start and the export to it are part of the platform's time. A
/// build of several platforms never takes the run's time for one of them.
#[test]
fn a_leg_counts_the_whole_buildx_run() {
    let df = dockerfile();
    let arm = [Platform::linux("arm64", "")];
    let alone = [ImageSource {
        name: "app",
        platforms: &arm,
        dockerfile_path: "Dockerfile",
        dockerfile: Some(&df),
    }];
    let mut s = state("arm64-alone.rawjson");
    let steps_only = measure(&s, &alone, &docker_builder()).remove(0).platforms[0].total_s;
    s.wall = Some(std::time::Duration::from_secs_f64(steps_only + 2.5));
    let p = &measure(&s, &alone, &docker_builder()).remove(0).platforms[0];
    assert_eq!(p.total_s, round(steps_only + 2.5), "{p:?}");
    // A wall shorter than the steps' span (clocks of two machines) never shortens it.
    s.wall = Some(std::time::Duration::from_millis(1));
    let p = &measure(&s, &alone, &docker_builder()).remove(0).platforms[0];
    assert_eq!(p.total_s, steps_only, "{p:?}");

    let both = amd_arm();
    let images = [ImageSource {
        name: "app",
        platforms: &both,
        dockerfile_path: "Dockerfile",
        dockerfile: Some(&df),
    }];
    let mut s = state("two-platforms.rawjson");
    let before = measure(&s, &images, &docker_builder()).remove(0);
    s.wall = Some(std::time::Duration::from_secs(3600));
    let after = measure(&s, &images, &docker_builder()).remove(0);
    assert_eq!(before.platforms, after.platforms);
}

/// The export's seconds are its steps' (image and cache) by BuildKit's clock: the real
/// `docker` driver export of tests/fixtures/buildx/success.rawjson (15:56:52.465144605 →
/// 52.650007074), the failed cache export of a real run (14:42:27.987344153 →
/// 28.199107805), none for a stream without one, and in a bake each image its own.
#[test]
fn the_export_is_timed_per_image() {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/buildx/success.rawjson",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let parse = |lines: &mut dyn Iterator<Item = &str>| {
        let (mut p, mut s) = (Parser::default(), State::default());
        for l in lines {
            if let Some(e) = p.line(l) {
                s.apply(e);
            }
        }
        if let Some(e) = p.finish() {
            s.apply(e);
        }
        s
    };
    let amd = [Platform::linux("amd64", "")];
    let one = |name| ImageSource {
        name,
        platforms: &amd,
        dockerfile_path: "Dockerfile",
        dockerfile: None,
    };
    let export = |s: &State, images: &[ImageSource]| -> Vec<Option<f64>> {
        measure(s, images, &docker_builder())
            .iter()
            .map(|t| t.export)
            .collect()
    };
    let real = parse(&mut text.lines());
    assert_eq!(export(&real, &[one("app")]), [Some(0.185)]);
    let cache = state("cache-export-failed.rawjson");
    assert_eq!(export(&cache, &[one("app")]), [Some(0.212)]);
    let none = state("two-platforms.rawjson");
    assert_eq!(export(&none, &[one("app")]), [None]);
    // A bake: `[api] …` and `[web] …`, api's image and cache exports overlapping.
    let bake = parse(&mut [
        r#"{"vertexes":[{"digest":"a","name":"[api] exporting to image","started":"2026-12-07T14:40:20Z","completed":"2026-12-07T14:40:22Z"}]}"#,
        r#"{"vertexes":[{"digest":"b","name":"[api] exporting cache to registry","started":"2026-12-07T14:40:21Z","completed":"2026-12-07T14:40:23.5Z"}]}"#,
        r#"{"vertexes":[{"digest":"c","name":"[web] exporting to image","started":"2026-12-07T14:40:20Z","completed":"2026-12-07T14:40:21Z"}]}"#,
        r#"{"vertexes":[{"digest":"d","name":"[web 1/1] FROM r/busybox","started":"2026-12-07T14:40:10Z","completed":"2026-12-07T14:40:20Z"}]}"#,
    ].into_iter());
    assert_eq!(
        export(&bake, &[one("api"), one("web"), one("db")]),
        [Some(3.5), Some(1.0), None]
    );
}
