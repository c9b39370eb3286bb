//! docker compose files: a service's `platform:`. Only the services that run this image
//! decide its platforms: those whose `image:` is the image's repository (any tag or
//! digest), or the one named with `resource:`. A compose file usually also runs a
//! database, a cache or a sidecar built elsewhere, whose platforms are none of this
//! image's business.

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

/// `REGISTRY/PATH` of an `image:` value without its tag or digest, normalised as
/// Docker reads it (`postgres` → `docker.io/library/postgres`). A tag written with a
/// variable (`app:${TAG:-latest}`) is dropped like any other tag.
pub fn repository_of(image: &str) -> String {
    let image = image.trim();
    let no_digest = image.split_once('@').map_or(image, |(r, _)| r);
    let last_slash = no_digest.rfind('/').map_or(0, |i| i + 1);
    let name = match no_digest[last_slash..].find(':') {
        Some(i) => &no_digest[..last_slash + i],
        None => no_digest,
    };
    crate::registry::Repository::parse(name)
        .map(|r| r.to_string())
        .unwrap_or_else(|_| name.to_string())
}

/// The services' platforms. With `repository`, only the services whose `image:` is
/// that repository; without, every service stating a platform (the caller then picks
/// one by name with `resource:`).
pub fn read(doc: &Doc, repository: Option<&str>) -> Result<Vec<Found>, DeployError> {
    let mut out = Vec::new();
    let Some(services) = doc.value.get("services").and_then(Value::as_object) else {
        return Ok(out);
    };
    let wanted = repository.map(repository_of);
    let mut matched: Vec<&str> = Vec::new();
    for (name, svc) in services {
        let start = super::text::line_of(doc.text, doc.start, name).unwrap_or(doc.start);
        if let Some(repo) = &wanted {
            let image = svc.get("image").and_then(Value::as_str);
            if image.map(repository_of).as_ref() != Some(repo) {
                continue;
            }
            matched.push(name);
        }
        let Some(p) = svc.get("platform").and_then(Value::as_str) else {
            if wanted.is_some() {
                return Err(DeployError::At {
                    at: format!("{}:{start}", doc.file),
                    message: format!(
                        "compose service `{name}` runs {} but states no `platform:` (compose would run the host's); add `platform: linux/amd64` (or the one it needs) there, or name the platforms in mpbuild.yaml instead of `from:`",
                        wanted.as_deref().unwrap_or_default()
                    ),
                });
            }
            continue; // no platform stated: compose runs the host's
        };
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
    if let Some(repo) = &wanted
        && matched.is_empty()
    {
        let names: Vec<&str> = services.keys().map(String::as_str).collect();
        let line = super::text::line_of(doc.text, doc.start, "services").unwrap_or(doc.start);
        return Err(DeployError::At {
            at: format!("{}:{line}", doc.file),
            message: format!(
                "no compose service has `image: {repo}` (services: {}); name the one that runs this image with `resource: SERVICE` on the `from:` target",
                names.join(", ")
            ),
        });
    }
    Ok(out)
}
