//! `mpbuild.yaml`: find it, read it (raw structs with locations), and check it into one
//! validated [`Project`] that the rest of mpbuild takes. Every error names the file,
//! line and column, and says what would be valid.
//!
//! This file holds the checked types and the top of the checker; the checks for each part
//! of the file (images, targets, tags, builder, mirrors, services) are in `check/`.

mod check;
mod error;
mod interpolate;
mod options;
mod overrides;
mod raw;
mod scalars;
pub mod schema;
mod smoke_values;

use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

pub use crate::registry::reference::is_valid_tag;
pub use error::{ConfigError, Located, Pos};
pub use interpolate::{PREVIEW_UNSET, Unset, expand, placeholder, placeholders};
pub use options::{Annotation, BuildOptions, Level, NamedContext};
pub use overrides::{Key as OverrideKey, Override, OverrideError};
pub use smoke_values::{is_env_name, parse_timeout, smoke_regex};

use crate::catalog::{Attestations, Catalog, ManifestKind, MediaTypes};
use crate::platform::Platform;
use crate::registry::Repository;
use raw::RawProject;

/// The file name mpbuild looks for.
pub const FILE_NAME: &str = "mpbuild.yaml";

/// What loading needs from the outside world, passed in so loading stays testable.
pub struct Env<'a> {
    /// The platform of the machine running mpbuild (for the `local` service).
    pub host: Platform,
    /// Environment variables for `${VAR}`.
    pub var: &'a dyn Fn(&str) -> Option<String>,
    /// A preview (`plan`): `var` answers [`PREVIEW_UNSET`] for unset variables, shown
    /// as placeholders that the grammar checks look through. Otherwise a placeholder's
    /// text is what it is (`<GIT_SHA unset>` is no tag).
    pub preview: bool,
    /// `--set IMAGE.KEY=VALUE` (and `--no-cache`, `--pull`), applied before the checks.
    pub overrides: &'a [Override],
    /// The build's git state for `{{…}}` parts and `git_metadata:`, given the project
    /// directory (called at most once, and only when the file uses them).
    pub git: &'a dyn Fn(&Path) -> crate::gitmeta::GitMeta,
}

impl Env<'static> {
    /// The real environment.
    pub fn process() -> Env<'static> {
        Env {
            host: Platform::host(),
            var: &|name| std::env::var(name).ok(),
            preview: false,
            overrides: &[],
            git: &|dir| crate::gitmeta::GitMeta::read(dir, &|name| std::env::var(name).ok()),
        }
    }

    /// The real environment for a preview (`mpbuild plan`): an unset variable is shown
    /// as a placeholder (`<GIT_SHA unset>`) instead of being an error.
    pub fn preview() -> Env<'static> {
        Env {
            host: Platform::host(),
            var: &|name| {
                Some(
                    std::env::var(name)
                        .ok()
                        .filter(|v| !v.is_empty())
                        .unwrap_or_else(|| PREVIEW_UNSET.to_string()),
                )
            },
            preview: true,
            overrides: &[],
            git: &|dir| crate::gitmeta::GitMeta::read(dir, &|name| std::env::var(name).ok()),
        }
    }
}

