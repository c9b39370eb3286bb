//! The raw shape of `mpbuild.yaml`, as serde reads it: every value keeps its location so
//! that validation errors can point at it. Unknown keys are errors.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_saphyr::Spanned;

use crate::catalog::RawService;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProject {
    pub version: Spanned<u32>,
    /// Registries reached over plain HTTP (loopback always is).
    #[serde(default)]
    pub insecure_registries: Vec<Spanned<String>>,
    /// The buildx builder: a name, or a declared builder with one node per platform.
    #[serde(default)]
    pub builder: Option<Spanned<RawBuilderSpec>>,
    /// Run the deep (ELF) check on every image by default: `true` (the entrypoint) or
    /// `all` (every executable ELF file).
    #[serde(default)]
    pub deep: Option<Spanned<RawDeep>>,
    /// Where every image's provenance goes by default: `index`, `referrers` or `off`.
    #[serde(default)]
    pub attestations: Option<Spanned<RawAttestations>>,
    /// The node architectures of the project's Kubernetes cluster(s), for workloads
    /// without a kubernetes.io/arch constraint.
    #[serde(default)]
    pub cluster_archs: Option<Spanned<OneOrMany>>,
    /// Services the project adds or overrides: a list of entries shaped like the
    /// built-in catalog's (`- name: …`), or a map from name to entry. An entry naming
    /// a built-in service overrides only the fields it gives.
    #[serde(default, deserialize_with = "services")]
    pub services: Vec<RawServiceEntry>,
    #[serde(default, deserialize_with = "ordered_map")]
    pub images: Vec<(Spanned<String>, RawImage)>,
    /// Images copied between registries with the platforms the targets need.
    #[serde(default)]
    pub mirrors: Vec<Spanned<RawMirror>>,
    /// How every image is signed (cosign), unless an image says otherwise.
    #[serde(default)]
    pub sign: Option<Spanned<RawSignSpec>>,
}

/// What shell completion reads of the file (`load_catalog`): the version and
/// `services:` as [`RawProject`] reads them; every other key is taken as any YAML, so
/// an image half written does not hide the project's services.
#[derive(Debug, Deserialize)]
pub struct RawServices {
    pub version: Spanned<u32>,
    #[serde(default, deserialize_with = "services")]
    pub services: Vec<RawServiceEntry>,
}

/// One `services:` entry: the map key (map form) and the entry.
#[derive(Debug)]
pub struct RawServiceEntry {
    pub key: Option<Spanned<String>>,
    pub entry: Spanned<RawService>,
}

/// `services:` as a list of catalog-shaped entries or a map from name to entry.
fn services<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawServiceEntry>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<RawServiceEntry>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of service entries (`- name: …`) or a mapping from name to entry")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = seq.next_element()? {
                out.push(RawServiceEntry { key: None, entry });
            }
            Ok(out)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((key, entry)) = map.next_entry()? {
                out.push(RawServiceEntry {
                    key: Some(key),
                    entry,
                });
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// `builder:` as a name or a declaration.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawBuilderSpec {
    Name(String),
    Declared(RawBuilder),
}

/// A declared builder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBuilder {
    pub name: String,
    #[serde(default)]
    pub driver: Option<String>,
    pub nodes: Vec<RawNode>,
    #[serde(default)]
    pub tls: Option<RawTls>,
    /// Allow platforms no node serves (they are emulated on some node).
    #[serde(default)]
    pub allow_emulation: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNode {
    #[serde(default)]
    pub name: Option<String>,
    pub platforms: Vec<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub driver: Option<String>,
    #[serde(default)]
    pub driver_opts: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub ca: String,
    #[serde(default)]
    pub cert: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
}

/// One `mirrors:` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMirror {
    pub source: Spanned<String>,
    pub destination: Spanned<String>,
    /// `SERVICE` or `SERVICE:ARCH`.
    #[serde(default)]
    pub targets: Vec<Spanned<String>>,
    #[serde(default)]
    pub platforms: Vec<Spanned<String>>,
    /// Copy every platform, keeping the source digest.
    #[serde(default)]
    pub all: bool,
}

