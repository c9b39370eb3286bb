//! `builder:`: a builder named, or declared node by node (what `mpbuild builder up`
//! creates). A declared builder is checked on its own (one driver, platforms, endpoints,
//! TLS files) and against the images: every platform they need has a node, unless
//! emulation is allowed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_saphyr::Spanned;

use super::push_unique;
use super::tags::is_image_name;
use crate::config::raw::{RawBuilder, RawBuilderSpec, RawNode};
use crate::config::{Checker, ConfigError, Image, Pos};
use crate::platform::Platform;

impl Checker<'_> {
    /// `builder:`: the builder's name, and the declaration if it has one.
    pub(in crate::config) fn builder(
        &self,
        dir: &Path,
        raw: Option<Spanned<RawBuilderSpec>>,
        images: &[Image],
    ) -> Result<(Option<String>, Option<crate::builder::Declared>), ConfigError> {
        Ok(match raw {
            None => (None, None),
            Some(b) => {
                let pos = self.pos(&b);
                match b.value {
                    RawBuilderSpec::Name(n) => (Some(n), None),
                    RawBuilderSpec::Declared(d) => {
                        let d = self.declared_builder(dir, pos, d)?;
                        self.check_nodes_serve(&d, pos, images)?;
                        (Some(d.name.clone()), Some(d))
                    }
                }
            }
        })
    }

    /// A declared builder: named, with nodes, one driver, its TLS files, and each node
    /// checked in the file's order.
    fn declared_builder(
        &self,
        dir: &Path,
        pos: Pos,
        raw: RawBuilder,
    ) -> Result<crate::builder::Declared, ConfigError> {
        let help = Some("see `builder:` in the README: nodes with platforms and an endpoint (remote) or driver_opts".to_string());
        if raw.nodes.is_empty() {
            return Err(self.err(pos, format!("builder `{}` has no nodes", raw.name), help));
        }
        if !is_image_name(&raw.name) {
            return Err(self.err(
                pos,
                format!("builder name `{}` is not valid", raw.name),
                Some("use letters, digits, `-` and `_`".into()),
            ));
        }
        let driver = self.builder_driver(pos, &raw)?;
        let tls_opts = self.builder_tls(dir, pos, &raw)?;
        let mut nodes = Vec::new();
        for (i, n) in raw.nodes.into_iter().enumerate() {
            let name = n.name.clone().unwrap_or_else(|| format!("{}{i}", raw.name));
            nodes.push(self.builder_node(pos, name, n, &driver, &tls_opts, &help)?);
        }
        Ok(crate::builder::Declared {
            name: raw.name,
            driver,
            nodes,
            allow_emulation: raw.allow_emulation,
        })
    }

    /// The builder's one driver (each node's, else the builder's, else `remote`).
    fn builder_driver(&self, pos: Pos, raw: &RawBuilder) -> Result<String, ConfigError> {
        let mut drivers: Vec<String> = raw
            .nodes
            .iter()
            .map(|n| {
                n.driver
                    .clone()
                    .or(raw.driver.clone())
                    .unwrap_or_else(|| "remote".into())
            })
            .collect();
        drivers.dedup();
        if drivers.len() > 1 {
            return Err(self.err(
                pos,
                format!(
                    "builder `{}` mixes drivers ({}); a buildx builder has one driver",
                    raw.name,
                    drivers.join(", ")
                ),
                Some(
                    "declare one builder per driver, or use the remote driver for every node"
                        .into(),
                ),
            ));
        }
        Ok(drivers.remove(0))
    }

    /// `tls:`: each file that exists, as an absolute path under its driver option.
    fn builder_tls(
        &self,
        dir: &Path,
        pos: Pos,
        raw: &RawBuilder,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut tls_opts = BTreeMap::new();
        if let Some(t) = &raw.tls {
            for (key, file) in [
                ("cacert", Some(&t.ca)),
                ("cert", t.cert.as_ref()),
                ("key", t.key.as_ref()),
            ] {
                let Some(file) = file else { continue };
                let path = dir.join(file);
                if !path.is_file() {
                    return Err(self.err(
                        pos,
                        format!("builder `{}`: TLS file `{file}` does not exist", raw.name),
                        Some(
                            "`tls:` paths are relative to the directory holding mpbuild.yaml"
                                .into(),
                        ),
                    ));
                }
                let abs = std::fs::canonicalize(&path).unwrap_or(path);
                tls_opts.insert(key.to_string(), abs.display().to_string());
            }
        }
        Ok(tls_opts)
    }

    /// A node: its platforms (at least one), an endpoint the driver takes, and the TLS
    /// files for a tcp:// endpoint (the node's own options win).
    fn builder_node(
        &self,
        pos: Pos,
        name: String,
        n: RawNode,
        driver: &str,
        tls_opts: &BTreeMap<String, String>,
        help: &Option<String>,
    ) -> Result<crate::builder::Node, ConfigError> {
        let mut platforms = Vec::new();
        for p in &n.platforms {
            let parsed = Platform::parse(p)
                .map_err(|e| self.err(pos, format!("builder node {name}: {e}"), None))?;
            push_unique(&mut platforms, parsed);
        }
        if platforms.is_empty() {
            return Err(self.err(
                pos,
                format!("builder node {name} lists no platforms"),
                help.clone(),
            ));
        }
        if driver == "remote" && n.endpoint.is_none() {
            return Err(self.err(pos, format!("builder node {name}: the remote driver needs an `endpoint:` (tcp://HOST:PORT or unix:///PATH)"), help.clone()));
        }
        if let Some(e) = &n.endpoint
            && ![
                "tcp://",
                "unix://",
                "ssh://",
                "docker-container://",
                "kube-pod://",
            ]
            .iter()
            .any(|s| e.starts_with(s))
        {
            return Err(self.err(
                pos,
                format!("builder node {name}: endpoint `{e}` is not tcp://, unix:// or ssh://"),
                None,
            ));
        }
        let mut driver_opts = n.driver_opts;
        if n.endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("tcp://"))
        {
            for (k, v) in tls_opts {
                driver_opts.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Ok(crate::builder::Node {
            name,
            platforms,
            endpoint: n.endpoint,
            driver_opts,
        })
    }

    /// Every platform an image needs has a node, unless emulation is allowed.
    fn check_nodes_serve(
        &self,
        d: &crate::builder::Declared,
        pos: Pos,
        images: &[Image],
    ) -> Result<(), ConfigError> {
        if d.allow_emulation {
            return Ok(());
        }
        for image in images {
            for t in &image.targets {
                for p in &t.platforms {
                    if d.node_for(p).is_none() {
                        return Err(self.err(
                            pos,
                            format!(
                                "builder `{}` has no node for {p}, which image `{}` needs ({})",
                                d.name,
                                image.name,
                                t.label()
                            ),
                            Some(format!("add a node with `platforms: [{p}]`, or set `allow_emulation: true` to build it emulated")),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
