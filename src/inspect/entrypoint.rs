//! The program an image will exec: Entrypoint + Cmd as Docker combines them, looked up
//! along the image's PATH, symlinks followed, `#!` scripts checked through their
//! interpreter; then its ELF machine against the platform.

use serde::Serialize;

use super::InspectError;
use super::elf::{self, ElfInfo};
use super::layers::{Node, Union};
use crate::platform::Platform;
use crate::registry::manifest::RunConfig;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The verdict of the deep check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    Match { machine: String },
    Mismatch { machine: String, expected: String },
    NotElf { what: String },
    NotFound { path: String },
    NothingToExec,
}

/// The deep check of one platform's image.
#[derive(Debug, Clone, Serialize)]
pub struct DeepCheck {
    /// argv[0] as the config says it.
    pub program: String,
    /// Each step: the program, where its symlinks led, interpreters.
    pub chain: Vec<String>,
    pub verdict: Verdict,
    pub layers_read: usize,
    pub bytes_read: u64,
}

impl DeepCheck {
    pub fn ok(&self) -> bool {
        matches!(self.verdict, Verdict::Match { .. })
    }

    /// One line for the report.
    pub fn summary(&self, platform: &Platform) -> String {
        let last = self
            .chain
            .last()
            .cloned()
            .unwrap_or_else(|| self.program.clone());
        let via = if self.chain.len() > 1 {
            format!(" (via {})", self.chain[..self.chain.len() - 1].join(" → "))
        } else {
            String::new()
        };
        match &self.verdict {
            Verdict::Match { machine } => format!("{last} is an ELF for {machine}{via}"),
            Verdict::Mismatch { machine, .. } => {
                format!("{last} is an ELF for {machine}, but the platform is {platform}{via}")
            }
            Verdict::NotElf { what } => format!("{last} is not an ELF binary ({what}){via}"),
            Verdict::NotFound { path } => format!("{path} is not in the image{via}"),
            Verdict::NothingToExec => {
                "the image config has no Entrypoint and no Cmd: nothing to exec".into()
            }
        }
    }
}

/// argv as Docker builds it: Entrypoint + Cmd when Entrypoint is set, else Cmd.
pub fn argv(cfg: &RunConfig) -> Vec<String> {
    let entry = cfg.entrypoint.clone().unwrap_or_default();
    let cmd = cfg.cmd.clone().unwrap_or_default();
    if entry.is_empty() {
        cmd
    } else {
        entry.into_iter().chain(cmd).collect()
    }
}

fn search_path(cfg: &RunConfig) -> String {
    cfg.env
        .as_ref()
        .and_then(|env| {
            env.iter()
                .find_map(|e| e.strip_prefix("PATH=").map(str::to_string))
        })
        .unwrap_or_else(|| DEFAULT_PATH.to_string())
}

/// Runs the check against the image's layers.
pub fn check(
    union: &mut Union,
    cfg: &RunConfig,
    platform: &Platform,
) -> Result<DeepCheck, InspectError> {
    let args = argv(cfg);
    let Some(program) = args.first().cloned() else {
        return Ok(DeepCheck {
            program: String::new(),
            chain: Vec::new(),
            verdict: Verdict::NothingToExec,
            layers_read: union.layers_read(),
            bytes_read: union.bytes_read,
        });
    };
    let mut chain = Vec::new();
    let mut current = program.clone();
    let mut verdict = None;
    for _ in 0..5 {
        // Locate the file.
        let found = if current.contains('/') {
            let path = if current.starts_with('/') {
                current.clone()
            } else {
                let wd = cfg
                    .working_dir
                    .clone()
                    .filter(|w| !w.is_empty())
                    .unwrap_or_else(|| "/".into());
                format!("{}/{current}", wd.trim_end_matches('/'))
            };
            union.resolve(&path)?.map(|r| (path, r))
        } else {
            let mut hit = None;
            for dir in search_path(cfg).split(':').filter(|d| !d.is_empty()) {
                let candidate = format!("{}/{current}", dir.trim_end_matches('/'));
                if let Some((p, n @ Node::File { .. })) = union.resolve(&candidate)? {
                    hit = Some((candidate, (p, n)));
                    break;
                }
            }
            hit
        };
        let Some((asked, (resolved, node))) = found else {
            verdict = Some(Verdict::NotFound {
                path: current.clone(),
            });
            break;
        };
        chain.push(if asked == resolved {
            resolved.clone()
        } else {
            format!("{asked} → {resolved}")
        });
        let Node::File { head, .. } = node else {
            verdict = Some(Verdict::NotElf {
                what: "not a regular file".into(),
            });
            break;
        };
        if let Some(info) = elf::parse(&head) {
            verdict = Some(elf_verdict(&info, platform));
            break;
        }
        if let Some(rest) = head.strip_prefix(b"#!") {
            let line =
                String::from_utf8_lossy(rest.split(|b| *b == b'\n').next().unwrap_or_default())
                    .trim()
                    .to_string();
            match line.split_whitespace().next() {
                Some(interp) => {
                    current = interp.to_string();
                    continue;
                }
                None => {
                    verdict = Some(Verdict::NotElf {
                        what: "a `#!` line without an interpreter".into(),
                    });
                    break;
                }
            }
        }
        let printable: String = String::from_utf8_lossy(&head[..head.len().min(16)])
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '.'
                }
            })
            .collect();
        verdict = Some(Verdict::NotElf {
            what: format!("starts with `{printable}`"),
        });
        break;
    }
    let verdict = verdict.unwrap_or(Verdict::NotElf {
        what: "more than 5 nested `#!` interpreters".into(),
    });
    Ok(DeepCheck {
        program,
        chain,
        verdict,
        layers_read: union.layers_read(),
        bytes_read: union.bytes_read,
    })
}