impl Project {
    /// The variables shown as placeholders (a preview's unset `${VAR}`s), once each.
    pub fn placeholders(&self) -> Vec<String> {
        let mut texts: Vec<&str> = Vec::new();
        for i in &self.images {
            texts.push(i.repository.as_written());
            texts.extend(i.also.iter().map(Repository::as_written));
            texts.extend(i.tags.iter().map(String::as_str));
            texts.extend(i.build_args.iter().map(|(_, v)| v.as_str()));
            texts.extend(i.targets.iter().filter_map(|t| t.tag.as_deref()));
        }
        for m in &self.mirrors {
            texts.push(&m.source);
            texts.push(&m.destination);
        }
        let mut out: Vec<String> = Vec::new();
        for name in texts.into_iter().flat_map(placeholders) {
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
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
    /// `cluster_archs:`: the cluster's node platforms, for Kubernetes workloads without
    /// an architecture constraint.
    pub cluster_archs: Option<Vec<Platform>>,
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
    pub repository: Repository,
    /// `repositories:` after the first: each gets a copy of what was pushed to
    /// `repository`, verified like it, before any tag moves anywhere.
    pub also: Vec<Repository>,
    /// The build context, relative to the project directory (as written, default ".").
    pub context: String,
    /// The Dockerfile, relative to the project directory.
    pub dockerfile: String,
    pub stage: Option<String>,
    pub tags: Vec<String>,
    pub build_args: Vec<(String, String)>,
    pub secrets: Vec<String>,
    pub cache: Cache,
    /// The project file's explicit choice (the image's, else the project's), if any.
    pub attestations: Option<AttestationMode>,
    pub sbom: bool,
    pub deep: bool,
    /// `media_types: docker`: Docker V2 schema 2 media types on every tag.
    pub docker_media_types: bool,
    /// With `deep`: every executable ELF file, not only the entrypoint (`deep: all`).
    pub deep_all: bool,
    /// With `deep_all`: absolute paths or globs of files that are foreign on purpose.
    pub deep_ignore: Vec<String>,
    pub targets: Vec<Target>,
    /// Workloads of `from:` files that do not run this image: `FILE:LINE resource: why`.
    pub ignored: Vec<String>,
    /// The smoke run: a command run in the pushed image on each platform before a tag
    /// moves.
    pub smoke: Option<Smoke>,
    /// Tags and labels this build does not make, as written, and why (`{{semver}}` on
    /// a branch, `when: default_branch` elsewhere).
    pub left_out: Vec<(String, String)>,
    /// `rebuild: always`: never skip the build as unchanged.
    pub rebuild_always: bool,
    /// What else the build is given: an inline Dockerfile, SSH, named contexts, labels,
    /// annotations, `no_cache`, `pull`, the `RUN` steps' resources and network.
    pub options: BuildOptions,
    /// How its digests are signed before a tag moves (`sign:`, its own or the
    /// project's); `None`: unsigned.
    pub sign: Option<crate::signing::Signer>,
    /// Where the image is declared.
    pub line: u32,
}

/// Where an image's provenance attestations go (`attestations:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttestationMode {
    /// Inside the index, as buildx writes them (targets that accept them there).
    Index,
    /// Out of the index: each one an OCI 1.1 referrer of its platform manifest.
    Referrers,
    /// None built, and no verification record.
    Off,
}

impl AttestationMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AttestationMode::Index => "index",
            AttestationMode::Referrers => "referrers",
            AttestationMode::Off => "off",
        }
    }
}

/// What the project sets for every image, each image may override.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Defaults {
    /// `deep:` → (check, every executable).
    pub deep: (bool, bool),
    pub attestations: Option<AttestationMode>,
}

/// Where an image's build cache lives (`cache:`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Cache {
    #[default]
    None,
    /// `REPOSITORY:buildcache-OS-ARCH[-VARIANT]` per platform (and `REPOSITORY:buildcache`
    /// for a build of several platforms at once).
    Registry,
    /// GitHub Actions' cache, a scope per image and platform.
    Gha,
    /// A directory per image and platform in the project's work directory.
    Local,
    /// buildx `--cache-from`/`--cache-to` values, as written.
    Explicit {
        from: Vec<String>,
        to: Option<String>,
    },
}

/// A checked `smoke:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Smoke {
    /// The argv, exactly (no shell unless the user writes `sh -c`).
    pub run: Vec<String>,
    /// A regular expression the command's output (stdout and stderr) must match;
    /// checked to compile.
    pub expect: Option<String>,
    pub timeout: std::time::Duration,
    pub env: Vec<(String, String)>,
    /// The platforms to run it on; empty: every platform of the image.
    pub platforms: Vec<Platform>,
}

/// `smoke:`'s timeout when none is given.
pub const SMOKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A checked deployment target.
#[derive(Debug, Clone)]
pub struct Target {
    /// The catalog service, or `None` for a target spelled as `platform:`.
    pub service: Option<String>,
    pub platforms: Vec<Platform>,
    pub manifest: ManifestKind,
    pub attestations: Attestations,
    /// The manifest media types the service takes, when the catalog says
    /// (`Some(Docker)`: Heroku's registry takes Docker V2 schema 2 only).
    pub media_types: Option<MediaTypes>,
    /// The tag a single-manifest target gets.
    pub tag: Option<String>,
    /// Where the target is declared.
    pub pos: Pos,
    /// `FILE:LINE` of the deployment file that stated the platform (`from:` targets).
    pub origin: Option<String>,
    /// The kind of deployment file that stated the platform of a target without a
    /// service: `compose` (a service's `platform:`); `None` otherwise.
    pub stated_by: Option<&'static str>,
}

