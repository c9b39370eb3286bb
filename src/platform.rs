//! OCI platforms, parsed, normalised and matched exactly as containerd's `platforms`
//! package does (github.com/containerd/platforms: `Parse`, `Normalize`, `Match`).
//!
//! - `x86_64`, `x86-64`, `amd64` → `amd64` (variant `v1` dropped)
//! - `aarch64`, `arm64` → `arm64` (variant `8`, `v8`, `v8.0` dropped: it is the default;
//!   `9`, `9.0`, `v9.0` → `v9`)
//! - `armhf` → `arm/v7`, `armel` → `arm/v6`; `arm` alone → `arm/v7`; `arm` with
//!   `5`/`6`/`7`/`8` → `v5`/`v6`/`v7`/`v8`
//! - `i386` → `386`; OS `macos` → `darwin`; everything lowercased.
//!
//! Canonical output: `linux/amd64`, `linux/arm64`, `linux/arm/v7`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::exit::{Code, Coded};

/// A normalised platform: `os/architecture[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    /// Empty when the architecture has no variant (or its default one).
    pub variant: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error(
        "`{0}` is not a platform: write OS/ARCH[/VARIANT], e.g. linux/amd64, linux/arm64, linux/arm/v7"
    )]
    Malformed(String),
    #[error("`{input}`: unknown architecture `{arch}`{}; known: {known}", suggest_arch(.arch).map(|s| format!(" (did you mean {s}?)")).unwrap_or_default())]
    UnknownArch {
        input: String,
        arch: String,
        known: String,
    },
    #[error("`{input}`: unknown operating system `{os}`; known: {known}")]
    UnknownOs {
        input: String,
        os: String,
        known: String,
    },
    #[error(
        "`{input}`: {what} in `{part}`: a platform is OS/ARCH[/VARIANT], each part letters, digits, `.`, `_` or `-`{more}"
    )]
    BadCharacter {
        input: String,
        part: String,
        what: String,
        more: String,
    },
    #[error(
        "`{input}`: no container image runs on {os}: a container's platform is linux/ARCH, or windows/ARCH for Windows containers (Docker Desktop on a Mac runs linux images: linux/arm64 on Apple Silicon, the `apple-silicon` service)"
    )]
    NotAContainerOs { input: String, os: String },
    #[error("`{input}`: unknown variant `{variant}` of {arch}; known: {known}")]
    UnknownVariant {
        input: String,
        variant: String,
        arch: String,
        known: String,
    },
}

impl Coded for PlatformError {
    fn code(&self) -> Code {
        Code::Usage
    }
}

/// Common misspellings that are not containerd spellings.
fn suggest_arch(arch: &str) -> Option<&'static str> {
    match arch.to_ascii_lowercase().as_str() {
        "armv7" | "armv7l" | "arm32v7" | "armv7hf" => Some("linux/arm/v7"),
        "armv6" | "armv6l" | "arm32v6" => Some("linux/arm/v6"),
        "armv5" | "arm32v5" => Some("linux/arm/v5"),
        "armv8" | "arm64v8" | "arm64-v8" | "graviton" | "apple" | "m1" => Some("linux/arm64"),
        "x64" | "x86" | "intel" | "amd" | "x86_64v2" => Some("linux/amd64"),
        "i686" | "i586" => Some("linux/386"),
        _ => None,
    }
}

/// GOOS values containerd knows (`knownOS`), after normalisation.
const KNOWN_OS: &[&str] = &[
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];

/// The operating systems a container image (and so a target) can have.
const CONTAINER_OS: &[&str] = &["linux", "windows"];

/// A character a platform part may hold: what containerd's spellings use.
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// The first part of `spec` (split at `/`) holding a character no platform has, with a
/// description of that character.
fn bad_character(spec: &str) -> Option<PlatformError> {
    let part = spec.split('/').find(|p| !p.chars().all(allowed))?;
    let c = part.chars().find(|c| !allowed(*c))?;
    let what = match c {
        ',' => "a comma".to_string(),
        c if c.is_whitespace() => "a space".to_string(),
        c if c.is_control() => "a control character".to_string(),
        c => format!("`{c}`"),
    };
    let more = if c == ',' {
        "; several platforms are several entries (a list in YAML, one `--platform` flag each)"
    } else {
        ""
    };
    Some(PlatformError::BadCharacter {
        input: spec.to_string(),
        part: part.to_string(),
        what,
        more: more.to_string(),
    })
}

