//! The plan's types: what `mpbuild plan` prints and the pipeline runs — per image its
//! platforms, tags, argv or bake target, fingerprint and smoke run; the builder; the
//! bake file. Pure data; made in `image.rs` and `plan.rs`.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::catalog::ManifestKind;
use crate::digest::Digest;
use crate::platform::Platform;
use crate::registry::Repository;

/// How the build gets its result to the registry, which depends on the builder's driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Output {
    /// The `docker` driver cannot push by digest: export an OCI layout that mpbuild
    /// uploads itself.
    OciLayout,
    /// docker-container, remote, kubernetes: push by digest, no tag.
    PushByDigest,
}

/// Inputs of the plan that are not in the project file.
#[derive(Debug, Clone)]
pub struct Options {
    pub output: Output,
    /// Where buildx writes metadata files and OCI layouts (one directory per project).
    pub work_dir: PathBuf,
    /// The builder (`--builder`), from the flag or the project file.
    pub builder: Option<String>,
}

/// The whole plan.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub images: Vec<ImagePlan>,
    /// When several images are built: one bake run for all of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bake: Option<Bake>,
    /// The declared builder: which node builds which platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub builder: Option<BuilderPlan>,
    /// What the plan was made with (for a part of it: [`Plan::only`]).
    #[serde(skip)]
    pub options: Options,
}

/// Which node of the declared builder builds each platform.
#[derive(Debug, Clone, Serialize)]
pub struct BuilderPlan {
    pub name: String,
    pub driver: String,
    pub assignments: Vec<Assignment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Assignment {
    pub platform: Platform,
    /// The node that builds it natively, or None (emulated on whichever node buildx picks).
    pub node: Option<String>,
    pub endpoint: Option<String>,
}

/// One bake run.
#[derive(Debug, Clone, Serialize)]
pub struct Bake {
    pub command: Vec<String>,
    /// Where the runner writes `file` before running `command`.
    pub file_path: PathBuf,
    pub file: Value,
    pub metadata_file: PathBuf,
}

/// What one image needs.
#[derive(Debug, Clone, Serialize)]
pub struct ImagePlan {
    pub name: String,
    /// Serialised as written in the project file.
    pub repository: Repository,
    /// The other repositories (`repositories:` after the first): each gets a copy of
    /// the verified root, verified there too, before any tag moves in any of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Repository>,
    /// The union of every target's platforms, in the order first named.
    pub platforms: Vec<Platform>,
    /// Tags that will point at the verified index.
    pub tags: Vec<String>,
    /// Tags and labels this build does not make (a git part it has no value for, a
    /// `when:` it is not): (as written, why).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub left_out: Vec<(String, String)>,
    pub targets: Vec<TargetPlan>,
    /// Workloads of its `from:` files that run other images: `FILE:LINE resource: why`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// Tags that will point at one platform's plain image manifest.
    pub single_tags: Vec<SingleTag>,
    /// Whether buildx makes provenance attestations (`attestations_mode` is not off).
    pub attestations: bool,
    /// Where they go: inside the index, or out of it as referrers of each platform
    /// manifest (then the index the tags point at holds only runnable images).
    pub attestations_mode: crate::config::AttestationMode,
    /// Why attestations go where they go.
    pub attestations_reason: String,
    /// `media_types: docker`: every tag gets Docker V2 schema 2 media types (buildx's
    /// `oci-mediatypes=false` when pushing by digest; converted at upload otherwise).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub docker_media_types: bool,
    pub deep: bool,
    /// With `deep`: every executable ELF file, not only the entrypoint.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deep_all: bool,
    /// With `deep_all`: paths and globs left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deep_ignore: Vec<String>,
    pub context: String,
    pub dockerfile: String,
    /// The `docker buildx build` argv for this image alone.
    pub command: Vec<String>,
    pub metadata_file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oci_dir: Option<PathBuf>,
    pub output: Output,
    /// A digest of what this image's plan promises, independent of the machine and the
    /// builder: repository, platforms, tags, targets and build inputs. Legs built on
    /// separate runners carry it, so `merge` can refuse a leg from another plan.
    #[serde(skip)]
    pub fingerprint: Digest,
    /// The same without the tags: what the build makes, not where it is published. With
    /// the Dockerfile, the context and the base images' digests it is the image's inputs
    /// fingerprint, which lets `push` skip an unchanged image.
    #[serde(skip)]
    pub build_fingerprint: Digest,
    /// `rebuild: always`: never skipped as unchanged.
    #[serde(skip)]
    pub rebuild_always: bool,
    /// The build args, as given to buildx (for the Dockerfile's `FROM` expansion).
    #[serde(skip)]
    pub build_args: Vec<(String, String)>,
    /// `cache: local`: the image's directory in the project's work directory (one
    /// directory per platform in it).
    #[serde(skip)]
    pub local_cache: PathBuf,
    /// The smoke run, when the image declares one (not part of the fingerprint: it checks
    /// the image, it does not make it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smoke: Option<SmokePlan>,
    /// How its digests are signed before a tag moves (not part of the fingerprint: a
    /// signature is about the image, not in it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign: Option<crate::signing::Signer>,
    /// The build options (`ssh`, `contexts`, `labels`, …), as the argv carries them.
    #[serde(skip)]
    pub options: crate::config::BuildOptions,
    /// Other images of the project built as named contexts of this one (`target:`).
    #[serde(skip)]
    pub linked: Vec<Linked>,
}

/// A command run in the pushed image on each of `platforms` before a tag moves.
#[derive(Debug, Clone, Serialize)]
pub struct SmokePlan {
    pub run: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
    pub timeout_s: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
    /// The image's platforms, or the subset `smoke: platforms:` names.
    pub platforms: Vec<Platform>,
}

impl SmokePlan {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_s)
    }
}

/// One target of an image, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct TargetPlan {
    /// The catalog service; "compose" for a platform a compose file states; "platform"
    /// for a target spelled as a platform.
    pub service: String,
    /// `service` is a catalog service (one `--target` takes).
    #[serde(skip)]
    pub in_catalog: bool,
    pub platforms: Vec<Platform>,
    pub manifest: ManifestKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `FILE:LINE` where the target is declared.
    pub source: String,
}

/// A tag for a single-manifest target (Lambda, Heroku).
#[derive(Debug, Clone, Serialize)]
pub struct SingleTag {
    pub tag: String,
    pub platform: Platform,
    pub service: String,
    /// The tag needs a Docker V2 schema 2 manifest (Heroku; or the image's
    /// `media_types: docker`): made from the built manifest, blobs unchanged.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub docker: bool,
}

/// Another image of the project, built as a named context of this one.
#[derive(Debug, Clone)]
pub struct Linked {
    /// The context's name (what the Dockerfile's `FROM` or `COPY --from` names).
    pub context: String,
    /// The bake target that builds it: not in the bake's group, so bake builds it
    /// only as this context and exports nothing of it.
    pub target: String,
    /// Its plan, for this image's platforms and without tags.
    pub plan: Box<ImagePlan>,
}
