//! Before a build: which `RUN` steps of an image will run under emulation on each of
//! its platforms, from the Dockerfile's stages (those the target stage reaches, each
//! with the platform it runs on) and the builder's nodes, with the time each took the
//! last time a build measured it; and the remedies that apply. Pure: the caller reads
//! the Dockerfile, the builder and the history.

use serde::Serialize;

use super::history::History;
use super::remedy::{self, Move, Remedy, Work};
use crate::buildx::docker::Builder;
use crate::buildx::nodes;
use crate::inputs::stages::{Dockerfile, StagePlatform};
use crate::platform::Platform;

/// One image's forecast.
#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    pub image: String,
    /// The builder forecast for: `default (docker)`.
    pub builder: String,
    pub dockerfile: String,
    /// Why there is none (the Dockerfile could not be read, the stage does not exist).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown: Option<String>,
    pub platforms: Vec<PlatformForecast>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remedies: Vec<Remedy>,
}

/// One platform of an image.
#[derive(Debug, Clone, Serialize)]
pub struct PlatformForecast {
    pub platform: String,
    /// The node buildx gives the platform, when the builder names its nodes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Whether that node runs the platform's programs natively.
    pub native: bool,
    /// The `RUN` steps that will run under emulation, in Dockerfile order.
    pub emulated: Vec<EmulatedStep>,
}

/// A `RUN` step that will run under emulation.
#[derive(Debug, Clone, Serialize)]
pub struct EmulatedStep {
    /// `Dockerfile:7`.
    pub at: String,
    #[serde(skip)]
    pub line: usize,
    /// `stage \`build\`` or `stage 1`.
    pub stage: String,
    #[serde(skip)]
    pub stage_index: usize,
    pub instruction: String,
    /// What the step does, as far as its command says.
    pub work: Work,
    /// Seconds it took the last time a build of this image measured it on this platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_s: Option<f64>,
}

/// What the forecast needs about an image.
pub struct Input<'a> {
    pub image: &'a str,
    pub dockerfile_path: &'a str,
    /// The Dockerfile, parsed, or why it could not be read.
    pub dockerfile: Result<&'a Dockerfile, String>,
    /// `--target`.
    pub stage: Option<&'a str>,
    pub platforms: &'a [Platform],
}

/// The forecast for one image on `builder`.
pub fn forecast(input: &Input, builder: &Builder, history: &History) -> Forecast {
    let mut out = Forecast {
        image: input.image.to_string(),
        builder: format!("{} ({})", builder.name, builder.driver),
        dockerfile: input.dockerfile_path.to_string(),
        unknown: None,
        platforms: Vec::new(),
        remedies: Vec::new(),
    };
    let df = match &input.dockerfile {
        Ok(d) => *d,
        Err(why) => {
            out.unknown = Some(why.clone());
            return out;
        }
    };
    let stages = df.reachable(input.stage);
    if stages.is_empty() {
        out.unknown = Some(match input.stage {
            Some(s) => format!("{} has no stage `{s}`", input.dockerfile_path),
            None => format!("{} has no FROM", input.dockerfile_path),
        });
        return out;
    }
    for p in input.platforms {
        let (node, native) = nodes::node_for(builder, p);
        let mut emulated = Vec::new();
        for s in &stages {
            let runs_on = match df.platform_of(s) {
                StagePlatform::Build => continue,
                StagePlatform::Fixed(q) => q.clone(),
                StagePlatform::Target | StagePlatform::Unknown(_) => p.clone(),
            };
            if nodes::runs_natively(node, &runs_on) {
                continue;
            }
            for ins in s.instructions.iter().filter(|i| i.keyword == "RUN") {
                emulated.push(EmulatedStep {
                    at: format!("{}:{}", input.dockerfile_path, ins.line),
                    line: ins.line,
                    stage: df.shown(s),
                    stage_index: s.index,
                    instruction: ins.text.clone(),
                    work: remedy::classify(&ins.text),
                    last_s: history
                        .last(input.image, &p.to_string(), &ins.text)
                        .map(|l| l.seconds),
                });
            }
        }
        out.platforms.push(PlatformForecast {
            platform: p.to_string(),
            node: node.map(|n| n.name.clone()),
            native,
            emulated,
        });
    }
    out.remedies = remedies(df, &out.platforms);
    out
}

/// The remedies for what `platforms` forecast.
pub fn remedies(df: &Dockerfile, platforms: &[PlatformForecast]) -> Vec<Remedy> {
    let slow: Vec<&PlatformForecast> = platforms
        .iter()
        .filter(|p| !p.emulated.is_empty())
        .collect();
    if slow.is_empty() {
        return Vec::new();
    }
    let mut out = vec![Remedy::NativeNode {
        platforms: slow.iter().map(|p| p.platform.clone()).collect(),
        runners: slow
            .iter()
            .filter_map(|p| {
                let label = crate::plan::runner_label(&Platform::parse(&p.platform).ok()?)?;
                Some((p.platform.clone(), label.to_string()))
            })
            .collect(),
    }];
    // Per stage with emulated steps, each step once (several platforms emulate it).
    let mut stages: Vec<usize> = Vec::new();
    for s in slow.iter().flat_map(|p| &p.emulated) {
        if !stages.contains(&s.stage_index) {
            stages.push(s.stage_index);
        }
    }
    stages.sort_unstable();
    for index in stages {
        let stage = &df.stages[index];
        let mut moves: Vec<Move> = Vec::new();
        let mut stays: Vec<Move> = Vec::new();
        for s in slow
            .iter()
            .flat_map(|p| &p.emulated)
            .filter(|s| s.stage_index == index)
        {
            if moves.iter().chain(&stays).any(|m| m.at == s.at) {
                continue;
            }
            let m = Move {
                at: s.at.clone(),
                instruction: s.instruction.clone(),
                work: s.work,
                how: s.work.how(),
            };
            if s.work.movable() {
                moves.push(m);
            } else {
                stays.push(m);
            }
        }
        if moves.is_empty() {
            continue;
        }
        let from = stage.instructions.first();
        let dockerfile = moves[0]
            .at
            .rsplit_once(':')
            .map_or("", |(f, _)| f)
            .to_string();
        out.push(Remedy::BuildPlatformStage {
            stage: df.shown(stage),
            from: format!("{dockerfile}:{}", stage.line()),
            from_instruction: from.map(|f| f.text.clone()).unwrap_or_default(),
            moves,
            stays,
        });
    }
    out
}

#[cfg(test)]
mod tests;
