//! Kubernetes workloads: every object with a pod template (Deployment, StatefulSet,
//! DaemonSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate, and custom
//! kinds written the same way: Argo Rollouts, Knative Services, OpenShift
//! DeploymentConfigs) and Pods, in `List`s too (`kubectl get … -o yaml`). Containers,
//! init containers and ephemeral containers all run on the pod's node, so all need the
//! pod's platforms: `nodeSelector` on `kubernetes.io/arch` (and `kubernetes.io/os`) and
//! required node affinity (`In`, `NotIn`, `Exists`), combined as the scheduler does. No
//! constraint → the cluster's architectures (`cluster_archs:` / `--cluster-archs`).

use super::found::{Context, DeployError, Found, arch, arch_at};
use super::image::{Vars, image_use};
use super::node::Node;
use crate::platform::Platform;

const ARCH_LABELS: [&str; 2] = ["kubernetes.io/arch", "beta.kubernetes.io/arch"];
const OS_LABELS: [&str; 2] = ["kubernetes.io/os", "beta.kubernetes.io/os"];

/// The container lists of a pod spec, and how their containers are named.
const CONTAINER_LISTS: [(&str, &str); 3] = [
    ("containers", ""),
    ("initContainers", "init container "),
    ("ephemeralContainers", "ephemeral container "),
];

pub fn is(v: &Node) -> bool {
    v.get("kind").and_then(Node::literal).is_some()
        && v.get("apiVersion").and_then(Node::literal).is_some()
}

pub fn read(doc: &Node, ctx: &Context) -> Result<Vec<Found>, DeployError> {
    let kind = doc.get("kind").and_then(Node::literal).unwrap_or_default();
    if kind == "List" || kind.ends_with("List") {
        let mut out = Vec::new();
        for item in doc.get("items").map(Node::items).unwrap_or_default() {
            if is(item) {
                out.extend(read(item, ctx)?);
            }
        }
        return Ok(out);
    }
    let Some(spec) = pod_spec(doc, kind) else {
        return Ok(Vec::new());
    };
    let name = doc
        .path(&["metadata", "name"])
        .and_then(Node::literal)
        .or_else(|| {
            doc.path(&["metadata", "generateName"])
                .and_then(Node::literal)
        })
        .unwrap_or("unnamed");
    let resource = format!("{kind}/{name}");
    let mut images = Vec::new();
    for (list, label) in CONTAINER_LISTS {
        for c in spec.get(list).map(Node::items).unwrap_or_default() {
            let cname = c.get("name").and_then(Node::scalar).unwrap_or_default();
            if let Some(image) = c.get("image") {
                images.extend(image_use(
                    image,
                    format!("{label}{cname}"),
                    Vars::Foreign,
                    ctx.env,
                ));
            }
        }
    }
    images.sort_by_key(|u| u.line);
    let (platforms, line, defaulted) = platforms(spec, doc, &resource, ctx)?;
    Ok(vec![Found {
        service: Some("kubernetes".into()),
        platforms,
        unstated: None,
        resource,
        file: ctx.file.to_string(),
        source: ctx.at(line),
        defaulted,
        images,
        unchecked: None,
    }])
}

/// The pod spec of a workload: a Pod's `spec`, a PodTemplate's `template.spec`, a
/// CronJob's job template, or any kind's `spec.template.spec` holding containers.
fn pod_spec<'a>(v: &'a Node, kind: &str) -> Option<&'a Node> {
    let spec = match kind {
        "Pod" => v.get("spec"),
        "PodTemplate" => v.path(&["template", "spec"]),
        _ => v
            .path(&["spec", "template", "spec"])
            .or_else(|| v.path(&["spec", "jobTemplate", "spec", "template", "spec"])),
    }?;
    spec.get("containers").is_some().then_some(spec)
}

/// The architectures a node may have for this pod: unconstrained (None) or a set.
type Allowed = Option<Vec<Platform>>;

