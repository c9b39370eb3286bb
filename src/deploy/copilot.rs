//! AWS Copilot manifests: `platform:` as `linux/x86_64` / `linux/arm64`, or
//! `{osfamily, architecture}` (absent → linux/x86_64). A Request-Driven Web Service
//! runs on App Runner; the other types on ECS Fargate. The image is `image.location`
//! (with `image.build`, Copilot builds it), sidecars' images run beside it.

use super::found::{Context, DeployError, Found, arch};
use super::image::{Vars, image_use};
use super::node::Node;
use crate::platform::Platform;

const TYPES: [&str; 6] = [
    "Load Balanced Web Service",
    "Backend Service",
    "Worker Service",
    "Request-Driven Web Service",
    "Scheduled Job",
    "Static Site",
];

pub fn is(v: &Node) -> bool {
    v.get("type")
        .and_then(Node::literal)
        .is_some_and(|t| TYPES.contains(&t))
        && v.get("name").is_some()
}

pub fn read(doc: &Node, ctx: &Context) -> Result<Vec<Found>, DeployError> {
    let kind = doc.get("type").and_then(Node::literal).unwrap_or_default();
    if kind == "Static Site" {
        return Ok(Vec::new());
    }
    let name = doc
        .get("name")
        .and_then(Node::scalar)
        .unwrap_or_else(|| "service".into());
    let service = if kind == "Request-Driven Web Service" {
        "apprunner"
    } else {
        "ecs-fargate"
    };
    let (platform, line, defaulted) = match doc.get("platform") {
        Some(p) if p.is_map() => {
            let os = p
                .get("osfamily")
                .and_then(Node::scalar)
                .unwrap_or_else(|| "linux".into());
            let a = p
                .get("architecture")
                .and_then(Node::scalar)
                .unwrap_or_else(|| "x86_64".into());
            let os = if os.to_ascii_lowercase().starts_with("windows") {
                "windows"
            } else {
                "linux"
            };
            let line = doc.key_line("platform");
            (arch(ctx, line, &format!("{os}/{a}"))?, line, false)
        }
        Some(p) => (
            super::found::literal_arch(ctx, p, "platform")?,
            p.line,
            false,
        ),
        None => (Platform::linux("amd64", ""), doc.key_line("name"), true),
    };
    let mut images = Vec::new();
    let mut built = false;
    if let Some(image) = doc.get("image") {
        match image.get("location") {
            Some(loc) => images.extend(image_use(loc, name.clone(), Vars::Foreign, ctx.env)),
            None => built = image.get("build").is_some(),
        }
    }
    for (sidecar, s) in doc.get("sidecars").map(Node::entries).unwrap_or_default() {
        let image = s.get("image").map(|i| i.get("location").unwrap_or(i));
        if let Some(i) = image.filter(|i| !i.is_map()) {
            images.extend(image_use(
                i,
                format!("sidecar {}", sidecar.name),
                Vars::Foreign,
                ctx.env,
            ));
        }
    }
    Ok(vec![Found {
        service: Some(service.to_string()),
        platforms: vec![platform],
        unstated: None,
        resource: name,
        file: ctx.file.to_string(),
        source: ctx.at(line),
        defaulted,
        images,
        unchecked: built.then(|| "Copilot builds it from source (`image.build`)".to_string()),
    }])
}
