use super::*;

fn args(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The Dockerfile built on the stack while finding out how BuildKit numbers steps:
/// `[linux/amd64 gen 2/4] WORKDIR /src`, `[linux/arm64 stage-1 3/4] RUN i=0; …`.
const SEEN: &str = "# syntax check\nARG BASE\nFROM --platform=$BUILDPLATFORM ${BASE} AS gen\nARG TARGETARCH\nWORKDIR /src\nRUN echo gen-$RANDOM > /src/a\nRUN echo for $TARGETARCH > /src/b\n\nFROM ${BASE}\nENV X=1\nCOPY --from=gen /src/a /a\nRUN i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done\nRUN echo two\n";

#[test]
fn steps_are_numbered_as_buildkit_numbers_them() {
    let d = parse(SEEN, &args(&[("BASE", "r/busybox@sha256:1")]));
    assert_eq!(d.stages.len(), 2);
    let gen_stage = &d.stages[0];
    assert_eq!(gen_stage.name.as_deref(), Some("gen"));
    assert_eq!(gen_stage.platform, StagePlatform::Build);
    assert_eq!(gen_stage.base, Base::Image("r/busybox@sha256:1".into()));
    assert_eq!(gen_stage.steps, 4);
    let (s, i) = d.step(Some("gen"), 2, 4).unwrap();
    assert_eq!((s.index, i.keyword.as_str(), i.line), (0, "WORKDIR", 5));
    let (_, i) = d.step(Some("stage-1"), 3, 4).unwrap();
    assert_eq!((i.keyword.as_str(), i.line), ("RUN", 12));
    assert!(i.text.starts_with("RUN i=0;"));
    let (_, i) = d.step(Some("stage-1"), 2, 4).unwrap();
    assert_eq!((i.keyword.as_str(), i.reads.as_slice()), ("COPY", &[0][..]));
    // FROM is step 1; ENV and ARG make no step.
    assert_eq!(d.step(Some("stage-1"), 1, 4).unwrap().1.keyword, "FROM");
    // A count that disagrees (the Dockerfile changed since the build) maps to nothing.
    assert!(d.step(Some("stage-1"), 3, 5).is_none());
    assert!(
        d.step(None, 3, 4).is_none(),
        "two stages: a label must name one"
    );
    assert!(d.step(Some("nope"), 1, 4).is_none());
}

#[test]
fn a_single_stage_needs_no_name_and_stage_bases_are_not_steps() {
    let d = parse("FROM busybox\nRUN a\nRUN b\n", &BTreeMap::new());
    assert_eq!(d.step(None, 3, 3).unwrap().1.text, "RUN b");
    let d = parse(
        "FROM busybox AS base\nRUN a\nFROM base AS final\nRUN b\nCOPY x y\nFROM scratch\nCOPY --from=final /y /y\n",
        &BTreeMap::new(),
    );
    assert_eq!(d.stages[1].base, Base::Stage(0));
    // `FROM base` and `FROM scratch` are not counted: RUN b is 1/2.
    assert_eq!(d.step(Some("final"), 1, 2).unwrap().1.text, "RUN b");
    assert_eq!(d.step(Some("stage-2"), 1, 1).unwrap().1.keyword, "COPY");
}

#[test]
fn reachable_stages_from_the_target() {
    let df = "FROM --platform=$BUILDPLATFORM golang:1.23 AS build\nRUN go build\nFROM alpine AS unused\nRUN apk add x\nFROM alpine AS tools\nRUN make tools\nFROM build AS test\nRUN go test\nFROM alpine\nCOPY --from=build /app /app\nRUN --mount=type=bind,from=tools,target=/t cp /t/x /x\n";
    let d = parse(df, &BTreeMap::new());
    let names = |v: Vec<&Stage>| v.iter().map(|s| s.index).collect::<Vec<_>>();
    assert_eq!(names(d.reachable(None)), vec![0, 2, 4]);
    assert_eq!(names(d.reachable(Some("TEST"))), vec![0, 3]);
    assert!(d.reachable(Some("missing")).is_empty());
    // `FROM build` runs where `build` runs.
    assert_eq!(d.platform_of(&d.stages[3]), &StagePlatform::Build);
    assert_eq!(d.platform_of(&d.stages[4]), &StagePlatform::Target);
}

#[test]
fn platforms_written_in_from() {
    let d = parse(
        "ARG P=linux/amd64\nFROM --platform=$P a AS one\nFROM --platform=linux/arm64 a AS two\nFROM --platform=${TARGETPLATFORM} a AS three\nFROM --platform=$BUILDOS/$BUILDARCH a AS four\nFROM --platform=$NOPE a AS five\n",
        &BTreeMap::new(),
    );
    let ps: Vec<&StagePlatform> = d.stages.iter().map(|s| &s.platform).collect();
    assert_eq!(ps[0], &StagePlatform::Fixed(Platform::linux("amd64", "")));
    assert_eq!(ps[1], &StagePlatform::Fixed(Platform::linux("arm64", "")));
    assert_eq!(ps[2], &StagePlatform::Target);
    assert_eq!(ps[3], &StagePlatform::Build);
    assert_eq!(ps[4], &StagePlatform::Unknown("$NOPE".into()));
    // A build arg overrides the ARG default.
    let d = parse(
        "ARG P=linux/amd64\nFROM --platform=$P a\n",
        &args(&[("P", "linux/arm64")]),
    );
    assert_eq!(
        d.stages[0].platform,
        StagePlatform::Fixed(Platform::linux("arm64", ""))
    );
}

#[test]
fn heredocs_continuations_and_escape() {
    let df = "FROM a\nRUN <<EOF\nRUN not-an-instruction\nCOPY neither\nEOF\nRUN apt-get update && \\\n    apt-get install -y x\n# a comment\nRUN <<-END cat\n\tFROM nope\n\tEND\nCOPY . .\n";
    let d = parse(df, &BTreeMap::new());
    let s = &d.stages[0];
    let kw: Vec<(&str, usize)> = s
        .instructions
        .iter()
        .map(|i| (i.keyword.as_str(), i.line))
        .collect();
    assert_eq!(
        kw,
        vec![
            ("FROM", 1),
            ("RUN", 2),
            ("RUN", 6),
            ("RUN", 9),
            ("COPY", 12)
        ]
    );
    assert_eq!(
        s.instructions[2].text,
        "RUN apt-get update && apt-get install -y x"
    );
    let d = parse(
        "# escape=`\nFROM a `\n  AS b\nRUN x `\n  y\n",
        &BTreeMap::new(),
    );
    assert_eq!(d.stages[0].name.as_deref(), Some("b"));
    assert_eq!(d.stages[0].instructions[1].text, "RUN x y");
}

/// A stage `FROM` another by a word BuildKit's lexer reads: quotes go, `\\$` is a
/// literal `$`, and under `# escape=`` ` `` the backtick escapes.
#[test]
fn from_reads_quotes_and_the_files_escape_character() {
    let d = parse(
        "ARG S=b\nFROM a AS b\nFROM \"$S\"\nFROM \\$S\n",
        &BTreeMap::new(),
    );
    assert_eq!(d.stages[1].base, Base::Stage(0));
    assert_eq!(d.stages[2].base, Base::Image("$S".into()));
    let d = parse("# escape=`\nFROM a AS b\nFROM `b\n", &BTreeMap::new());
    assert_eq!(d.stages[1].base, Base::Stage(0));
}

/// dockerfile2llb `buildMetaArgs`: a default is expanded with the `ARG`s before it, and
/// `ARG X=` is set (to ""), so `${X+…}` takes its word.
#[test]
fn global_arg_defaults_are_expanded_and_empty_is_set() {
    let df = "ARG OS=linux\nARG P=${OS}/arm64\nARG FIPS=\nFROM --platform=$P alpine:3.20${FIPS+-fips} AS a\n";
    let d = parse(df, &BTreeMap::new());
    assert_eq!(
        d.stages[0].platform,
        StagePlatform::Fixed(Platform::linux("arm64", ""))
    );
    assert_eq!(d.stages[0].base, Base::Image("alpine:3.20-fips".into()));
}
