//! A buildx builder declared in `mpbuild.yaml`: one BuildKit node per platform (remote
//! daemons, Kubernetes, docker-container). Pure: the `docker buildx create` argv for
//! the declaration, and the actions that bring an existing builder in line with it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::buildx::docker::Builder;
use crate::platform::{self, Platform};

/// The declared builder, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Declared {
    pub name: String,
    pub driver: String,
    pub nodes: Vec<Node>,
    pub allow_emulation: bool,
}

/// One node of the declared builder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// `NAME0`, `NAME1`, … unless the file names it.
    pub name: String,
    pub platforms: Vec<Platform>,
    /// The BuildKit address (`tcp://…`, `unix://…`); none for kubernetes and
    /// docker-container nodes that run where the Docker context points.
    pub endpoint: Option<String>,
    /// `--driver-opt` key=value pairs, TLS files (absolute) included.
    pub driver_opts: BTreeMap<String, String>,
}

impl Declared {
    /// The node that builds `p` natively, if any.
    pub fn node_for(&self, p: &Platform) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.platforms.iter().any(|q| q.matches(p)))
    }

    /// `docker buildx create` for one node (the first creates the builder).
    pub fn create_argv(&self, node: &Node, append: bool) -> Vec<String> {
        let mut argv: Vec<String> = vec!["docker".into(), "buildx".into(), "create".into()];
        if append {
            argv.push("--append".into());
        }
        argv.extend(["--name".into(), self.name.clone()]);
        argv.extend(["--driver".into(), self.driver.clone()]);
        if !node.driver_opts.is_empty() {
            let opts: Vec<String> = node
                .driver_opts
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            argv.extend(["--driver-opt".into(), opts.join(",")]);
        }
        argv.extend(["--node".into(), node.name.clone()]);
        argv.extend(["--platform".into(), platform::join(&node.platforms)]);
        if let Some(e) = &node.endpoint {
            argv.push(e.clone());
        }
        argv
    }
}

/// What `builder up` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Remove the builder (its driver changed).
    Remove { why: String },
    /// Create or update a node.
    Create { argv: Vec<String>, why: String },
    /// Remove a node no longer declared.
    Leave { argv: Vec<String>, why: String },
}

impl Action {
    pub fn why(&self) -> &str {
        match self {
            Action::Remove { why } | Action::Create { why, .. } | Action::Leave { why, .. } => why,
        }
    }
}

