//! Configuration errors that point at the file, line and column, with the offending
//! line shown and a hint saying what would be valid.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::exit::{Code, Coded};

/// A position in the project file (1-based; column counts characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
    /// Characters to underline (at least 1).
    pub len: u32,
}

impl Pos {
    pub fn of(loc: &serde_saphyr::Location) -> Pos {
        Pos {
            line: loc.line() as u32,
            column: loc.column() as u32,
            len: loc.span().len() as u32,
        }
    }

    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

/// Something wrong with the project file or how mpbuild was asked to find it.
#[derive(Debug)]
pub enum ConfigError {
    /// No project file where mpbuild looked.
    NotFound { dir: PathBuf },
    /// The file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A problem at a place in the file (its help shown with the snippet).
    At(Box<Located>),
    /// A `--set` that cannot be applied.
    Override(super::overrides::OverrideError),
}

impl From<super::overrides::OverrideError> for ConfigError {
    fn from(e: super::overrides::OverrideError) -> ConfigError {
        ConfigError::Override(e)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NotFound { dir } => crate::exit::write_with_help(
                f,
                &format!(
                    "no mpbuild.yaml in {} or any parent directory",
                    dir.display()
                ),
                self.help().as_deref(),
            ),
            ConfigError::Read { path, source } => crate::exit::write_with_help(
                f,
                &format!("cannot read {}: {source}", path.display()),
                self.help().as_deref(),
            ),
            ConfigError::At(l) => f.write_str(&render(l)),
            ConfigError::Override(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            ConfigError::Override(e) => std::error::Error::source(e),
            _ => None,
        }
    }
}

impl Coded for ConfigError {
    fn code(&self) -> Code {
        Code::Usage
    }

    fn help(&self) -> Option<String> {
        match self {
            ConfigError::NotFound { .. } => Some("run `mpbuild init --service ecs-fargate` (or any service `mpbuild targets` lists) to write one, or pass `-f FILE`".into()),
            ConfigError::Read { .. } => Some("check the path given with -f".into()),
            ConfigError::At(l) => l.help.clone(),
            ConfigError::Override(e) => e.help(),
        }
    }
}

/// A message tied to a place in a file, with the source line to show.
#[derive(Debug)]
pub struct Located {
    pub message: String,
    pub path: PathBuf,
    pub pos: Pos,
    /// The text of the offending line (without the newline), when known.
    pub line_text: Option<String>,
    pub help: Option<String>,
}

impl ConfigError {
    /// An error at `pos` in `text` (the file's contents).
    pub fn at(
        path: &Path,
        text: &str,
        pos: Pos,
        message: impl Into<String>,
        help: Option<String>,
    ) -> ConfigError {
        let line_text = if pos.is_known() {
            yaml_lines(text)
                .nth(pos.line as usize - 1)
                .map(str::to_string)
        } else {
            None
        };
        ConfigError::At(Box::new(Located {
            message: message.into(),
            path: path.to_path_buf(),
            pos,
            line_text,
            help,
        }))
    }

    /// The message alone (for tests and JSON output).
    pub fn message(&self) -> String {
        match self {
            ConfigError::At(l) => l.message.clone(),
            other => other.to_string(),
        }
    }
}

/// Line `line` (1-based) of a YAML text, as the parser numbers lines.
pub(crate) fn line_of(text: &str, line: u32) -> Option<&str> {
    yaml_lines(text).nth((line as usize).checked_sub(1)?)
}

/// The lines of a YAML text as the parser numbers them: `\r\n`, a lone `\r` and `\n`
/// each end one (was: `\n` only, so a file with bare carriage returns got a position
/// past its last `\n`-line and no source line under the error).
fn yaml_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        match t.find(['\r', '\n']) {
            Some(i) => {
                let skip = if t[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&t[i + skip..]);
                Some(&t[..i])
            }
            None => {
                rest = None;
                Some(t)
            }
        }
    })
}

fn render(l: &Located) -> String {
    let mut out = String::new();
    let _ = write_located(&mut out, l);
    out
}

fn write_located(out: &mut String, l: &Located) -> fmt::Result {
    use fmt::Write;
    write!(out, "{}", l.message)?;
    if l.pos.is_known() {
        let num = l.pos.line.to_string();
        let pad = " ".repeat(num.len());
        write!(
            out,
            "\n{pad}--> {}:{}:{}",
            l.path.display(),
            l.pos.line,
            l.pos.column
        )?;
        if let Some(text) = &l.line_text {
            write!(out, "\n{pad} |\n{num} | {text}")?;
            let col = l.pos.column.max(1) as usize - 1;
            let avail = text.chars().count().saturating_sub(col).max(1);
            let len = (l.pos.len.max(1) as usize).min(avail);
            write!(out, "\n{pad} | {}{}", " ".repeat(col), "^".repeat(len))?;
        }
        if let Some(help) = &l.help {
            write!(out, "\n{pad} = help: {help}")?;
        }
    } else {
        write!(out, "\n  --> {}", l.path.display())?;
        if let Some(help) = &l.help {
            write!(out, "\n  = help: {help}")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_end_as_yaml_ends_them() {
        let lines: Vec<&str> = yaml_lines("a\r\nb\rc\nd").collect();
        assert_eq!(lines, ["a", "b", "c", "d"]);
        assert_eq!(yaml_lines("x\n").collect::<Vec<_>>(), ["x", ""]);
        let e = ConfigError::at(
            Path::new("f.yaml"),
            "version: 1\r\r\rimages: [\r",
            Pos {
                line: 4,
                column: 1,
                len: 6,
            },
            "bad",
            None,
        );
        assert!(e.to_string().contains("4 | images: ["), "{e}");
    }

    use super::*;

    #[test]
    fn renders_a_snippet_with_caret_and_help() {
        let text = "version: 1\nimages:\n  api:\n    targets:\n      - service: ecs-fargte\n";
        let e = ConfigError::at(
            Path::new("mpbuild.yaml"),
            text,
            Pos {
                line: 5,
                column: 18,
                len: 10,
            },
            "unknown service `ecs-fargte`; did you mean `ecs-fargate`?",
            Some("`mpbuild targets` lists the services mpbuild knows".into()),
        );
        assert_eq!(
            e.to_string(),
            "unknown service `ecs-fargte`; did you mean `ecs-fargate`?\n --> mpbuild.yaml:5:18\n  |\n5 |       - service: ecs-fargte\n  |                  ^^^^^^^^^^\n  = help: `mpbuild targets` lists the services mpbuild knows"
        );
    }
}
