//! An image's build options: `dockerfile_inline`, `ssh`, `contexts`, `no_cache`, `pull`,
//! `shm_size`, `ulimits`, `network`, `add_hosts`, `labels` and `annotations`. Each value
//! is checked here as buildx would check it, so a mistake is a located error before
//! anything runs rather than a buildx failure after the builder started. The rules are
//! plain functions (`Problem`s) so that `--set IMAGE.KEY=VALUE` applies the same ones.

use std::path::Path;

use serde_saphyr::Spanned;

use super::git::Entry;
use crate::config::raw::{RawImage, Scalar};
use crate::config::{Annotation, BuildOptions, Checker, ConfigError, Level, NamedContext};
use crate::gitmeta::template::Use;

/// A value that breaks a rule: what is wrong, and what would be valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub message: String,
    pub help: String,
}

fn problem(message: impl Into<String>, help: impl Into<String>) -> Problem {
    Problem {
        message: message.into(),
        help: help.into(),
    }
}

impl Checker<'_> {
    fn located<T>(&self, s: &Spanned<T>, r: Result<(), Problem>) -> Result<(), ConfigError> {
        r.map_err(|p| self.err(self.pos(s), p.message, Some(p.help)))
    }

    /// A label or annotation value: text (numbers and booleans as written), `{{…}}`
    /// git parts then `${VAR}` expanded; None when this build has no value for a part
    /// (the reason goes to `left_out`).
    fn label_value(
        &self,
        key: &str,
        v: &Spanned<Scalar>,
        left_out: &mut Vec<(String, String)>,
    ) -> Result<Option<String>, ConfigError> {
        let text = self.text_value(key, v)?;
        match self.git_parts(&text, self.pos(v), Use::Label)? {
            Entry::Text(t) => Ok(Some(self.expand(&Spanned::new(
                t,
                v.referenced,
                v.defined,
            ))?)),
            Entry::LeftOut(why) => {
                left_out.push((format!("{key}: {text}"), why));
                Ok(None)
            }
        }
    }

    /// A scalar value as text (numbers and booleans as written; a float, which YAML may
    /// have rounded, is an error).
    fn text_value(&self, key: &str, v: &Spanned<Scalar>) -> Result<String, ConfigError> {
        match &v.value {
            Scalar::Text(s) => Ok(s.clone()),
            Scalar::Float(f) => Err(self.err(
                self.pos(v),
                format!("`{key}` is the number {f}, which YAML may have rounded"),
                Some(format!("quote it: {key}: \"…\"")),
            )),
        }
    }

    pub(in crate::config) fn build_options(
        &self,
        dir: &Path,
        image: &str,
        raw: &RawImage,
        left_out: &mut Vec<(String, String)>,
    ) -> Result<BuildOptions, ConfigError> {
        let mut o = BuildOptions::default();
        if let Some(inline) = &raw.dockerfile_inline {
            if let Some(file) = &raw.dockerfile {
                return Err(self.err(
                    self.pos(file),
                    format!("image `{image}` has both `dockerfile:` and `dockerfile_inline:`"),
                    Some("keep one: the file, or the Dockerfile's text".into()),
                ));
            }
            if inline.value.trim().is_empty() {
                return Err(self.err(
                    self.pos(inline),
                    format!("image `{image}`: `dockerfile_inline:` is empty"),
                    Some("write the Dockerfile's text, e.g. `dockerfile_inline: |` and `FROM alpine:3.20` on the next line".into()),
                ));
            }
            o.dockerfile_inline = Some(inline.value.clone());
        }
        for s in &raw.ssh {
            self.located(s, check_ssh(&s.value))?;
            o.ssh.push(s.value.clone());
        }
        for (name, value) in &raw.contexts {
            self.located(name, check_context_name(&name.value))?;
            if o.contexts.iter().any(|(n, _)| n == &name.value) {
                return Err(self.err(
                    self.pos(name),
                    format!("context `{}` is named twice", name.value),
                    None,
                ));
            }
            let c = named_context(dir, &value.value)
                .map_err(|p| self.err(self.pos(value), p.message, Some(p.help)))?;
            if c == NamedContext::Project(image.to_string()) {
                return Err(self.err(
                    self.pos(value),
                    format!("image `{image}` cannot be a build context of itself"),
                    Some("name another image of this project, or a directory or `docker-image://REF`".into()),
                ));
            }
            o.contexts.push((name.value.clone(), c));
        }
        o.no_cache = raw.no_cache.as_ref().is_some_and(|b| b.value);
        o.pull = raw.pull.as_ref().is_some_and(|b| b.value);
        if let Some(s) = &raw.shm_size {
            let text = self.text_value("shm_size", s)?;
            let text = self.expand(&Spanned::new(text, s.referenced, s.defined))?;
            self.located(s, check_shm_size(&text))?;
            o.shm_size = Some(text);
        }
        for u in &raw.ulimits {
            self.located(u, check_ulimit(&u.value))?;
            o.ulimits.push(u.value.clone());
        }
        if let Some(n) = &raw.network {
            self.located(n, check_network(&n.value))?;
            o.network = Some(n.value.clone());
        }
        for (host, ip) in &raw.add_hosts {
            self.located(host, check_host_name(&host.value))?;
            self.located(ip, check_host_ip(&ip.value))?;
            o.add_hosts.push((host.value.clone(), ip.value.clone()));
        }
        for (k, v) in &raw.labels {
            self.located(k, check_label_key(&k.value))?;
            if let Some(value) = self.label_value(&k.value, v, left_out)? {
                o.labels.push((k.value.clone(), value));
            }
        }
        for (k, v) in &raw.annotations {
            let (levels, key) = annotation_key(&k.value)
                .map_err(|p| self.err(self.pos(k), p.message, Some(p.help)))?;
            if let Some(value) = self.label_value(&k.value, v, left_out)? {
                o.annotations.push(Annotation { levels, key, value });
            }
        }
        if let Some(g) = &raw.git_metadata {
            self.git_metadata(g, &mut o)?;
        }
        Ok(o)
    }

    /// `target:IMAGE` contexts name images of this project, and no image reaches itself
    /// through them (bake refuses a loop).
    pub(in crate::config) fn check_project_contexts(
        &self,
        images: &[crate::config::Image],
    ) -> Result<(), ConfigError> {
        let names: Vec<&str> = images.iter().map(|i| i.name.as_str()).collect();
        for image in images {
            for (ctx, other) in image.options.project_contexts() {
                if !names.contains(&other) {
                    let near = names
                        .iter()
                        .min_by_key(|n| crate::catalog::edit_distance(other, n))
                        .filter(|n| crate::catalog::edit_distance(other, n) <= 2)
                        .map(|n| format!("did you mean `target:{n}`? "))
                        .unwrap_or_default();
                    return Err(self.err(
                        self.image_pos(image),
                        format!(
                            "image `{}`: build context `{ctx}` is `target:{other}`, but there is no image `{other}` in this file",
                            image.name
                        ),
                        Some(format!("{near}images: {}", names.join(", "))),
                    ));
                }
                let mut path = vec![image.name.as_str()];
                if let Some(cycle) = reaches(images, other, &image.name, &mut path) {
                    return Err(self.err(
                        self.image_pos(image),
                        format!(
                            "image `{}` is its own build context through {}",
                            image.name,
                            cycle.join(" → ")
                        ),
                        Some("bake cannot build a loop of `target:` contexts; break it".into()),
                    ));
                }
            }
        }
        Ok(())
    }

    fn image_pos(&self, image: &crate::config::Image) -> crate::config::Pos {
        crate::config::Pos {
            line: image.line,
            column: 3,
            len: image.name.chars().count() as u32,
        }
    }
}

