//! The `cosign` program: `MPBUILD_COSIGN`, else `cosign` on PATH; its version read from
//! `cosign version --json` (2.0 or newer; a distribution's build that says `devel` is
//! taken as it is). Every run has its stdin closed (cosign never waits on a prompt),
//! its output capped and a deadline, and the secrets it needs in its environment only.

use std::path::PathBuf;
use std::time::Duration;

use super::error::{SignError, is_remote};
use crate::child::{self, Waited};

/// How long one cosign run may take (its own `--timeout` is 3 minutes per operation).
pub const DEADLINE: Duration = Duration::from_secs(300);

/// A cosign program that answered its version.
#[derive(Debug, Clone)]
pub struct Cosign {
    pub program: PathBuf,
    /// `v2.5.0`, or `devel` for a build without a version.
    pub version: String,
}

impl Cosign {
    /// Finds cosign (`MPBUILD_COSIGN`, else PATH) and checks its version.
    pub fn find() -> Result<Cosign, SignError> {
        Cosign::find_with(&|name| std::env::var(name).ok())
    }

    pub fn find_with(env: &dyn Fn(&str) -> Option<String>) -> Result<Cosign, SignError> {
        let program = match env("MPBUILD_COSIGN").filter(|p| !p.is_empty()) {
            Some(p) => {
                let path = PathBuf::from(&p);
                if !path.is_file() {
                    return Err(SignError::NotRunnable {
                        path: p,
                        message: "no such file".into(),
                    });
                }
                path
            }
            None => which::which("cosign").map_err(|_| SignError::Missing)?,
        };
        let version = version(&program)?;
        Ok(Cosign { program, version })
    }

    /// Runs cosign with `args` and, on top of mpbuild's environment, `env` (secrets go
    /// here, never into `args`); `what` names the run in errors. Its stdout on success.
    pub fn run(
        &self,
        what: &str,
        args: &[String],
        env: &[(&str, String)],
    ) -> Result<std::process::Output, SignError> {
        self.run_with_input(what, args, env, None)
    }

    /// [`Cosign::run`], with `input` as its stdin (closed when `None`).
    pub fn run_with_input(
        &self,
        what: &str,
        args: &[String],
        env: &[(&str, String)],
        input: Option<&[u8]>,
    ) -> Result<std::process::Output, SignError> {
        let mut expr = duct::cmd(&self.program, args);
        expr = match input {
            Some(bytes) => expr.stdin_bytes(bytes.to_vec()),
            None => expr.stdin_null(),
        };
        for (k, v) in env {
            expr = expr.env(k, v);
        }
        match child::run(&expr, Some(DEADLINE), child::ANSWER_CAP) {
            Waited::Exited(o) => Ok(o),
            Waited::TimedOut => Err(SignError::TimedOut {
                what: what.into(),
                seconds: DEADLINE.as_secs(),
            }),
            Waited::Interrupted => Err(SignError::Spawn {
                what: what.into(),
                message: "interrupted".into(),
            }),
            Waited::TooMuch { stream, cap } => Err(SignError::Spawn {
                what: what.into(),
                message: format!("it printed more than {cap} bytes on {stream}; stopped"),
            }),
            Waited::Failed(e) => Err(SignError::Spawn {
                what: what.into(),
                message: e.to_string(),
            }),
        }
    }
}

/// The failure of a run that exited non-zero: cosign's `Error:` line (or its last
/// lines), escaped, with every secret it was given blanked out — as one line (the
/// signature gate's detail) and quoted under mpbuild's message, as cosign printed it.
pub fn failure(what: &str, out: &std::process::Output, secrets: &[&str]) -> SignError {
    let text = String::from_utf8_lossy(&out.stderr);
    let blank = |mut s: String| {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            s = s.replace(secret, "***");
        }
        s
    };
    let message = blank(error_lines(&text));
    let output = blank(crate::tool_output::quoted(picked_lines(&text)));
    SignError::Failed {
        what: what.into(),
        status: out
            .status
            .code()
            .map_or_else(|| "a signal".into(), |c| format!("status {c}")),
        remote: is_remote(&message),
        message,
        output,
    }
}

