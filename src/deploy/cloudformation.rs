//! CloudFormation and SAM templates (YAML with short-form tags, or JSON, e.g. CDK
//! output):
//! - `AWS::Serverless::Function` and `AWS::Lambda::Function` with `PackageType: Image`
//!   (`Architectures`, absent → x86_64; SAM `Globals.Function` applies; the image is
//!   `ImageUri` or `Code.ImageUri`, none when `sam build` builds it);
//! - `AWS::ECS::TaskDefinition` (`RuntimePlatform.CpuArchitecture`, absent → X86_64;
//!   `RequiresCompatibilities`; each container definition's `Image`);
//! - `AWS::AppRunner::Service` (`ImageRepository.ImageIdentifier`; App Runner has no
//!   architecture field: the catalog's);
//! - `AWS::Batch::JobDefinition` (container, ECS, multi-node and EKS properties;
//!   `RuntimePlatform.CpuArchitecture` on Fargate, absent → X86_64; on EC2 the
//!   instances decide: the catalog's default).

use super::ecs::{service as ecs_service, task_platform};
use super::found::{Context, DeployError, Found, Unstated, literal_arch};
use super::image::{Image, ImageUse, Vars, image_use};
use super::node::Node;
use crate::platform::Platform;

pub fn is(v: &Node) -> bool {
    v.get("Resources").is_some_and(Node::is_map)
}

pub fn read(doc: &Node, ctx: &Context) -> Result<Vec<Found>, DeployError> {
    let globals = doc.path(&["Globals", "Function"]);
    let mut out = Vec::new();
    for (id, r) in doc.get("Resources").map(Node::entries).unwrap_or_default() {
        let kind = r.get("Type").and_then(Node::literal).unwrap_or_default();
        let empty = Node {
            value: super::node::Value::Null,
            tag: None,
            line: id.line,
            column: 0,
            span: None,
        };
        let props = r.get("Properties").unwrap_or(&empty);
        let res = Resource {
            id: &id.name,
            params: doc.get("Parameters"),
            line: id.line,
            props,
            ctx,
        };
        let found = match kind {
            "AWS::Serverless::Function" => res.lambda(globals)?,
            "AWS::Lambda::Function" => res.lambda(None)?,
            "AWS::ECS::TaskDefinition" => Some(res.task_definition()?),
            "AWS::AppRunner::Service" => Some(res.app_runner()),
            "AWS::Batch::JobDefinition" => Some(res.batch()?),
            _ => None,
        };
        out.extend(found);
    }
    Ok(out)
}

struct Resource<'a> {
    id: &'a str,
    params: Option<&'a Node>,
    line: u32,
    props: &'a Node,
    ctx: &'a Context<'a>,
}