/// The actions that turn `actual` (None: no such builder) into `declared`; empty when
/// it already matches.
pub fn diff(declared: &Declared, actual: Option<&Builder>) -> Vec<Action> {
    let create_all = |why_first: String| -> Vec<Action> {
        declared
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| Action::Create {
                argv: declared.create_argv(n, i > 0),
                why: if i == 0 {
                    why_first.clone()
                } else {
                    format!("add node {} for {}", n.name, platform::list(&n.platforms))
                },
            })
            .collect()
    };
    let Some(actual) = actual else {
        return create_all(format!(
            "create builder {} (driver {}) with node {} for {}",
            declared.name,
            declared.driver,
            declared.nodes[0].name,
            platform::list(&declared.nodes[0].platforms)
        ));
    };
    if actual.driver != declared.driver {
        let mut v = vec![Action::Remove {
            why: format!(
                "driver is {}, the file says {}",
                actual.driver, declared.driver
            ),
        }];
        v.extend(create_all(format!(
            "create builder {} (driver {})",
            declared.name, declared.driver
        )));
        return v;
    }
    let mut actions = Vec::new();
    for n in &declared.nodes {
        let want: Vec<String> = n.platforms.iter().map(ToString::to_string).collect();
        match actual.nodes.iter().find(|a| a.name == n.name) {
            None => actions.push(Action::Create {
                argv: declared.create_argv(n, true),
                why: format!("add node {} for {}", n.name, want.join(", ")),
            }),
            Some(a) => {
                let have: Vec<String> = a
                    .configured
                    .iter()
                    .filter_map(|p| Platform::parse(p).ok())
                    .map(|p| p.to_string())
                    .collect();
                let endpoint_differs = n.endpoint.as_ref().is_some_and(|e| e != &a.endpoint);
                if have != want || endpoint_differs {
                    let mut why = format!("update node {}:", n.name);
                    if have != want {
                        why.push_str(&format!(
                            " platforms {} → {}",
                            have.join(","),
                            want.join(",")
                        ));
                    }
                    if endpoint_differs {
                        why.push_str(&format!(
                            " endpoint {} → {}",
                            a.endpoint,
                            n.endpoint.as_deref().unwrap_or("")
                        ));
                    }
                    actions.push(Action::Create {
                        argv: declared.create_argv(n, true),
                        why,
                    });
                }
            }
        }
    }
    for a in &actual.nodes {
        if !declared.nodes.iter().any(|n| n.name == a.name) {
            actions.push(Action::Leave {
                argv: vec![
                    "docker".into(),
                    "buildx".into(),
                    "create".into(),
                    "--name".into(),
                    declared.name.clone(),
                    "--leave".into(),
                    "--node".into(),
                    a.name.clone(),
                ],
                why: format!("remove node {} (not in the file)", a.name),
            });
        }
    }
    actions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildx::docker::Node as ActualNode;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    fn remote() -> Declared {
        let mut tls = BTreeMap::new();
        tls.insert("cacert".to_string(), "/p/certs/ca.pem".to_string());
        tls.insert("cert".to_string(), "/p/certs/cert.pem".to_string());
        tls.insert("key".to_string(), "/p/certs/key.pem".to_string());
        Declared {
            name: "acme-native".into(),
            driver: "remote".into(),
            nodes: vec![
                Node {
                    name: "acme-native0".into(),
                    platforms: vec![p("linux/amd64")],
                    endpoint: Some("tcp://x86-builder.internal:1234".into()),
                    driver_opts: tls,
                },
                Node {
                    name: "acme-native1".into(),
                    platforms: vec![p("linux/arm64")],
                    endpoint: Some("unix:///run/buildkit/arm64.sock".into()),
                    driver_opts: BTreeMap::new(),
                },
            ],
            allow_emulation: false,
        }
    }

    fn actual_of(d: &Declared) -> Builder {
        Builder {
            name: d.name.clone(),
            driver: d.driver.clone(),
            nodes: d
                .nodes
                .iter()
                .map(|n| ActualNode {
                    name: n.name.clone(),
                    endpoint: n.endpoint.clone().unwrap_or_default(),
                    status: "running".into(),
                    platforms: n
                        .platforms
                        .iter()
                        .map(ToString::to_string)
                        .chain(["linux/386".to_string()])
                        .collect(),
                    configured: n.platforms.iter().map(ToString::to_string).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn remote_nodes_with_tls() {
        let d = remote();
        let actions = diff(&d, None);
        let argv: Vec<String> = actions
            .iter()
            .map(|a| match a {
                Action::Create { argv, .. } => crate::shell::join(argv),
                _ => panic!(),
            })
            .collect();
        assert_eq!(
            argv,
            vec![
                "docker buildx create --name acme-native --driver remote --driver-opt cacert=/p/certs/ca.pem,cert=/p/certs/cert.pem,key=/p/certs/key.pem --node acme-native0 --platform linux/amd64 tcp://x86-builder.internal:1234",
                "docker buildx create --append --name acme-native --driver remote --node acme-native1 --platform linux/arm64 unix:///run/buildkit/arm64.sock",
            ]
        );
    }

    #[test]
    fn kubernetes_and_docker_container_argv() {
        let mut opts = BTreeMap::new();
        opts.insert("namespace".to_string(), "builds".to_string());
        opts.insert(
            "nodeselector".to_string(),
            "kubernetes.io/arch=arm64".to_string(),
        );
        let k = Declared {
            name: "k8s".into(),
            driver: "kubernetes".into(),
            nodes: vec![Node {
                name: "k8s-arm".into(),
                platforms: vec![p("linux/arm64")],
                endpoint: None,
                driver_opts: opts,
            }],
            allow_emulation: false,
        };
        assert_eq!(
            crate::shell::join(&k.create_argv(&k.nodes[0], false)),
            "docker buildx create --name k8s --driver kubernetes --driver-opt namespace=builds,nodeselector=kubernetes.io/arch=arm64 --node k8s-arm --platform linux/arm64"
        );
        let mut dc_opts = BTreeMap::new();
        dc_opts.insert("image".to_string(), "moby/buildkit:v0.13.2".to_string());
        let dc = Declared {
            name: "local-bk".into(),
            driver: "docker-container".into(),
            nodes: vec![Node {
                name: "local-bk0".into(),
                platforms: vec![p("linux/amd64"), p("linux/arm64")],
                endpoint: None,
                driver_opts: dc_opts,
            }],
            allow_emulation: true,
        };
        assert_eq!(
            crate::shell::join(&dc.create_argv(&dc.nodes[0], false)),
            "docker buildx create --name local-bk --driver docker-container --driver-opt image=moby/buildkit:v0.13.2 --node local-bk0 --platform linux/amd64,linux/arm64"
        );
    }

    #[test]
    fn a_matching_builder_needs_nothing_and_drift_is_fixed() {
        let d = remote();
        assert!(diff(&d, Some(&actual_of(&d))).is_empty());
        // A node's platforms drifted, an extra node appeared.
        let mut a = actual_of(&d);
        a.nodes[1].configured = vec!["linux/arm64".into(), "linux/arm/v7".into()];
        a.nodes.push(ActualNode {
            name: "stray".into(),
            ..ActualNode::default()
        });
        let actions = diff(&d, Some(&a));
        assert_eq!(actions.len(), 2, "{actions:?}");
        assert!(actions[0].why().starts_with(
            "update node acme-native1: platforms linux/arm64,linux/arm/v7 → linux/arm64"
        ));
        assert!(
            matches!(&actions[1], Action::Leave { argv, .. } if argv.ends_with(&["stray".to_string()]))
        );
        // Another driver: remove and recreate.
        let mut a = actual_of(&d);
        a.driver = "docker-container".into();
        let actions = diff(&d, Some(&a));
        assert!(matches!(actions[0], Action::Remove { .. }));
        assert_eq!(actions.len(), 3);
    }

    #[test]
    fn nodes_serve_platforms() {
        let d = remote();
        assert_eq!(
            d.node_for(&p("linux/arm64/v8")).unwrap().name,
            "acme-native1"
        );
        assert!(d.node_for(&p("linux/arm/v7")).is_none());
    }
}
