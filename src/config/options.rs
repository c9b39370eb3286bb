//! The build options an image passes to buildx, as bake and build-push-action users
//! write them: an inline Dockerfile, SSH agents, named build contexts, `no_cache`,
//! `pull`, the `RUN` steps' shared memory, ulimits, network and extra hosts, and the
//! image's labels and annotations. Checked in `check/build_options.rs`; turned into
//! buildx flags and bake attributes in `plan/options.rs`.

/// An image's build options (all empty by default: buildx's defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// The Dockerfile's text (`dockerfile_inline:`), instead of a file.
    pub dockerfile_inline: Option<String>,
    /// `--ssh` specs: `default`, `ID=PATH[,PATH…]`.
    pub ssh: Vec<String>,
    /// Named build contexts, in the file's order.
    pub contexts: Vec<(String, NamedContext)>,
    pub no_cache: bool,
    pub pull: bool,
    /// `--shm-size`, as written (`2g`).
    pub shm_size: Option<String>,
    /// `--ulimit` specs: `nofile=1024:2048`.
    pub ulimits: Vec<String>,
    /// `default`, `none` or `host`.
    pub network: Option<String>,
    /// (host, IP or `host-gateway`).
    pub add_hosts: Vec<(String, String)>,
    /// Config labels, `${VAR}` and `{{…}}` expanded.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<Annotation>,
}

/// A named build context (`--build-context NAME=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContext {
    /// `docker-image://REF`: an image from a registry.
    Image(String),
    /// `target:IMAGE`: another image of this project, built in the same bake.
    Project(String),
    /// A directory, relative to the project directory.
    Dir(String),
    /// A URL buildx reads itself (`https://…`, a git URL, `oci-layout://…`): its content
    /// cannot be fingerprinted, so the image is always built.
    Url(String),
}

impl NamedContext {
    /// The value as buildx takes it (`target:` is bake's; a plain build cannot take it).
    pub fn spec(&self) -> String {
        match self {
            NamedContext::Image(r) => format!("docker-image://{r}"),
            NamedContext::Project(i) => format!("target:{i}"),
            NamedContext::Dir(d) | NamedContext::Url(d) => d.clone(),
        }
    }
}

/// Where an annotation goes, as buildx's `--annotation TYPE[,TYPE]:KEY=VALUE` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Each platform's image manifest (buildx's default).
    Manifest,
    /// The image index.
    Index,
    /// The descriptors of the manifests in the index.
    ManifestDescriptor,
    /// The index's descriptor (in an OCI layout; not pushed).
    IndexDescriptor,
}

impl Level {
    pub const ALL: [(&'static str, Level); 4] = [
        ("manifest", Level::Manifest),
        ("index", Level::Index),
        ("manifest-descriptor", Level::ManifestDescriptor),
        ("index-descriptor", Level::IndexDescriptor),
    ];

    pub fn word(self) -> &'static str {
        Level::ALL
            .iter()
            .find(|(_, l)| *l == self)
            .map(|(w, _)| *w)
            .unwrap_or("manifest")
    }
}

/// One annotation and the levels it goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub levels: Vec<Level>,
    pub key: String,
    pub value: String,
}

impl Annotation {
    /// buildx's `TYPE[,TYPE]:KEY=VALUE`, with the levels a build can carry: an index
    /// level is left out when the build pushes no index (`has_index` false). None when
    /// nothing is left.
    pub fn flag(&self, has_index: bool) -> Option<String> {
        let levels: Vec<&str> = self
            .levels
            .iter()
            .filter(|l| has_index || !matches!(l, Level::Index | Level::IndexDescriptor))
            .map(|l| l.word())
            .collect();
        (!levels.is_empty()).then(|| format!("{}:{}={}", levels.join(","), self.key, self.value))
    }
}

impl BuildOptions {
    /// The images of this project the build takes as named contexts.
    pub fn project_contexts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.contexts.iter().filter_map(|(n, c)| match c {
            NamedContext::Project(i) => Some((n.as_str(), i.as_str())),
            _ => None,
        })
    }
}
