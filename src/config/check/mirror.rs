//! `mirrors:`: images copied between registries. Source and destination are image
//! references; `targets:` and `platforms:` say which platforms the copy must hold and are
//! checked as `mpbuild verify --target/--platform` would check them.

use serde_saphyr::Spanned;

use crate::catalog::Catalog;
use crate::config::raw::RawMirror;
use crate::config::{Checker, ConfigError, Mirror};

impl Checker<'_> {
    pub(in crate::config) fn mirror(
        &self,
        catalog: &Catalog,
        raw: Spanned<RawMirror>,
    ) -> Result<Mirror, ConfigError> {
        let pos = self.pos(&raw);
        let m = raw.value;
        let reference = |s: &Spanned<String>| -> Result<String, ConfigError> {
            let v = self.expand(s)?;
            crate::registry::Reference::parse(&self.for_grammar(&v))
                .map_err(|e| self.err(self.pos(s), e.message(), e.help()))?;
            Ok(v)
        };
        let source = reference(&m.source)?;
        let destination = reference(&m.destination)?;
        let targets: Vec<String> = m.targets.iter().map(|t| t.value.clone()).collect();
        let platforms: Vec<String> = m.platforms.iter().map(|t| t.value.clone()).collect();
        if let Err(e) =
            crate::catalog::specs::resolve(catalog, &targets, &platforms, &self.env.host)
        {
            let at = m
                .targets
                .first()
                .or(m.platforms.first())
                .map(|s| self.pos(s))
                .unwrap_or(pos);
            let as_file = |t: &str| {
                t.replace("--target ", "target ")
                    .replace("--platform ", "platform ")
            };
            return Err(self.err(at, as_file(&e.message), e.help.as_deref().map(as_file)));
        }
        if targets.is_empty() && platforms.is_empty() && !m.all {
            return Err(self.err(
                pos,
                "a mirror needs `targets:`, `platforms:` or `all: true`",
                Some("say which platforms the copy must hold, e.g. `targets: [apprunner]`".into()),
            ));
        }
        Ok(Mirror {
            source,
            destination,
            targets,
            platforms,
            all: m.all,
            line: pos.line,
        })
    }
}
