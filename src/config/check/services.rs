//! `services:`: services the project adds to the built-in catalog or overrides in it.
//! They are read first, so that targets and mirrors can name them.

use serde_saphyr::Spanned;

use crate::catalog::{Catalog, Origin, RawService};
use crate::config::{Checker, ConfigError};

impl Checker<'_> {
    /// The built-in catalog with the project's own services put in.
    pub(in crate::config) fn catalog(
        &self,
        services: Vec<(Spanned<String>, Spanned<RawService>)>,
    ) -> Result<Catalog, ConfigError> {
        let mut catalog = Catalog::builtin();
        for (name, entry) in services {
            let pos = self.pos(&name);
            let service = entry
                .value
                .into_service(&name.value, Origin::Project { line: pos.line })
                .map_err(|e| {
                    self.err(
                        pos,
                        format!("service `{}`: {e}", name.value),
                        Some("`mpbuild targets` shows the built-in entries for reference".into()),
                    )
                })?;
            catalog.insert(service);
        }
        Ok(catalog)
    }
}
