//! ECS task definitions, as registered (`aws ecs describe-task-definition` wraps it in
//! `taskDefinition`) or as given to `register-task-definition`:
//! `runtimePlatform.cpuArchitecture` (absent → X86_64) and `operatingSystemFamily`,
//! `requiresCompatibilities` (FARGATE → ecs-fargate, else ecs-ec2), and each container
//! definition's `image`.

use super::found::{Context, DeployError, Found, literal_arch};
use super::image::{Vars, image_use};
use super::node::Node;
use crate::platform::Platform;

pub fn is(v: &Node) -> bool {
    v.get("containerDefinitions").is_some()
        || v.path(&["taskDefinition", "containerDefinitions"])
            .is_some()
}

pub fn read(doc: &Node, ctx: &Context) -> Result<Vec<Found>, DeployError> {
    let td = doc
        .get("taskDefinition")
        .filter(|t| t.is_map())
        .unwrap_or(doc);
    let family = td
        .get("family")
        .and_then(Node::scalar)
        .unwrap_or_else(|| "task-definition".into());
    let service = service(td.get("requiresCompatibilities"));
    let (platform, line, defaulted) = task_platform(
        ctx,
        td.path(&["runtimePlatform", "cpuArchitecture"]),
        td.path(&["runtimePlatform", "operatingSystemFamily"]),
        "runtimePlatform.cpuArchitecture",
        td.key_line("family"),
    )?;
    let mut images = Vec::new();
    for c in td
        .get("containerDefinitions")
        .map(Node::items)
        .unwrap_or_default()
    {
        let name = c.get("name").and_then(Node::scalar).unwrap_or_default();
        if let Some(image) = c.get("image") {
            images.extend(image_use(image, name, Vars::Foreign, ctx.env));
        }
    }
    Ok(vec![Found {
        service: Some(service.to_string()),
        platforms: vec![platform],
        unstated: None,
        resource: family,
        file: ctx.file.to_string(),
        source: ctx.at(line),
        defaulted,
        images,
        unchecked: None,
    }])
}

/// `ecs-fargate` when the compatibilities name FARGATE, else `ecs-ec2`.
pub(super) fn service(compat: Option<&Node>) -> &'static str {
    if compat.is_some_and(|c| {
        c.strings()
            .iter()
            .any(|c| c.eq_ignore_ascii_case("FARGATE"))
    }) {
        "ecs-fargate"
    } else {
        "ecs-ec2"
    }
}

/// A task's platform from its CPU architecture and OS family fields (absent → X86_64
/// Linux, decided at `default_line`).
pub(super) fn task_platform(
    ctx: &Context,
    cpu: Option<&Node>,
    os: Option<&Node>,
    field: &str,
    default_line: u32,
) -> Result<(Platform, u32, bool), DeployError> {
    let (platform, line, defaulted) = match cpu {
        Some(a) => (literal_arch(ctx, a, field)?, a.line, false),
        None => (Platform::linux("amd64", ""), default_line, true),
    };
    let windows = os
        .and_then(Node::scalar)
        .is_some_and(|o| o.to_ascii_uppercase().starts_with("WINDOWS"));
    let platform = if windows {
        Platform::new("windows", &platform.architecture, "")
    } else {
        platform
    };
    Ok((platform, line, defaulted))
}
