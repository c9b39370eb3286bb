//! `push --dry-run`: the plan as the steps a push would take, touching nothing.

use crate::buildx::Builder;
use crate::plan::{ImagePlan, Plan};
use crate::registry::Repository;

/// What `push --dry-run` prints: the builder, the exact buildx command(s), then each
/// registry step that would follow (upload, verify, tag), one comment line each.
pub fn render(plan: &Plan, builder: Option<&Builder>) -> String {
    let mut out = String::new();
    match builder {
        Some(b) => out.push_str(&format!(
            "# builder `{}` (driver {}): {}\n",
            b.name,
            b.driver,
            if b.can_push_by_digest() {
                "push by digest"
            } else {
                "OCI layout, uploaded by mpbuild"
            }
        )),
        None => {
            out.push_str("# docker/buildx not reachable: assuming the default `docker` driver\n")
        }
    }
    if let Some(b) = &plan.bake {
        out.push_str(&format!("# write {}\n", b.file_path.display()));
        out.push_str(&format!("{}\n", crate::shell::join(&b.command)));
    } else {
        for image in &plan.images {
            out.push_str(&format!("{}\n", crate::shell::join(&image.command)));
        }
    }
    for image in &plan.images {
        if let Some(dir) = &image.oci_dir {
            out.push_str(&format!(
                "# upload {} to {} (blobs, manifests, index by digest)\n",
                dir.display(),
                image.repository.as_written()
            ));
        }
        out.push_str(&format!(
            "# verify {}@<digest>: {}\n",
            image.repository.as_written(),
            crate::platform::list(&image.platforms)
        ));
        if let Some(s) = &image.smoke {
            out.push_str(&format!(
                "# smoke {}@<digest> on {}: {} (timeout {}s)\n",
                image.repository.as_written(),
                crate::platform::list(&s.platforms),
                crate::shell::join(&s.run),
                s.timeout_s
            ));
        }
        if let Some(what) = super::sign::planned(image) {
            out.push_str(&format!(
                "# sign {}: {what}\n",
                image.repository.as_written()
            ));
        }
        copies(image, &mut out);
        for repo in std::iter::once(&image.repository).chain(&image.also) {
            tags(image, repo, &mut out);
        }
    }
    out
}

/// `repositories:`: the copy to each other repository and its verification there, all
/// before any tag moves in any of them.
fn copies(image: &ImagePlan, out: &mut String) {
    let first = image.repository.as_written();
    for other in &image.also {
        let how = if other.registry == image.repository.registry {
            "blobs mounted within the registry"
        } else {
            "blobs streamed across registries, digest-checked"
        };
        out.push_str(&format!(
            "# copy {first}@<digest> to {} ({how}; its referrers and signatures with it)\n",
            other.as_written()
        ));
        out.push_str(&format!(
            "# verify {}@<digest>: {}\n",
            other.as_written(),
            crate::platform::list(&image.platforms)
        ));
    }
    if !image.also.is_empty() {
        out.push_str(&format!(
            "# tags move in {} repositories only once every one passed\n",
            image.also.len() + 1
        ));
    }
}

/// The tags that would move in `repo`: the index tags, then each single-manifest tag.
fn tags(image: &ImagePlan, repo: &Repository, out: &mut String) {
    for t in &image.tags {
        out.push_str(&format!(
            "# tag {}:{t} → the verified index\n",
            repo.as_written()
        ));
    }
    for s in &image.single_tags {
        out.push_str(&format!(
            "# tag {}:{} → the {} image manifest ({})\n",
            repo.as_written(),
            s.tag,
            s.platform,
            s.service
        ));
    }
}

/// Which images `push` would build and which it would reuse, and why.
pub fn render_unchanged(split: &super::unchanged::Split) -> String {
    let mut out = String::new();
    for c in &split.reused {
        let Some(r) = super::unchanged::Unchanged::of(c) else {
            continue;
        };
        out.push_str(&format!(
            "# {}: unchanged since {}:{} ({}): no build, its tags would move there\n",
            r.image,
            c.image.repository.as_written(),
            r.since,
            crate::verify::report::short(&r.digest)
        ));
    }
    for b in &split.built {
        out.push_str(&format!("# {}: would be built: {}\n", b.image, b.reason));
    }
    out
}