/// cosign's `Error: …` line, else its last three lines, as it printed them.
fn picked_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    match lines.iter().find(|l| l.starts_with("Error: ")) {
        Some(l) => vec![*l],
        None => lines[lines.len().saturating_sub(3)..].to_vec(),
    }
}

/// [`picked_lines`] on one line, cosign's `Error: ` taken off, each escaped.
fn error_lines(text: &str) -> String {
    picked_lines(text)
        .iter()
        .map(|l| crate::escape::Line(l.trim_start_matches("Error: ")).to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

/// `cosign version --json` → its gitVersion, checked to be 2.0 or newer.
fn version(program: &std::path::Path) -> Result<String, SignError> {
    let expr = duct::cmd(program, ["version", "--json"]).stdin_null();
    let err = |message: String| SignError::Version {
        program: program.display().to_string(),
        message,
    };
    let out = match child::run(&expr, Some(Duration::from_secs(30)), child::ANSWER_CAP) {
        Waited::Exited(o) if o.status.success() => o,
        Waited::Exited(o) => {
            return Err(err(error_lines(&String::from_utf8_lossy(&o.stderr))));
        }
        Waited::Failed(e) if std::env::var_os("MPBUILD_COSIGN").is_some() => {
            return Err(SignError::NotRunnable {
                path: program.display().to_string(),
                message: e.to_string(),
            });
        }
        other => return Err(err(format!("{other:?}"))),
    };
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| err(format!("not JSON ({e})")))?;
    let found = v
        .get("gitVersion")
        .and_then(|g| g.as_str())
        .ok_or_else(|| err("no gitVersion".into()))?
        .to_string();
    check_version(&found)?;
    Ok(found)
}

/// 2.0 or newer; `devel` (a distribution's build) is taken as it is.
pub fn check_version(found: &str) -> Result<(), SignError> {
    let major = found
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m < 2 => Err(SignError::TooOld {
            found: found.into(),
        }),
        _ => Ok(()),
    }
}

/// The end of every cosign argv: the plain-HTTP flags when the registry is insecure,
/// `--`, then the references.
pub(super) fn end_with(
    args: &mut Vec<String>,
    insecure: bool,
    refs: impl IntoIterator<Item = String>,
) {
    if insecure {
        args.push("--allow-insecure-registry".into());
        args.push("--allow-http-registry".into());
    }
    args.push("--".into());
    args.extend(refs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(check_version("v2.5.0").is_ok());
        assert!(check_version("v3.0.1").is_ok());
        assert!(check_version("devel").is_ok());
        assert!(matches!(
            check_version("v1.13.1"),
            Err(SignError::TooOld { .. })
        ));
    }

    #[test]
    fn a_secret_cosign_echoes_is_blanked_and_remote_errors_are_told_apart() {
        use std::os::unix::process::ExitStatusExt;
        let out = |stderr: &str| std::process::Output {
            status: std::process::ExitStatus::from_raw(1 << 8),
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
        };
        let e = failure(
            "signing image `api`",
            &out("Error: bad password hunter2-xyz\n"),
            &["hunter2-xyz"],
        );
        assert_eq!(
            e.message(),
            "signing image `api` failed: cosign exited with status 1, printing:\n    | Error: bad password ***"
        );
        assert!(!e.to_string().contains("hunter2-xyz"));
        assert_eq!(crate::exit::Coded::code(&e), crate::exit::Code::Build);
        let e = failure(
            "signing",
            &out(
                "Error: PUT https://r/v2/x/manifests/sha256-1.sig: UNAUTHORIZED: authentication required\n",
            ),
            &[],
        );
        assert_eq!(crate::exit::Coded::code(&e), crate::exit::Code::Registry);
    }

    #[test]
    fn error_lines_pick_cosign_error_and_escape() {
        let t = "WARNING: x\nError: signing [r@sha256:1]: reading key: decrypt: encrypted: decryption failed\nerror during command execution: same\n";
        assert_eq!(
            error_lines(t),
            "signing [r@sha256:1]: reading key: decrypt: encrypted: decryption failed"
        );
        assert_eq!(error_lines("a\nb\nc\nd\x1b[31m"), "b; c; d\\x1b[31m");
    }
}
