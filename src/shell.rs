//! Shell quoting for showing commands exactly as they run (`--dry-run`, `--verbose`,
//! `mpbuild plan`): what is printed can be pasted into a POSIX shell.

/// Quotes one argument for a POSIX shell, only when needed.
pub fn quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '.' | '/' | ':' | '=' | ',' | '@' | '+' | '%')
        });
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Joins an argv into one pasteable line.
pub fn join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| quote(a.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_when_needed() {
        assert_eq!(quote("linux/amd64,linux/arm64"), "linux/amd64,linux/arm64");
        assert_eq!(
            quote("type=image,name=r/x,push=true"),
            "type=image,name=r/x,push=true"
        );
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(join(&["docker", "buildx", "a b"]), "docker buildx 'a b'");
    }
}
