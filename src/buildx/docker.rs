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

/// How buildx is started. Through the docker CLI (`docker buildx …`), or, when `docker`
/// is a real Docker CLI binary and its buildx plugin is where docker looks for it, the
/// plugin binary itself in buildx's standalone mode (`docker-buildx …`): the same
/// program and flags, reading the same environment and `DOCKER_CONFIG`, without the
/// CLI's own start and plugin handshake (60–100 ms per call). A `docker` that is a
/// script (a wrapper, podman's shim, a test double) is always run as such.
#[derive(Debug, Clone)]
pub struct Launch {
    pub docker: PathBuf,
    pub plugin: Option<PathBuf>,
}

impl Launch {
    /// `docker` found on PATH, and the plugin when it can be run directly.
    pub fn locate() -> Result<Launch, BuildError> {
        let docker = locate()?;
        let plugin = is_native_executable(&docker)
            .then(super::plugin::plugin_path)
            .flatten()
            .filter(|p| is_native_executable(p));
        Ok(Launch { docker, plugin })
    }

    /// Through the docker CLI only.
    pub fn cli(docker: PathBuf) -> Launch {
        Launch {
            docker,
            plugin: None,
        }
    }

    /// The program and arguments for `docker ARGS…` (ARGS without `docker`).
    pub fn command(&self, args: &[String]) -> (PathBuf, Vec<String>) {
        match (&self.plugin, args.first()) {
            (Some(plugin), Some(first)) if first == "buildx" => {
                (plugin.clone(), args[1..].to_vec())
            }
            _ => (self.docker.clone(), args.to_vec()),
        }
    }
}

/// Whether `path` is a compiled program (ELF, Mach-O, PE), not a script.
pub fn is_native_executable(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    let read = crate::fsread::open_regular(path).and_then(|(mut f, _)| f.read_exact(&mut magic));
    if read.is_err() {
        return false;
    }
    matches!(
        magic,
        [0x7f, b'E', b'L', b'F']
            | [0xfe, 0xed, 0xfa, 0xce | 0xcf]
            | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
            | [0xca, 0xfe, 0xba, 0xbe]
            | [b'M', b'Z', _, _]
    )
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

/// The most read of what `docker buildx version` or `inspect` prints, per stream.
pub const OUTPUT_CAP: usize = 4 << 20;

/// Runs `docker buildx version` and checks the minimum.
pub fn buildx_version(launch: &Launch) -> Result<Version, BuildError> {
    let (program, args) = launch.command(&["buildx".into(), "version".into()]);
    let out = crate::child::output(&duct::cmd(program, args), OUTPUT_CAP).map_err(|e| {
        BuildError::BuildxMissing {
            message: e.to_string(),
        }
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(BuildError::BuildxMissing {
            message: crate::tool_output::exited(out.status, &out.stderr),
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
    /// `NAME (DRIVER)`, as a leg's records name the builder.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.name, self.driver)
    }

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
pub fn inspect(launch: &Launch, builder: Option<&str>) -> Result<Builder, BuildError> {
    let mut args: Vec<String> = vec!["buildx".into(), "inspect".into()];
    if let Some(b) = builder {
        args.push(b.to_string());
    }
    let (program, args) = launch.command(&args);
    let out = crate::child::output(&duct::cmd(program, args), OUTPUT_CAP).map_err(|e| {
        BuildError::Inspect {
            builder: builder.map(str::to_string),
            message: e.to_string(),
        }
    })?;
    if !out.status.success() {
        return Err(BuildError::Inspect {
            builder: builder.map(str::to_string),
            message: crate::tool_output::exited(out.status, &out.stderr),
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

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn buildx_runs_as_the_plugin_only_when_there_is_one() {
        let args = strings(&["buildx", "build", "--push", "."]);
        let direct = Launch {
            docker: "/usr/bin/docker".into(),
            plugin: Some("/usr/libexec/docker/cli-plugins/docker-buildx".into()),
        };
        assert_eq!(
            direct.command(&args),
            (
                PathBuf::from("/usr/libexec/docker/cli-plugins/docker-buildx"),
                strings(&["build", "--push", "."])
            )
        );
        // Anything that is not buildx stays with docker.
        let other = strings(&["image", "inspect", "x"]);
        assert_eq!(
            direct.command(&other),
            (PathBuf::from("/usr/bin/docker"), other.clone())
        );
        let cli = Launch::cli("/usr/bin/docker".into());
        assert_eq!(cli.command(&args), (PathBuf::from("/usr/bin/docker"), args));
    }

    #[test]
    fn scripts_are_not_native_executables() {
        let d = tempfile::tempdir().unwrap();
        let script = d.path().join("docker");
        std::fs::write(&script, "#!/bin/sh\nexec podman \"$@\"\n").unwrap();
        assert!(!is_native_executable(&script));
        assert!(!is_native_executable(&d.path().join("missing")));
        std::fs::write(d.path().join("short"), "x").unwrap();
        assert!(!is_native_executable(&d.path().join("short")));
        assert!(is_native_executable(&std::env::current_exe().unwrap()));
    }

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