/// One image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawImage {
    /// The repository, or `repositories:` (one of the two).
    #[serde(default)]
    pub repository: Option<Spanned<String>>,
    /// More than one repository: built and pushed to the first, copied to the others.
    #[serde(default)]
    pub repositories: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub context: Option<Spanned<String>>,
    #[serde(default)]
    pub dockerfile: Option<Spanned<String>>,
    /// The Dockerfile stage to build (`--target`).
    #[serde(default)]
    pub stage: Option<Spanned<String>>,
    /// Tags: text (`${VAR}` and `{{…}}` git parts expand), or `{tag: …, when: …}`.
    #[serde(default)]
    pub tags: Vec<Spanned<RawTag>>,
    #[serde(default, deserialize_with = "ordered_map")]
    pub build_args: Vec<(Spanned<String>, Spanned<Scalar>)>,
    /// buildx secrets: `id=NAME,src=FILE` or `id=NAME,env=VAR`.
    #[serde(default)]
    pub secrets: Vec<Spanned<String>>,
    /// The build cache: `registry`, `gha`, `local`, `none`, or `{from: […], to: …}`.
    #[serde(default)]
    pub cache: Option<Spanned<RawCacheSpec>>,
    /// Where provenance attestations go: `index`, `referrers` or `off` (`true` is
    /// `index`, `false` is `off`); default: `index` where every target is confirmed to
    /// accept them there, else `referrers`.
    #[serde(default)]
    pub attestations: Option<Spanned<RawAttestations>>,
    /// SBOM attestations (needs the SBOM scanner image; off by default).
    #[serde(default)]
    pub sbom: Option<bool>,
    /// Run the deep (ELF) check for this image: `true`, `false`, `entrypoint`, `all`.
    #[serde(default)]
    pub deep: Option<Spanned<RawDeep>>,
    /// `docker`: every tag of this image gets Docker V2 schema 2 media types (a
    /// manifest list of Docker manifests) instead of OCI ones.
    #[serde(default)]
    pub media_types: Option<Spanned<String>>,
    /// With `deep: all`: paths or globs of files that are foreign on purpose.
    #[serde(default)]
    pub deep_ignore: Vec<Spanned<String>>,
    pub targets: Spanned<Vec<Spanned<RawTarget>>>,
    /// A command run in the pushed image on every platform before a tag moves.
    #[serde(default)]
    pub smoke: Option<Spanned<RawSmokeSpec>>,
    /// `always`: never skip the build of an unchanged image (builds that are not
    /// reproducible from their inputs: `RUN apt-get update`, `ADD https://…`); `auto`
    /// (default): skip it when its inputs' fingerprint is already in the registry.
    #[serde(default)]
    pub rebuild: Option<Spanned<String>>,
    // Build options as bake and build-push-action take them (checked in
    // `check/build_options.rs`).
    /// The Dockerfile's text, instead of `dockerfile:`.
    #[serde(default)]
    pub dockerfile_inline: Option<Spanned<String>>,
    /// buildx `--ssh`: `default`, or `ID=PATH[,PATH…]`.
    #[serde(default)]
    pub ssh: Vec<Spanned<String>>,
    /// Named build contexts: a directory, `docker-image://REF`, `target:IMAGE` (another
    /// image of this project) or a URL.
    #[serde(default, deserialize_with = "ordered_map")]
    pub contexts: Vec<(Spanned<String>, Spanned<String>)>,
    /// Build without BuildKit's cache.
    #[serde(default)]
    pub no_cache: Option<Spanned<bool>>,
    /// Always read base images from their registry.
    #[serde(default)]
    pub pull: Option<Spanned<bool>>,
    /// `/dev/shm` of `RUN` steps, e.g. `2g`.
    #[serde(default)]
    pub shm_size: Option<Spanned<Scalar>>,
    /// `RUN` steps' ulimits: `nofile=1024:2048`.
    #[serde(default)]
    pub ulimits: Vec<Spanned<String>>,
    /// `RUN` steps' network: `default`, `none` or `host`.
    #[serde(default)]
    pub network: Option<Spanned<String>>,
    /// Extra `/etc/hosts` entries of `RUN` steps: host → IP.
    #[serde(default, deserialize_with = "ordered_map")]
    pub add_hosts: Vec<(Spanned<String>, Spanned<String>)>,
    /// Labels in every platform's image config.
    #[serde(default, deserialize_with = "ordered_map")]
    pub labels: Vec<(Spanned<String>, Spanned<Scalar>)>,
    /// Annotations: `KEY` (each platform's manifest) or `LEVEL[,LEVEL]:KEY` (`index`,
    /// `manifest`, `index-descriptor`, `manifest-descriptor`).
    #[serde(default, deserialize_with = "ordered_map")]
    pub annotations: Vec<(Spanned<String>, Spanned<Scalar>)>,
    /// OCI labels and annotations from git (source, revision, created, version):
    /// `true`, `labels` or `annotations`.
    #[serde(default)]
    pub git_metadata: Option<Spanned<RawDeep>>,
    /// How this image is signed: the project's `sign:` replaced, or `false` (unsigned).
    #[serde(default)]
    pub sign: Option<Spanned<RawSignSpec>>,
}

/// A `tags:` entry: the tag, or the tag with the condition it is made on.
#[derive(Debug, Clone)]
pub enum RawTag {
    Plain(String),
    When(RawWhen),
}

/// `{tag: latest, when: default_branch}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWhen {
    pub tag: Spanned<String>,
    pub when: Spanned<String>,
}

impl RawTag {
    /// The tag's text.
    pub fn text(&self) -> &str {
        match self {
            RawTag::Plain(t) => t,
            RawTag::When(w) => &w.tag.value,
        }
    }
}

