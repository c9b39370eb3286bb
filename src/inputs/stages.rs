//! A Dockerfile's stages as BuildKit builds them: each stage's base (an image, `scratch`
//! or an earlier stage), the platform it runs on (`FROM --platform=$BUILDPLATFORM` runs
//! on the builder's own CPU whatever the image is for; a fixed platform; or, by default,
//! the platform being built), its instructions with their lines and the number BuildKit
//! gives each step (`[stage 3/7]`), and which stages the target stage reaches through
//! `FROM other-stage`, `COPY --from=` and `RUN --mount=…,from=`. `ARG`s declared before
//! the first `FROM` (and the build args that override them) are expanded in `FROM`, as
//! BuildKit does. Read only: mpbuild never rewrites a Dockerfile.

use std::collections::BTreeMap;

use super::expand::{Vars, expand, meta_arg};
use super::lines::{Logical, logical_lines};
use crate::platform::Platform;

/// Where a stage runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StagePlatform {
    /// The platform being built (no `--platform`, or `$TARGETPLATFORM`).
    Target,
    /// The builder's own platform (`--platform=$BUILDPLATFORM`): never emulated.
    Build,
    /// A platform written in the Dockerfile (`--platform=linux/amd64`).
    Fixed(Platform),
    /// A value mpbuild cannot tell (`--platform=$SOMETHING` without a value).
    Unknown(String),
}

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    Image(String),
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
}

/// One instruction of a stage (its `FROM` included, first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Uppercase: `RUN`, `COPY`, `FROM`.
    pub keyword: String,
    /// 1-based line where it starts.
    pub line: usize,
    /// The instruction as written, continuation lines joined (a heredoc's body left out).
    pub text: String,
    /// BuildKit's step number in the stage (`N` of `[N/M]`), for the instructions that
    /// make a step: `FROM IMAGE`, `ADD`, `COPY`, `RUN`, `WORKDIR`.
    pub step: Option<usize>,
    /// Stages it reads (`COPY --from=STAGE`, `RUN --mount=…,from=STAGE`).
    pub reads: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    /// `AS NAME`, lowercase (BuildKit lowercases stage names).
    pub name: Option<String>,
    pub base: Base,
    /// `--platform=…` as written.
    pub platform_flag: Option<String>,
    pub platform: StagePlatform,
    pub instructions: Vec<Instruction>,
    /// `M` of `[N/M]`.
    pub steps: usize,
}

impl Stage {
    /// The stage's `FROM` line.
    pub fn line(&self) -> usize {
        self.instructions.first().map_or(0, |i| i.line)
    }

