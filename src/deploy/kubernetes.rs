//! Kubernetes workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
//! Pod): `nodeSelector` on `kubernetes.io/arch` (or the deprecated
//! `beta.kubernetes.io/arch`), and required node affinity (`In`, `NotIn`). No
//! constraint → the cluster's architectures from `cluster_archs:`.

use serde_json::Value;

use super::{DeployError, Doc, Found, arch};
use crate::platform::Platform;

const ARCH_LABELS: [&str; 2] = ["kubernetes.io/arch", "beta.kubernetes.io/arch"];

pub fn is(v: &Value) -> bool {
    v.get("kind").is_some_and(Value::is_string) && v.get("apiVersion").is_some_and(Value::is_string)
}

fn pod_spec<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            v.pointer("/spec/template/spec")
        }
        "CronJob" => v.pointer("/spec/jobTemplate/spec/template/spec"),
        "Pod" => v.get("spec"),
        _ => None,
    }
}

pub fn read(doc: &Doc, cluster: Option<&[Platform]>) -> Result<Vec<Found>, DeployError> {
    let kind = doc.value["kind"].as_str().unwrap_or_default();
    let Some(spec) = pod_spec(&doc.value, kind) else {
        return Ok(Vec::new());
    };
    let name = doc
        .value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("unnamed");
    let resource = format!("{kind}/{name}");
    let line = |key: &str| {
        super::text::line_of(doc.text, doc.start, key)
            .map(|l| format!("{}:{l}", doc.file))
            .unwrap_or_else(|| format!("{}:{}", doc.file, doc.start))
    };
    // nodeSelector.
    for label in ARCH_LABELS {
        if let Some(a) = spec
            .pointer("/nodeSelector")
            .and_then(|n| n.get(label))
            .and_then(Value::as_str)
        {
            let at = line(label);
            return Ok(vec![found(&resource, vec![arch(&at, a)?], at, false)]);
        }
    }
    // Required node affinity: terms are ORed, expressions within a term ANDed.
    let terms = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array);
    let mut platforms: Vec<Platform> = Vec::new();
    let mut constrained = false;
    for term in terms.into_iter().flatten() {
        for e in term
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            if !ARCH_LABELS.contains(&key) {
                continue;
            }
            constrained = true;
            let at = super::text::line_containing(doc.text, doc.start, key)
                .map(|l| format!("{}:{l}", doc.file))
                .unwrap_or_else(|| line(key));
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            match e.get("operator").and_then(Value::as_str) {
                Some("In") => {
                    for v in values {
                        let p = arch(&at, v)?;
                        if !platforms.iter().any(|q| q.matches(&p)) {
                            platforms.push(p);
                        }
                    }
                }
                Some("NotIn") => {
                    let Some(cluster) = cluster else {
                        return Err(DeployError::At {
                            at,
                            message: format!(
                                "{resource} excludes architectures (NotIn); mpbuild needs the cluster's: add `cluster_archs: [amd64, arm64]` to mpbuild.yaml"
                            ),
                        });
                    };
                    let excluded: Vec<Platform> = values
                        .iter()
                        .map(|v| arch(&at, v))
                        .collect::<Result<_, _>>()?;
                    for p in cluster {
                        if !excluded.iter().any(|x| x.matches(p))
                            && !platforms.iter().any(|q| q.matches(p))
                        {
                            platforms.push(p.clone());
                        }
                    }
                }
                other => {
                    return Err(DeployError::At {
                        at,
                        message: format!(
                            "{resource}: operator {} on kubernetes.io/arch is not supported; use In or NotIn",
                            other.unwrap_or("(none)")
                        ),
                    });
                }
            }
        }
    }
    if constrained {
        let at = super::text::line_containing(doc.text, doc.start, "kubernetes.io/arch")
            .map(|l| format!("{}:{l}", doc.file))
            .unwrap_or_else(|| line("kubernetes.io/arch"));
        return Ok(vec![found(&resource, platforms, at, false)]);
    }
    match cluster {
        Some(c) => Ok(vec![found(
            &resource,
            c.to_vec(),
            format!("{}:{}", doc.file, doc.start),
            true,
        )]),
        None => Err(DeployError::At {
            at: format!("{}:{}", doc.file, doc.start),
            message: format!(
                "{resource} has no kubernetes.io/arch constraint, so it may run on any node: add `cluster_archs: [amd64, arm64]` (the cluster's node architectures) to mpbuild.yaml, or a nodeSelector"
            ),
        }),
    }
}

fn found(resource: &str, platforms: Vec<Platform>, source: String, defaulted: bool) -> Found {
    Found {
        service: Some("kubernetes".into()),
        platforms,
        resource: resource.to_string(),
        source,
        defaulted,
    }
}
