//! `mpbuild.yaml`: find it, read it (raw structs with locations), and check it into one
//! validated [`Project`] that the rest of mpbuild takes. Every error names the file,
//! line and column, and says what would be valid.

mod error;
mod interpolate;
mod raw;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

pub use error::{ConfigError, Located, Pos};
pub use interpolate::{Unset, expand};

use crate::catalog::{Attestations, Catalog, ManifestKind, Origin};
use crate::platform::Platform;
use raw::{RawImage, RawProject, RawTarget, Scalar};

/// The file name mpbuild looks for.
pub const FILE_NAME: &str = "mpbuild.yaml";

/// What loading needs from the outside world, passed in so loading stays testable.
pub struct Env<'a> {
    /// The platform of the machine running mpbuild (for the `local` service).
    pub host: Platform,
    /// Environment variables for `${VAR}`.
    pub var: &'a dyn Fn(&str) -> Option<String>,
}

impl Env<'static> {
    /// The real environment.
    pub fn process() -> Env<'static> {
        Env {
            host: Platform::host(),
            var: &|name| std::env::var(name).ok(),
        }
    }
}

/// A checked project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project file as the user named it (or as found).
    pub path: PathBuf,
    /// The directory holding it; relative paths in the file are relative to it.
    pub dir: PathBuf,
    pub catalog: Catalog,
    pub insecure_registries: Vec<String>,
    /// The builder's name: given, or the declared builder's.
    pub builder: Option<String>,
    /// A builder declared node by node (`mpbuild builder up` creates it).
    pub declared_builder: Option<crate::builder::Declared>,
    pub images: Vec<Image>,
    pub mirrors: Vec<Mirror>,
}

/// A checked `mirrors:` entry.
#[derive(Debug, Clone)]
pub struct Mirror {
    pub source: String,
    pub destination: String,
    pub targets: Vec<String>,
    pub platforms: Vec<String>,
    pub all: bool,
    pub line: u32,
}

/// A checked image.
#[derive(Debug, Clone)]
pub struct Image {
    pub name: String,
    pub repository: String,
    /// The build context, relative to the project directory (as written, default ".").
    pub context: String,
    /// The Dockerfile, relative to the project directory.
    pub dockerfile: String,
    pub stage: Option<String>,
    pub tags: Vec<String>,
    pub build_args: Vec<(String, String)>,
    pub secrets: Vec<String>,
    pub cache: bool,
    /// The project's explicit choice, if any.
    pub attestations: Option<bool>,
    pub sbom: bool,
    pub deep: bool,
    pub targets: Vec<Target>,
    /// Where the image is declared.
    pub line: u32,
}

/// A checked deployment target.
#[derive(Debug, Clone)]
pub struct Target {
    /// The catalog service, or `None` for a target spelled as `platform:`.
    pub service: Option<String>,
    pub platforms: Vec<Platform>,
    pub manifest: ManifestKind,
    pub attestations: Attestations,
    /// The tag a single-manifest target gets.
    pub tag: Option<String>,
    /// Where the target is declared.
    pub pos: Pos,
    /// `FILE:LINE` of the deployment file that stated the platform (`from:` targets).
    pub origin: Option<String>,
}

impl Target {
    /// "lambda" or "platform".
    pub fn label(&self) -> String {
        self.service.clone().unwrap_or_else(|| "platform".into())
    }
}

/// Finds the project file: `explicit`, else `mpbuild.yaml` in `start` or its nearest
/// parent.
pub fn discover(explicit: Option<&Path>, start: &Path) -> Result<PathBuf, ConfigError> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    // Paths are kept relative to `start` (`mpbuild.yaml`, `../mpbuild.yaml`) so that
    // messages show what the user would type.
    let mut dir = Some(start);
    let mut up = PathBuf::new();
    while let Some(d) = dir {
        if d.join(FILE_NAME).is_file() {
            return Ok(up.join(FILE_NAME));
        }
        up.push("..");
        dir = d.parent();
    }
    Err(ConfigError::NotFound {
        dir: start.to_path_buf(),
    })
}

/// Reads and checks a project file.
pub fn load(path: &Path, env: &Env) -> Result<Project, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text, env)
}

/// Checks a project file's text; `path` is used for messages and relative paths.
pub fn parse(path: &Path, text: &str, env: &Env) -> Result<Project, ConfigError> {
    let raw: RawProject = serde_saphyr::from_str(text).map_err(|e| yaml_error(path, text, &e))?;
    Checker { path, text, env }.project(raw)
}