fn elf_verdict(info: &ElfInfo, platform: &Platform) -> Verdict {
    if info.matches(platform) {
        Verdict::Match {
            machine: info.machine_name(),
        }
    } else {
        Verdict::Mismatch {
            machine: info.machine_name(),
            expected: platform.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::layers::testing::*;
    use super::*;
    use crate::inspect::elf::{EM_AARCH64, EM_ARM, EM_X86_64, header};

    fn cfg(entry: &[&str], cmd: &[&str], env_path: Option<&str>, wd: Option<&str>) -> RunConfig {
        RunConfig {
            entrypoint: (!entry.is_empty()).then(|| entry.iter().map(|s| s.to_string()).collect()),
            cmd: (!cmd.is_empty()).then(|| cmd.iter().map(|s| s.to_string()).collect()),
            env: env_path.map(|p| vec![format!("PATH={p}")]),
            working_dir: wd.map(str::to_string),
        }
    }

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    #[test]
    fn entrypoint_plus_cmd_and_path_lookup() {
        let arm = header(EM_AARCH64, true, true);
        let x86 = header(EM_X86_64, true, true);
        let src = mem(vec![
            (GZ, gzip(&tar(&[E::F("usr/bin/app", &x86)]))),
            (GZ, gzip(&tar(&[E::F("usr/local/bin/app", &arm)]))),
        ]);
        let mut u = Union::new(&src);
        let c = check(
            &mut u,
            &cfg(&["app"], &["--serve"], None, None),
            &p("linux/arm64"),
        )
        .unwrap();
        assert!(c.ok(), "{c:?}");
        assert_eq!(c.chain, vec!["/usr/local/bin/app"]);
        // PATH order decides: /usr/bin first finds the x86-64 one.
        let mut u = Union::new(&src);
        let c = check(
            &mut u,
            &cfg(&[], &["app"], Some("/usr/bin:/usr/local/bin"), None),
            &p("linux/arm64"),
        )
        .unwrap();
        assert!(!c.ok());
        assert_eq!(
            c.summary(&p("linux/arm64")),
            "/usr/bin/app is an ELF for x86-64, but the platform is linux/arm64"
        );
    }

    #[test]
    fn scripts_are_checked_through_their_interpreter() {
        let arm = header(EM_AARCH64, true, true);
        let src = mem(vec![(
            TAR,
            tar(&[
                E::L("bin", "usr/bin"),
                E::F("usr/bin/dash", &arm),
                E::L("usr/bin/sh", "dash"),
                E::F("usr/bin/env", &arm),
                E::F("app/run.sh", b"#!/bin/sh\nexec python3 app.py\n"),
                E::F("app/tool", b"#!/usr/bin/env python3\n"),
            ]),
        )]);
        let mut u = Union::new(&src);
        let c = check(
            &mut u,
            &cfg(&["./run.sh"], &[], None, Some("/app")),
            &p("linux/arm64"),
        )
        .unwrap();
        assert!(c.ok(), "{c:?}");
        assert_eq!(
            c.chain,
            vec!["/app/./run.sh → /app/run.sh", "/bin/sh → /usr/bin/dash"]
        );
        let c = check(
            &mut u,
            &cfg(&["/app/tool"], &[], None, None),
            &p("linux/arm64"),
        )
        .unwrap();
        assert!(c.ok(), "env is what exec runs: {c:?}");
        // Shell form: /bin/sh -c "…".
        let c = check(
            &mut u,
            &cfg(&[], &["/bin/sh", "-c", "echo hi"], None, None),
            &p("linux/arm64"),
        )
        .unwrap();
        assert!(c.ok());
    }

    #[test]
    fn arm_v7_binaries_and_failures() {
        let arm32 = header(EM_ARM, false, true);
        let src = mem(vec![(
            TAR,
            tar(&[E::F("agent", &arm32), E::F("data.txt", b"hello world")]),
        )]);
        let mut u = Union::new(&src);
        assert!(
            check(
                &mut u,
                &cfg(&["/agent"], &[], None, None),
                &p("linux/arm/v7")
            )
            .unwrap()
            .ok()
        );
        let c = check(
            &mut u,
            &cfg(&["/data.txt"], &[], None, None),
            &p("linux/arm/v7"),
        )
        .unwrap();
        assert!(matches!(c.verdict, Verdict::NotElf { .. }), "{c:?}");
        let c = check(
            &mut u,
            &cfg(&["/missing"], &[], None, None),
            &p("linux/arm/v7"),
        )
        .unwrap();
        assert_eq!(
            c.verdict,
            Verdict::NotFound {
                path: "/missing".into()
            }
        );
        let c = check(&mut u, &cfg(&[], &[], None, None), &p("linux/arm/v7")).unwrap();
        assert_eq!(c.verdict, Verdict::NothingToExec);
        assert!(!c.ok());
    }
}
