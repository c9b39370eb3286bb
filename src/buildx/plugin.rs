//! Where docker keeps its configuration and which buildx plugin binary it would run:
//! what `docker.rs` (to run the plugin directly) and `state.rs` (what buildx keeps on
//! disk) both read, so neither imports the other for it.

use std::path::{Path, PathBuf};

/// `$DOCKER_CONFIG`, or `~/.docker`.
pub fn docker_config_dir() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")),
    }
}

/// A file read whole, at most 1 MiB (these files are a few hundred bytes).
pub fn read_small(path: &Path) -> Option<Vec<u8>> {
    crate::fsread::read_bytes(path, 1 << 20).ok()
}

/// The buildx plugin binary docker would run, searched in docker's order.
pub fn plugin_path() -> Option<PathBuf> {
    let config = docker_config_dir()?;
    if read_small(&config.join("config.json"))
        .is_some_and(|b| String::from_utf8_lossy(&b).contains("cliPluginsExtraDirs"))
    {
        return None;
    }
    let dirs = [
        config.join("cli-plugins"),
        PathBuf::from("/usr/local/lib/docker/cli-plugins"),
        PathBuf::from("/usr/local/libexec/docker/cli-plugins"),
        PathBuf::from("/usr/lib/docker/cli-plugins"),
        PathBuf::from("/usr/libexec/docker/cli-plugins"),
    ];
    dirs.iter()
        .map(|d| d.join("docker-buildx"))
        .find(|p| p.is_file())
}
