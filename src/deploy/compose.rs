//! docker compose files: a service's `platform:`.

use serde_json::Value;

use super::{DeployError, Doc, Found, arch};

pub fn is(v: &Value) -> bool {
    v.get("services")
        .and_then(Value::as_object)
        .is_some_and(|s| {
            s.values()
                .any(|svc| svc.get("image").is_some() || svc.get("build").is_some())
        })
}

pub fn read(doc: &Doc) -> Result<Vec<Found>, DeployError> {
    let mut out = Vec::new();
    let Some(services) = doc.value.get("services").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (name, svc) in services {
        let Some(p) = svc.get("platform").and_then(Value::as_str) else {
            continue; // no platform stated: compose runs the host's
        };
        let start = super::text::line_of(doc.text, doc.start, name).unwrap_or(doc.start);
        let line = super::text::line_of(doc.text, start, "platform").unwrap_or(start);
        let at = format!("{}:{line}", doc.file);
        out.push(Found {
            service: None,
            platforms: vec![arch(&at, p)?],
            resource: name.clone(),
            source: at,
            defaulted: false,
        });
    }
    Ok(out)
}
