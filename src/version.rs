//! What `mpbuild --version` and `mpbuild version` say: the version, the git commit the
//! binary was built from, and how old the embedded catalog's facts are (services change
//! what they run; users need to know when the catalog was last checked).

use crate::catalog::Catalog;

/// The package version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git commit the binary was built from (`git rev-parse --short HEAD` at build
/// time), or "unknown".
pub const COMMIT: &str = env!("MPBUILD_GIT_COMMIT");

/// `--version`: "0.1.0 (commit abc1234, catalog reviewed 2026-11-28)".
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MPBUILD_GIT_COMMIT"),
    ", catalog reviewed ",
    env!("MPBUILD_CATALOG_REVIEWED"),
    ")"
);

/// The oldest and newest `reviewed:` dates of a catalog's entries.
pub fn review_dates(catalog: &Catalog) -> Option<(String, String)> {
    let mut dates: Vec<&str> = catalog
        .services()
        .iter()
        .filter_map(|s| s.reviewed.as_deref())
        .collect();
    dates.sort_unstable();
    Some((dates.first()?.to_string(), dates.last()?.to_string()))
}
