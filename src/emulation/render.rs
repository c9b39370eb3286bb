//! A build's timing as a person reads it: one line per platform.
//!
//! `linux/arm64  41.2s, 38.9s emulated · 2/7 cached · slowest RUN npm ci (Dockerfile:7) 36.0s emulated`

use std::fmt::Write as _;

use super::forecast::Forecast;
use super::measure::PlatformTiming;
use super::remedy::Remedy;

/// The longest step text shown on a line.
const SHOWN: usize = 60;

/// The line for one platform.
pub fn line(t: &PlatformTiming) -> String {
    let mut out = if t.emulated_s > 0.0 {
        format!(
            "{}  {:.1}s, {:.1}s emulated",
            t.platform, t.total_s, t.emulated_s
        )
    } else {
        format!("{}  {:.1}s native", t.platform, t.total_s)
    };
    out.push_str(&format!(" · {}/{} cached", t.cached, t.steps));
    if let Some(s) = t.slowest.first() {
        let step = if s.step.chars().count() > SHOWN {
            let mut c: String = s.step.chars().take(SHOWN - 1).collect();
            c.push('…');
            c
        } else {
            s.step.clone()
        };
        out.push_str(&format!(" · slowest {step}"));
        if let Some(at) = &s.at {
            out.push_str(&format!(" ({at})"));
        }
        out.push_str(&format!(
            " {:.1}s {}",
            s.seconds,
            if s.emulated { "emulated" } else { "native" }
        ));
    }
    if let Some(n) = &t.node {
        out.push_str(&format!(" · node {n}"));
    }
    out
}