/// The variants mpbuild knows for an architecture (normalised; empty is the default),
/// or `None` for an architecture whose variants it does not check.
fn known_variants(arch: &str, variant: &str) -> Option<(bool, &'static str)> {
    let ok = match arch {
        "amd64" => matches!(variant, "" | "v2" | "v3" | "v4"),
        "arm" => matches!(variant, "v5" | "v6" | "v7" | "v8"),
        "arm64" => {
            variant.is_empty()
                || variant == "v9"
                || ["v8.", "v9."].iter().any(|p| {
                    variant
                        .strip_prefix(p)
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                })
        }
        _ => return None,
    };
    let known = match arch {
        "amd64" => "v2, v3, v4 (x86-64 levels; none for the baseline)",
        "arm" => "v5, v6, v7, v8",
        _ => "v8 (the default), v8.1 … v8.9, v9, v9.1 …",
    };
    Some((ok, known))
}

/// GOARCH values containerd knows (`knownArch`), after normalisation.
const KNOWN_ARCH: &[&str] = &[
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "ppc64",
    "ppc64le",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// containerd `normalizeOS`.
fn normalize_os(os: &str) -> String {
    let os = os.to_ascii_lowercase();
    match os.as_str() {
        "macos" => "darwin".to_string(),
        _ => os,
    }
}

/// containerd `normalizeArch`: returns (architecture, variant).
fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_ascii_lowercase();
    let variant = variant.to_ascii_lowercase();
    match arch.as_str() {
        "i386" => ("386".into(), String::new()),
        "x86_64" | "x86-64" | "amd64" => {
            let v = if variant == "v1" {
                String::new()
            } else {
                variant
            };
            ("amd64".into(), v)
        }
        "aarch64" | "arm64" => {
            let v = match variant.as_str() {
                "8" | "v8" | "v8.0" => String::new(),
                "9" | "9.0" | "v9.0" => "v9".into(),
                _ => variant,
            };
            ("arm64".into(), v)
        }
        "armhf" => ("arm".into(), "v7".into()),
        "armel" => ("arm".into(), "v6".into()),
        "arm" => {
            let v = match variant.as_str() {
                "" | "7" => "v7".into(),
                "5" | "6" | "8" => format!("v{variant}"),
                _ => variant,
            };
            ("arm".into(), v)
        }
        _ => (arch, variant),
    }
}

impl Platform {
    /// A platform from its parts, normalised.
    pub fn new(os: &str, architecture: &str, variant: &str) -> Platform {
        let (architecture, variant) = normalize_arch(architecture, variant);
        Platform {
            os: normalize_os(os),
            architecture,
            variant,
        }
    }

    /// `linux/ARCH[/VARIANT]`.
    pub fn linux(architecture: &str, variant: &str) -> Platform {
        Platform::new("linux", architecture, variant)
    }

