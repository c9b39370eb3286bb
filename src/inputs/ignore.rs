//! `.dockerignore`, matched as BuildKit does (moby's patternmatcher): one pattern per
//! line, `#` comments, paths relative to the context (a leading `/` or `./` dropped,
//! cleaned), `*` and `?` within one path segment, `[…]` classes, `**` across any number of
//! segments, `!` to re-include; the last pattern that matches decides, and a pattern that
//! matches a directory matches everything under it.

/// One pattern.
#[derive(Debug, Clone)]
struct Pattern {
    segments: Vec<String>,
    exclusion: bool,
}

/// The patterns of one `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

impl Ignore {
    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let mut p = line.trim();
            if p.is_empty() || p.starts_with('#') {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
            }
            let segments: Vec<String> = p.split('/').filter(|s| !s.is_empty() && *s != ".").fold(
                Vec::new(),
                |mut v: Vec<String>, s| {
                    if s == ".." {
                        v.pop();
                    } else {
                        v.push(s.to_string());
                    }
                    v
                },
            );
            if segments.is_empty() {
                continue;
            }
            patterns.push(Pattern {
                segments,
                exclusion,
            });
        }
        Ignore { patterns }
    }

    /// Whether the patterns say anything at all.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (relative, `/`-separated) is left out of the context. A path is
    /// matched with each of its parents too: `node_modules` leaves out everything below.
    pub fn excludes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut excluded = false;
        for p in &self.patterns {
            let hit = (1..=parts.len()).any(|n| matches(&p.segments, &parts[..n]));
            if hit {
                excluded = !p.exclusion;
            }
        }
        excluded
    }

    /// Whether a directory can be skipped whole: it is excluded and no `!` pattern could
    /// re-include something below it.
    pub fn prunes(&self, dir: &str) -> bool {
        self.excludes(dir) && !self.patterns.iter().any(|p| p.exclusion)
    }
}

/// Whether the pattern's segments match the path's segments exactly.
fn matches(pat: &[String], path: &[&str]) -> bool {
    match pat.first() {
        None => path.is_empty(),
        Some(s) if s == "**" => (0..=path.len()).any(|skip| matches(&pat[1..], &path[skip..])),
        Some(s) => {
            !path.is_empty()
                && segment_matches(s.as_bytes(), path[0].as_bytes())
                && matches(&pat[1..], &path[1..])
        }
    }
}

/// Go's `filepath.Match` for one segment: `*`, `?`, `[…]` (with `^`/`!` negation and
/// ranges), `\` escapes.
fn segment_matches(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| segment_matches(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && segment_matches(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(c) = s.first() else { return false };
            let Some(end) = p.iter().skip(1).position(|&b| b == b']').map(|i| i + 1) else {
                return false;
            };
            let mut class = &p[1..end];
            let negate = matches!(class.first(), Some(b'^') | Some(b'!'));
            if negate {
                class = &class[1..];
            }
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= (class[i]..=class[i + 2]).contains(c);
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && segment_matches(&p[end + 1..], &s[1..])
        }
        Some(b'\\') if p.len() > 1 => s.first() == Some(&p[1]) && segment_matches(&p[2..], &s[1..]),
        Some(c) => s.first() == Some(c) && segment_matches(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_rules() {
        let i = Ignore::parse(
            "# comment\n*.md\n!README.md\n/node_modules\n**/*.tmp\ntarget/\ndocs/[a-c]*\n./build/../dist\n",
        );
        assert!(i.excludes("notes.md"));
        assert!(!i.excludes("README.md"));
        assert!(!i.excludes("sub/notes.md"), "`*.md` is only the top level");
        assert!(i.excludes("node_modules/x/y.js"));
        assert!(i.excludes("a/b/c.tmp"));
        assert!(i.excludes("c.tmp"));
        assert!(i.excludes("target/debug/app"));
        assert!(i.excludes("docs/b1"));
        assert!(!i.excludes("docs/d1"));
        assert!(i.excludes("dist/app.js"));
        assert!(!i.excludes("src/main.rs"));
        // A re-include anywhere means no directory can be pruned whole.
        assert!(!i.prunes("node_modules"));
        assert!(Ignore::parse("node_modules\n").prunes("node_modules"));
    }

    #[test]
    fn last_match_wins_and_reinclude_below_an_excluded_dir() {
        let i = Ignore::parse("secrets\n!secrets/public.pem\n");
        assert!(i.excludes("secrets/key.pem"));
        assert!(!i.excludes("secrets/public.pem"));
        let i = Ignore::parse("*\n!src\n");
        assert!(i.excludes("Cargo.lock"));
        assert!(!i.excludes("src/lib.rs"));
    }
}