/// `plan`'s emulation section for an image: nothing when no `RUN` step will run
/// emulated (and the Dockerfile was read), else each platform's emulated steps with
/// their last measured time, then the remedies.
pub fn forecast(f: &Forecast) -> String {
    let mut out = String::new();
    if let Some(why) = &f.unknown {
        let _ = writeln!(out, "  emulation     not forecast: {why}");
        return out;
    }
    if f.platforms.iter().all(|p| p.emulated.is_empty()) {
        return out;
    }
    let _ = writeln!(
        out,
        "  emulation     RUN steps under QEMU on builder {}",
        f.builder
    );
    let at_width = f
        .platforms
        .iter()
        .flat_map(|p| &p.emulated)
        .map(|s| s.at.len())
        .max()
        .unwrap_or(0);
    for p in &f.platforms {
        let node = p
            .node
            .as_deref()
            .map(|n| format!(" on node {n}"))
            .unwrap_or_default();
        if p.emulated.is_empty() {
            let how = if p.native {
                "native"
            } else {
                "emulated, but no RUN step"
            };
            let _ = writeln!(out, "    {:12} {how}{node}", p.platform);
            continue;
        }
        let known: f64 = p.emulated.iter().filter_map(|s| s.last_s).sum();
        let last = if known > 0.0 {
            format!(", {known:.1}s the last time they ran")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "    {:12} {} RUN step(s) emulated{node}{last}:",
            p.platform,
            p.emulated.len()
        );
        for s in &p.emulated {
            let time = s
                .last_s
                .map(|t| format!("  last {t:.1}s"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "      {:at_width$}  {}{time}",
                s.at,
                clip(&s.instruction)
            );
        }
    }
    if !f.remedies.is_empty() {
        let _ = writeln!(out, "  remedies");
    }
    for r in &f.remedies {
        out.push_str(&remedy(r));
    }
    out
}

fn remedy(r: &Remedy) -> String {
    let mut out = String::new();
    match r {
        Remedy::NativeNode { platforms, runners } => {
            let ps = platforms.join(", ");
            let _ = writeln!(
                out,
                "    - build {ps} on a node of that CPU: a `builder:` node with `platforms: [{}]` (then `mpbuild builder up`),",
                platforms[0]
            );
            let on: Vec<String> = runners.iter().map(|(p, r)| format!("{p} → {r}")).collect();
            let runners = if on.is_empty() {
                String::new()
            } else {
                format!(" ({})", on.join(", "))
            };
            let _ = writeln!(
                out,
                "      or a CI runner per platform: `mpbuild plan --format github-matrix`{runners}, `mpbuild push --platform P --digests-dir DIR` on each, `mpbuild merge --digests-dir DIR` once"
            );
        }
        Remedy::BuildPlatformStage {
            stage,
            from,
            from_instruction,
            moves,
            stays,
        } => {
            let _ = writeln!(
                out,
                "    - move work that does not depend on the CPU out of {stage} ({from} `{}`) into a stage that runs on the builder's own CPU:",
                clip(from_instruction)
            );
            let _ = writeln!(
                out,
                "      add `FROM --platform=$BUILDPLATFORM … AS NAME` before {from}, move these lines there (with the COPY/ADD lines of the files they use), and `COPY --from=NAME` their output where they were:"
            );
            let width = moves
                .iter()
                .chain(stays)
                .map(|m| m.at.len())
                .max()
                .unwrap_or(0);
            for m in moves {
                let _ = writeln!(
                    out,
                    "        {:width$}  {} — {}",
                    m.at,
                    clip(&m.instruction),
                    m.how
                );
            }
            for m in stays {
                let _ = writeln!(
                    out,
                    "        {:width$}  {} — {}",
                    m.at,
                    clip(&m.instruction),
                    m.how
                );
            }
        }
    }
    out
}

/// `doctor`'s findings for an image: one per platform with emulated `RUN` steps —
/// (check, detail, fix).
pub fn findings(f: &Forecast) -> Vec<(String, String, String)> {
    let moves: Vec<&str> = f
        .remedies
        .iter()
        .flat_map(|r| match r {
            Remedy::BuildPlatformStage { moves, .. } => {
                moves.iter().map(|m| m.at.as_str()).collect()
            }
            Remedy::NativeNode { .. } => Vec::new(),
        })
        .collect();
    f.platforms
        .iter()
        .filter(|p| !p.emulated.is_empty())
        .map(|p| {
            let steps: Vec<String> = p
                .emulated
                .iter()
                .map(|s| {
                    let last = s
                        .last_s
                        .map(|t| format!(", last {t:.1}s"))
                        .unwrap_or_default();
                    format!("{} `{}`{last}", s.at, clip(&s.instruction))
                })
                .collect();
            let node = p
                .node
                .as_deref()
                .map(|n| format!(" on node {n}"))
                .unwrap_or_default();
            let mut fix = format!(
                "a native node or CI runner for {} (`mpbuild plan` shows how)",
                p.platform
            );
            if !moves.is_empty() {
                fix.push_str(&format!(
                    ", or move {} into a `FROM --platform=$BUILDPLATFORM` stage",
                    moves.join(", ")
                ));
            }
            (
                format!("emulation {} {}", f.image, p.platform),
                format!(
                    "{} RUN step(s) under QEMU{node}: {}",
                    p.emulated.len(),
                    steps.join("; ")
                ),
                fix,
            )
        })
        .collect()
}

/// An instruction shortened for a line of its own.
fn clip(s: &str) -> String {
    if s.chars().count() <= SHOWN {
        return s.to_string();
    }
    let mut c: String = s.chars().take(SHOWN - 1).collect();
    c.push('…');
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulation::measure::StepTiming;

    #[test]
    fn one_line_per_platform() {
        let mut t = PlatformTiming {
            platform: "linux/arm64".into(),
            node: Some("default".into()),
            total_s: 41.23,
            native_s: 2.0,
            emulated_s: 38.91,
            steps: 7,
            cached: 2,
            slowest: vec![StepTiming {
                step: "RUN npm ci".into(),
                at: Some("Dockerfile:7".into()),
                seconds: 36.0,
                emulated: true,
            }],
        };
        assert_eq!(
            line(&t),
            "linux/arm64  41.2s, 38.9s emulated · 2/7 cached · slowest RUN npm ci (Dockerfile:7) 36.0s emulated · node default"
        );
        t.emulated_s = 0.0;
        t.slowest[0].emulated = false;
        t.slowest[0].step = "RUN ".to_string() + &"x".repeat(100);
        t.node = None;
        let l = line(&t);
        assert!(
            l.starts_with("linux/arm64  41.2s native · 2/7 cached · slowest RUN xxx"),
            "{l}"
        );
        assert!(l.contains("x… (Dockerfile:7) 36.0s native"), "{l}");
    }
}
