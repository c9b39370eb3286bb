//! From files, directories and standard input to uses of image references, each with
//! what its workload needs of it: the platforms (the file's, the service's default, the
//! cluster's, the host's for compose without `platform:`), a single image manifest
//! where the service takes nothing else (Lambda), Docker media types where required.

use std::path::PathBuf;

use super::uses::{Skipped, Source, Target, Use};
use crate::catalog::{Catalog, ManifestKind, MediaTypes};
use crate::deploy::{self, Context, DeployError, Found, Image, ImageUse, Unstated};
use crate::platform::Platform;
use crate::registry::Reference;
use crate::verify::Requirements;

/// Where deployment files come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file or a directory (every *.yaml, *.yml and *.json under it), and its name
    /// as the user wrote it.
    Path(PathBuf, String),
    /// Standard input's text (`helm template … | mpbuild check -`).
    Stdin(String),
}

/// What the checks need besides the files.
pub struct Options<'a> {
    pub catalog: &'a Catalog,
    /// The machine's platform (compose without `platform:` runs it).
    pub host: Platform,
    /// The cluster's node platforms, for Kubernetes workloads without a constraint.
    pub cluster: Option<Vec<Platform>>,
    pub deep: bool,
    pub deep_all: bool,
    /// The environment compose interpolates `${VAR}` from.
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

/// The files read, every use of a reference in them, and what was left unchecked.
pub struct Gathered {
    pub sources: Vec<Source>,
    pub uses: Vec<Use>,
    pub skipped: Vec<Skipped>,
}

/// Reads every input. A file or standard input that holds no container workload, or a
/// directory none of whose files does, is an error (exit 2), as is a file that cannot
/// be read or parsed.
pub fn gather(inputs: &[Input], o: &Options) -> Result<Gathered, DeployError> {
    let mut g = Gathered {
        sources: Vec::new(),
        uses: Vec::new(),
        skipped: Vec::new(),
    };
    for input in inputs {
        let files = match input {
            Input::Path(path, shown) => {
                let mut files = Vec::new();
                for (file, name) in deploy::files(path, shown)? {
                    let text = deploy::read_file(&file, &name)?;
                    files.push(Source {
                        shown: name,
                        path: Some(file),
                        text,
                    });
                }
                files
            }
            Input::Stdin(text) => vec![Source {
                shown: "-".into(),
                path: None,
                text: text.clone(),
            }],
        };
        let mut workloads = 0;
        for source in files {
            let ctx = Context {
                file: &source.shown,
                cluster: o.cluster.as_deref(),
                env: o.env,
            };
            let found = deploy::read_text(&source.text, &ctx)?;
            workloads += found.len();
            let index = g.sources.len();
            for f in &found {
                add_workload(&mut g, f, index, o);
            }
            g.sources.push(source);
        }
        if workloads == 0 {
            let path = match input {
                Input::Path(_, shown) => shown.clone(),
                Input::Stdin(_) => "standard input".into(),
            };
            return Err(DeployError::Nothing { path });
        }
    }
    Ok(g)
}

fn add_workload(g: &mut Gathered, f: &Found, source: usize, o: &Options) {
    if f.images.is_empty() {
        g.skipped.push(Skipped {
            at: f.source.clone(),
            resource: f.resource.clone(),
            why: f
                .unchecked
                .clone()
                .unwrap_or_else(|| "it names no image".into()),
        });
        return;
    }
    let (platforms, why) = needs(f, o);
    let service = f.service.as_deref().and_then(|s| o.catalog.get(s));
    let mut req = Requirements {
        deep: o.deep,
        deep_all: o.deep_all,
        single: service.is_some_and(|s| s.manifest == ManifestKind::Single),
        docker: service
            .filter(|s| s.media_types == Some(MediaTypes::Docker))
            .map(|s| s.name.clone()),
        ..Requirements::default()
    };
    let label = f.service.clone().unwrap_or_else(|| "compose".into());
    for p in &platforms {
        req.need(p.clone(), format!("{label} ({})", f.source));
    }
    for u in &f.images {
        if u.built {
            g.skipped.push(Skipped {
                at: format!("{}:{}", f.file, u.line),
                resource: f.resource.clone(),
                why: "compose builds it from source (`build:`)".into(),
            });
            continue;
        }
        g.uses.push(use_of(f, u, &platforms, &why, &req, source));
    }
}

/// The platforms a workload needs, and why in words (for "linux/arm64 is missing: …").
fn needs(f: &Found, o: &Options) -> (Vec<Platform>, String) {
    let service = f.service.as_deref().unwrap_or("the service");
    match f.unstated {
        Some(Unstated::Host) => (
            vec![o.host.clone()],
            "no `platform:`, so compose runs this machine's platform".into(),
        ),
        Some(Unstated::ServiceDefault) => {
            let platforms = f.platforms_with(o.catalog, &o.host);
            let why = format!(
                "{service} has no architecture field and runs {}",
                crate::platform::join(&platforms)
            );
            (platforms, why)
        }
        None if f.defaulted && f.service.as_deref() == Some("kubernetes") => (
            f.platforms.clone(),
            "no kubernetes.io/arch constraint, so the pod may land on a node of any of the cluster's architectures".into(),
        ),
        None if f.defaulted => (
            f.platforms.clone(),
            format!("no architecture field, so {service} runs its default"),
        ),
        None => (f.platforms.clone(), "its workload runs there".into()),
    }
}

fn use_of(
    f: &Found,
    u: &ImageUse,
    platforms: &[Platform],
    why: &str,
    req: &Requirements,
    source: usize,
) -> Use {
    let (written, target, interpolated) = match &u.image {
        Image::Literal { text, interpolated } => {
            let target = match Reference::parse(text) {
                Ok(r) => Target::Reference(r),
                Err(e) => Target::Invalid(invalid_why(&e)),
            };
            (text.clone(), target, *interpolated)
        }
        Image::Unresolved { written, why } => {
            (written.clone(), Target::Unresolved(why.clone()), false)
        }
    };
    Use {
        file: f.file.clone(),
        line: u.line,
        resource: f.resource.clone(),
        container: u.container.clone(),
        service: f.service.clone(),
        written,
        platforms: platforms.to_vec(),
        platforms_from: f.source.clone(),
        platforms_why: why.to_string(),
        target,
        requirements: req.clone(),
        source,
        span: u.span,
        interpolated,
    }
}

/// Why a value is not a reference, without repeating it.
fn invalid_why(e: &crate::registry::RegistryError) -> String {
    match e {
        crate::registry::RegistryError::BadReference { reason, .. } => {
            format!("not an image reference: {reason}")
        }
        other => other.to_string(),
    }
}
