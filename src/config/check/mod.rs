//! The checker's parts, one file per kind of thing `mpbuild.yaml` declares, each adding an
//! `impl Checker` block for its part. The top, `Checker::project` in `config/mod.rs`,
//! calls them in the order the checks have always run (services, images and their
//! targets, tag collisions, mirrors, builder). What several parts share — `${VAR}`
//! expansion with located errors, platform lists without duplicates — is here.

mod build_options;
mod builder;
mod cache;
mod from_file;
mod git;
mod image;
mod mirror;
mod repositories;
mod services;
mod sign;
mod smoke;
mod tags;
mod target;

use serde_saphyr::Spanned;

use crate::config::{Checker, ConfigError, Pos, Unset, expand};
use crate::platform::Platform;

impl Checker<'_> {
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
}

fn push_unique(list: &mut Vec<Platform>, p: Platform) {
    if !list.iter().any(|q| q.matches(&p)) {
        list.push(p);
    }
}
