//! The build cache's buildx flags. A platform's cache is its own: `cache: registry`
//! writes `REPOSITORY:buildcache-linux-arm64` when one platform is built (a leg on a
//! runner of its own), so legs no longer overwrite each other, and every build reads
//! the refs of all the platforms it builds. One buildx invocation can export only the
//! cache of the whole build — every `--cache-to` gets all its platforms — so a build of
//! several platforms at once writes one combined ref (`REPOSITORY:buildcache`, the name
//! earlier versions wrote), which every build reads too. `gha` does the same with
//! scopes (`IMAGE-linux-arm64`, `IMAGE`), `local` with directories in the project's
//! work directory; an explicit `{from, to}` is passed as written. Every export carries
//! `ignore-error=true` (unless an explicit value says otherwise): a cache that cannot be
//! written is a warning, never a failed push.

use std::path::{Path, PathBuf};

use crate::config::Cache;
use crate::platform::Platform;

/// `linux-arm64`, `linux-arm-v7`: a platform in a tag, scope or directory name.
pub fn slug(p: &Platform) -> String {
    p.to_string().replace('/', "-")
}

/// The registry cache ref of one platform, or the combined one.
pub fn registry_ref(repository: &str, platform: Option<&Platform>) -> String {
    match platform {
        Some(p) => format!("{repository}:buildcache-{}", slug(p)),
        None => format!("{repository}:buildcache"),
    }
}

/// Where `cache: local` keeps an image's cache for `platform` (None: several at once).
pub fn local_dir(root: &Path, platform: Option<&Platform>) -> PathBuf {
    root.join(platform.map_or_else(|| "all".to_string(), slug))
}

/// The export's own platform: the only one built, or none for several.
fn written_for(platforms: &[Platform]) -> Option<&Platform> {
    match platforms {
        [one] => Some(one),
        _ => None,
    }
}

/// `--cache-from`/`--cache-to` for an image built for `platforms`. `local_root` is the
/// image's directory for `cache: local`.
pub fn flags(
    cache: &Cache,
    repository: &str,
    image: &str,
    platforms: &[Platform],
    local_root: &Path,
) -> Vec<String> {
    let mine = written_for(platforms);
    // Every platform built, then the combined one.
    let reads: Vec<Option<&Platform>> = platforms.iter().map(Some).chain([None]).collect();
    let (from, to): (Vec<String>, Option<String>) = match cache {
        Cache::None => return Vec::new(),
        Cache::Registry => (
            reads
                .iter()
                .map(|p| format!("type=registry,ref={}", registry_ref(repository, *p)))
                .collect(),
            Some(format!(
                "type=registry,ref={},mode=max,ignore-error=true",
                registry_ref(repository, mine)
            )),
        ),
        Cache::Gha => {
            let scope = |p: Option<&Platform>| match p {
                Some(p) => format!("{image}-{}", slug(p)),
                None => image.to_string(),
            };
            (
                reads
                    .iter()
                    .map(|p| format!("type=gha,scope={}", scope(*p)))
                    .collect(),
                Some(format!(
                    "type=gha,scope={},mode=max,ignore-error=true",
                    scope(mine)
                )),
            )
        }
        Cache::Local => (
            reads
                .iter()
                .map(|p| format!("type=local,src={}", local_dir(local_root, *p).display()))
                .collect(),
            Some(format!(
                "type=local,dest={},mode=max,ignore-error=true",
                local_dir(local_root, mine).display()
            )),
        ),
        Cache::Explicit { from, to } => (
            from.clone(),
            to.as_ref().map(|t| {
                if t.split(',').any(|kv| kv.starts_with("ignore-error=")) {
                    t.clone()
                } else {
                    format!("{t},ignore-error=true")
                }
            }),
        ),
    };
    let mut argv = Vec::new();
    for f in from {
        argv.extend(["--cache-from".to_string(), f]);
    }
    if let Some(t) = to {
        argv.extend(["--cache-to".to_string(), t]);
    }
    argv
}

/// The directory a `cache: local` export of `platforms` writes, which must exist and be
/// checked before buildx runs.
pub fn local_export_dir(
    cache: &Cache,
    platforms: &[Platform],
    local_root: &Path,
) -> Option<PathBuf> {
    (*cache == Cache::Local).then(|| local_dir(local_root, written_for(platforms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    fn joined(cache: &Cache, platforms: &[Platform]) -> String {
        flags(
            cache,
            "r.example/app",
            "app",
            platforms,
            Path::new("/W/buildcache/app"),
        )
        .join(" ")
    }

    #[test]
    fn a_leg_writes_its_own_platform_and_reads_every_one() {
        let arm = [p("linux/arm64")];
        assert_eq!(
            joined(&Cache::Registry, &arm),
            "--cache-from type=registry,ref=r.example/app:buildcache-linux-arm64 \
             --cache-from type=registry,ref=r.example/app:buildcache \
             --cache-to type=registry,ref=r.example/app:buildcache-linux-arm64,mode=max,ignore-error=true"
        );
        let both = [p("linux/amd64"), p("linux/arm/v7")];
        assert_eq!(
            joined(&Cache::Registry, &both),
            "--cache-from type=registry,ref=r.example/app:buildcache-linux-amd64 \
             --cache-from type=registry,ref=r.example/app:buildcache-linux-arm-v7 \
             --cache-from type=registry,ref=r.example/app:buildcache \
             --cache-to type=registry,ref=r.example/app:buildcache,mode=max,ignore-error=true"
        );
        assert_eq!(
            joined(&Cache::Gha, &arm),
            "--cache-from type=gha,scope=app-linux-arm64 --cache-from type=gha,scope=app \
             --cache-to type=gha,scope=app-linux-arm64,mode=max,ignore-error=true"
        );
        assert_eq!(
            joined(&Cache::Local, &arm),
            "--cache-from type=local,src=/W/buildcache/app/linux-arm64 \
             --cache-from type=local,src=/W/buildcache/app/all \
             --cache-to type=local,dest=/W/buildcache/app/linux-arm64,mode=max,ignore-error=true"
        );
        assert_eq!(
            local_export_dir(&Cache::Local, &both, Path::new("/W/c")),
            Some(PathBuf::from("/W/c/all"))
        );
        assert_eq!(joined(&Cache::None, &arm), "");
    }

    #[test]
    fn explicit_values_pass_as_written() {
        let c = Cache::Explicit {
            from: vec!["type=registry,ref=r/x:main".into(), "r/x:pr-1".into()],
            to: Some("type=registry,ref=r/x:pr-1,mode=max".into()),
        };
        assert_eq!(
            joined(&c, &[p("linux/amd64")]),
            "--cache-from type=registry,ref=r/x:main --cache-from r/x:pr-1 \
             --cache-to type=registry,ref=r/x:pr-1,mode=max,ignore-error=true"
        );
        // The user's own choice stays.
        let c = Cache::Explicit {
            from: Vec::new(),
            to: Some("type=local,dest=d,ignore-error=false".into()),
        };
        assert_eq!(
            joined(&c, &[p("linux/amd64")]),
            "--cache-to type=local,dest=d,ignore-error=false"
        );
    }
}
