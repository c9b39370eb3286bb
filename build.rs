//! Build-time facts for `mpbuild --version`: the git commit (when built from a git
//! checkout; "unknown" otherwise, e.g. from the crate) and the review dates of the
//! embedded catalog, which it also turns into JSON for fast parsing at startup. `git`
//! is run if it is there.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MPBUILD_GIT_COMMIT={commit}");
    // Built again when HEAD moves: HEAD, the branch it names, and packed refs.
    let mut watch = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(git(&["rev-parse", "--git-path", &branch]));
    }
    watch.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    for path in watch.into_iter().flatten() {
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }

    // The catalog's review dates: the oldest and newest `reviewed:` of its entries.
    let catalog = std::fs::read_to_string("src/catalog/services.yaml").expect("the catalog");
    let mut dates: Vec<&str> = catalog
        .lines()
        .filter_map(|l| l.trim().strip_prefix("reviewed:"))
        .map(|d| d.trim().trim_matches(['"', '\'']))
        .collect();
    dates.sort_unstable();
    let reviewed = match (dates.first(), dates.last()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "not stated".into(),
    };
    println!("cargo:rustc-env=MPBUILD_CATALOG_REVIEWED={reviewed}");

    // The catalog as JSON, which the binary embeds and parses at startup (YAML stays
    // the source; a test checks both parse to the same entries).
    let value: serde_json::Value =
        serde_saphyr::from_str(&catalog).expect("src/catalog/services.yaml parses");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("services.json");
    std::fs::write(&out, serde_json::to_vec(&value).expect("JSON")).expect("write services.json");
    println!("cargo:rerun-if-changed=src/catalog/services.yaml");
    println!("cargo:rerun-if-changed=build.rs");
}