    /// Parse a platform specifier the way containerd's `platforms.Parse` does, except
    /// that a lone architecture means Linux (images run on Linux whatever the host is)
    /// and a lone OS is refused (the architecture is the point of this tool).
    ///
    /// Only container platforms are accepted (linux, windows), and only parts made of
    /// the characters containerd's spellings use: `linux/amd64/v2,riscv64` is an
    /// error, not one platform here and two in buildx.
    pub fn parse(spec: &str) -> Result<Platform, PlatformError> {
        let trimmed = spec.trim();
        let malformed = || PlatformError::Malformed(spec.to_string());
        if trimmed.is_empty() {
            return Err(malformed());
        }
        if let Some(e) = bad_character(trimmed) {
            return Err(e);
        }
        let parts: Vec<&str> = trimmed.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(malformed());
        }
        let platform = match parts.as_slice() {
            [one] => {
                let os = normalize_os(one);
                if KNOWN_OS.contains(&os.as_str()) {
                    // "linux" alone names no architecture.
                    return Err(malformed());
                }
                Platform::new("linux", one, "")
            }
            [os, arch] => Platform::new(os, arch, ""),
            [os, arch, variant] => Platform::new(os, arch, variant),
            _ => return Err(malformed()),
        };
        if !KNOWN_OS.contains(&platform.os.as_str()) {
            return Err(PlatformError::UnknownOs {
                input: spec.to_string(),
                os: parts[0].to_string(),
                known: "linux, windows".into(),
            });
        }
        if !CONTAINER_OS.contains(&platform.os.as_str()) {
            return Err(PlatformError::NotAContainerOs {
                input: spec.to_string(),
                os: parts[0].to_string(),
            });
        }
        if !KNOWN_ARCH.contains(&platform.architecture.as_str()) {
            let arch = if parts.len() == 1 { parts[0] } else { parts[1] };
            return Err(PlatformError::UnknownArch {
                input: spec.to_string(),
                arch: arch.to_string(),
                known: "amd64 (x86_64), arm64 (aarch64), arm (armhf, armel), 386, ppc64le, s390x, riscv64".into(),
            });
        }
        if let Some((false, known)) = known_variants(&platform.architecture, &platform.variant) {
            return Err(PlatformError::UnknownVariant {
                input: spec.to_string(),
                variant: parts.get(2).copied().unwrap_or_default().to_string(),
                arch: platform.architecture.clone(),
                known: known.into(),
            });
        }
        Ok(platform)
    }

    /// containerd `Match`: both sides normalised, then OS, architecture and variant equal.
    pub fn matches(&self, other: &Platform) -> bool {
        let a = Platform::new(&self.os, &self.architecture, &self.variant);
        let b = Platform::new(&other.os, &other.architecture, &other.variant);
        a == b
    }

    /// The platform of the machine running mpbuild, as containers see it: Linux on the
    /// host's CPU (Docker Desktop on a Mac runs a Linux VM). `MPBUILD_HOST_PLATFORM`
    /// overrides it, so tests and CI can simulate an Apple Silicon laptop.
    pub fn host() -> Platform {
        if let Ok(spec) = std::env::var("MPBUILD_HOST_PLATFORM")
            && let Ok(p) = Platform::parse(&spec)
        {
            return p;
        }
        Platform::linux(std::env::consts::ARCH, "")
    }

    /// True for the `unknown/unknown` platform buildx gives attestation manifests.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

/// `os/architecture[/variant]`; a component read from a registry or a file is shown
/// with its control characters escaped (`escape::Line`).
impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::escape::Line;
        write!(f, "{}/{}", Line(&self.os), Line(&self.architecture))?;
        if !self.variant.is_empty() {
            write!(f, "/{}", Line(&self.variant))?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = PlatformError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Platform::parse(s)
    }
}

