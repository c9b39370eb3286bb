//! A tool's own words inside one of mpbuild's messages (docker, buildx, cosign). mpbuild's
//! labels are lower case (`error:`, `warning:`, `note:`, `help:`), as cargo's and clap's;
//! what a tool printed (`ERROR: …`, cosign's `Error: …`) is quoted under mpbuild's line,
//! one `    | LINE` each, escaped — never left where it reads as mpbuild's own label.

use std::process::ExitStatus;

/// The most lines of a tool's output a message quotes (its last ones).
pub const MAX_LINES: usize = 10;

/// `lines` (the non-empty ones, at most the last [`MAX_LINES`]), each on a line of its
/// own after `    | `, escaped; each led by a newline, to follow "…, printing:".
pub fn quoted<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    let lines: Vec<&str> = lines
        .into_iter()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .collect();
    lines[lines.len().saturating_sub(MAX_LINES)..]
        .iter()
        .map(|l| format!("\n    | {}", crate::escape::Line(l)))
        .collect()
}

/// How a tool that failed ended, and what it printed on stderr, quoted:
/// "it exited with status 1, printing:\n    | ERROR: no builder \"x\" found".
pub fn exited(status: ExitStatus, stderr: &[u8]) -> String {
    let how = status.code().map_or_else(
        || "it was killed by a signal".to_string(),
        |c| format!("it exited with status {c}"),
    );
    let text = String::from_utf8_lossy(stderr);
    let lines = quoted(text.lines());
    if lines.is_empty() {
        format!("{how} and printed nothing on stderr")
    } else {
        format!("{how}, printing:{lines}")
    }
}

/// A tool's one line in a one-line finding (doctor's rows): in backquotes, escaped —
/// "failed; it printed `ERROR: no builder \"x\" found`".
pub fn inline(line: &str) -> String {
    format!("`{}`", crate::escape::Line(line.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_tools_lines_are_quoted_escaped_and_bounded() {
        assert_eq!(
            exited(
                ExitStatus::from_raw(1 << 8),
                b"\nERROR: no builder \"x\" found\n"
            ),
            "it exited with status 1, printing:\n    | ERROR: no builder \"x\" found"
        );
        assert_eq!(
            exited(ExitStatus::from_raw(1 << 8), b" \n"),
            "it exited with status 1 and printed nothing on stderr"
        );
        assert_eq!(quoted(["Error: \x1b[2Jx"]), "\n    | Error: \\x1b[2Jx");
        let many: Vec<String> = (0..30).map(|i| format!("line {i}")).collect();
        let q = quoted(many.iter().map(String::as_str));
        assert_eq!(q.lines().count(), MAX_LINES + 1);
        assert!(q.ends_with("    | line 29"));
    }
}
