//! Names, repositories and tags: the grammar each must follow (image names name bake
//! targets; repositories are `[HOST[:PORT]/]PATH` without tag or digest; tags are OCI
//! tags), and that no two images publish the same repository and tag.

use std::collections::BTreeMap;

use serde_saphyr::Spanned;

use crate::config::interpolate::without_placeholders;
use crate::config::{Checker, ConfigError, Image, Pos, Target};
use crate::registry::Repository;
use crate::registry::reference::is_valid_tag;

impl Checker<'_> {
    /// The image's repository, parsed once here: checked by the project file's grammar,
    /// shown back as written (with a preview's placeholders).
    pub(super) fn repository(&self, raw: &Spanned<String>) -> Result<Repository, ConfigError> {
        let repo = self.expand(raw)?.trim().to_string();
        let grammar = self.for_grammar(&repo);
        check_repository(&grammar).map_err(|m| {
            let help = self.placeholder_help(&repo).unwrap_or(m.help);
            self.err(self.pos(raw), m.message, Some(help))
        })?;
        Repository::parse(&grammar)
            .map(|r| r.written_as(&repo))
            .map_err(|e| self.err(self.pos(raw), e.to_string(), None))
    }

    pub(super) fn check_tag(&self, tag: &str, pos: Pos) -> Result<(), ConfigError> {
        if is_valid_tag(&self.for_grammar(tag)) {
            Ok(())
        } else {
            Err(self.err(
                pos,
                format!("`{tag}` is not a valid tag"),
                Some(self.placeholder_help(tag).unwrap_or_else(|| {
                    "a tag is 1–128 of [A-Za-z0-9_.-], not starting with `.` or `-`".into()
                })),
            ))
        }
    }

    /// The text a grammar check reads: a preview's placeholders looked through (`plan`
    /// shows `<GIT_SHA unset>` for an unset variable); anywhere else, the text itself.
    pub(super) fn for_grammar(&self, text: &str) -> String {
        if self.env.preview {
            without_placeholders(text)
        } else {
            text.to_string()
        }
    }

    /// For text that holds `<NAME unset>` outside a preview (copied from `plan`, or a
    /// variable holding it): which variable to set.
    pub(super) fn placeholder_help(&self, text: &str) -> Option<String> {
        let names = crate::config::placeholders(text);
        let first = names.first()?;
        Some(format!(
            "`{}` is how `mpbuild plan` shows an unset `${{{first}}}`: write `${{{first}}}` and set {first} (e.g. {first}=$(git rev-parse --short HEAD)), or write the value itself",
            crate::config::placeholder(first)
        ))
    }

    /// Two single-manifest targets of one image that give the same tag must point at
    /// the same manifest: the same platform (and the same media types). One tag can
    /// hold one manifest, so `lambda` for amd64 and `lambda:arm64` need two tags.
    pub(super) fn check_single_tags(
        &self,
        image: &str,
        targets: &[Target],
    ) -> Result<(), ConfigError> {
        for (i, t) in targets.iter().enumerate() {
            let Some(tag) = &t.tag else { continue };
            let Some(earlier) = targets[..i].iter().find(|e| e.tag.as_ref() == Some(tag)) else {
                continue;
            };
            let (a, b) = (earlier.platforms.first(), t.platforms.first());
            let same_platform = match (a, b) {
                (Some(a), Some(b)) => a.matches(b),
                _ => false,
            };
            let why = if !same_platform {
                format!(
                    "{} for {} and {} for {}",
                    earlier.label(),
                    a.map(ToString::to_string).unwrap_or_default(),
                    t.label(),
                    b.map(ToString::to_string).unwrap_or_default()
                )
            } else if media_word(earlier) != media_word(t) {
                format!(
                    "{} with {} media types and {} with {}",
                    earlier.label(),
                    media_word(earlier),
                    t.label(),
                    media_word(t)
                )
            } else {
                continue;
            };
            let suffix = b
                .map(|p| p.to_string().trim_start_matches("linux/").replace('/', "-"))
                .unwrap_or_default();
            return Err(self.err(
                t.pos,
                format!(
                    "image `{image}`: tag `{tag}` is given twice, to {why} (line {}); one tag points at one manifest",
                    earlier.pos.line
                ),
                Some(format!(
                    "give each single-manifest target a tag of its own, e.g. \"{tag}-{suffix}\""
                )),
            ));
        }
        Ok(())
    }

    pub(in crate::config) fn check_tag_collisions(
        &self,
        images: &[Image],
    ) -> Result<(), ConfigError> {
        let mut seen: BTreeMap<(String, String), &str> = BTreeMap::new();
        for image in images {
            let all = image
                .tags
                .iter()
                .chain(image.targets.iter().filter_map(|t| t.tag.as_ref()));
            let repos = std::iter::once(&image.repository).chain(&image.also);
            for (repo, tag) in repos.flat_map(|r| all.clone().map(move |t| (r, t))) {
                if let Some(other) =
                    seen.insert((repo.as_written().to_string(), tag.clone()), &image.name)
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
                            image.name,
                            repo.as_written()
                        ),
                        Some("give each image its own repository or distinct tags".into()),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn media_word(t: &Target) -> &'static str {
    match t.media_types {
        Some(crate::catalog::MediaTypes::Docker) => "Docker",
        _ => "OCI",
    }
}

pub(super) fn is_image_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
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
