//! The programs an image will exec: Entrypoint + Cmd as Docker combines them, looked
//! up along the image's PATH, symlinks followed, `#!` scripts checked through their
//! interpreter, and on through what that program runs: `env [OPTIONS] [NAME=VALUE]…
//! PROGRAM`, the first word of `sh -c "…"`, and the Cmd behind an entrypoint script or
//! `env`. Every ELF on the way must be for the platform's machine.

use std::collections::{HashSet, VecDeque};

use serde::Serialize;

use super::elf::{self, ElfInfo};
use super::error::InspectError;
use super::layers::{Node, Union};
use crate::platform::Platform;
use crate::registry::manifest::RunConfig;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// What `execvp` searches when PATH is unset (glibc), e.g. after `env -i`.
const EXECVP_DEFAULT_PATH: &str = "/bin:/usr/bin";
/// Execs followed from one argv (interpreters, env, `sh -c`) before giving up.
const MAX_HOPS: usize = 8;

/// The verdict on one program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    Match { machine: String },
    Mismatch { machine: String, expected: String },
    NotElf { what: String },
    NotFound { path: String },
    NothingToExec,
}

/// One program the image will exec, and how it was reached.
#[derive(Debug, Clone, Serialize)]
pub struct Program {
    /// Each step: the program, where its symlinks led, interpreters, what runs it.
    pub chain: Vec<String>,
    pub verdict: Verdict,
}

impl Program {
    pub fn ok(&self) -> bool {
        matches!(self.verdict, Verdict::Match { .. })
    }

