//! AWS Copilot manifests: `platform:` as `linux/x86_64` / `linux/arm64`, or
//! `{osfamily, architecture}` (absent → linux/x86_64). A Request-Driven Web Service
//! runs on App Runner; the other types on ECS Fargate.

use serde_json::Value;

use super::{DeployError, Doc, Found, arch};
use crate::platform::Platform;

const TYPES: [&str; 6] = [
    "Load Balanced Web Service",
    "Backend Service",
    "Worker Service",
    "Request-Driven Web Service",
    "Scheduled Job",
    "Static Site",
];

pub fn is(v: &Value) -> bool {
    v.get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| TYPES.contains(&t))
        && v.get("name").is_some()
}

pub fn read(doc: &Doc) -> Result<Vec<Found>, DeployError> {
    let kind = doc.value["type"].as_str().unwrap_or_default();
    if kind == "Static Site" {
        return Ok(Vec::new());
    }
    let name = doc.value["name"].as_str().unwrap_or("service").to_string();
    let service = if kind == "Request-Driven Web Service" {
        "apprunner"
    } else {
        "ecs-fargate"
    };
    let (platform, source, defaulted) = match doc.value.get("platform") {
        Some(Value::String(s)) => {
            let at = doc.at(doc.start, "platform");
            (arch(&at, s)?, at, false)
        }
        Some(Value::Object(m)) => {
            let at = doc.at(doc.start, "platform");
            let os = m.get("osfamily").and_then(Value::as_str).unwrap_or("linux");
            let a = m
                .get("architecture")
                .and_then(Value::as_str)
                .unwrap_or("x86_64");
            let os = if os.to_ascii_lowercase().starts_with("windows") {
                "windows"
            } else {
                "linux"
            };
            (arch(&at, &format!("{os}/{a}"))?, at, false)
        }
        _ => (
            Platform::linux("amd64", ""),
            doc.at(doc.start, "name"),
            true,
        ),
    };
    Ok(vec![Found {
        service: Some(service.to_string()),
        platforms: vec![platform],
        resource: name,
        source,
        defaulted,
    }])
}