    /// `build` or `stage 2` (for messages).
    pub fn shown(&self) -> String {
        match &self.name {
            Some(n) => format!("stage `{n}`"),
            None => format!("stage {}", self.index),
        }
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct Dockerfile {
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    /// A stage for messages: `stage \`build\``, `stage 1`, or `the only stage`.
    pub fn shown(&self, stage: &Stage) -> String {
        if self.stages.len() == 1 {
            "the only stage".to_string()
        } else {
            stage.shown()
        }
    }

    /// The stage a step's label names: by name, as `stage-I`, or the only stage.
    pub fn stage_named(&self, label: Option<&str>) -> Option<&Stage> {
        match label {
            Some(l) => self
                .stages
                .iter()
                .find(|s| s.name.as_deref() == Some(l))
                .or_else(|| {
                    let i: usize = l.strip_prefix("stage-")?.parse().ok()?;
                    self.stages.get(i).filter(|s| s.name.is_none())
                }),
            None if self.stages.len() == 1 => self.stages.first(),
            None => None,
        }
    }

    /// The instruction behind step `[STAGE N/M]`, when the stage and count agree with
    /// this Dockerfile (a Dockerfile changed since the build agrees with nothing).
    pub fn step(&self, stage: Option<&str>, n: usize, m: usize) -> Option<(&Stage, &Instruction)> {
        let s = self.stage_named(stage)?;
        if s.steps != m {
            return None;
        }
        s.instructions
            .iter()
            .find(|i| i.step == Some(n))
            .map(|i| (s, i))
    }

    /// The target stage (`--target`, else the last) and every stage it reaches, in
    /// Dockerfile order. Empty when `target` names no stage.
    pub fn reachable(&self, target: Option<&str>) -> Vec<&Stage> {
        let start = match target {
            Some(t) => {
                let t = t.to_ascii_lowercase();
                self.stages
                    .iter()
                    .position(|s| s.name.as_deref() == Some(t.as_str()))
            }
            None => self.stages.len().checked_sub(1),
        };
        let mut seen = vec![false; self.stages.len()];
        let mut todo: Vec<usize> = start.into_iter().collect();
        while let Some(i) = todo.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            let s = &self.stages[i];
            if let Base::Stage(b) = s.base {
                todo.push(b);
            }
            todo.extend(
                s.instructions
                    .iter()
                    .flat_map(|ins| ins.reads.iter().copied()),
            );
        }
        self.stages.iter().filter(|s| seen[s.index]).collect()
    }

    /// Where a stage runs, following `FROM other-stage` (which runs where that one does).
    pub fn platform_of<'a>(&'a self, stage: &'a Stage) -> &'a StagePlatform {
        let mut s = stage;
        for _ in 0..self.stages.len() {
            match (&s.platform, &s.base) {
                (StagePlatform::Target, Base::Stage(b)) if s.platform_flag.is_none() => {
                    s = &self.stages[*b];
                }
                _ => break,
            }
        }
        &s.platform
    }
}

/// The variables a `--platform` value uses.
fn variables(s: &str) -> Vec<String> {
    s.split('$')
        .skip(1)
        .map(|v| {
            v.trim_start_matches('{')
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

fn stage_platform(flag: Option<&str>, globals: &Vars, escape: char) -> StagePlatform {
    let Some(v) = flag else {
        return StagePlatform::Target;
    };
    let vars = variables(v);
    if !vars.is_empty() && vars.iter().all(|n| n.starts_with("BUILD")) {
        return StagePlatform::Build;
    }
    if !vars.is_empty() && vars.iter().all(|n| n.starts_with("TARGET")) {
        return StagePlatform::Target;
    }
    match expand(v, globals, escape).map(|e| Platform::parse(&e)) {
        Ok(Ok(p)) => StagePlatform::Fixed(p),
        _ => StagePlatform::Unknown(v.to_string()),
    }
}

/// Parses `text` with `build_args` overriding the Dockerfile's global `ARG` defaults.
pub fn parse(text: &str, build_args: &BTreeMap<String, String>) -> Dockerfile {
    let mut globals = Vars::new();
    let mut stages: Vec<Stage> = Vec::new();
    for l in logical_lines(text) {
        let mut words = l.text.split_whitespace();
        let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
        let rest: Vec<&str> = words.collect();
        if keyword == "FROM" {
            stages.push(from_stage(&l, &rest, &globals, &stages));
            continue;
        }
        if stages.is_empty() {
            if keyword == "ARG" {
                meta_arg(&rest, &mut globals, build_args, l.escape);
            }
            continue;
        }
        let earlier = stages_before(&stages);
        let reads = rest
            .iter()
            .filter_map(|w| {
                w.strip_prefix("--from=").map(str::to_string).or_else(|| {
                    let m = w.strip_prefix("--mount=")?;
                    m.split(',')
                        .find_map(|kv| kv.strip_prefix("from="))
                        .map(str::to_string)
                })
            })
            .filter_map(|r| stage_ref(&r, &earlier))
            .collect();
        let stage = stages.last_mut().expect("a stage");
        let counted = ["ADD", "COPY", "RUN", "WORKDIR"].contains(&keyword.as_str());
        if counted {
            stage.steps += 1;
        }
        let step = counted.then_some(stage.steps);
        stage.instructions.push(Instruction {
            keyword,
            line: l.line,
            text: l.text.clone(),
            step,
            reads,
        });
    }
    Dockerfile { stages }
}

/// (name, index) of every stage so far, the last (the one being read) included: a
/// stage can name itself only by mistake, and BuildKit refuses that.
fn stages_before(stages: &[Stage]) -> Vec<(Option<String>, usize)> {
    stages.iter().map(|s| (s.name.clone(), s.index)).collect()
}

/// The earlier stage `reference` names (by name, case-insensitively, or by index).
fn stage_ref(reference: &str, stages: &[(Option<String>, usize)]) -> Option<usize> {
    let lower = reference.to_ascii_lowercase();
    stages
        .iter()
        .find(|(n, _)| n.as_deref() == Some(lower.as_str()))
        .map(|(_, i)| *i)
        .or_else(|| lower.parse::<usize>().ok().filter(|i| *i < stages.len()))
}

fn from_stage(l: &Logical, rest: &[&str], globals: &Vars, stages: &[Stage]) -> Stage {
    let platform_flag = rest
        .iter()
        .find_map(|w| w.strip_prefix("--platform="))
        .map(str::to_string);
    let args: Vec<&str> = rest
        .iter()
        .copied()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let written = args.first().copied().unwrap_or_default();
    let name = (args.len() >= 3 && args[1].eq_ignore_ascii_case("as"))
        .then(|| args[2].to_ascii_lowercase());
    let expanded = expand(written, globals, l.escape)
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| written.to_string());
    let earlier = stages_before(stages);
    let base = if expanded.eq_ignore_ascii_case("scratch") {
        Base::Scratch
    } else if let Some(i) = earlier
        .iter()
        .find(|(n, _)| n.as_deref() == Some(expanded.to_ascii_lowercase().as_str()))
        .map(|(_, i)| *i)
    {
        Base::Stage(i)
    } else {
        Base::Image(expanded)
    };
    let counts_from = matches!(base, Base::Image(_));
    Stage {
        index: stages.len(),
        name,
        platform: stage_platform(platform_flag.as_deref(), globals, l.escape),
        platform_flag,
        instructions: vec![Instruction {
            keyword: "FROM".into(),
            line: l.line,
            text: l.text.clone(),
            step: counts_from.then_some(1),
            reads: Vec::new(),
        }],
        steps: usize::from(counts_from),
        base,
    }
}

#[cfg(test)]
mod tests;
