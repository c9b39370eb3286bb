//! ECS task definitions, as registered (`aws ecs describe-task-definition` wraps it in
//! `taskDefinition`) or as given to `register-task-definition`:
//! `runtimePlatform.cpuArchitecture` (absent → X86_64), `requiresCompatibilities`
//! (FARGATE → ecs-fargate, else ecs-ec2).

use serde_json::Value;

use super::{DeployError, Doc, Found, arch, strings};

pub fn is(v: &Value) -> bool {
    v.get("containerDefinitions").is_some()
        || v.get("taskDefinition")
            .and_then(|t| t.get("containerDefinitions"))
            .is_some()
}

pub fn read(doc: &Doc) -> Result<Vec<Found>, DeployError> {
    let td = doc.value.get("taskDefinition").unwrap_or(&doc.value);
    let family = td
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("task-definition")
        .to_string();
    let compat = strings(td.get("requiresCompatibilities"));
    let service = if compat.iter().any(|c| c.eq_ignore_ascii_case("FARGATE")) {
        "ecs-fargate"
    } else {
        "ecs-ec2"
    };
    let cpu = td
        .pointer("/runtimePlatform/cpuArchitecture")
        .and_then(Value::as_str);
    let (platform, source, defaulted) = match cpu {
        Some(a) => {
            let at = doc.at(doc.start, "cpuArchitecture");
            (arch(&at, a)?, at, false)
        }
        None => (
            crate::platform::Platform::linux("amd64", ""),
            doc.at(doc.start, "family"),
            true,
        ),
    };
    let os = td
        .pointer("/runtimePlatform/operatingSystemFamily")
        .and_then(Value::as_str)
        .unwrap_or("LINUX");
    let platform = if os.to_ascii_uppercase().starts_with("WINDOWS") {
        crate::platform::Platform::new("windows", &platform.architecture, "")
    } else {
        platform
    };
    Ok(vec![Found {
        service: Some(service.to_string()),
        platforms: vec![platform],
        resource: family,
        source,
        defaulted,
    }])
}
