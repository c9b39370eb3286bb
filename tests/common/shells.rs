//! Completion scripts run in real shells as a TAB runs them: bash's `_mpbuild` with
//! COMP_WORDS, COMP_CWORD and COMP_LINE set; zsh through a pseudo-terminal (its zpty
//! module) with every match `compadd` adds written to a file; fish's `complete -C`.
//! Each runs in `dir` without start-up files, with only `path` as PATH: the built
//! mpbuild's directory first ([`with_mpbuild`]) or a PATH without it. No timing is
//! asserted: a shell that has not finished within [`HANG`] fails the test instead of
//! hanging it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// What a completion offered, and what the completing shell printed on stderr.
#[derive(Debug)]
pub struct Completed {
    pub values: Vec<String>,
    pub stderr: String,
}

/// A hang guard, not a speed bound: how long a shell may run (a zsh or fish start on a
/// loaded 2-core machine takes seconds; a completion takes milliseconds more).
const HANG: &str = "30";

/// The directory of the built mpbuild.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_mpbuild"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A PATH with the built mpbuild first, then the system's tools.
pub fn with_mpbuild() -> OsString {
    let mut path = bin_dir().into_os_string();
    path.push(":/usr/local/bin:/usr/bin:/bin");
    path
}

/// A PATH where no mpbuild is found.
pub const WITHOUT_MPBUILD: &str = "/usr/bin:/bin";

/// `program ARGS` in `dir`, killed after [`HANG`] seconds (coreutils' `timeout`); it
/// must succeed. Its stdout and stderr.
fn run(dir: &Path, path: &OsString, program: &str, args: &[&str]) -> (String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("/usr/bin/timeout")
        .args(["-k", "5", HANG, program])
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("TERM", "dumb")
        .output()
        .unwrap_or_else(|e| {
            panic!("{program}: {e} (scripts/stack up installs bash, zsh and fish)")
        });
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_ne!(
        out.status.code(),
        Some(124),
        "{program} {args:?}: still running after {HANG} s: {stdout}{stderr}"
    );
    assert!(out.status.success(), "{program} {args:?}: {stdout}{stderr}");
    (stdout, stderr)
}

/// Lines, empty ones left out, each once (zsh's `_describe` adds its matches more than
/// once), in their order.
fn distinct(text: &str, field: impl Fn(&str) -> &str) -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    for value in text.lines().map(field).filter(|l| !l.is_empty()) {
        if !values.iter().any(|v| v == value) {
            values.push(value.to_string());
        }
    }
    values
}

/// Bash's `_mpbuild` for `line` (cursor at its end): `words` as bash splits it (at
/// `:` too, COMP_WORDBREAKS), `cur` bash's second argument; `setup` runs before.
pub fn bash(
    dir: &Path,
    path: &OsString,
    script: &Path,
    setup: &str,
    line: &str,
    words: &[&str],
    cur: &str,
) -> Completed {
    let cword = words.len() - 1;
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let program = format!(
        "source '{}'; {setup} COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({}); COMP_CWORD={cword}; _mpbuild mpbuild '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
    );
    let (stdout, stderr) = run(
        dir,
        path,
        "bash",
        &["--norc", "--noprofile", "-c", &program],
    );
    Completed {
        values: distinct(&stdout, |l| l),
        stderr,
    }
}

/// zsh's completion of `line` (TAB at its end) in an interactive zsh on a
/// pseudo-terminal, with the script loaded after `compinit`. That zsh's stderr (the
/// pty's otherwise) goes to a file, given as [`Completed::stderr`] after the driver's.
/// The values are read once the completion has finished: `comppostfuncs` runs after
/// every completer (`_describe` adds its matches in several `compadd` calls) and writes
/// a marker the driver waits for.
pub fn zsh(dir: &Path, path: &OsString, script: &Path, line: &str) -> Completed {
    let work = tempfile::tempdir().unwrap();
    let completed = work.path().join("completed");
    let finished = work.path().join("finished");
    let errors = work.path().join("stderr");
    let setup = work.path().join("setup.zsh");
    std::fs::write(
        &setup,
        format!(
            r#"exec 2>>'{errors}'
autoload -Uz compinit && compinit -u -D
source '{script}'
_mpbuild_test_done() {{ print done >>'{finished}' }}
comppostfuncs+=(_mpbuild_test_done)
compadd() {{
    if [[ ${{@[1,(i)(-|--)]}} == *-(O|A|D)\ * ]]; then
        builtin compadd "$@"; return
    fi
    local -a hits
    builtin compadd -O hits "$@"
    (( ${{#hits}} )) && print -rl -- "${{hits[@]}}" >>'{completed}'
    builtin compadd "$@"
}}
"#,
            script = script.display(),
            completed = completed.display(),
            finished = finished.display(),
            errors = errors.display(),
        ),
    )
    .unwrap();
    // Polls for the marker within the hang guard, a little shorter than `run`'s.
    let driver = format!(
        r#"zmodload zsh/zpty
zpty z 'zsh -f -i'
zpty -w z "source '{setup}'"
zpty -w -n z '{line}'$'\t'
for i in {{1..250}}; do [[ -e '{finished}' ]] && break; sleep 0.1; done
zpty -d z
[[ -e '{finished}' ]] || {{ print -u2 "zsh: the completion did not finish in 25 s"; exit 1 }}
"#,
        setup = setup.display(),
        finished = finished.display(),
    );
    let (_, mut stderr) = run(dir, path, "zsh", &["-f", "-c", &driver]);
    stderr.push_str(&std::fs::read_to_string(&errors).unwrap_or_default());
    let offered = std::fs::read_to_string(&completed).unwrap_or_default();
    Completed {
        values: distinct(&offered, |l| l),
        stderr,
    }
}

/// fish's completions of `line` (`complete -C`), values without their descriptions.
pub fn fish(dir: &Path, path: &OsString, script: &Path, line: &str) -> Completed {
    let program = format!("source '{}'; complete -C '{line}'", script.display());
    let (stdout, stderr) = run(dir, path, "fish", &["--no-config", "-c", &program]);
    Completed {
        values: distinct(&stdout, |l| l.split('\t').next().unwrap_or_default()),
        stderr,
    }
}