    fn summary(&self, platform: &Platform) -> String {
        let last = self.chain.last().cloned().unwrap_or_default();
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

/// The deep check of one platform's image.
#[derive(Debug, Clone, Serialize)]
pub struct DeepCheck {
    /// argv[0] as the config says it.
    pub program: String,
    /// Every program checked, in the order they would run.
    pub programs: Vec<Program>,
    /// Why the image was not looked into (a platform whose programs are not ELF).
    pub skipped: Option<String>,
    pub layers_read: usize,
    pub bytes_read: u64,
}

impl DeepCheck {
    pub fn ok(&self) -> bool {
        self.skipped.is_some()
            || (!self.programs.is_empty() && self.programs.iter().all(Program::ok))
    }

    /// The programs that failed.
    pub fn failed(&self) -> Vec<&Program> {
        self.programs.iter().filter(|p| !p.ok()).collect()
    }

    /// One line for the report: every program when all pass, else the failures first.
    pub fn summary(&self, platform: &Platform) -> String {
        if let Some(why) = &self.skipped {
            return format!("not checked: {why}");
        }
        let failed: Vec<String> = self
            .programs
            .iter()
            .filter(|p| !p.ok())
            .map(|p| p.summary(platform))
            .collect();
        if failed.is_empty() {
            return self
                .programs
                .iter()
                .map(|p| p.summary(platform))
                .collect::<Vec<_>>()
                .join("; ");
        }
        if self.programs.len() == 1 {
            return failed.join("; ");
        }
        let passed: Vec<String> = self
            .programs
            .iter()
            .filter(|p| p.ok())
            .filter_map(|p| p.chain.last().cloned())
            .collect();
        let mut s = format!(
            "{} of {} programs fail: {}",
            failed.len(),
            self.programs.len(),
            failed.join("; ")
        );
        if !passed.is_empty() {
            s.push_str(&format!("; ok: {}", passed.join(", ")));
        }
        s
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

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// `NAME=VALUE` with a shell-identifier NAME.
fn assignment(word: &str) -> Option<(&str, &str)> {
    let (name, value) = word.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
    .then_some((name, value))
}

/// Puts the words of `s` (split like `env -S` does, on whitespace) in front.
fn prepend(words: &mut VecDeque<String>, s: &str) {
    for (n, word) in s.split_whitespace().enumerate() {
        words.insert(n, word.to_string());
    }
}

/// What `env ARGS…` runs: the search path it will use and the program's argv, or
/// `None` when it runs nothing (prints the environment). Skips env's options (`-i`,
/// `-u NAME`, `-C DIR`, `-0`, `-v`, …; `-S STRING` is split into words) and
/// `NAME=VALUE` words; a `PATH=` assignment changes where the program is looked up.
pub fn env_program(args: &[String], path: &str) -> Option<(String, Vec<String>)> {
    let mut words: VecDeque<String> = args.iter().cloned().collect();
    let mut path = path.to_string();
    let mut options = true;
    while let Some(w) = words.pop_front() {
        if options && w == "--" {
            options = false;
            continue;
        }
        if options && w == "-" {
            path = EXECVP_DEFAULT_PATH.to_string();
            continue;
        }
        if options && let Some(long) = w.strip_prefix("--") {
            let (opt, value) = match long.split_once('=') {
                Some((o, v)) => (o, Some(v)),
                None => (long, None),
            };
            match (opt, value) {
                ("ignore-environment", _) => path = EXECVP_DEFAULT_PATH.to_string(),
                ("split-string", Some(v)) => prepend(&mut words, v),
                ("split-string", None) => {
                    if let Some(next) = words.pop_front() {
                        prepend(&mut words, &next);
                    }
                }
                ("unset" | "chdir" | "argv0", None) => {
                    words.pop_front();
                }
                _ => {}
            }
            continue;
        }
        if options && let Some(cluster) = w.strip_prefix('-') {
            // Short options, flags until one that takes a value: `-i`, `-0v`, `-u NAME`,
            // `-uNAME`, `-C DIR`, `-S STRING`; `#!/usr/bin/env -S python3 -u` passes
            // "-S python3 -u" as one word.
            for (i, ch) in cluster.char_indices() {
                let rest = &cluster[i + ch.len_utf8()..];
                match ch {
                    'i' => path = EXECVP_DEFAULT_PATH.to_string(),
                    'u' | 'C' | 'a' => {
                        if rest.is_empty() {
                            words.pop_front();
                        }
                        break;
                    }
                    'S' => {
                        if rest.trim().is_empty() {
                            if let Some(next) = words.pop_front() {
                                prepend(&mut words, &next);
                            }
                        } else {
                            prepend(&mut words, rest);
                        }
                        break;
                    }
                    _ => {}
                }
            }
            continue;
        }
        if let Some((name, value)) = assignment(&w) {
            if name == "PATH" {
                path = value.to_string();
            }
            continue;
        }
        let mut argv = vec![w];
        argv.extend(words);
        return Some((path, argv));
    }
    None
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "busybox"];

/// Words a POSIX shell runs itself, not as a file (also reserved words).
const SHELL_BUILTINS: &[&str] = &[
    ":", ".", "[", "[[", "alias", "bg", "break", "cd", "command", "continue", "echo", "eval",
    "exit", "export", "false", "fg", "getopts", "hash", "jobs", "kill", "local", "printf", "pwd",
    "read", "readonly", "return", "set", "shift", "source", "test", "times", "trap", "true",
    "type", "ulimit", "umask", "unalias", "unset", "wait", "if", "then", "else", "fi", "for",
    "while", "until", "case", "do", "done", "{", "}", "(", ")", "!", "function",
];

/// The command string of `sh [OPTIONS] -c STRING …`, when there is one.
pub fn shell_command(args: &[String]) -> Option<&str> {
    let mut has_c = false;
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if (a.starts_with('-') || a.starts_with('+')) && a.len() > 1 {
            if a[1..].contains('c') && a.starts_with('-') {
                has_c = true;
            }
            if a == "-o" || a == "+o" {
                i += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    if has_c {
        args.get(i).map(String::as_str)
    } else {
        None
    }
}

/// The program `sh -c COMMAND` execs first, as argv: leading `NAME=VALUE` words and
/// `exec` (with its options) skipped; `None` for a builtin, a keyword, or a word the
/// shell expands (`$X`, backquotes), whose target cannot be known.
pub fn shell_first_program(command: &str) -> Option<Vec<String>> {
    let mut words: Vec<String> = command
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c| c == '"' || c == '\'')
                .trim_end_matches([';', '&', '|'])
                .to_string()
        })
        .collect();
    while words.first().is_some_and(|w| assignment(w).is_some()) {
        words.remove(0);
    }
    if words.first().is_some_and(|w| w == "exec") {
        words.remove(0);
        while let Some(w) = words.first().cloned() {
            match w.as_str() {
                "-a" => {
                    words.drain(..2.min(words.len()));
                }
                "-c" | "-l" | "-cl" | "-lc" | "--" => {
                    words.remove(0);
                }
                _ => break,
            }
        }
    }
    let first = words.first()?;
    if first.is_empty()
        || SHELL_BUILTINS.contains(&first.as_str())
        || first.contains(['$', '`', '(', '<', '>'])
    {
        return None;
    }
    Some(words)
}

/// What argv[0] turned out to be, for deciding whether the Cmd is run by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Started {
    Script,
    Env,
    Other,
}

struct Walk<'u, 'a> {
    union: &'u mut Union<'a>,
    cfg: &'u RunConfig,
    platform: &'u Platform,
    programs: Vec<Program>,
    seen: HashSet<String>,
}

impl Walk<'_, '_> {
    /// Finds `name` as exec would: a path (relative to the working directory), or
    /// along `path`. Returns the path asked for, where it resolved, and the node.
    fn locate(
        &mut self,
        name: &str,
        path: &str,
    ) -> Result<Option<(String, String, Node)>, InspectError> {
        if name.contains('/') {
            let full = if name.starts_with('/') {
                name.to_string()
            } else {
                let wd = self
                    .cfg
                    .working_dir
                    .clone()
                    .filter(|w| !w.is_empty())
                    .unwrap_or_else(|| "/".into());
                format!("{}/{name}", wd.trim_end_matches('/'))
            };
            return Ok(self.union.resolve(&full)?.map(|(r, n)| (full, r, n)));
        }
        if name.is_empty() {
            return Ok(None);
        }
        for dir in path.split(':').filter(|d| !d.is_empty()) {
            let candidate = format!("{}/{name}", dir.trim_end_matches('/'));
            if let Some((r, n @ Node::File { .. })) = self.union.resolve(&candidate)? {
                return Ok(Some((candidate, r, n)));
            }
        }
        Ok(None)
    }

    /// Whether `name` is a regular file in the image (looked up like exec would).
    fn is_file(&mut self, name: &str, path: &str) -> Result<bool, InspectError> {
        Ok(matches!(
            self.locate(name, path)?,
            Some((_, _, Node::File { .. }))
        ))
    }

    fn record(&mut self, chain: &[String], verdict: Verdict) {
        self.programs.push(Program {
            chain: chain.to_vec(),
            verdict,
        });
    }

    /// Follows one exec of `argv`, recording every program on the way. `via` is how
    /// this exec was reached; `hops` bounds the whole walk.
    fn exec(
        &mut self,
        argv: Vec<String>,
        via: &[String],
        path: &str,
        hops: &mut usize,
    ) -> Result<Started, InspectError> {
        let mut argv = argv;
        let mut chain: Vec<String> = via.to_vec();
        let mut started = None;
        loop {
            *hops += 1;
            if *hops > MAX_HOPS {
                self.record(
                    &chain,
                    Verdict::NotElf {
                        what: format!("more than {MAX_HOPS} nested interpreters and programs"),
                    },
                );
                return Ok(started.unwrap_or(Started::Other));
            }
            let name = argv[0].clone();
            let Some((asked, resolved, node)) = self.locate(&name, path)? else {
                self.record(&chain, Verdict::NotFound { path: name });
                return Ok(started.unwrap_or(Started::Other));
            };
            chain.push(if asked == resolved {
                resolved.clone()
            } else {
                format!("{asked} → {resolved}")
            });
            let Node::File { head, .. } = node else {
                self.record(
                    &chain,
                    Verdict::NotElf {
                        what: "not a regular file".into(),
                    },
                );
                return Ok(started.unwrap_or(Started::Other));
            };
            if let Some(info) = elf::parse(&head) {
                let names = [basename(&asked), basename(&resolved)];
                let is_env = names.contains(&"env");
                let shell = names.iter().any(|n| SHELLS.contains(n));
                if self.seen.insert(resolved.clone()) {
                    self.record(&chain, elf_verdict(&info, self.platform));
                }
                let started = started.unwrap_or(if is_env { Started::Env } else { Started::Other });
                if is_env {
                    if let Some((env_path, next)) = env_program(&argv[1..], path) {
                        self.exec(next, &chain, &env_path, hops)?;
                    }
                } else if shell
                    && let Some(command) = shell_command(&argv[1..])
                    && let Some(next) = shell_first_program(command)
                    && self.is_file(&next[0], path)?
                {
                    self.exec(next, &chain, path, hops)?;
                }
                return Ok(started);
            }
            if let Some(rest) = head.strip_prefix(b"#!") {
                started.get_or_insert(Started::Script);
                let line =
                    String::from_utf8_lossy(rest.split(|b| *b == b'\n').next().unwrap_or_default())
                        .trim()
                        .to_string();
                // The kernel passes the rest of the line as one argument.
                let (interp, arg) = match line.split_once(char::is_whitespace) {
                    Some((i, a)) => (i.to_string(), Some(a.trim().to_string())),
                    None => (line.clone(), None),
                };
                if interp.is_empty() {
                    self.record(
                        &chain,
                        Verdict::NotElf {
                            what: "a `#!` line without an interpreter".into(),
                        },
                    );
                    return Ok(Started::Script);
                }
                let mut next = vec![interp];
                next.extend(arg.filter(|a| !a.is_empty()));
                next.push(resolved);
                next.extend(argv.into_iter().skip(1));
                argv = next;
                continue;
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
            self.record(
                &chain,
                Verdict::NotElf {
                    what: format!("starts with `{printable}`"),
                },
            );
            return Ok(started.unwrap_or(Started::Other));
        }
    }
}

/// Runs the check against the image's layers.
pub fn check(
    union: &mut Union,
    cfg: &RunConfig,
    platform: &Platform,
) -> Result<DeepCheck, InspectError> {
    let args = argv(cfg);
    let program = args.first().cloned().unwrap_or_default();
    if platform.os != "linux" {
        return Ok(DeepCheck {
            program,
            programs: Vec::new(),
            skipped: Some(format!(
                "the deep check reads Linux ELF programs; {platform} images are not inspected"
            )),
            layers_read: union.layers_read(),
            bytes_read: union.bytes_read,
        });
    }
    if args.is_empty() {
        return Ok(DeepCheck {
            program,
            programs: vec![Program {
                chain: Vec::new(),
                verdict: Verdict::NothingToExec,
            }],
            skipped: None,
            layers_read: union.layers_read(),
            bytes_read: union.bytes_read,
        });
    }
    let path = search_path(cfg);
    let mut walk = Walk {
        union,
        cfg,
        platform,
        programs: Vec::new(),
        seen: HashSet::new(),
    };
    let mut hops = 0;
    let started = walk.exec(args, &[], &path, &mut hops)?;
    // An entrypoint script (`exec "$@"`) or `env` runs the Cmd: check its program
    // too, when it is a file in the image (a Cmd of plain arguments is not).
    let entry = cfg.entrypoint.clone().unwrap_or_default();
    let cmd = cfg.cmd.clone().unwrap_or_default();
    if !entry.is_empty()
        && started != Started::Other
        && let Some(first) = cmd.first()
        && !first.starts_with('-')
        && walk.is_file(first, &path)?
    {
        let via = walk
            .programs
            .first()
            .and_then(|p| p.chain.first().cloned())
            .into_iter()
            .collect::<Vec<_>>();
        let mut hops = 0;
        walk.exec(cmd, &via, &path, &mut hops)?;
    }
    let programs = walk.programs;
    Ok(DeepCheck {
        program,
        programs,
        skipped: None,
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
mod tests;