/// Whether `from` reaches `goal` through `target:` contexts; the path when it does.
fn reaches<'a>(
    images: &'a [crate::config::Image],
    from: &'a str,
    goal: &str,
    path: &mut Vec<&'a str>,
) -> Option<Vec<String>> {
    if path.contains(&from) && from != goal {
        return None;
    }
    path.push(from);
    if from == goal {
        return Some(path.iter().map(|s| s.to_string()).collect());
    }
    let image = images.iter().find(|i| i.name == from)?;
    for (_, next) in image.options.project_contexts() {
        if let Some(p) = reaches(images, next, goal, path) {
            return Some(p);
        }
    }
    path.pop();
    None
}

/// `default`, `ID` or `ID=PATH[,PATH…]` (buildx `--ssh`).
pub fn check_ssh(spec: &str) -> Result<(), Problem> {
    let help = "write `default` (the SSH agent in $SSH_AUTH_SOCK) or `ID=PATH` (an agent socket or key files, comma-separated)";
    let (id, paths) = spec.split_once('=').unwrap_or((spec, ""));
    let id_ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !id_ok {
        return Err(problem(format!("ssh `{spec}`: `{id}` is not an id"), help));
    }
    if spec.contains('=') && paths.split(',').any(str::is_empty) {
        return Err(problem(format!("ssh `{spec}`: an empty path"), help));
    }
    Ok(())
}

