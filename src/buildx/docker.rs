//! The Docker CLI and its buildx plugin: where they are, which version, which builder
//! and driver.

use std::path::{Path, PathBuf};

use super::error::BuildError;

/// A buildx version, e.g. 0.13.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// `--progress=rawjson` arrived in buildx 0.12.0.
pub const RAWJSON: Version = Version(0, 12, 0);
/// `--metadata-file` arrived in 0.6.0; attestation flags in 0.10.0.
pub const MINIMUM: Version = Version(0, 10, 0);

/// Finds `docker` on PATH.
pub fn locate() -> Result<PathBuf, BuildError> {
    which::which("docker").map_err(|_| BuildError::DockerMissing)
}

/// Parses `docker buildx version`: `github.com/docker/buildx v0.13.1 hash` or Debian's
/// `github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3`.
pub fn parse_version(text: &str) -> Option<Version> {
    let word = text.split_whitespace().nth(1)?;
    let word = word.trim_start_matches('v');
    let core: String = word
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let mut it = core.split('.').map(|p| p.parse::<u32>().ok());
    Some(Version(
        it.next()??,
        it.next().flatten().unwrap_or(0),
        it.next().flatten().unwrap_or(0),
    ))
}

/// Runs `docker buildx version` and checks the minimum.
pub fn buildx_version(docker: &Path) -> Result<Version, BuildError> {
    let out = duct::cmd(docker, ["buildx", "version"])
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| BuildError::BuildxMissing {
            message: e.to_string(),
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(BuildError::BuildxMissing {
            message: err.lines().next().unwrap_or("no output").to_string(),
        });
    }
    let v = parse_version(&text).ok_or_else(|| BuildError::BuildxMissing {
        message: format!("unrecognised version output `{}`", text.trim()),
    })?;
    if v < MINIMUM {
        return Err(BuildError::BuildxTooOld {
            found: v.to_string(),
            needed: MINIMUM.to_string(),
            why: "attestation flags (--provenance, --sbom) and metadata files".into(),
        });
    }
    Ok(v)
}

/// A builder as `docker buildx inspect` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Builder {
    pub name: String,
    pub driver: String,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub endpoint: String,
    pub status: String,
    pub platforms: Vec<String>,
    /// The platforms set with `--platform` (buildx marks them with `*`).
    pub configured: Vec<String>,
}

impl Builder {
    /// Every driver except `docker` can push by digest.
    pub fn can_push_by_digest(&self) -> bool {
        self.driver != "docker"
    }
}

/// Parses the text of `docker buildx inspect`.
pub fn parse_inspect(text: &str) -> Builder {
    let mut b = Builder::default();
    let mut in_nodes = false;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if line.starts_with(' ') {
            continue; // labels and GC policy details
        }
        let value = value.trim();
        match (key.trim(), in_nodes) {
            ("Name", false) => b.name = value.to_string(),
            ("Driver", false) => b.driver = value.to_string(),
            ("Nodes", _) => in_nodes = true,
            ("Name", true) => b.nodes.push(Node {
                name: value.to_string(),
                ..Node::default()
            }),
            ("Endpoint", true) => {
                if let Some(n) = b.nodes.last_mut() {
                    n.endpoint = value.to_string();
                }
            }
            ("Status", true) => {
                if let Some(n) = b.nodes.last_mut() {
                    n.status = value.to_string();
                }
            }
            ("Platforms", true) => {
                if let Some(n) = b.nodes.last_mut() {
                    let all: Vec<&str> = value
                        .split(',')
                        .map(str::trim)
                        .filter(|p| !p.is_empty())
                        .collect();
                    n.configured = all
                        .iter()
                        .filter_map(|p| p.strip_suffix('*'))
                        .map(str::to_string)
                        .collect();
                    n.platforms = all
                        .iter()
                        .map(|p| p.trim_end_matches('*').to_string())
                        .collect();
                }
            }
            _ => {}
        }
    }
    b
}

/// Runs `docker buildx inspect [NAME]`.
pub fn inspect(docker: &Path, builder: Option<&str>) -> Result<Builder, BuildError> {
    let mut args = vec!["buildx", "inspect"];
    if let Some(b) = builder {
        args.push(b);
    }
    let out = duct::cmd(docker, &args)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| BuildError::Inspect {
            builder: builder.map(str::to_string),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(BuildError::Inspect {
            builder: builder.map(str::to_string),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let b = parse_inspect(&String::from_utf8_lossy(&out.stdout));
    if b.driver.is_empty() {
        return Err(BuildError::Inspect {
            builder: builder.map(str::to_string),
            message: "no `Driver:` in its output".into(),
        });
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            parse_version("github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3"),
            Some(Version(0, 13, 1))
        );
        assert_eq!(
            parse_version("github.com/docker/buildx v0.19.3-desktop.1 abc"),
            Some(Version(0, 19, 3))
        );
        assert_eq!(parse_version("nonsense"), None);
        assert!(Version(0, 13, 1) >= RAWJSON);
        assert!(Version(0, 11, 2) < RAWJSON);
    }

    #[test]
    fn inspect_output() {
        let text = "Name:          rtest\nDriver:        remote\nLast Activity: 2026-11-24 15:57:36 +0000 UTC\n\nNodes:\nName:             rtest0\nEndpoint:         unix:///tmp/bk.sock\nStatus:           running\nBuildKit version: v0.13.0\nPlatforms:        linux/amd64*, linux/arm64, linux/amd64/v2\nLabels:\n org.mobyproject.buildkit.worker.executor:         oci\nGC Policy rule#0:\n All:           false\n\nName:             rtest1\nEndpoint:         tcp://x:1234\nStatus:           inactive\nPlatforms:        linux/arm64\n";
        let b = parse_inspect(text);
        assert_eq!(b.name, "rtest");
        assert_eq!(b.driver, "remote");
        assert!(b.can_push_by_digest());
        assert_eq!(b.nodes.len(), 2);
        assert_eq!(
            b.nodes[0].platforms,
            vec!["linux/amd64", "linux/arm64", "linux/amd64/v2"]
        );
        assert_eq!(b.nodes[1].endpoint, "tcp://x:1234");
        assert_eq!(b.nodes[1].status, "inactive");
        let d = parse_inspect(
            "Name:          default\nDriver:        docker\n\nNodes:\nName: default\n",
        );
        assert!(!d.can_push_by_digest());
    }
}
