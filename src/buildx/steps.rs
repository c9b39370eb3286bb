//! What a step's name says. BuildKit's Dockerfile frontend names each step
//! `[PLATFORM STAGE N/M] INSTRUCTION …` (buildx 0.13, BuildKit 0.13; seen on the stack):
//!
//! - `PLATFORM` only when several platforms are built in one invocation; a stage that
//!   runs on another platform than the one it builds for adds `->ARCH`
//!   (`linux/amd64->arm64`: a `FROM --platform=$BUILDPLATFORM` stage that declares
//!   `ARG TARGETARCH`, run on amd64 for the arm64 image);
//! - `STAGE` the stage's name (lowercase), `stage-I` for the I-th stage when it has
//!   none, nothing when the Dockerfile has a single stage;
//! - `N/M` the instruction's number in its stage: `FROM IMAGE` is 1 (not `FROM scratch`
//!   nor `FROM other-stage`), then every `ADD`, `COPY`, `RUN` and `WORKDIR`;
//! - `internal` instead of `N/M` for BuildKit's own steps (`[linux/arm64 internal] load
//!   metadata for …`).
//!
//! `buildx bake` of several targets puts the target's name first (`[api linux/arm64 2/4]`,
//! `[api] exporting to image`). A name without brackets (`exporting to image`,
//! `exporting cache to registry`) belongs to the whole build.

use crate::platform::Platform;

/// A step's name, taken apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Label {
    /// The bake target (only when the build is a bake of several images).
    pub target: Option<String>,
    /// The platform the step runs on, when the name says it.
    pub platform: Option<Platform>,
    /// The platform the step builds for when it differs (`->arm64`).
    pub for_platform: Option<Platform>,
    pub stage: Option<String>,
    /// `(N, M)`: the instruction's number in its stage and the stage's count.
    pub index: Option<(usize, usize)>,
    /// One of BuildKit's own steps (`[internal] …`).
    pub internal: bool,
    /// What follows the brackets: `RUN make`, `exporting to image`.
    pub command: String,
}

impl Label {
    /// The platform the step's image is for: after `->`, else the one it runs on.
    pub fn built_for(&self) -> Option<&Platform> {
        self.for_platform.as_ref().or(self.platform.as_ref())
    }

    /// The instruction's keyword, uppercase (`RUN`), for a Dockerfile step.
    pub fn keyword(&self) -> Option<&str> {
        self.index?;
        self.command.split_whitespace().next()
    }

    /// A Dockerfile `RUN` step (the only kind that executes a program of the image, and
    /// so the only kind emulation slows down).
    pub fn is_run(&self) -> bool {
        self.keyword() == Some("RUN")
    }
}

/// Takes a step's name apart. `targets` are the bake's target names when several
/// images are built at once (empty otherwise): a first word is a target only then.
pub fn parse(name: &str, targets: &[String]) -> Label {
    let Some(rest) = name.strip_prefix('[') else {
        return Label {
            command: name.to_string(),
            ..Label::default()
        };
    };
    let Some((inner, command)) = rest.split_once(']') else {
        return Label {
            command: name.to_string(),
            ..Label::default()
        };
    };
    let mut label = Label {
        command: command.trim_start().to_string(),
        ..Label::default()
    };
    let mut words: Vec<&str> = inner.split_whitespace().collect();
    if let Some(first) = words.first()
        && targets.iter().any(|t| t == first)
    {
        label.target = Some(first.to_string());
        words.remove(0);
    }
    for w in words {
        if w == "internal" {
            label.internal = true;
        } else if let Some(index) = count(w) {
            label.index = Some(index);
        } else if w.contains('/') {
            let (runs, built) = match w.split_once("->") {
                Some((a, b)) => (a, Some(b)),
                None => (w, None),
            };
            label.platform = Platform::parse(runs).ok();
            label.for_platform = built.and_then(|b| arrow_platform(label.platform.as_ref(), b));
        } else {
            label.stage = Some(w.to_string());
        }
    }
    label
}

/// `N/M` → (N, M).
fn count(word: &str) -> Option<(usize, usize)> {
    let (n, m) = word.split_once('/')?;
    Some((n.parse().ok()?, m.parse().ok()?))
}

