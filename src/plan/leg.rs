//! Multi-runner builds in the plan: the CI matrix of platforms (one native runner each)
//! and the leg of a plan that one runner builds.

use serde::Serialize;

use super::bake::bake;
use super::image::{build_argv, image_plan, link};
use super::types::{Options, Plan, TargetPlan};
use crate::config::{Image, Project};
use crate::platform::Platform;

/// A CI matrix for native multi-runner builds: one entry per platform any image needs,
/// with a suggested runner label, so the matrix cannot drift from the deploy targets.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    pub include: Vec<MatrixEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MatrixEntry {
    /// Written canonically, for `mpbuild push --platform`.
    pub platform: Platform,
    /// `linux-arm64`: for artifact and job names.
    pub slug: String,
    /// A GitHub-hosted runner that builds this platform natively (or the one `plan
    /// --runner` names), or null (build it emulated on any runner).
    pub runner: Option<String>,
    /// The images that need this platform.
    pub images: Vec<String>,
}

/// GitHub's hosted runner label that runs `p` natively, if there is one.
pub fn runner_label(p: &Platform) -> Option<&'static str> {
    match (p.os.as_str(), p.architecture.as_str()) {
        ("linux", "amd64") => Some("ubuntu-24.04"),
        ("linux", "arm64") => Some("ubuntu-24.04-arm"),
        _ => None,
    }
}

impl Plan {
    /// The matrix of this plan's platforms, in the order first needed, each with its
    /// GitHub-hosted runner.
    pub fn matrix(&self) -> Matrix {
        self.matrix_with(&[], runner_label)
    }

    /// The matrix with `runners` (a platform's runner, or none: emulated) before the
    /// `default` runner of a platform.
    pub fn matrix_with(
        &self,
        runners: &[(Platform, Option<String>)],
        default: fn(&Platform) -> Option<&'static str>,
    ) -> Matrix {
        let runner = |p: &Platform| match runners.iter().find(|(q, _)| q.matches(p)) {
            Some((_, r)) => r.clone(),
            None => default(p).map(str::to_string),
        };
        let mut include: Vec<(Platform, MatrixEntry)> = Vec::new();
        for image in &self.images {
            for p in &image.platforms {
                match include.iter_mut().find(|(q, _)| q.matches(p)) {
                    Some((_, e)) => e.images.push(image.name.clone()),
                    None => include.push((
                        p.clone(),
                        MatrixEntry {
                            platform: p.clone(),
                            slug: p.to_string().replace('/', "-"),
                            runner: runner(p),
                            images: vec![image.name.clone()],
                        },
                    )),
                }
            }
        }
        Matrix {
            include: include.into_iter().map(|(_, e)| e).collect(),
        }
    }
}

/// A leg of a multi-runner build: the images of `full` that need any of `platforms`,
/// each restricted to those platforms, with no tags (a leg moves none).
#[derive(Debug, Clone)]
pub struct Leg {
    pub plan: Plan,
    /// Images that need none of the leg's platforms: (name, the platforms they need).
    pub skipped: Vec<(String, Vec<Platform>)>,
}

impl Plan {
    /// The leg of this project's images for `platforms` (every one of which some image
    /// must need: the caller checks). Each image keeps the fingerprint of its full plan.
    pub fn leg(
        project: &Project,
        images: &[&Image],
        options: &Options,
        platforms: &[Platform],
    ) -> Leg {
        let mut kept = Vec::new();
        let mut skipped = Vec::new();
        for image in images {
            let full = image_plan(project, image, options);
            let mine: Vec<Platform> = full
                .platforms
                .iter()
                .filter(|p| platforms.iter().any(|q| q.matches(p)))
                .cloned()
                .collect();
            if mine.is_empty() {
                skipped.push((full.name.clone(), full.platforms.clone()));
                continue;
            }
            let mut leg = full.clone();
            leg.platforms = mine.clone();
            leg.tags = Vec::new();
            leg.single_tags = Vec::new();
            // The other repositories get their copy from `merge`.
            leg.also = Vec::new();
            if let Some(s) = &mut leg.smoke {
                s.platforms.retain(|p| mine.iter().any(|q| q.matches(p)));
            }
            leg.smoke = leg.smoke.filter(|s| !s.platforms.is_empty());
            leg.targets = full
                .targets
                .iter()
                .filter_map(|t| {
                    let ps: Vec<Platform> = t
                        .platforms
                        .iter()
                        .filter(|p| mine.iter().any(|q| q.matches(p)))
                        .cloned()
                        .collect();
                    (!ps.is_empty()).then(|| TargetPlan {
                        platforms: ps,
                        ..t.clone()
                    })
                })
                .collect();
            link(project, image, &mut leg, options);
            leg.command = build_argv(image, &leg, options);
            kept.push(leg);
        }
        let bake =
            (kept.len() > 1 || super::options::needs_bake(&kept)).then(|| bake(&kept, options));
        Leg {
            plan: Plan {
                images: kept,
                bake,
                builder: None,
                options: options.clone(),
            },
            skipped,
        }
    }
}