fn yaml_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> ConfigError {
    let pos = e.location().map(|l| Pos::of(&l)).unwrap_or_default();
    let full = e.without_snippet().to_string();
    // serde-saphyr says "error: line L column C: MESSAGE"; keep MESSAGE.
    let mut message = full.lines().next().unwrap_or_default().trim().to_string();
    if let Some(rest) = message.strip_prefix("error: ") {
        message = rest.to_string();
    }
    if let Some(idx) = message.find(": ")
        && message.starts_with("line ")
    {
        message = message[idx + 2..].to_string();
    }
    // …and drop the trailing " at line L, column C" (the snippet says where).
    if let Some(idx) = message.rfind(" at line ") {
        message.truncate(idx);
    }
    let help = if message.starts_with("unknown field") {
        Some("see the configuration reference in the README (`mpbuild init` writes a commented example)".into())
    } else if message.contains("missing field `version`") {
        Some("start the file with `version: 1`".into())
    } else {
        None
    };
    ConfigError::at(path, text, Pos { len: 1, ..pos }, message, help)
}

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    env: &'a Env<'a>,
}

impl Checker<'_> {
    fn err(&self, pos: Pos, message: impl Into<String>, help: Option<String>) -> ConfigError {
        ConfigError::at(self.path, self.text, pos, message, help)
    }

    fn pos<T>(&self, s: &Spanned<T>) -> Pos {
        Pos::of(&s.referenced)
    }

    fn project(&self, raw: RawProject) -> Result<Project, ConfigError> {
        if raw.version.value != 1 {
            return Err(self.err(
                self.pos(&raw.version),
                format!(
                    "unsupported version {}; this mpbuild reads version 1",
                    raw.version.value
                ),
                Some("write `version: 1`".into()),
            ));
        }
        let mut catalog = Catalog::builtin();
        for (name, entry) in raw.services {
            let pos = self.pos(&name);
            let service = entry
                .value
                .into_service(&name.value, Origin::Project { line: pos.line })
                .map_err(|e| {
                    self.err(
                        pos,
                        format!("service `{}`: {e}", name.value),
                        Some("`mpbuild targets` shows the built-in entries for reference".into()),
                    )
                })?;
            catalog.insert(service);
        }
        let dir = self
            .path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        if raw.images.is_empty() && raw.mirrors.is_empty() {
            return Err(self.err(
                Pos::default(),
                "no images and no mirrors: the file declares nothing to do",
                Some("add an entry under `images:` (see `mpbuild init`)".into()),
            ));
        }
        let cluster: Option<Vec<Platform>> = match &raw.cluster_archs {
            None => None,
            Some(c) => {
                let mut v = Vec::new();
                for a in c.value.items() {
                    let p = Platform::parse(&a).map_err(|e| {
                        self.err(
                            self.pos(c),
                            format!("cluster_archs: {e}"),
                            Some("e.g. `cluster_archs: [amd64, arm64]`".into()),
                        )
                    })?;
                    push_unique(&mut v, p);
                }
                Some(v)
            }
        };
        let mut images = Vec::new();
        for (name, image) in raw.images {
            images.push(self.image(
                &catalog,
                &dir,
                name,
                image,
                raw.deep.unwrap_or(false),
                cluster.as_deref(),
            )?);
        }
        self.check_tag_collisions(&images)?;
        let mut mirrors = Vec::new();
        for m in raw.mirrors {
            mirrors.push(self.mirror(&catalog, m)?);
        }
        let (builder, declared_builder) = match raw.builder {
            None => (None, None),
            Some(b) => {
                let pos = self.pos(&b);
                match b.value {
                    raw::RawBuilderSpec::Name(n) => (Some(n), None),
                    raw::RawBuilderSpec::Declared(d) => {
                        let d = self.declared_builder(&dir, pos, d)?;
                        self.check_nodes_serve(&d, pos, &images)?;
                        (Some(d.name.clone()), Some(d))
                    }
                }
            }
        };
        Ok(Project {
            path: self.path.to_path_buf(),
            dir,
            catalog,
            insecure_registries: raw
                .insecure_registries
                .into_iter()
                .map(|s| s.value)
                .collect(),
            builder,
            declared_builder,
            images,
            mirrors,
        })
    }

    fn declared_builder(
        &self,
        dir: &Path,
        pos: Pos,
        raw: raw::RawBuilder,
    ) -> Result<crate::builder::Declared, ConfigError> {
        let help = Some("see `builder:` in the README: nodes with platforms and an endpoint (remote) or driver_opts".to_string());
        if raw.nodes.is_empty() {
            return Err(self.err(pos, format!("builder `{}` has no nodes", raw.name), help));
        }
        if !is_image_name(&raw.name) {
            return Err(self.err(
                pos,
                format!("builder name `{}` is not valid", raw.name),
                Some("use letters, digits, `-` and `_`".into()),
            ));
        }
        let mut drivers: Vec<String> = raw
            .nodes
            .iter()
            .map(|n| {
                n.driver
                    .clone()
                    .or(raw.driver.clone())
                    .unwrap_or_else(|| "remote".into())
            })
            .collect();
        drivers.dedup();
        if drivers.len() > 1 {
            return Err(self.err(
                pos,
                format!(
                    "builder `{}` mixes drivers ({}); a buildx builder has one driver",
                    raw.name,
                    drivers.join(", ")
                ),
                Some(
                    "declare one builder per driver, or use the remote driver for every node"
                        .into(),
                ),
            ));
        }
        let driver = drivers.remove(0);
        let mut tls_opts = std::collections::BTreeMap::new();
        if let Some(t) = &raw.tls {
            for (key, file) in [
                ("cacert", Some(&t.ca)),
                ("cert", t.cert.as_ref()),
                ("key", t.key.as_ref()),
            ] {
                let Some(file) = file else { continue };
                let path = dir.join(file);
                if !path.is_file() {
                    return Err(self.err(
                        pos,
                        format!("builder `{}`: TLS file `{file}` does not exist", raw.name),
                        Some(
                            "`tls:` paths are relative to the directory holding mpbuild.yaml"
                                .into(),
                        ),
                    ));
                }
                let abs = std::fs::canonicalize(&path).unwrap_or(path);
                tls_opts.insert(key.to_string(), abs.display().to_string());
            }
        }
        let mut nodes = Vec::new();
        for (i, n) in raw.nodes.into_iter().enumerate() {
            let name = n.name.unwrap_or_else(|| format!("{}{i}", raw.name));
            let mut platforms = Vec::new();
            for p in &n.platforms {
                let parsed = Platform::parse(p)
                    .map_err(|e| self.err(pos, format!("builder node {name}: {e}"), None))?;
                push_unique(&mut platforms, parsed);
            }
            if platforms.is_empty() {
                return Err(self.err(
                    pos,
                    format!("builder node {name} lists no platforms"),
                    help.clone(),
                ));
            }
            if driver == "remote" && n.endpoint.is_none() {
                return Err(self.err(pos, format!("builder node {name}: the remote driver needs an `endpoint:` (tcp://HOST:PORT or unix:///PATH)"), help.clone()));
            }
            if let Some(e) = &n.endpoint
                && ![
                    "tcp://",
                    "unix://",
                    "ssh://",
                    "docker-container://",
                    "kube-pod://",
                ]
                .iter()
                .any(|s| e.starts_with(s))
            {
                return Err(self.err(
                    pos,
                    format!("builder node {name}: endpoint `{e}` is not tcp://, unix:// or ssh://"),
                    None,
                ));
            }
            let mut driver_opts = n.driver_opts;
            if n.endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("tcp://"))
            {
                for (k, v) in &tls_opts {
                    driver_opts.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
            nodes.push(crate::builder::Node {
                name,
                platforms,
                endpoint: n.endpoint,
                driver_opts,
            });
        }
        Ok(crate::builder::Declared {
            name: raw.name,
            driver,
            nodes,
            allow_emulation: raw.allow_emulation,
        })
    }

    /// Every platform an image needs has a node, unless emulation is allowed.
    fn check_nodes_serve(
        &self,
        d: &crate::builder::Declared,
        pos: Pos,
        images: &[Image],
    ) -> Result<(), ConfigError> {
        if d.allow_emulation {
            return Ok(());
        }
        for image in images {
            for t in &image.targets {
                for p in &t.platforms {
                    if d.node_for(p).is_none() {
                        return Err(self.err(
                            pos,
                            format!(
                                "builder `{}` has no node for {p}, which image `{}` needs ({})",
                                d.name,
                                image.name,
                                t.label()
                            ),
                            Some(format!("add a node with `platforms: [{p}]`, or set `allow_emulation: true` to build it emulated")),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn mirror(
        &self,
        catalog: &Catalog,
        raw: Spanned<raw::RawMirror>,
    ) -> Result<Mirror, ConfigError> {
        let pos = self.pos(&raw);
        let m = raw.value;
        let reference = |s: &Spanned<String>| -> Result<String, ConfigError> {
            let v = self.expand(s)?;
            crate::registry::Reference::parse(&v).map_err(|e| {
                let text = e.to_string();
                let (msg, help) = text.split_once("\n  = help: ").unwrap_or((&text, ""));
                self.err(
                    self.pos(s),
                    msg.to_string(),
                    (!help.is_empty()).then(|| help.to_string()),
                )
            })?;
            Ok(v)
        };
        let source = reference(&m.source)?;
        let destination = reference(&m.destination)?;
        let targets: Vec<String> = m.targets.iter().map(|t| t.value.clone()).collect();
        let platforms: Vec<String> = m.platforms.iter().map(|t| t.value.clone()).collect();
        if let Err(e) = crate::verify::requirements::from_flags(
            catalog,
            &targets,
            &platforms,
            false,
            &self.env.host,
        ) {
            let at = m
                .targets
                .first()
                .or(m.platforms.first())
                .map(|s| self.pos(s))
                .unwrap_or(pos);
            let text =
                e.0.replace("--target ", "target ")
                    .replace("--platform ", "platform ");
            let (msg, help) = text.split_once("\n  = help: ").unwrap_or((&text, ""));
            return Err(self.err(
                at,
                msg.to_string(),
                (!help.is_empty()).then(|| help.to_string()),
            ));
        }
        if targets.is_empty() && platforms.is_empty() && !m.all {
            return Err(self.err(
                pos,
                "a mirror needs `targets:`, `platforms:` or `all: true`",
                Some("say which platforms the copy must hold, e.g. `targets: [apprunner]`".into()),
            ));
        }
        Ok(Mirror {
            source,
            destination,
            targets,
            platforms,
            all: m.all,
            line: pos.line,
        })
    }

    fn image(
        &self,
        catalog: &Catalog,
        dir: &Path,
        name: Spanned<String>,
        raw: RawImage,
        deep_default: bool,
        cluster: Option<&[Platform]>,
    ) -> Result<Image, ConfigError> {
        let image_pos = self.pos(&name);
        let name = name.value;
        if !is_image_name(&name) {
            return Err(self.err(
                image_pos,
                format!("image name `{name}` is not valid"),
                Some("use letters, digits, `-` and `_` (it names a bake target)".into()),
            ));
        }
        let repository = self.repository(&raw.repository)?;
        let context = raw
            .context
            .as_ref()
            .map(|c| c.value.clone())
            .unwrap_or_else(|| ".".into());
        let context_dir = dir.join(&context);
        if !context_dir.is_dir() {
            let pos = raw
                .context
                .as_ref()
                .map(|c| self.pos(c))
                .unwrap_or(image_pos);
            return Err(self.err(
                pos,
                format!(
                    "image `{name}`: build context `{context}` is not a directory ({})",
                    context_dir.display()
                ),
                Some("`context:` is relative to the directory holding mpbuild.yaml".into()),
            ));
        }
        let dockerfile = match &raw.dockerfile {
            Some(d) => d.value.clone(),
            None => join_rel(&context, "Dockerfile"),
        };
        if !dir.join(&dockerfile).is_file() {
            let pos = raw
                .dockerfile
                .as_ref()
                .map(|d| self.pos(d))
                .unwrap_or(image_pos);
            return Err(self.err(
                pos,
                format!("image `{name}`: no Dockerfile at `{dockerfile}`"),
                Some("set `dockerfile:` (relative to the directory holding mpbuild.yaml)".into()),
            ));
        }
        let mut tags = Vec::new();
        for t in &raw.tags {
            let tag = self.expand(t)?;
            self.check_tag(&tag, self.pos(t))?;
            if tags.contains(&tag) {
                return Err(self.err(self.pos(t), format!("tag `{tag}` is listed twice"), None));
            }
            tags.push(tag);
        }
        let mut build_args = Vec::new();
        for (k, v) in raw.build_args {
            let value = match &v.value {
                Scalar::Text(s) => {
                    expand(s, self.env.var).map_err(|u| self.unset(u, self.pos(&v)))?
                }
                Scalar::Float(f) => {
                    return Err(self.err(
                        self.pos(&v),
                        format!(
                            "build argument `{}` is the number {f}, which YAML may have rounded",
                            k.value
                        ),
                        Some(format!("quote it: {}: \"…\"", k.value)),
                    ));
                }
            };
            build_args.push((k.value, value));
        }
        let mut secrets = Vec::new();
        for s in &raw.secrets {
            check_secret(&s.value).map_err(|m| {
                self.err(
                    self.pos(s),
                    m,
                    Some("write `id=NAME,src=FILE` or `id=NAME,env=VAR` (buildx --secret)".into()),
                )
            })?;
            secrets.push(s.value.clone());
        }
        let cache = match raw.cache.as_ref().map(|c| c.value.as_str()) {
            None | Some("none") => false,
            Some("registry") => true,
            Some(other) => {
                return Err(self.err(
                    self.pos(raw.cache.as_ref().unwrap()),
                    format!("unknown cache `{other}`"),
                    Some("valid: `registry` (cache in REPO:buildcache) or `none`".into()),
                ));
            }
        };
        if raw.targets.value.is_empty() {
            return Err(self.err(
                self.pos(&raw.targets),
                format!("image `{name}` has no targets"),
                Some(
                    "add at least one, e.g. `- service: apprunner` (see `mpbuild targets`)".into(),
                ),
            ));
        }
        let mut targets = Vec::new();
        for t in &raw.targets.value {
            if t.value.from.is_some() {
                targets.extend(self.targets_from_file(catalog, dir, &name, t, cluster)?);
            } else {
                if let Some(r) = &t.value.resource {
                    return Err(self.err(self.pos(r), "`resource:` goes with `from:`", None));
                }
                targets.push(self.target(catalog, &name, t)?);
            }
        }
        for t in &targets {
            if let Some(tag) = &t.tag
                && tags.contains(tag)
            {
                return Err(self.err(
                    t.pos,
                    format!(
                        "`{}` target's tag `{tag}` is also one of the image's tags; the two would point at different manifests",
                        t.label()
                    ),
                    Some("give the single-platform target a tag of its own, e.g. \"${GIT_SHA}-lambda\"".into()),
                ));
            }
        }
        if tags.is_empty() && targets.iter().all(|t| t.tag.is_none()) {
            return Err(self.err(
                image_pos,
                format!("image `{name}` has no tags: nothing would be published"),
                Some("add `tags: [latest, \"${GIT_SHA}\"]`".into()),
            ));
        }
        Ok(Image {
            name,
            repository,
            context,
            dockerfile,
            stage: raw.stage.map(|s| s.value),
            tags,
            build_args,
            secrets,
            cache,
            attestations: raw.attestations.map(|a| a.value),
            sbom: raw.sbom.unwrap_or(false),
            deep: raw.deep.unwrap_or(deep_default),
            targets,
            line: image_pos.line,
        })
    }

    fn target(
        &self,
        catalog: &Catalog,
        image: &str,
        raw: &Spanned<RawTarget>,
    ) -> Result<Target, ConfigError> {
        let pos = self.pos(raw);
        let t = &raw.value;
        let tag = match &t.tag {
            Some(tag) => {
                let v = self.expand(tag)?;
                self.check_tag(&v, self.pos(tag))?;
                Some((v, self.pos(tag)))
            }
            None => None,
        };
        match (&t.service, &t.platform) {
            (Some(_), Some(p)) => Err(self.err(
                self.pos(p),
                "a target has either `service:` or `platform:`, not both",
                Some("use `service:` with `arch:` to pick the service's architecture".into()),
            )),
            (None, None) => Err(self.err(
                pos,
                format!("image `{image}`: a target needs `service:` or `platform:`"),
                Some("e.g. `- service: apprunner` or `- platform: linux/arm/v7`".into()),
            )),
            (None, Some(p)) => {
                if let Some(a) = &t.arch {
                    return Err(self.err(
                        self.pos(a),
                        "`arch:` goes with `service:`; with `platform:` write the whole platform",
                        None,
                    ));
                }
                let mut platforms = Vec::new();
                for item in p.value.items() {
                    let parsed = Platform::parse(&item)
                        .map_err(|e| self.err(self.pos(p), e.to_string(), None))?;
                    push_unique(&mut platforms, parsed);
                }
                let manifest = if tag.is_some() {
                    ManifestKind::Single
                } else {
                    ManifestKind::Index
                };
                if manifest == ManifestKind::Single && platforms.len() != 1 {
                    return Err(self.err(
                        self.pos(p),
                        "a target with its own `tag:` points at one platform's manifest; this one lists several",
                        Some("split it into one target per platform, each with its own tag".into()),
                    ));
                }
                Ok(Target {
                    service: None,
                    platforms,
                    manifest,
                    attestations: Attestations::Ok,
                    tag: tag.map(|(v, _)| v),
                    pos,
                    origin: None,
                })
            }
            (Some(s), None) => {
                let Some(service) = catalog.get(&s.value) else {
                    let mut message = format!("unknown service `{}`", s.value);
                    if let Some(near) = catalog.suggest(&s.value) {
                        message.push_str(&format!("; did you mean `{near}`?"));
                    }
                    return Err(self.err(
                        self.pos(s),
                        message,
                        Some(
                            "`mpbuild targets` lists the services mpbuild knows; `platform: OS/ARCH` names any other"
                                .into(),
                        ),
                    ));
                };
                let host = &self.env.host;
                let platforms = match &t.arch {
                    None => service.default_platforms(host),
                    Some(a) => {
                        let items = a.value.items();
                        if items.is_empty() {
                            return Err(self.err(self.pos(a), "`arch:` is empty", None));
                        }
                        let mut out = Vec::new();
                        for item in items {
                            let p = service.parse_arch(&item).map_err(|e| {
                                self.err(
                                    self.pos(a),
                                    format!("{}: {e}", service.name),
                                    Some(format!(
                                        "{} runs {}; its setting: {}",
                                        service.title,
                                        service.runs_display(host),
                                        service.arch_field
                                    )),
                                )
                            })?;
                            if !service.can_run(&p, host) {
                                return Err(self.err(
                                    self.pos(a),
                                    format!("{} cannot run {p}", service.name),
                                    Some(service.rule(host)),
                                ));
                            }
                            push_unique(&mut out, p);
                        }
                        out
                    }
                };
                let manifest = service.manifest;
                let tag = match (manifest, tag) {
                    (ManifestKind::Single, None) => {
                        return Err(self.err(
                            pos,
                            format!(
                                "{} needs a single-platform image manifest, so its target needs a `tag:` of its own",
                                service.name
                            ),
                            Some(format!(
                                "add `tag: \"${{GIT_SHA}}-{}\"` to this target; deploy {} from that tag",
                                service.name, service.title
                            )),
                        ));
                    }
                    (ManifestKind::Single, Some((v, _))) => {
                        if platforms.len() != 1 {
                            return Err(self.err(
                                t.arch.as_ref().map(|a| self.pos(a)).unwrap_or(pos),
                                format!(
                                    "{} takes one architecture per image; this target lists {}",
                                    service.name,
                                    platforms.len()
                                ),
                                Some(
                                    "write one target per architecture, each with its own tag"
                                        .into(),
                                ),
                            ));
                        }
                        Some(v)
                    }
                    (ManifestKind::Index, Some((_, tag_pos))) => {
                        return Err(self.err(
                            tag_pos,
                            format!(
                                "{} takes the multi-platform index, which gets the image's `tags:`; `tag:` is for single-manifest targets",
                                service.name
                            ),
                            Some("move this tag to the image's `tags:` list".into()),
                        ));
                    }
                    (ManifestKind::Index, None) => None,
                };
                Ok(Target {
                    service: Some(service.name.clone()),
                    platforms,
                    manifest,
                    attestations: service.attestations,
                    tag,
                    pos,
                    origin: None,
                })
            }
        }
    }

    /// Targets read from a deployment file (`from:`), checked like written ones.
    fn targets_from_file(
        &self,
        catalog: &Catalog,
        dir: &Path,
        image: &str,
        raw: &Spanned<RawTarget>,
        cluster: Option<&[Platform]>,
    ) -> Result<Vec<Target>, ConfigError> {
        let t = &raw.value;
        let from = t.from.as_ref().expect("checked by the caller");
        let at = self.pos(from);
        if let Some(other) = t
            .service
            .as_ref()
            .map(|s| self.pos(s))
            .or(t.platform.as_ref().map(|p| self.pos(p)))
            .or(t.arch.as_ref().map(|a| self.pos(a)))
        {
            return Err(self.err(
                other,
                "a `from:` target takes its platforms from the file; drop `service:`, `platform:` and `arch:`",
                None,
            ));
        }
        let path = dir.join(&from.value);
        if !path.exists() {
            return Err(self.err(
                at,
                format!("image `{image}`: `{}` does not exist", from.value),
                Some("`from:` is relative to the directory holding mpbuild.yaml".into()),
            ));
        }
        let found = crate::deploy::read(
            &path,
            &from.value,
            t.resource.as_ref().map(|r| r.value.as_str()),
            cluster,
        )
        .map_err(|e| {
            let pos = t
                .resource
                .as_ref()
                .filter(|_| matches!(e, crate::deploy::DeployError::NoSuchResource { .. }))
                .map(|r| self.pos(r))
                .unwrap_or(at);
            self.err(
                pos,
                e.to_string(),
                Some("check the deployment file, or pick a resource with `resource:`".into()),
            )
        })?;
        let tag = match &t.tag {
            Some(tag) => {
                let v = self.expand(tag)?;
                self.check_tag(&v, self.pos(tag))?;
                Some((v, self.pos(tag)))
            }
            None => None,
        };
        let singles = found
            .iter()
            .filter(|f| {
                f.service
                    .as_deref()
                    .and_then(|s| catalog.get(s))
                    .is_some_and(|s| s.manifest == ManifestKind::Single)
            })
            .count();
        if singles > 1 && tag.is_some() {
            let names: Vec<&str> = found.iter().map(|f| f.resource.as_str()).collect();
            return Err(self.err(
                at,
                format!(
                    "{} holds {singles} functions that each need their own tag ({})",
                    from.value,
                    names.join(", ")
                ),
                Some("write one target per function with `resource:` and its own `tag:`".into()),
            ));
        }
        let mut out = Vec::new();
        for f in found {
            let target = match &f.service {
                None => Target {
                    service: None,
                    platforms: f.platforms.clone(),
                    manifest: ManifestKind::Index,
                    attestations: Attestations::Ok,
                    tag: None,
                    pos: at,
                    origin: Some(f.source.clone()),
                },
                Some(name) => {
                    let Some(service) = catalog.get(name) else {
                        return Err(self.err(
                            at,
                            format!("{}: service `{name}` is not in the catalog", f.source),
                            None,
                        ));
                    };
                    for p in &f.platforms {
                        if !service.can_run(p, &self.env.host) {
                            return Err(self.err(
                                at,
                                format!(
                                    "{}: {} `{}` asks for {p}, which {} cannot run",
                                    f.source, service.name, f.resource, service.name
                                ),
                                Some(service.rule(&self.env.host)),
                            ));
                        }
                    }
                    let tag = match (service.manifest, &tag) {
                        (ManifestKind::Single, None) => {
                            return Err(self.err(
                                at,
                                format!("{}: {} `{}` needs a single-platform image manifest, so this target needs a `tag:` of its own", f.source, service.name, f.resource),
                                Some(format!("add `tag: \"${{GIT_SHA}}-{}\"` to this target", service.name)),
                            ));
                        }
                        (ManifestKind::Single, Some((v, _))) => {
                            if f.platforms.len() != 1 {
                                return Err(self.err(
                                    at,
                                    format!(
                                        "{}: {} takes one architecture per function",
                                        f.source, service.name
                                    ),
                                    None,
                                ));
                            }
                            Some(v.clone())
                        }
                        (ManifestKind::Index, _) => None,
                    };
                    Target {
                        service: Some(service.name.clone()),
                        platforms: f.platforms.clone(),
                        manifest: service.manifest,
                        attestations: service.attestations,
                        tag,
                        pos: at,
                        origin: Some(f.source.clone()),
                    }
                }
            };
            out.push(target);
        }
        if let Some((_, tag_pos)) = &tag
            && !out.iter().any(|t| t.tag.is_some())
        {
            return Err(self.err(
                *tag_pos,
                "`tag:` is for single-manifest targets; this file's workloads take the image index",
                Some("move this tag to the image's `tags:` list".into()),
            ));
        }
        Ok(out)
    }

    fn repository(&self, raw: &Spanned<String>) -> Result<String, ConfigError> {
        let repo = self.expand(raw)?.trim().to_string();
        check_repository(&repo).map_err(|m| self.err(self.pos(raw), m.message, Some(m.help)))?;
        Ok(repo)
    }

    fn expand(&self, raw: &Spanned<String>) -> Result<String, ConfigError> {
        expand(&raw.value, self.env.var).map_err(|u| self.unset(u, self.pos(raw)))
    }

    fn unset(&self, u: Unset, pos: Pos) -> ConfigError {
        match u {
            Unset::Var(name) => self.err(
                pos,
                format!("environment variable `{name}` is not set (or empty)"),
                Some(format!(
                    "set it (e.g. `{name}=$(git rev-parse --short HEAD) mpbuild …`) or write `${{{name}:-default}}`"
                )),
            ),
            Unset::Malformed(s) => self.err(
                pos,
                format!("`{s}`: malformed `${{…}}`"),
                Some("write ${NAME} or ${NAME:-default}; `$$` is a literal `$`".into()),
            ),
        }
    }

    fn check_tag(&self, tag: &str, pos: Pos) -> Result<(), ConfigError> {
        if is_valid_tag(tag) {
            Ok(())
        } else {
            Err(self.err(
                pos,
                format!("`{tag}` is not a valid tag"),
                Some("a tag is 1–128 of [A-Za-z0-9_.-], not starting with `.` or `-`".into()),
            ))
        }
    }

    fn check_tag_collisions(&self, images: &[Image]) -> Result<(), ConfigError> {
        let mut seen: BTreeMap<(String, String), &str> = BTreeMap::new();
        for image in images {
            let all = image
                .tags
                .iter()
                .chain(image.targets.iter().filter_map(|t| t.tag.as_ref()));
            for tag in all {
                if let Some(other) =
                    seen.insert((image.repository.clone(), tag.clone()), &image.name)
                    && other != image.name
                {
                    return Err(self.err(
                        Pos {
                            line: image.line,
                            column: 3,
                            len: image.name.len() as u32,
                        },
                        format!(
                            "images `{other}` and `{}` both publish {}:{tag}",
                            image.name, image.repository
                        ),
                        Some("give each image its own repository or distinct tags".into()),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn push_unique(list: &mut Vec<Platform>, p: Platform) {
    if !list.iter().any(|q| q.matches(&p)) {
        list.push(p);
    }
}

fn join_rel(dir: &str, file: &str) -> String {
    if dir == "." || dir.is_empty() {
        file.to_string()
    } else {
        format!("{}/{file}", dir.trim_end_matches('/'))
    }
}

fn is_image_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// OCI tag grammar: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => {}
        _ => return false,
    }
    tag.len() <= 128 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

struct RepoProblem {
    message: String,
    help: String,
}

/// A repository reference without tag or digest: `[HOST[:PORT]/]PATH`, path components
/// lowercase `[a-z0-9]+` joined by `.`, `_`, `__` or dashes.
fn check_repository(repo: &str) -> Result<(), RepoProblem> {
    let problem = |m: String| {
        RepoProblem {
        message: m,
        help: "write HOST/PATH without tag or digest, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/api; tags go under `tags:`".into(),
    }
    };
    if repo.is_empty() {
        return Err(problem("`repository` is empty".into()));
    }
    if repo.contains('@') {
        return Err(problem(format!("repository `{repo}` contains a digest")));
    }
    if let Some((scheme, _)) = repo.split_once("://") {
        return Err(problem(format!(
            "repository `{repo}`: {}",
            crate::registry::reference::scheme_message(scheme)
        )));
    }
    let (host, path) = match repo.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first), rest)
        }
        _ => (None, repo),
    };
    if path.contains(':') {
        return Err(problem(format!("repository `{repo}` contains a tag")));
    }
    if let Some(h) = host
        && let Err(e) = crate::registry::reference::check_port(h)
    {
        return Err(problem(format!("repository `{repo}`: {e}")));
    }
    if path.len() > crate::registry::reference::MAX_PATH_LEN {
        return Err(problem(format!(
            "repository `{repo}`: the path is {} characters long; registries accept at most {}",
            path.len(),
            crate::registry::reference::MAX_PATH_LEN
        )));
    }
    if let Some(h) = host
        && !h.chars().all(|c| {
            c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'
        })
    {
        return Err(problem(format!("`{h}` is not a registry host")));
    }
    for component in path.split('/') {
        let ok = !component.is_empty()
            && component.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' || c == '-'
            })
            && component.starts_with(|c: char| c.is_ascii_alphanumeric())
            && component.ends_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return Err(RepoProblem {
                message: format!("repository `{repo}`: path component `{component}` is not valid"),
                help: "repository paths are lowercase letters and digits, separated by `.`, `_`, `-` or `/`".into(),
            });
        }
    }
    Ok(())
}

/// `id=NAME,src=FILE` / `id=NAME,env=VAR` / `id=NAME` (buildx `--secret`).
fn check_secret(spec: &str) -> Result<(), String> {
    let mut id = false;
    for part in spec.split(',') {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("secret `{spec}`: `{part}` is not KEY=VALUE"));
        };
        if v.is_empty() {
            return Err(format!("secret `{spec}`: `{k}` has no value"));
        }
        match k {
            "id" => id = true,
            "src" | "source" | "env" | "type" => {}
            other => return Err(format!("secret `{spec}`: unknown key `{other}`")),
        }
    }
    if id {
        Ok(())
    } else {
        Err(format!("secret `{spec}` has no `id=`"))
    }
}

#[cfg(test)]
mod tests;