/// What follows `->`: `ARCH[/VARIANT]` on the same OS, or a whole platform when the OS
/// differs.
fn arrow_platform(runs: Option<&Platform>, spec: &str) -> Option<Platform> {
    let first = spec.split('/').next().unwrap_or_default();
    if matches!(first, "linux" | "windows") {
        return Platform::parse(spec).ok();
    }
    let os = runs.map_or("linux", |p| p.os.as_str());
    Platform::parse(&format!("{os}/{spec}")).ok()
}

/// Whether a step (by name, a bake target's prefix allowed) is one of the cache's.
pub fn is_cache_step(name: &str) -> bool {
    let command = parse(name, &[]).command;
    let command = if command.is_empty() { name } else { &command };
    command.starts_with("importing cache manifest from ")
        || command.starts_with("exporting cache to ")
        || command.starts_with("preparing build cache for export")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<Platform> {
        Some(Platform::parse(s).unwrap())
    }

    /// Names as buildx 0.13 printed them on the stack (multi-stage Dockerfile with a
    /// `$BUILDPLATFORM` stage, built for amd64 and arm64, then for arm64 alone).
    #[test]
    fn names_seen_on_the_stack() {
        let l = parse(
            "[linux/amd64->arm64 gen 3/4] RUN echo gen-$RANDOM > /src/a",
            &[],
        );
        assert_eq!(l.platform, p("linux/amd64"));
        assert_eq!(l.for_platform, p("linux/arm64"));
        assert_eq!(l.built_for(), p("linux/arm64").as_ref());
        assert_eq!(l.stage.as_deref(), Some("gen"));
        assert_eq!(l.index, Some((3, 4)));
        assert!(l.is_run());
        let l = parse("[linux/arm64 stage-1 2/4] COPY --from=gen /src/a /a", &[]);
        assert_eq!(
            (l.platform.clone(), l.stage.as_deref(), l.index, l.keyword()),
            (
                p("linux/arm64"),
                Some("stage-1"),
                Some((2, 4)),
                Some("COPY")
            )
        );
        let l = parse("[linux/amd64 2/3] RUN echo hello && sleep 1", &[]);
        assert_eq!((l.stage, l.index), (None, Some((2, 3))));
        let l = parse("[gen 3/4] RUN echo x", &[]);
        assert_eq!(
            (l.platform, l.stage.as_deref(), l.index),
            (None, Some("gen"), Some((3, 4)))
        );
        let l = parse(
            "[linux/arm64 internal] load metadata for 127.0.0.1:5000/x:latest",
            &[],
        );
        assert!(l.internal && l.index.is_none() && l.keyword().is_none());
        assert_eq!(l.platform, p("linux/arm64"));
        let l = parse("exporting cache to registry", &[]);
        assert_eq!(l.command, "exporting cache to registry");
        assert!(l.platform.is_none() && !l.internal);
        // Widths are padded for ten or more steps: `[ 3/12]`.
        assert_eq!(parse("[ 3/12] RUN x", &[]).index, Some((3, 12)));
        assert_eq!(parse("[linux/amd64  3/12] RUN x", &[]).index, Some((3, 12)));
    }

    #[test]
    fn bake_targets_and_other_operating_systems() {
        let targets = vec!["api".to_string(), "worker".to_string()];
        let l = parse("[api linux/arm64 build 2/5] RUN make", &targets);
        assert_eq!(l.target.as_deref(), Some("api"));
        assert_eq!(l.stage.as_deref(), Some("build"));
        let l = parse("[api] exporting to image", &targets);
        assert_eq!(
            (l.target.as_deref(), l.command.as_str()),
            (Some("api"), "exporting to image")
        );
        // Without the targets, a first word is a stage.
        assert_eq!(
            parse("[api 2/5] RUN make", &[]).stage.as_deref(),
            Some("api")
        );
        let l = parse("[linux/amd64->windows/amd64 x 1/2] FROM y", &[]);
        assert_eq!(l.for_platform, p("windows/amd64"));
        let l = parse("[linux/arm64->arm/v7 x 2/2] RUN y", &[]);
        assert_eq!(l.for_platform, p("linux/arm/v7"));
    }
}