/// A context's name: what a `FROM`, `COPY --from` or `RUN --mount from=` names.
pub fn check_context_name(name: &str) -> Result<(), Problem> {
    if name.is_empty()
        || name.contains('=')
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(problem(
            format!("`{name}` is not a build context name"),
            "a name is what FROM, COPY --from or RUN --mount from= write: a stage-like word or an image reference, without `=` or spaces",
        ));
    }
    Ok(())
}

/// What a context's value is. A directory must exist (relative to the project
/// directory), as buildx would need it.
pub fn named_context(dir: &Path, value: &str) -> Result<NamedContext, Problem> {
    let help = "a directory (relative to mpbuild.yaml), `docker-image://REF`, `target:IMAGE` (another image of this file), `oci-layout://PATH`, or an https or git URL";
    if let Some(r) = value.strip_prefix("docker-image://") {
        crate::registry::Reference::parse(r).map_err(|e| {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default().to_string();
            problem(format!("context `{value}`: {first}"), help)
        })?;
        return Ok(NamedContext::Image(r.to_string()));
    }
    if let Some(i) = value.strip_prefix("target:") {
        if !super::tags::is_image_name(i) {
            return Err(problem(
                format!("context `{value}`: `{i}` is not an image name"),
                help,
            ));
        }
        return Ok(NamedContext::Project(i.to_string()));
    }
    let url = [
        "https://",
        "http://",
        "git://",
        "git@",
        "ssh://",
        "oci-layout://",
    ];
    if url.iter().any(|p| value.starts_with(p)) {
        return Ok(NamedContext::Url(value.to_string()));
    }
    if value.is_empty() || value.starts_with('-') {
        return Err(problem(
            format!("context `{value}` is not a directory buildx can take"),
            "write a relative path such as `./-x` for a directory of that name",
        ));
    }
    if let Some((scheme, _)) = value.split_once("://") {
        return Err(problem(
            format!("context `{value}`: buildx takes no `{scheme}://` context"),
            help,
        ));
    }
    if !dir.join(value).is_dir() {
        return Err(problem(
            format!(
                "context `{value}` is not a directory ({})",
                dir.join(value).display()
            ),
            help,
        ));
    }
    Ok(NamedContext::Dir(value.to_string()))
}