impl Serialize for Platform {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Platform::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Joins platforms for buildx's `--platform` (comma-separated, canonical).
pub fn join(platforms: &[Platform]) -> String {
    platforms
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A list for people to read: `linux/amd64, linux/arm64`.
pub fn list(platforms: &[Platform]) -> String {
    platforms
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    #[test]
    fn canonical_forms() {
        for (input, want) in [
            ("linux/amd64", "linux/amd64"),
            ("linux/x86_64", "linux/amd64"),
            ("linux/x86-64", "linux/amd64"),
            ("LINUX/AMD64", "linux/amd64"),
            ("linux/amd64/v1", "linux/amd64"),
            ("linux/amd64/v2", "linux/amd64/v2"),
            ("linux/aarch64", "linux/arm64"),
            ("linux/arm64/v8", "linux/arm64"),
            ("linux/arm64/8", "linux/arm64"),
            ("linux/arm64/v8.0", "linux/arm64"),
            ("linux/arm64/9", "linux/arm64/v9"),
            ("linux/arm64/v9.0", "linux/arm64/v9"),
            ("linux/armhf", "linux/arm/v7"),
            ("linux/armel", "linux/arm/v6"),
            ("linux/arm", "linux/arm/v7"),
            ("linux/arm/7", "linux/arm/v7"),
            ("linux/arm/6", "linux/arm/v6"),
            ("linux/arm/5", "linux/arm/v5"),
            ("linux/arm/8", "linux/arm/v8"),
            ("linux/arm/v6", "linux/arm/v6"),
            ("linux/i386", "linux/386"),
            ("windows/amd64", "windows/amd64"),
            ("amd64", "linux/amd64"),
            ("x86_64", "linux/amd64"),
            ("arm64", "linux/arm64"),
            ("aarch64", "linux/arm64"),
            ("armhf", "linux/arm/v7"),
            ("ARM64", "linux/arm64"),
            ("X86_64", "linux/amd64"),
            ("linux/ppc64le", "linux/ppc64le"),
            ("linux/s390x", "linux/s390x"),
            ("linux/riscv64", "linux/riscv64"),
        ] {
            assert_eq!(p(input).to_string(), want, "input {input}");
        }
    }

    #[test]
    fn matching_follows_containerd() {
        assert!(p("linux/arm64").matches(&p("linux/arm64/v8")));
        assert!(p("linux/arm64").matches(&Platform::new("linux", "aarch64", "")));
        assert!(p("linux/arm64").matches(&Platform::new("linux", "aarch64", "v8")));
        assert!(p("linux/arm/v7").matches(&Platform::new("linux", "arm", "")));
        assert!(p("linux/arm/v7").matches(&Platform::new("linux", "armhf", "")));
        assert!(p("linux/arm/v6").matches(&Platform::new("linux", "armel", "")));
        assert!(p("linux/amd64").matches(&Platform::new("linux", "x86_64", "")));
        assert!(p("linux/386").matches(&Platform::new("linux", "i386", "")));
        // Raw descriptors from a registry are normalised before matching too.
        assert!(
            Platform {
                os: "linux".into(),
                architecture: "arm64".into(),
                variant: "v8".into()
            }
            .matches(&p("linux/arm64"))
        );
    }

    #[test]
    fn non_matches() {
        assert!(!p("linux/arm64").matches(&p("linux/amd64")));
        assert!(!p("linux/arm/v7").matches(&p("linux/arm/v6")));
        assert!(!p("linux/arm/v7").matches(&p("linux/arm64")));
        assert!(!p("linux/arm64").matches(&p("linux/arm64/v9")));
        assert!(!p("linux/amd64").matches(&p("linux/amd64/v2")));
        assert!(!p("linux/amd64").matches(&p("windows/amd64")));
        assert!(!p("linux/arm64").matches(&Platform::new("unknown", "unknown", "")));
    }

    #[test]
    fn malformed_inputs_are_refused() {
        for bad in ["", "linux", "linux/", "/amd64", "linux/amd64/v8/x"] {
            assert!(
                matches!(Platform::parse(bad), Err(PlatformError::Malformed(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Platform::parse("linux/amd46"),
            Err(PlatformError::UnknownArch { .. })
        ));
        assert!(matches!(
            Platform::parse("lnux/amd64"),
            Err(PlatformError::UnknownOs { .. })
        ));
    }

    #[test]
    fn commas_spaces_and_control_characters_are_refused_naming_the_part() {
        for (bad, what, part) in [
            ("linux/amd64/v2,riscv64", "a comma", "v2,riscv64"),
            ("linux/amd64,linux/arm64", "a comma", "amd64,linux"),
            ("linux amd64", "a space", "linux amd64"),
            ("linux/arm64/v8\x1b[2K", "a control character", "v8\x1b[2K"),
            ("linux/amd64;rm", "`;`", "amd64;rm"),
        ] {
            let e = Platform::parse(bad).unwrap_err();
            assert!(
                matches!(&e, PlatformError::BadCharacter { what: w, part: p, .. } if w == what && p == part),
                "{bad:?}: {e}"
            );
        }
        let e = Platform::parse("linux/amd64/v2,riscv64")
            .unwrap_err()
            .to_string();
        assert!(e.contains("several platforms are several entries"), "{e}");
    }

    #[test]
    fn only_container_platforms_and_known_variants() {
        for bad in ["darwin/arm64", "macos/arm64", "freebsd/amd64"] {
            let e = Platform::parse(bad).unwrap_err();
            assert!(
                matches!(e, PlatformError::NotAContainerOs { .. }),
                "{bad}: {e}"
            );
            assert!(e.to_string().contains("linux/ARCH, or windows/ARCH"), "{e}");
        }
        for bad in [
            "linux/amd64/v5",
            "linux/arm/v9",
            "linux/arm64/v10",
            "linux/arm64/v8.x",
        ] {
            let e = Platform::parse(bad).unwrap_err();
            assert!(
                matches!(e, PlatformError::UnknownVariant { .. }),
                "{bad}: {e}"
            );
        }
        for good in [
            "linux/amd64/v3",
            "linux/arm64/v8.2",
            "linux/arm64/v9.1",
            "windows/amd64",
            "linux/ppc64le/power9",
        ] {
            assert!(Platform::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn unknown_is_attestation_platform() {
        assert!(Platform::new("unknown", "unknown", "").is_unknown());
        assert!(!p("linux/amd64").is_unknown());
    }

    #[test]
    fn join_is_canonical() {
        assert_eq!(
            join(&[p("amd64"), p("aarch64"), p("armhf")]),
            "linux/amd64,linux/arm64,linux/arm/v7"
        );
    }
}
