//! docker compose files: each service's `image:` and `platform:`, with compose's own
//! `${VAR}` interpolation from the environment. A service without `platform:` runs the
//! host's platform; one with `build:` is built by compose, not pulled, so its image is
//! not for `check` to verify. Which services decide an image's platforms in `from:` is
//! `select`'s business.

use super::found::{Context, DeployError, Found, Unstated, arch_at};
use super::image::{ImageUse, Vars, image_use};
use super::interpolate::interpolate;
use super::node::Node;

pub fn is(v: &Node) -> bool {
    v.get("services").is_some_and(|s| {
        s.entries()
            .iter()
            .any(|(_, svc)| svc.get("image").is_some() || svc.get("build").is_some())
    })
}

pub fn read(doc: &Node, ctx: &Context) -> Result<Vec<Found>, DeployError> {
    let mut out = Vec::new();
    for (name, svc) in doc.get("services").map(Node::entries).unwrap_or_default() {
        let built = svc.get("build").is_some();
        let images: Vec<_> = svc
            .get("image")
            .and_then(|i| image_use(i, name.name.clone(), Vars::Compose, ctx.env))
            .map(|u| ImageUse { built, ..u })
            .into_iter()
            .collect();
        let (platforms, unstated, line) = match svc.get("platform") {
            Some(p) => {
                let text = p
                    .scalar()
                    .map(|s| interpolate(&s, ctx.env).unwrap_or(s))
                    .unwrap_or_default();
                (vec![arch_at(ctx, p, &text)?], None, p.line)
            }
            None => (Vec::new(), Some(Unstated::Host), name.line),
        };
        let images_empty = images.is_empty();
        out.push(Found {
            service: None,
            platforms,
            unstated,
            resource: name.name.clone(),
            file: ctx.file.to_string(),
            source: ctx.at(line),
            defaulted: false,
            images,
            unchecked: (built && images_empty)
                .then(|| "compose builds it from source (`build:`)".to_string()),
        });
    }
    Ok(out)
}