/// Docker's sizes: a number and a unit (`b`, `k`, `m`, `g`, `t`; `kb`, `MiB` too).
pub fn check_shm_size(text: &str) -> Result<(), Problem> {
    let t = text.trim().to_ascii_lowercase();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let unit = unit.trim_start();
    let number_ok = !number.is_empty() && number.parse::<f64>().is_ok_and(|n| n > 0.0);
    let units = [
        "", "b", "k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib", "t", "tb", "tib",
    ];
    if number_ok && units.contains(&unit) {
        Ok(())
    } else {
        Err(problem(
            format!("shm_size `{text}` is not a size"),
            "write a number and a unit, e.g. `2g`, `512m` (bytes without a unit)",
        ))
    }
}

/// The ulimits Docker knows.
const ULIMITS: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// `NAME=SOFT[:HARD]`, as `docker run --ulimit` takes it.
pub fn check_ulimit(spec: &str) -> Result<(), Problem> {
    let help = format!(
        "write NAME=SOFT[:HARD], e.g. nofile=1024:2048; names: {}",
        ULIMITS.join(", ")
    );
    let Some((name, limits)) = spec.split_once('=') else {
        return Err(problem(
            format!("ulimit `{spec}` is not NAME=SOFT[:HARD]"),
            help,
        ));
    };
    if !ULIMITS.contains(&name) {
        return Err(problem(
            format!("ulimit `{spec}`: unknown limit `{name}`"),
            help,
        ));
    }
    let (soft, hard) = limits.split_once(':').unwrap_or((limits, limits));
    let soft_n = soft.parse::<i64>();
    let hard_n = hard.parse::<i64>();
    match (soft_n, hard_n) {
        (Ok(s), Ok(h)) if s >= -1 && h >= -1 && (h == -1 || (s != -1 && s <= h)) => Ok(()),
        (Ok(_), Ok(_)) => Err(problem(
            format!("ulimit `{spec}`: the soft limit is above the hard one"),
            help,
        )),
        _ => Err(problem(
            format!("ulimit `{spec}`: `{limits}` is not a number or two"),
            help,
        )),
    }
}

/// `default`, `none` or `host`.
pub fn check_network(mode: &str) -> Result<(), Problem> {
    if matches!(mode, "default" | "none" | "host") {
        Ok(())
    } else {
        Err(problem(
            format!("network `{mode}` is not one buildx takes"),
            "write `default`, `none` (no network for RUN steps) or `host` (the builder's network; the builder must allow network.host)",
        ))
    }
}

/// A host name for `/etc/hosts`.
pub fn check_host_name(host: &str) -> Result<(), Problem> {
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(problem(
            format!("`{host}` is not a host name"),
            "letters, digits, `.`, `-` and `_`",
        ))
    }
}

/// An IP address (IPv6 with or without brackets) or `host-gateway`.
pub fn check_host_ip(ip: &str) -> Result<(), Problem> {
    let bare = ip
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(ip);
    if ip == "host-gateway" || bare.parse::<std::net::IpAddr>().is_ok() {
        Ok(())
    } else {
        Err(problem(
            format!("`{ip}` is not an IP address"),
            "write an IPv4 or IPv6 address, or `host-gateway` (the builder's host)",
        ))
    }
}

/// A label key: `--label KEY=VALUE` splits at the first `=`.
pub fn check_label_key(key: &str) -> Result<(), Problem> {
    if key.is_empty()
        || key.contains('=')
        || key.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        Err(problem(
            format!("`{key}` is not a label key"),
            "a key such as org.opencontainers.image.title: no `=`, no spaces",
        ))
    } else {
        Ok(())
    }
}