fn platforms(
    spec: &Node,
    doc: &Node,
    resource: &str,
    ctx: &Context,
) -> Result<(Vec<Platform>, u32, bool), DeployError> {
    let selector = spec.get("nodeSelector");
    let os = OS_LABELS
        .iter()
        .find_map(|l| selector.and_then(|s| s.get(l)).and_then(Node::scalar))
        .unwrap_or_else(|| "linux".into());
    // An architecture written at `node`, under the pod's OS (which must be one a
    // container has).
    let with_os = |ctx: &Context, node: &Node, a: &str| arch_at(ctx, node, &format!("{os}/{a}"));
    let os_node = OS_LABELS
        .iter()
        .find_map(|l| selector.and_then(|s| s.get(l)));
    let mut decided: Option<u32> = None;
    let mut allowed: Allowed = None;
    for label in ARCH_LABELS {
        if let Some(v) = selector.and_then(|s| s.get(label)) {
            let a = v.scalar().unwrap_or_default();
            allowed = Some(vec![with_os(ctx, v, &a)?]);
            decided = Some(v.line);
            break;
        }
    }
    if let Some((terms, line)) = affinity(spec, resource, ctx, &with_os)? {
        decided = decided.or(Some(line));
        allowed = intersect(allowed, terms);
    }
    let Some(line) = decided.filter(|_| allowed.is_some()) else {
        let line = doc.line;
        return match ctx.cluster {
            Some(c) => {
                // The cluster's architectures under the pod's OS, which must be one a
                // container has.
                let platforms = c
                    .iter()
                    .map(|p| {
                        let tail = Platform::new("", &p.architecture, &p.variant).to_string();
                        let spec = format!("{os}{tail}");
                        match os_node {
                            Some(n) => arch_at(ctx, n, &spec),
                            None => arch(ctx, line, &spec),
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((platforms, line, true))
            }
            None => Err(ctx.err(
                doc.line,
                format!(
                    "{resource} has no kubernetes.io/arch constraint, so it may run on any node: say the cluster's node architectures (`cluster_archs: [amd64, arm64]` in mpbuild.yaml, or `--cluster-archs amd64,arm64`), or add a nodeSelector"
                ),
            )),
        };
    };
    let platforms = allowed.unwrap_or_default();
    if platforms.is_empty() {
        return Err(ctx.err(
            line,
            format!("{resource}: its nodeSelector and node affinity together allow no architecture, so no node can run it"),
        ));
    }
    Ok((platforms, line, false))
}

fn intersect(a: Allowed, b: Allowed) -> Allowed {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(
            a.into_iter()
                .filter(|p| b.iter().any(|q| q.matches(p)))
                .collect(),
        ),
    }
}

fn union(a: Allowed, b: Allowed) -> Allowed {
    match (a, b) {
        (None, _) | (_, None) => None,
        (Some(mut a), Some(b)) => {
            for p in b {
                if !a.iter().any(|q| q.matches(&p)) {
                    a.push(p);
                }
            }
            Some(a)
        }
    }
}

/// Required node affinity on the architecture: terms are ORed, the expressions of a
/// term ANDed. None when no term names the architecture; else the allowed set (None
/// inside: some term leaves it free) and the line of the first expression on it.
fn affinity(
    spec: &Node,
    resource: &str,
    ctx: &Context,
    with_os: &dyn Fn(&Context, &Node, &str) -> Result<Platform, DeployError>,
) -> Result<Option<(Allowed, u32)>, DeployError> {
    let terms = spec
        .path(&[
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        ])
        .map(Node::items)
        .unwrap_or_default();
    let mut first_line = None;
    let mut all: Allowed = Some(Vec::new());
    for term in terms {
        let mut this: Allowed = None;
        for e in term
            .get("matchExpressions")
            .map(Node::items)
            .unwrap_or_default()
        {
            let Some(key) = e
                .get("key")
                .filter(|k| k.literal().is_some_and(|k| ARCH_LABELS.contains(&k)))
            else {
                continue;
            };
            first_line.get_or_insert(key.line);
            let values = e.get("values").map(Node::items).unwrap_or_default();
            let listed = values
                .iter()
                .map(|v| with_os(ctx, v, &v.scalar().unwrap_or_default()))
                .collect::<Result<Vec<_>, _>>()?;
            let op = e
                .get("operator")
                .and_then(Node::literal)
                .unwrap_or("(none)");
            this = match op {
                "In" => intersect(this, Some(listed)),
                "NotIn" => {
                    let Some(cluster) = ctx.cluster else {
                        return Err(ctx.err(
                            key.line,
                            format!("{resource} excludes architectures (NotIn); mpbuild needs the cluster's: add `cluster_archs: [amd64, arm64]` to mpbuild.yaml (or `--cluster-archs amd64,arm64`)"),
                        ));
                    };
                    let rest = cluster
                        .iter()
                        .map(|p| with_os(ctx, key, &p.architecture))
                        .collect::<Result<Vec<_>, _>>()?
                        .into_iter()
                        .filter(|p| !listed.iter().any(|x| x.matches(p)))
                        .collect();
                    intersect(this, Some(rest))
                }
                "Exists" => this,
                other => {
                    return Err(ctx.err(
                        key.line,
                        format!("{resource}: operator {other} on kubernetes.io/arch is not supported; use In or NotIn"),
                    ));
                }
            };
        }
        all = union(all, this);
    }
    Ok(first_line.map(|l| (all, l)))
}