impl Resource<'_> {
    fn found(&self, service: &str, platforms: Vec<Platform>, line: u32, defaulted: bool) -> Found {
        Found {
            service: Some(service.into()),
            platforms,
            unstated: None,
            resource: self.id.to_string(),
            file: self.ctx.file.to_string(),
            source: self.ctx.at(line),
            defaulted,
            images: Vec::new(),
            unchecked: None,
        }
    }

    /// The image at `node`; a `Ref` to a template parameter says the parameter's
    /// default, which is what the stack runs unless the deploy passes another value.
    fn image(&self, node: Option<&Node>, container: &str) -> Option<ImageUse> {
        let mut u = image_use(node?, container.to_string(), Vars::Foreign, self.ctx.env)?;
        if let Image::Unresolved { why, .. } = &mut u.image
            && let Some(name) = node.and_then(referenced_parameter)
            && let Some(default) = self
                .params
                .and_then(|p| p.path(&[name, "Default"]))
                .and_then(Node::scalar)
        {
            why.push_str(&format!("; the template's default for {name} is {default}"));
        }
        Some(u)
    }

    /// A Lambda function with `PackageType: Image` (None for a zip function).
    fn lambda(&self, globals: Option<&Node>) -> Result<Option<Found>, DeployError> {
        // A property, or SAM's `Globals.Function` default for it, with its key's line.
        let field = |k: &str| {
            [Some(self.props), globals]
                .into_iter()
                .flatten()
                .find_map(|m| m.get(k).map(|v| (v, m.key_line(k))))
        };
        if field("PackageType").and_then(|(v, _)| v.literal()) != Some("Image") {
            return Ok(None); // zip functions carry no image
        }
        let (platforms, line, defaulted) = match field("Architectures") {
            Some((a, line)) => {
                let items: Vec<&Node> = match a.items() {
                    [] => vec![a],
                    items => items.iter().collect(),
                };
                let mut ps = Vec::new();
                for item in items {
                    ps.push(literal_arch(self.ctx, item, "Architectures")?);
                }
                (ps, line, false)
            }
            None => (vec![Platform::linux("amd64", "")], self.line, true),
        };
        let mut f = self.found("lambda", platforms, line, defaulted);
        let uri = self
            .props
            .get("ImageUri")
            .or_else(|| self.props.path(&["Code", "ImageUri"]));
        f.images.extend(self.image(uri, "function"));
        if f.images.is_empty() {
            f.unchecked =
                Some("no ImageUri: `sam build` builds the image and `sam deploy` pushes it".into());
        }
        Ok(Some(f))
    }

    fn task_definition(&self) -> Result<Found, DeployError> {
        let (platform, line, defaulted) = task_platform(
            self.ctx,
            self.props.path(&["RuntimePlatform", "CpuArchitecture"]),
            self.props
                .path(&["RuntimePlatform", "OperatingSystemFamily"]),
            "RuntimePlatform.CpuArchitecture",
            self.line,
        )?;
        let service = ecs_service(self.props.get("RequiresCompatibilities"));
        let mut f = self.found(service, vec![platform], line, defaulted);
        for c in self
            .props
            .get("ContainerDefinitions")
            .map(Node::items)
            .unwrap_or_default()
        {
            let name = c.get("Name").map(name_of).unwrap_or_default();
            f.images.extend(self.image(c.get("Image"), &name));
        }
        Ok(f)
    }

    fn app_runner(&self) -> Found {
        let mut f = self.found("apprunner", Vec::new(), self.line, true);
        f.unstated = Some(Unstated::ServiceDefault);
        let id = self
            .props
            .path(&["SourceConfiguration", "ImageRepository", "ImageIdentifier"]);
        f.images.extend(self.image(id, "service"));
        if f.images.is_empty() {
            f.unchecked = Some("built from a source code repository, not an image".into());
        }
        f
    }

    fn batch(&self) -> Result<Found, DeployError> {
        let fargate = self.props.get("PlatformCapabilities").is_some_and(|c| {
            c.strings()
                .iter()
                .any(|c| c.eq_ignore_ascii_case("FARGATE"))
        });
        // Each kind of job: (its containers, the node holding RuntimePlatform).
        let mut containers: Vec<(String, &Node)> = Vec::new();
        let mut runtime: Option<&Node> = None;
        if let Some(c) = self.props.get("ContainerProperties") {
            containers.push(("job".into(), c));
            runtime = c.get("RuntimePlatform");
        }
        for t in self
            .props
            .path(&["EcsProperties", "TaskProperties"])
            .map(Node::items)
            .unwrap_or_default()
        {
            runtime = runtime.or(t.get("RuntimePlatform"));
            for c in t.get("Containers").map(Node::items).unwrap_or_default() {
                let name = c.get("Name").map(name_of).unwrap_or_default();
                containers.push((name, c));
            }
        }
        for r in self
            .props
            .path(&["NodeProperties", "NodeRangeProperties"])
            .map(Node::items)
            .unwrap_or_default()
        {
            if let Some(c) = r.get("Container") {
                let nodes = r
                    .get("TargetNodes")
                    .and_then(Node::scalar)
                    .unwrap_or_default();
                containers.push((format!("nodes {nodes}"), c));
            }
        }
        for c in self
            .props
            .path(&["EksProperties", "PodProperties", "Containers"])
            .map(Node::items)
            .unwrap_or_default()
        {
            let name = c.get("Name").map(name_of).unwrap_or_default();
            containers.push((name, c));
        }
        let cpu = runtime.and_then(|r| r.get("CpuArchitecture"));
        let mut f = if cpu.is_some() || fargate {
            let (p, line, defaulted) = task_platform(
                self.ctx,
                cpu,
                runtime.and_then(|r| r.get("OperatingSystemFamily")),
                "RuntimePlatform.CpuArchitecture",
                self.line,
            )?;
            self.found("batch", vec![p], line, defaulted)
        } else {
            // On EC2 the compute environment's instance types decide.
            let mut f = self.found("batch", Vec::new(), self.line, true);
            f.unstated = Some(Unstated::ServiceDefault);
            f
        };
        for (name, c) in containers {
            f.images.extend(self.image(c.get("Image"), &name));
        }
        Ok(f)
    }
}

/// A container's name as written (`!Ref ServiceName` when computed).
fn name_of(n: &Node) -> String {
    n.scalar().unwrap_or_else(|| n.describe())
}

/// The parameter `!Ref NAME` or `{"Ref": NAME}` names.
fn referenced_parameter(n: &Node) -> Option<&str> {
    match n.tag.as_deref() {
        Some("!Ref") => match &n.value {
            super::node::Value::String(s) => Some(s),
            _ => None,
        },
        Some(_) => None,
        None => n
            .get("Ref")
            .and_then(Node::literal)
            .filter(|_| n.entries().len() == 1),
    }
}