impl Target {
    /// A target of catalog `service`: its manifest kind, attestations and media types
    /// from the catalog; `origin` for one a deployment file stated (`from:`).
    pub fn of_service(
        service: &crate::catalog::Service,
        platforms: Vec<Platform>,
        tag: Option<String>,
        pos: Pos,
        origin: Option<String>,
    ) -> Target {
        Target {
            service: Some(service.name.clone()),
            platforms,
            manifest: service.manifest,
            attestations: service.attestations,
            media_types: service.media_types,
            tag,
            pos,
            origin,
            stated_by: None,
        }
    }

    /// What the target is, in plan, doctor and messages: the service (`lambda`), the
    /// deployment file's kind (`compose`), or `platform` for a `platform:` target.
    pub fn label(&self) -> String {
        match (&self.service, self.stated_by) {
            (Some(s), _) => s.clone(),
            (None, Some(kind)) => kind.to_string(),
            (None, None) => "platform".into(),
        }
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

/// Reads and checks a project file. Only a regular file of at most
/// [`crate::fsread::MAX_TEXT_BYTES`] is read (`-f /dev/zero` or a FIFO is refused at once).
pub fn load(path: &Path, env: &Env) -> Result<Project, ConfigError> {
    parse(path, &read(path)?, env)
}

/// The catalog a project file gives — the built-in one with the file's `services:` put
/// in, checked as [`load`] checks them — with nothing else of the file read but as
/// YAML (`RawServices`: no other key is typed or checked, no `${VAR}`, git or `from:`
/// file is read): what shell completion offers while the rest of the file is being
/// written. Read with [`load`]'s bounds.
pub fn load_catalog(path: &Path) -> Result<Catalog, ConfigError> {
    let text = read(path)?;
    let raw: raw::RawServices = raw(path, &text)?;
    let env = Env::process();
    let checker = Checker {
        path,
        text: &text,
        env: &env,
        git: std::cell::OnceCell::new(),
    };
    checker.version(&raw.version)?;
    checker.catalog(raw.services)
}

/// The file's text: a regular file of at most [`crate::fsread::MAX_TEXT_BYTES`]
/// (`-f /dev/zero` or a FIFO is refused at once).
fn read(path: &Path) -> Result<String, ConfigError> {
    crate::fsread::read_text(path, crate::fsread::MAX_TEXT_BYTES).map_err(|source| {
        ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Checks a project file's text; `path` is used for messages and relative paths.
pub fn parse(path: &Path, text: &str, env: &Env) -> Result<Project, ConfigError> {
    let mut raw: RawProject = raw(path, text)?;
    overrides::apply(&mut raw, env.overrides)?;
    Checker {
        path,
        text,
        env,
        git: std::cell::OnceCell::new(),
    }
    .project(raw)
}

/// The file's YAML, read into the raw structs (scalars checked first).
fn raw<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    if let Some(r) = scalars::check(text) {
        let pos = Pos {
            line: r.line as u32,
            column: r.column as u32,
            len: 1,
        };
        return Err(ConfigError::at(path, text, pos, r.message, Some(r.help)));
    }
    serde_saphyr::from_str(text).map_err(|e| yaml_error(path, text, &e))
}

fn yaml_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> ConfigError {
    let pos = e.location().map(|l| Pos::of(&l)).unwrap_or_default();
    let full = match e.without_snippet() {
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => {
            crate::deploy::node::duplicate_key(key.as_deref())
        }
        other => other.to_string(),
    };
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
    let mut len = 1;
    let help = if let Some((fixed, valid, word_len)) = did_you_mean(&message) {
        message = fixed;
        len = word_len;
        Some(format!(
            "valid here: {}; see the configuration reference in the README (`mpbuild schema` for editors)",
            valid.join(", ")
        ))
    } else if message.starts_with("unknown field") {
        Some("see the configuration reference in the README (`mpbuild init` writes a commented example)".into())
    } else if message.contains("missing field `version`") {
        Some("start the file with `version: 1`".into())
    } else {
        None
    };
    ConfigError::at(path, text, Pos { len, ..pos }, message, help)
}

/// For serde's "unknown field `x`, expected one of a, b, …" (and "unknown variant"):
/// the message with the closest valid word suggested, the valid words, and the length
/// of the word to underline.
fn did_you_mean(message: &str) -> Option<(String, Vec<String>, u32)> {
    let kind = ["unknown field `", "unknown variant `"]
        .into_iter()
        .find(|k| message.starts_with(k))?;
    let rest = &message[kind.len()..];
    let (word, rest) = rest.split_once('`')?;
    let expected = rest.split_once("expected ")?.1;
    let expected = expected.strip_prefix("one of ").unwrap_or(expected);
    let valid: Vec<String> = expected
        .split(", ")
        .flat_map(|part| part.split(" or "))
        .map(|w| w.trim().trim_matches('`').to_string())
        .filter(|w| !w.is_empty())
        .collect();
    if valid.is_empty() {
        return None;
    }
    let what = kind.trim_end_matches(" `");
    let lower = word.to_ascii_lowercase();
    let best = valid
        .iter()
        .map(|v| (crate::catalog::edit_distance(&lower, v), v))
        .filter(|(d, v)| *d <= 1.max(v.len() / 3))
        .min_by_key(|(d, _)| *d);
    let fixed = match best {
        Some((_, v)) => format!("{what} `{word}`; did you mean `{v}`?"),
        None => format!("{what} `{word}`"),
    };
    Some((fixed, valid, word.chars().count().max(1) as u32))
}

struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    env: &'a Env<'a>,
    /// The build's git state, read the first time a tag, label or `git_metadata:`
    /// needs it (a file without `{{…}}` runs no git).
    git: std::cell::OnceCell<crate::gitmeta::GitMeta>,
}

impl Checker<'_> {
    fn err(&self, pos: Pos, message: impl Into<String>, help: Option<String>) -> ConfigError {
        ConfigError::at(self.path, self.text, pos, message, help)
    }

    fn pos<T>(&self, s: &Spanned<T>) -> Pos {
        Pos::of(&s.referenced)
    }

    fn version(&self, version: &Spanned<u32>) -> Result<(), ConfigError> {
        if version.value == 1 {
            return Ok(());
        }
        Err(self.err(
            self.pos(version),
            format!(
                "unsupported version {}; this mpbuild reads version 1",
                version.value
            ),
            Some("write `version: 1`".into()),
        ))
    }

    /// The whole file, part by part (each part is in `check/`); the order is the order
    /// errors are found in.
    fn project(&self, raw: RawProject) -> Result<Project, ConfigError> {
        self.version(&raw.version)?;
        let catalog = self.catalog(raw.services)?;
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
        let cluster = self.cluster_archs(raw.cluster_archs.as_ref())?;
        let defaults = Defaults {
            deep: match &raw.deep {
                Some(d) => self.deep(d)?,
                None => (false, false),
            },
            attestations: match &raw.attestations {
                Some(a) => Some(self.attestations(a)?),
                None => None,
            },
        };
        let sign_default = match raw.sign {
            Some(s) => self.sign(&dir, s)?,
            None => None,
        };
        let mut images = Vec::new();
        for (name, mut image) in raw.images {
            let own_sign = image.sign.take();
            let mut checked =
                self.image(&catalog, &dir, name, image, defaults, cluster.as_deref())?;
            checked.sign = match own_sign {
                Some(s) => self.sign(&dir, s)?,
                None => sign_default.clone(),
            };
            images.push(checked);
        }
        self.check_tag_collisions(&images)?;
        self.check_project_contexts(&images)?;
        let mut mirrors = Vec::new();
        for m in raw.mirrors {
            mirrors.push(self.mirror(&catalog, m)?);
        }
        let (builder, declared_builder) = self.builder(&dir, raw.builder, &images)?;
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
            cluster_archs: cluster,
        })
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_git;
#[cfg(test)]
mod tests_repositories;