impl<'de> Deserialize<'de> for RawTag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawTag;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a tag, or a mapping with `tag:` and `when:`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawTag, E> {
                Ok(RawTag::Plain(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawTag, E> {
                Ok(RawTag::Plain(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawTag, E> {
                Ok(RawTag::Plain(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTag, A::Error> {
                RawWhen::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawTag::When)
            }
        }
        d.deserialize_any(V)
    }
}

/// `sign:` as `false` (do not sign) or a mapping.
#[derive(Debug)]
pub enum RawSignSpec {
    Bool(bool),
    Full(Box<RawSign>),
}

/// `sign: {key: FILE|KMS-URI, password_env: VAR}` or `sign: {keyless: true}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSign {
    /// A cosign private key file (relative to the project file) or a KMS URI.
    #[serde(default)]
    pub key: Option<Spanned<String>>,
    /// The environment variable holding the key file's password (COSIGN_PASSWORD).
    #[serde(default)]
    pub password_env: Option<Spanned<String>>,
    /// Sign with the CI's OIDC identity (Fulcio certificate, Rekor entry).
    #[serde(default)]
    pub keyless: Option<Spanned<bool>>,
}

impl<'de> Deserialize<'de> for RawSignSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSignSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "`false` or a mapping with `key:` (and `password_env:`) or `keyless: true`",
                )
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawSignSpec, E> {
                Ok(RawSignSpec::Bool(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawSignSpec, A::Error> {
                RawSign::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|s| RawSignSpec::Full(Box::new(s)))
            }
        }
        d.deserialize_any(V)
    }
}

/// `cache:` as a kind (`registry`, `gha`, `local`, `none`) or `{from: […], to: …}`.
#[derive(Debug)]
pub enum RawCacheSpec {
    Kind(String),
    Explicit(RawCache),
}

/// `cache: {from: [SPEC…], to: SPEC}`: buildx `--cache-from`/`--cache-to` values.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCache {
    #[serde(default)]
    pub from: Vec<Spanned<String>>,
    #[serde(default)]
    pub to: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawCacheSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCacheSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "`registry`, `gha`, `local`, `none`, or a mapping with `from:` and `to:`",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCacheSpec, E> {
                Ok(RawCacheSpec::Kind(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawCacheSpec, A::Error> {
                RawCache::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawCacheSpec::Explicit)
            }
        }
        d.deserialize_any(V)
    }
}

/// `smoke:` as an argv (`[app, --version]`) or a mapping with `run:` and options.
#[derive(Debug)]
pub enum RawSmokeSpec {
    Argv(Vec<Spanned<Scalar>>),
    Full(Box<RawSmoke>),
}

/// `smoke: {run: […], expect: RE, timeout: 30s, env: {K: V}, platforms: […]}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSmoke {
    pub run: Spanned<Vec<Spanned<Scalar>>>,
    #[serde(default)]
    pub expect: Option<Spanned<String>>,
    /// Seconds (`30`) or a duration (`"30s"`, `"2m"`).
    #[serde(default)]
    pub timeout: Option<Spanned<Scalar>>,
    #[serde(default, deserialize_with = "ordered_map")]
    pub env: Vec<(Spanned<String>, Spanned<Scalar>)>,
    #[serde(default)]
    pub platforms: Vec<Spanned<String>>,
}

impl<'de> Deserialize<'de> for RawSmokeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawSmokeSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a command as a list (`[app, --version]`) or a mapping with `run:`")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawSmokeSpec, A::Error> {
                let mut argv = Vec::new();
                while let Some(a) = seq.next_element()? {
                    argv.push(a);
                }
                Ok(RawSmokeSpec::Argv(argv))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawSmokeSpec, A::Error> {
                RawSmoke::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|s| RawSmokeSpec::Full(Box::new(s)))
            }
        }
        d.deserialize_any(V)
    }
}

/// One deployment target of an image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    #[serde(default)]
    pub service: Option<Spanned<String>>,
    #[serde(default)]
    pub arch: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub platform: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub tag: Option<Spanned<String>>,
    /// A deployment file or directory that states the platforms.
    #[serde(default)]
    pub from: Option<Spanned<String>>,
    /// Picks one resource where the file has several.
    #[serde(default)]
    pub resource: Option<Spanned<String>>,
}

/// `deep:` as a boolean or a word (`entrypoint`, `all`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawDeep {
    Bool(bool),
    Word(String),
}

/// `attestations:` as a word (`index`, `referrers`, `off`) or a boolean.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawAttestations {
    Bool(bool),
    Word(String),
}

/// A value written as one string or a list of strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// A scalar build argument value (`"1.83"`, `3`, `true`), kept as text.
#[derive(Debug, Clone)]
pub enum Scalar {
    Text(String),
    /// A float, which YAML would have rounded: the user must quote it.
    Float(f64),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
                Ok(Scalar::Text(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar::Float(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Reads a YAML mapping into a list of pairs, keeping the file's order.
fn ordered_map<'de, D, K, V>(d: D) -> Result<Vec<(K, V)>, D::Error>
where
    D: Deserializer<'de>,
    K: Deserialize<'de>,
    V: Deserialize<'de>,
{
    struct Pairs<K, V>(std::marker::PhantomData<(K, V)>);
    impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for Pairs<K, V> {
        type Value = Vec<(K, V)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a mapping")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(pair) = map.next_entry()? {
                out.push(pair);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Pairs(std::marker::PhantomData))
}
