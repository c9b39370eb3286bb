//! `cache:` of an image: `registry` (a ref per platform in the image's repository),
//! `gha` (a GitHub Actions cache scope per image and platform), `local` (a directory per
//! image and platform in the project's work directory), `none`, or `{from: […], to: …}`:
//! buildx `--cache-from`/`--cache-to` values passed as written. Each explicit value must
//! be one buildx can take: `KEY=VALUE` pairs (`type=registry,ref=…`) or a bare ref,
//! without spaces or control characters.

use serde_saphyr::Spanned;

use crate::config::raw::RawCacheSpec;
use crate::config::{Cache, Checker, ConfigError};

/// Why an explicit cache value cannot be passed to buildx, if it cannot.
pub fn check_spec(spec: &str) -> Result<(), String> {
    if spec.trim().is_empty() {
        return Err("an empty cache value".into());
    }
    if let Some(c) = spec.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "cache value `{}` holds {:?}: buildx reads it as one argument of KEY=VALUE pairs",
            spec.escape_debug(),
            c
        ));
    }
    if spec.starts_with('-') {
        return Err(format!(
            "cache value `{spec}` starts with `-`, as a flag would"
        ));
    }
    if spec.contains('=') {
        for part in spec.split(',') {
            if !part.contains('=') {
                return Err(format!("cache value `{spec}`: `{part}` is not KEY=VALUE"));
            }
        }
    }
    Ok(())
}

impl Checker<'_> {
    pub(in crate::config) fn cache(
        &self,
        raw: Spanned<RawCacheSpec>,
    ) -> Result<Cache, ConfigError> {
        let pos = self.pos(&raw);
        match raw.value {
            RawCacheSpec::Kind(k) => match k.as_str() {
                "none" => Ok(Cache::None),
                "registry" => Ok(Cache::Registry),
                "gha" => Ok(Cache::Gha),
                "local" => Ok(Cache::Local),
                other => Err(self.err(
                    pos,
                    format!("unknown cache `{other}`"),
                    Some("valid: `registry` (REPOSITORY:buildcache-PLATFORM), `gha` (GitHub Actions), `local` (a directory in the work dir), `none`, or `{from: [SPEC…], to: SPEC}` passed to buildx".into()),
                )),
            },
            RawCacheSpec::Explicit(c) => {
                if c.from.is_empty() && c.to.is_none() {
                    return Err(self.err(
                        pos,
                        "`cache:` has neither `from:` nor `to:`",
                        Some("e.g. `cache: {from: [\"type=registry,ref=REPO:cache\"], to: \"type=registry,ref=REPO:cache,mode=max\"}`".into()),
                    ));
                }
                let help = Some(
                    "write buildx's value, e.g. `type=registry,ref=REPO:cache` or `type=local,src=DIR`".to_string(),
                );
                for s in c.from.iter().chain(c.to.as_ref()) {
                    check_spec(&s.value).map_err(|m| self.err(self.pos(s), m, help.clone()))?;
                }
                Ok(Cache::Explicit {
                    from: c.from.into_iter().map(|s| s.value).collect(),
                    to: c.to.map(|s| s.value),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_spec;

    #[test]
    fn explicit_values() {
        assert!(check_spec("type=registry,ref=r.example/app:cache,mode=max").is_ok());
        assert!(check_spec("r.example/app:cache").is_ok());
        assert!(check_spec("").is_err());
        assert!(check_spec("type=local,src=a b").is_err());
        assert!(check_spec("--push").is_err());
        assert!(check_spec("type=gha,scope").is_err());
    }
}