/// `KEY` (each platform's manifest) or `LEVEL[,LEVEL]:KEY`.
pub fn annotation_key(text: &str) -> Result<(Vec<Level>, String), Problem> {
    let words: Vec<&str> = Level::ALL.iter().map(|(w, _)| *w).collect();
    let help = format!(
        "write KEY (on each platform's manifest) or LEVEL:KEY, LEVEL one or more of {} joined by `,` (e.g. `index,manifest:org.opencontainers.image.description`)",
        words.join(", ")
    );
    // A key may hold `:` itself (`com.example:x` is unusual but valid); a prefix
    // counts as levels only when every word of it is one.
    let (levels, key) = match text.split_once(':') {
        Some((prefix, key)) if prefix.split(',').all(|w| words.contains(&w)) => {
            let mut levels = Vec::new();
            for w in prefix.split(',') {
                let l = Level::ALL.iter().find(|(n, _)| *n == w).map(|(_, l)| *l);
                if let Some(l) = l.filter(|l| !levels.contains(l)) {
                    levels.push(l);
                }
            }
            (levels, key)
        }
        Some((prefix, _)) if prefix.contains('[') => {
            return Err(problem(
                format!("annotation `{text}`: a platform-qualified level is not supported"),
                help,
            ));
        }
        _ => (vec![Level::Manifest], text),
    };
    check_label_key(key)
        .map_err(|p| problem(format!("annotation `{text}`: {}", p.message), help.clone()))?;
    Ok((levels, key.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_buildx_takes() {
        assert!(check_ssh("default").is_ok());
        assert!(check_ssh("github=/run/ssh.sock,/home/me/.ssh/id").is_ok());
        assert!(check_ssh("bad id").is_err());
        assert!(check_ssh("x=").is_err());
        for ok in ["2g", "512m", "1024", "1.5GiB", "64 MB"] {
            assert!(check_shm_size(ok).is_ok(), "{ok}");
        }
        for bad in ["", "g", "2x", "-1g", "0"] {
            assert!(check_shm_size(bad).is_err(), "{bad}");
        }
        assert!(check_ulimit("nofile=1024:2048").is_ok());
        assert!(check_ulimit("nproc=-1").is_ok());
        assert!(check_ulimit("nofile=2048:1024").is_err());
        assert!(check_ulimit("files=1").is_err());
        assert!(check_ulimit("nofile").is_err());
        assert!(check_network("none").is_ok());
        assert!(check_network("bridge").is_err());
        assert!(check_host_ip("10.0.0.5").is_ok());
        assert!(check_host_ip("[::1]").is_ok());
        assert!(check_host_ip("host-gateway").is_ok());
        assert!(check_host_ip("10.0.0").is_err());
        assert!(check_label_key("org.opencontainers.image.title").is_ok());
        assert!(check_label_key("a=b").is_err());
    }

    #[test]
    fn annotation_levels() {
        assert_eq!(
            annotation_key("org.example.x").unwrap(),
            (vec![Level::Manifest], "org.example.x".to_string())
        );
        assert_eq!(
            annotation_key("index,manifest:a.b").unwrap(),
            (vec![Level::Index, Level::Manifest], "a.b".to_string())
        );
        assert_eq!(
            annotation_key("com.example:x").unwrap(),
            (vec![Level::Manifest], "com.example:x".to_string())
        );
        assert!(annotation_key("manifest[linux/amd64]:a").is_err());
    }

    #[test]
    fn contexts() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("shared")).unwrap();
        assert_eq!(
            named_context(d.path(), "docker-image://alpine:3.20").unwrap(),
            NamedContext::Image("alpine:3.20".into())
        );
        assert_eq!(
            named_context(d.path(), "target:tools").unwrap(),
            NamedContext::Project("tools".into())
        );
        assert_eq!(
            named_context(d.path(), "shared").unwrap(),
            NamedContext::Dir("shared".into())
        );
        assert!(named_context(d.path(), "missing").is_err());
        assert!(named_context(d.path(), "-x").is_err());
        assert!(named_context(d.path(), "docker-image://UPPER").is_err());
        assert!(named_context(d.path(), "ftp://x").is_err());
        assert!(matches!(
            named_context(d.path(), "https://github.com/a/b.git").unwrap(),
            NamedContext::Url(_)
        ));
    }
}
