//! What buildx keeps on disk, read without a CLI round trip (each `docker buildx …`
//! call costs 50–200 ms, a third of a warm push): the current builder
//! (`$DOCKER_CONFIG/buildx/current`), each builder's driver and nodes
//! (`buildx/instances/NAME`), and the buildx version, cached by the plugin binary's
//! identity (path, size, modification time). Anything that cannot be read with certainty
//! is `None`, and the caller asks the CLI as before.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::docker::{Builder, Node, Version, parse_version};
use super::plugin::{docker_config_dir, plugin_path, read_small};

/// Whether docker talks to something other than its default endpoint through a context,
/// which changes the default builder: then only the CLI knows.
fn uses_context(config_dir: &Path) -> bool {
    if std::env::var_os("DOCKER_CONTEXT").is_some_and(|c| !c.is_empty() && c != "default") {
        return true;
    }
    let Some(bytes) = read_small(&config_dir.join("config.json")) else {
        return false;
    };
    #[derive(Deserialize)]
    struct Config {
        #[serde(rename = "currentContext", default)]
        current_context: String,
    }
    serde_json::from_slice::<Config>(&bytes)
        .map(|c| !c.current_context.is_empty() && c.current_context != "default")
        .unwrap_or(true)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Current {
    #[serde(default)]
    key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    global: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Instance {
    name: String,
    driver: String,
    #[serde(default)]
    nodes: Option<Vec<InstanceNode>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceNode {
    #[serde(default)]
    name: String,
    #[serde(default)]
    endpoint: String,
    #[serde(default)]
    platforms: Option<Vec<InstancePlatform>>,
}

#[derive(Deserialize)]
struct InstancePlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: String,
}

/// The builder `docker buildx build --builder NAME` (or without `--builder`) would use,
/// from buildx's files; `None` when only the CLI can tell.
pub fn builder(name: Option<&str>) -> Option<Builder> {
    let config = docker_config_dir()?;
    builder_in(
        &config,
        name,
        std::env::var("BUILDX_BUILDER").ok().as_deref(),
    )
}

fn builder_in(config: &Path, name: Option<&str>, env_builder: Option<&str>) -> Option<Builder> {
    if uses_context(config) {
        return None;
    }
    let dir = config.join("buildx");
    let name = match name.or(env_builder.filter(|b| !b.is_empty())) {
        Some(n) => n.to_string(),
        None => match read_small(&dir.join("current")) {
            None => String::new(),
            Some(bytes) => {
                let c: Current = serde_json::from_slice(&bytes).ok()?;
                let endpoint = std::env::var("DOCKER_HOST")
                    .ok()
                    .filter(|h| !h.is_empty())
                    .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
                if c.global || c.key == endpoint {
                    c.name
                } else {
                    String::new()
                }
            }
        },
    };
    let instance = dir.join("instances").join(&name);
    if name.is_empty() || (name == "default" && !instance.exists()) {
        // The context's own builder: always the docker driver.
        return Some(Builder {
            name: "default".into(),
            driver: "docker".into(),
            nodes: Vec::new(),
        });
    }
    if name.contains('/') || name.starts_with('.') {
        return None;
    }
    let i: Instance = serde_json::from_slice(&read_small(&instance)?).ok()?;
    if i.driver.is_empty() {
        return None;
    }
    Some(Builder {
        name: i.name,
        driver: i.driver,
        nodes: i
            .nodes
            .unwrap_or_default()
            .into_iter()
            .map(|n| {
                let platforms: Vec<String> = n
                    .platforms
                    .unwrap_or_default()
                    .iter()
                    .map(|p| {
                        let mut s = format!("{}/{}", p.os, p.architecture);
                        if !p.variant.is_empty() {
                            s.push('/');
                            s.push_str(&p.variant);
                        }
                        s
                    })
                    .collect();
                Node {
                    name: n.name,
                    endpoint: n.endpoint,
                    status: String::new(),
                    configured: platforms.clone(),
                    platforms,
                }
            })
            .collect(),
    })
}

/// A file's identity: canonical path, size, modification time.
fn identity(path: &Path) -> Option<String> {
    let path = std::fs::canonicalize(path).ok()?;
    let meta = std::fs::metadata(&path).ok()?;
    let mtime = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("{}\0{}\0{mtime}", path.display(), meta.len()))
}

/// Where the version of this docker CLI and buildx plugin is cached: named after both
/// binaries' identities, so an upgrade of either is a new name; in mpbuild's directory
/// under the user's cache directory (never a shared temp dir, where another user could
/// plant the file or a link in its place).
fn version_cache(docker: &Path) -> Option<PathBuf> {
    let key = format!("{}\0{}", identity(docker)?, identity(&plugin_path()?)?);
    let hash = crate::digest::sha256(key.as_bytes());
    let dir = crate::workdir::user_cache().ok()?;
    Some(dir.join(format!("buildx-version-{}", &hash[7..23])))
}

/// The cached version of the installed buildx, if a previous run recorded it.
pub fn cached_version(docker: &Path) -> Option<Version> {
    let bytes = read_small(&version_cache(docker)?)?;
    parse_version(&format!("x {}", String::from_utf8_lossy(&bytes).trim()))
}

/// Records the version `docker buildx version` reported (best effort).
pub fn store_version(docker: &Path, v: Version) {
    if let Some(path) = version_cache(docker) {
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, v.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, &path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, body: &str) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    #[test]
    fn builders_from_buildx_files() {
        let d = tempfile::tempdir().unwrap();
        let c = d.path();
        // No buildx state at all: the default builder, docker driver.
        let b = builder_in(c, None, None).unwrap();
        assert_eq!((b.name.as_str(), b.driver.as_str()), ("default", "docker"));
        write(
            c,
            "buildx/instances/native",
            r#"{"Name":"native","Driver":"remote","Nodes":[{"Name":"native0","Endpoint":"tcp://a:1234","Platforms":[{"architecture":"arm64","os":"linux"}]}],"Dynamic":false}"#,
        );
        let b = builder_in(c, Some("native"), None).unwrap();
        assert_eq!(b.driver, "remote");
        assert!(b.can_push_by_digest());
        assert_eq!(b.nodes[0].platforms, vec!["linux/arm64"]);
        assert_eq!(b.nodes[0].endpoint, "tcp://a:1234");
        // BUILDX_BUILDER, then `current` (global), name it.
        assert_eq!(
            builder_in(c, None, Some("native")).unwrap().driver,
            "remote"
        );
        write(
            c,
            "buildx/current",
            r#"{"Key":"unix:///elsewhere","Name":"native","Global":true}"#,
        );
        assert_eq!(builder_in(c, None, None).unwrap().driver, "remote");
        // A current builder for another endpoint does not count.
        write(
            c,
            "buildx/current",
            r#"{"Key":"unix:///elsewhere","Name":"native","Global":false}"#,
        );
        assert_eq!(builder_in(c, None, None).unwrap().driver, "docker");
        // An unknown builder, a broken file, a docker context: only the CLI can tell.
        assert!(builder_in(c, Some("nope"), None).is_none());
        write(c, "buildx/instances/broken", "{");
        assert!(builder_in(c, Some("broken"), None).is_none());
        assert!(builder_in(c, Some("../x"), None).is_none());
        write(c, "config.json", r#"{"currentContext":"remote-box"}"#);
        assert!(builder_in(c, Some("native"), None).is_none());
    }
}
