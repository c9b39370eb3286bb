//! `deep: all`: every ELF file with an exec bit in the image's final filesystem must be
//! for the platform's CPU. Catches a foreign binary anywhere in the image — a helper a
//! script runs, a plugin, a copied toolchain — not only the entrypoint. Images that
//! carry foreign binaries on purpose (an emulator, a cross toolchain) list them in
//! `deep_ignore:` (paths or globs).

use serde::Serialize;

use super::elf;
use super::error::InspectError;
use super::layers::{Node, Union};
use crate::platform::Platform;

/// How many foreign files the summary names before saying "and N more".
pub const LISTED: usize = 10;

/// What the whole-filesystem check found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AllCheck {
    /// Executable ELF files checked.
    pub checked: usize,
    /// Executable ELF files left out by `deep_ignore`.
    pub ignored: usize,
    /// The foreign ones: path and the machine they are for, in path order.
    pub foreign: Vec<(String, String)>,
}

impl AllCheck {
    pub fn ok(&self) -> bool {
        self.foreign.is_empty()
    }

    /// One clause for the report; the listing is capped at [`LISTED`] files.
    pub fn summary(&self, platform: &Platform) -> String {
        let ignored = if self.ignored > 0 {
            format!(", {} ignored (deep_ignore)", self.ignored)
        } else {
            String::new()
        };
        if self.foreign.is_empty() {
            return format!(
                "all {} executable ELF file(s) are for {platform}{ignored}",
                self.checked
            );
        }
        let mut listed: Vec<String> = self
            .foreign
            .iter()
            .take(LISTED)
            .map(|(p, m)| format!("{p} ({m})"))
            .collect();
        if self.foreign.len() > LISTED {
            listed.push(format!("and {} more", self.foreign.len() - LISTED));
        }
        format!(
            "{} of {} executable ELF file(s) are not for {platform}{ignored}: {}",
            self.foreign.len(),
            self.checked,
            listed.join(", ")
        )
    }
}

/// Checks every executable ELF file of the final filesystem against `platform`.
pub fn check(
    union: &mut Union,
    platform: &Platform,
    ignore: &[String],
) -> Result<AllCheck, InspectError> {
    let mut out = AllCheck::default();
    for (path, node) in union.final_entries()? {
        let Node::File { head, mode, .. } = &node else {
            continue;
        };
        if mode & 0o111 == 0 {
            continue;
        }
        let Some(info) = elf::parse(head) else {
            continue;
        };
        if ignore.iter().any(|pattern| ignored(pattern, &path)) {
            out.ignored += 1;
            continue;
        }
        out.checked += 1;
        if !info.matches(platform) {
            out.foreign.push((path, info.machine_name()));
        }
    }
    Ok(out)
}

