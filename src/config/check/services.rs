//! `services:`: services the project adds to the built-in catalog or overrides in it.
//! They are read first, so that targets and mirrors can name them. An entry has the
//! shape of the built-in catalog's (`src/catalog/services.yaml`); one that names a
//! built-in service (or one of its aliases) overrides only the fields it gives.

use crate::catalog::{Catalog, Origin};
use crate::config::raw::RawServiceEntry;
use crate::config::{Checker, ConfigError};

impl Checker<'_> {
    /// The built-in catalog with the project's own services put in.
    pub(in crate::config) fn catalog(
        &self,
        services: Vec<RawServiceEntry>,
    ) -> Result<Catalog, ConfigError> {
        let mut catalog = Catalog::builtin();
        for RawServiceEntry { key, entry } in services {
            let pos = match &key {
                Some(k) => self.pos(k),
                None => self.pos(&entry),
            };
            let name = match (&key, &entry.value.name) {
                (Some(k), Some(n)) if !k.value.eq_ignore_ascii_case(n) => {
                    return Err(self.err(
                        pos,
                        format!("service `{}` says `name: {n}`", k.value),
                        Some("drop `name:` (the key names the entry) or make them agree".into()),
                    ));
                }
                (Some(k), _) => k.value.clone(),
                (None, Some(n)) => n.clone(),
                (None, None) => {
                    return Err(self.err(
                        pos,
                        "a service in the `services:` list has no `name:`",
                        Some("write `- name: my-service` as in `mpbuild targets`'s entries".into()),
                    ));
                }
            };
            let raw = match Catalog::builtin_entry(&name) {
                Some(base) => entry.value.over(base),
                None => entry.value,
            };
            let service = raw
                .into_service(&name, Origin::Project { line: pos.line })
                .map_err(|e| {
                    self.err(
                        pos,
                        format!("service `{name}`: {e}"),
                        Some("`mpbuild targets` shows the built-in entries for reference".into()),
                    )
                })?;
            catalog.insert(service);
        }
        Ok(catalog)
    }
}
