//! Which node of a builder builds a platform, and whether it runs that platform's
//! programs natively or under emulation (QEMU). Shared by the smoke run, the build's
//! measurements and `plan`'s forecast, so all three say the same.
//!
//! buildx (0.13) gives a platform to the first node configured for it (`--platform` at
//! `buildx create`, shown with `*` by `buildx inspect`; mpbuild's `builder:` nodes),
//! else to the first node whose BuildKit lists it, else to the first node. A node runs
//! natively the platforms it is configured for (the premise of a node per platform), or,
//! configured for none, the first platform its BuildKit lists (BuildKit names its own
//! platform before those it emulates); with no node known (the `docker` driver read from
//! buildx's files), this machine's platform.

use super::docker::{Builder, Node};
use crate::platform::Platform;

/// The node of `builder` that builds `platform`, and whether it does so natively.
pub fn node_for<'b>(builder: &'b Builder, platform: &Platform) -> (Option<&'b Node>, bool) {
    let node = builder
        .nodes
        .iter()
        .find(|n| lists(&n.configured, platform))
        .or_else(|| builder.nodes.iter().find(|n| lists(&n.platforms, platform)))
        .or(builder.nodes.first());
    (node, runs_natively(node, platform))
}

/// Whether `node` (None: the only, unknown node of a `docker` builder) runs programs of
/// `platform` without emulation. Variants do not matter (an amd64 CPU runs
/// `linux/amd64/v2` programs natively or not at all; QEMU does not help).
pub fn runs_natively(node: Option<&Node>, platform: &Platform) -> bool {
    let same_cpu = |list: &[String]| {
        list.iter()
            .filter_map(|s| Platform::parse(s).ok())
            .any(|p| p.os == platform.os && p.architecture == platform.architecture)
    };
    match node {
        Some(n) if !n.configured.is_empty() => same_cpu(&n.configured),
        Some(n) if !n.platforms.is_empty() => same_cpu(&n.platforms[..1]),
        _ => {
            let host = Platform::host();
            host.os == platform.os && host.architecture == platform.architecture
        }
    }
}

/// Whether any platform in `list` is `platform`.
fn lists(list: &[String], platform: &Platform) -> bool {
    list.iter()
        .filter_map(|s| Platform::parse(s).ok())
        .any(|p| p.matches(platform))
}

/// The platform a node runs natively, for `$BUILDPLATFORM` (BuildKit sets it to its
/// worker's own platform): the first configured, else the first listed, else this
/// machine's.
pub fn native_platform(node: Option<&Node>) -> Platform {
    let first = |list: &[String]| list.first().and_then(|s| Platform::parse(s).ok());
    node.and_then(|n| first(&n.configured).or_else(|| first(&n.platforms)))
        .unwrap_or_else(Platform::host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, configured: &[&str], platforms: &[&str]) -> Node {
        Node {
            name: name.into(),
            configured: configured.iter().map(|s| s.to_string()).collect(),
            platforms: platforms.iter().map(|s| s.to_string()).collect(),
            ..Node::default()
        }
    }

    #[test]
    fn native_by_configuration_or_first_listed() {
        // A node configured for arm64 on an x86 machine whose BuildKit lists amd64
        // first: configured wins.
        let arm = node("n1", &["linux/arm64"], &["linux/amd64", "linux/arm64"]);
        assert!(runs_natively(Some(&arm), &Platform::linux("arm64", "")));
        assert!(!runs_natively(Some(&arm), &Platform::linux("amd64", "")));
        let docker = node(
            "default",
            &[],
            &["linux/amd64", "linux/amd64/v2", "linux/arm64"],
        );
        assert!(runs_natively(
            Some(&docker),
            &Platform::linux("amd64", "v3")
        ));
        assert!(!runs_natively(Some(&docker), &Platform::linux("arm64", "")));
        assert_eq!(native_platform(Some(&arm)), Platform::linux("arm64", ""));
        assert_eq!(native_platform(Some(&docker)), Platform::linux("amd64", ""));
    }
}