/// Whether `pattern` (from `deep_ignore:`) covers `path`: a plain path covers itself
/// and everything under it; a glob (`*` within one path component, `**` across them,
/// `?` one character) covers the paths it matches and everything under those.
pub fn ignored(pattern: &str, path: &str) -> bool {
    let pattern = pattern.trim_end_matches('/');
    if pattern.is_empty() {
        return true;
    }
    let mut candidate = path;
    loop {
        let hit = if pattern.contains(['*', '?']) {
            glob(pattern.as_bytes(), candidate.as_bytes())
        } else {
            candidate == pattern
        };
        if hit {
            return true;
        }
        match candidate.rfind('/') {
            Some(0) | None => return false,
            Some(i) => candidate = &candidate[..i],
        }
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p {
        [] => s.is_empty(),
        [b'*', b'*', rest @ ..] => {
            // `**` matches anything, `/` included; `**/` also matches no directory.
            (0..=s.len()).any(|i| glob(rest, &s[i..]))
                || rest.strip_prefix(b"/").is_some_and(|r| glob(r, s))
        }
        [b'*', rest @ ..] => (0..=s.len())
            .take_while(|&i| i == 0 || s[i - 1] != b'/')
            .any(|i| glob(rest, &s[i..])),
        [b'?', rest @ ..] => s.first().is_some_and(|&c| c != b'/') && glob(rest, &s[1..]),
        [c, rest @ ..] => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::super::layers::testing::*;
    use super::*;
    use crate::inspect::elf::{EM_AARCH64, EM_X86_64, header};

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    #[test]
    fn every_executable_elf_must_match_and_the_foreign_ones_are_listed() {
        let arm = header(EM_AARCH64, true, true);
        let x86 = header(EM_X86_64, true, true);
        let src = mem(vec![
            (
                GZ,
                gzip(&tar(&[
                    E::F("usr/bin/app", &arm),
                    E::F("usr/lib/helper", &x86),
                    E::F("usr/bin/gone", &x86),
                    // Not executable: data, whatever its bytes.
                    E::M("usr/share/blob.bin", &x86, 0o644),
                    E::F("usr/bin/script", b"#!/bin/sh\n"),
                ])),
            ),
            (
                TAR,
                tar(&[E::F("usr/bin/.wh.gone", b""), E::F("opt/tool", &x86)]),
            ),
        ]);
        let arm64 = p("linux/arm64");
        let c = check(&mut Union::new(&src), &arm64, &[]).unwrap();
        assert!(!c.ok());
        assert_eq!(c.checked, 3);
        assert_eq!(
            c.foreign,
            vec![
                ("/opt/tool".to_string(), "x86-64".to_string()),
                ("/usr/lib/helper".to_string(), "x86-64".to_string()),
            ]
        );
        assert_eq!(
            c.summary(&arm64),
            "2 of 3 executable ELF file(s) are not for linux/arm64: /opt/tool (x86-64), /usr/lib/helper (x86-64)"
        );
        // Layers are streamed once each.
        assert_eq!(*src.opened.borrow(), vec![1, 0]);
        // deep_ignore: a directory, or a glob.
        let c = check(
            &mut Union::new(&src),
            &arm64,
            &["/opt".into(), "/usr/lib/help*".into()],
        )
        .unwrap();
        assert!(c.ok(), "{c:?}");
        assert_eq!(
            c.summary(&arm64),
            "all 1 executable ELF file(s) are for linux/arm64, 2 ignored (deep_ignore)"
        );
    }

    #[test]
    fn the_listing_is_capped() {
        let x86 = header(EM_X86_64, true, true);
        let names: Vec<String> = (0..25).map(|i| format!("bin/t{i:02}")).collect();
        let entries: Vec<E> = names.iter().map(|n| E::F(n, &x86)).collect();
        let src = mem(vec![(TAR, tar(&entries))]);
        let c = check(&mut Union::new(&src), &p("linux/arm64"), &[]).unwrap();
        let s = c.summary(&p("linux/arm64"));
        assert!(s.starts_with("25 of 25 executable ELF file(s)"), "{s}");
        assert!(s.contains("/bin/t09 (x86-64), and 15 more"), "{s}");
        assert!(!s.contains("/bin/t10"), "{s}");
    }

    #[test]
    fn ignore_patterns() {
        assert!(ignored("/usr/bin/qemu-x86_64", "/usr/bin/qemu-x86_64"));
        assert!(ignored("/opt/cross/", "/opt/cross/bin/gcc"));
        assert!(!ignored("/opt/cross", "/opt/crossover"));
        assert!(ignored("/usr/bin/qemu-*", "/usr/bin/qemu-arm"));
        assert!(!ignored("/usr/bin/qemu-*", "/usr/bin/sub/qemu-arm"));
        assert!(ignored("/opt/**/x86/*", "/opt/a/b/x86/tool"));
        assert!(ignored("/opt/**/tool", "/opt/tool"));
        assert!(ignored("**/*.x86", "/any/where/f.x86"));
        assert!(ignored("/opt/sdk-?", "/opt/sdk-1/bin/cc"));
        assert!(!ignored("/opt/sdk-?", "/opt/sdk-12/bin/cc"));
    }
}
