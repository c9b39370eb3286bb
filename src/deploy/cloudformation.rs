//! CloudFormation and SAM templates (YAML with short-form tags, or JSON, e.g. CDK
//! output): `AWS::Serverless::Function` and `AWS::Lambda::Function` with
//! `PackageType: Image` (`Architectures`, absent → x86_64; SAM `Globals.Function`
//! applies), and `AWS::ECS::TaskDefinition` (`RuntimePlatform.CpuArchitecture`,
//! absent → X86_64; `RequiresCompatibilities`).

use serde_json::Value;

use super::{DeployError, Doc, Found, arch, strings};
use crate::platform::Platform;

pub fn is(v: &Value) -> bool {
    v.get("Resources").is_some_and(Value::is_object)
}

pub fn read(doc: &Doc) -> Result<Vec<Found>, DeployError> {
    let globals = doc.value.pointer("/Globals/Function");
    let mut out = Vec::new();
    let Some(resources) = doc.value.get("Resources").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (id, r) in resources {
        let kind = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        let props = r.get("Properties").cloned().unwrap_or(Value::Null);
        let start = super::text::line_of(doc.text, doc.start, id).unwrap_or(doc.start);
        match kind {
            "AWS::Serverless::Function" | "AWS::Lambda::Function" => {
                let from_globals = |k: &str| {
                    if kind == "AWS::Serverless::Function" {
                        globals.and_then(|g| g.get(k))
                    } else {
                        None
                    }
                };
                let package = props
                    .get("PackageType")
                    .or(from_globals("PackageType"))
                    .and_then(Value::as_str);
                if package != Some("Image") {
                    continue; // zip functions carry no image
                }
                let archs = strings(props.get("Architectures").or(from_globals("Architectures")));
                let (platforms, source, defaulted) = if archs.is_empty() {
                    (
                        vec![Platform::linux("amd64", "")],
                        format!("{}:{start}", doc.file),
                        true,
                    )
                } else {
                    let line = super::text::line_of(doc.text, start, "Architectures")
                        .filter(|_| props.get("Architectures").is_some())
                        .or_else(|| super::text::line_of(doc.text, doc.start, "Architectures"))
                        .unwrap_or(start);
                    let at = format!("{}:{line}", doc.file);
                    let mut ps = Vec::new();
                    for a in &archs {
                        ps.push(arch(&at, a)?);
                    }
                    (ps, at, false)
                };
                out.push(Found {
                    service: Some("lambda".into()),
                    platforms,
                    resource: id.clone(),
                    source,
                    defaulted,
                });
            }
            "AWS::ECS::TaskDefinition" => {
                let compat = strings(props.get("RequiresCompatibilities"));
                let service = if compat.iter().any(|c| c.eq_ignore_ascii_case("FARGATE")) {
                    "ecs-fargate"
                } else {
                    "ecs-ec2"
                };
                let cpu = props.pointer("/RuntimePlatform/CpuArchitecture");
                let (platform, source, defaulted) = match cpu {
                    Some(Value::String(a)) => {
                        let at = format!(
                            "{}:{}",
                            doc.file,
                            super::text::line_of(doc.text, start, "CpuArchitecture")
                                .unwrap_or(start)
                        );
                        (arch(&at, a)?, at, false)
                    }
                    Some(_) => {
                        return Err(DeployError::At {
                            at: format!("{}:{start}", doc.file),
                            message: format!(
                                "{id}: RuntimePlatform.CpuArchitecture is computed (Fn::…); mpbuild cannot read it"
                            ),
                        });
                    }
                    None => (
                        Platform::linux("amd64", ""),
                        format!("{}:{start}", doc.file),
                        true,
                    ),
                };
                out.push(Found {
                    service: Some(service.into()),
                    platforms: vec![platform],
                    resource: id.clone(),
                    source,
                    defaulted,
                });
            }
            _ => {}
        }
    }
    Ok(out)
}
