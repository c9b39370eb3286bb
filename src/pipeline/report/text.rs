//! The push report as a person reads it: the mirrors, the verdicts, the smoke runs,
//! then one block per image (digest, platforms, tags, copies, signing, emulation, cache,
//! referrers, time) — or, for a leg, its digests and records.

use super::{Kind, PushReport, Stage};
use crate::pipeline::mirror::Done;
use crate::pipeline::smoke::SmokeResult;
use crate::verify::report;

impl PushReport {
    /// The report a person reads: the mirrors, the verdicts, then (when the tags moved)
    /// one block per image. Empty when the run stopped before anything was checked.
    pub fn render_text(&self) -> String {
        let mut out = render_mirrors(&self.mirrors);
        if !self.verdicts.is_empty() {
            out.push_str(&report::render_text(&self.verdicts));
        }
        if !self.smoke.is_empty() {
            out.push('\n');
            out.push_str(&render_smoke(&self.smoke));
        }
        if self
            .failure
            .as_ref()
            .is_some_and(|f| f.stage != Stage::Promote)
        {
            return out;
        }
        out.push('\n');
        for s in &self.skipped {
            out.push_str(&format!("skipped {}: {}\n", s.image, s.reason));
        }
        if self.kind == Kind::Leg {
            for image in &self.images {
                out.push_str(&format!(
                    "leg {} → {}@{}: no tag moved\n",
                    image.name,
                    image.repository.as_written(),
                    image.digest
                ));
                for p in &image.platforms {
                    out.push_str(&format!("  {}  {}\n", p.platform, p.digest));
                }
                out.push_str(&render_timing(&image.timing));
                out.push_str(&render_cache(image.cache.as_ref()));
            }
            for r in &self.records {
                out.push_str(&format!("record {r}\n"));
            }
            return out;
        }
        let verb = if self.kind == Kind::Merge {
            "merged"
        } else {
            "pushed"
        };
        for image in &self.images {
            out.push_str(&format!(
                "{verb} {} → {}@{}\n",
                image.name,
                image.repository.as_written(),
                image.digest
            ));
            if let Some(since) = &image.unchanged_since {
                out.push_str(&format!(
                    "  unchanged  since {since}: its inputs did not change; tags moved without a build\n"
                ));
            }
            let platforms: Vec<String> = image
                .platforms
                .iter()
                .map(|p| p.platform.to_string())
                .collect();
            out.push_str(&format!("  platforms  {}\n", platforms.join(", ")));
            let moved: Vec<String> = image
                .tags
                .iter()
                .filter(|t| image.index_tags.contains(&t.tag))
                .map(|t| {
                    if t.unchanged {
                        format!("{} (already there)", t.tag)
                    } else {
                        t.tag.clone()
                    }
                })
                .collect();
            if !moved.is_empty() {
                out.push_str(&format!("  tags       {}\n", moved.join(", ")));
            }
            for k in &image.copies {
                out.push_str(&render_copy(k));
            }
            for (tag, platform, service) in &image.singles {
                out.push_str(&format!(
                    "  single     {tag} → the {platform} manifest ({service})\n"
                ));
            }
            out.push_str(&crate::pipeline::sign::render_line(
                &self.signed,
                &image.name,
            ));
            out.push_str(&render_timing(&image.timing));
            out.push_str(&render_cache(image.cache.as_ref()));
            out.push_str(&render_referrers(&image.referrers));
            let t = &image.times;
            let parts: Vec<String> = [
                t.build.map(|b| format!("build {b:.1}s")),
                t.upload.map(|u| format!("upload {u:.1}s")),
                Some(format!("verify {:.1}s", t.verify)),
                t.smoke.map(|s| format!("smoke {s:.1}s")),
                t.attest.map(|a| format!("attest {a:.1}s")),
                Some(format!("promote {:.1}s", t.promote)),
            ]
            .into_iter()
            .flatten()
            .collect();
            out.push_str(&format!("  time       {}\n", parts.join(" · ")));
        }
        out
    }
}

/// The line of a copy in another repository: where, the blobs, the tags moved there.
fn render_copy(k: &crate::pipeline::copies::CopyReport) -> String {
    let tags: Vec<String> = k
        .tags
        .iter()
        .map(|t| {
            if t.unchanged {
                format!("{} (already there)", t.tag)
            } else {
                t.tag.clone()
            }
        })
        .collect();
    format!(
        "  also       {}@{}: {} blob(s) copied, {} mounted, {} already there; tags {}\n",
        k.repository.as_written(),
        k.digest,
        k.blobs_copied,
        k.blobs_mounted,
        k.blobs_skipped,
        if tags.is_empty() {
            "none".to_string()
        } else {
            tags.join(", ")
        }
    )
}

/// The `cache` line: what was not read (a platform's first build finds nothing), and
/// whether the cache was written — a failure is a warning, the push went on.
fn render_cache(cache: Option<&crate::buildx::cache::CacheOutcome>) -> String {
    let Some(c) = cache else {
        return String::new();
    };
    let mut parts = Vec::new();
    match (&c.write_error, c.written) {
        (Some(e), _) => parts.push(format!("warning: not written ({e}); the push went on")),
        (None, true) => parts.push("written".to_string()),
        (None, false) => {}
    }
    if !c.not_read.is_empty() {
        parts.push(format!("not read: {}", c.not_read.join(", ")));
    }
    if parts.is_empty() {
        return String::new();
    }
    format!("  cache      {}\n", parts.join(" · "))
}

/// The `referrers` lines: what was pushed as referrers of what, and how the registry
/// lists them.
fn render_referrers(published: &[crate::pipeline::attest::Published]) -> String {
    let Some(first) = published.first() else {
        return String::new();
    };
    let of = |kind: &str| -> Vec<String> {
        published
            .iter()
            .filter(|p| p.kind == kind)
            .map(|p| p.of.clone())
            .collect()
    };
    let mut out = String::new();
    let provenance = of("provenance");
    if !provenance.is_empty() {
        out.push_str(&format!(
            "  referrers  provenance of {}\n",
            provenance.join(", ")
        ));
    }
    let head = if out.is_empty() {
        "  referrers  "
    } else {
        "             "
    };
    if let Some(kept) = published.iter().find(|p| p.kind == "record" && p.kept) {
        out.push_str(&format!(
            "{head}verification record {} (already there)\n",
            report::short(&kept.digest)
        ));
    } else if published.iter().any(|p| p.kind == "record") {
        out.push_str(&format!(
            "{head}verification record of {}\n",
            of("record").join(", ")
        ));
    }
    out.push_str(&format!("             through {}\n", first.via.describe()));
    out
}

/// One `build` line per platform: where its build time went.
fn render_timing(timing: &[crate::emulation::PlatformTiming]) -> String {
    let mut out = String::new();
    for (i, t) in timing.iter().enumerate() {
        let head = if i == 0 {
            "  build      "
        } else {
            "             "
        };
        out.push_str(&format!("{head}{}\n", crate::emulation::render::line(t)));
    }
    out
}

/// Each mirror's verdict and, for those tagged, what was copied.
pub fn render_mirrors(done: &[Done]) -> String {
    let mut out = String::new();
    for d in done {
        out.push_str(&report::render_text(std::slice::from_ref(&d.verdict)));
        if !d.tagged {
            continue;
        }
        let m = &d.mirrored;
        let how = if m.filtered {
            format!(
                "a new index with {} (the source index {} holds more)",
                m.platforms.join(", "),
                report::short(&m.source_digest)
            )
        } else {
            format!("the source digest kept ({})", m.platforms.join(", "))
        };
        out.push_str(&format!(
            "mirrored {} → {}@{}: {how}; {} blob(s) copied ({} bytes), {} mounted, {} already there{}\n",
            d.src,
            d.dest,
            report::short(&m.digest),
            m.blobs_copied,
            m.bytes_copied,
            m.blobs_mounted,
            m.blobs_skipped,
            match m.signatures_copied {
                0 => String::new(),
                n => format!("; {n} cosign signature/attestation tag(s) copied"),
            }
        ));
        out.push_str(&render_mirrored_referrers(&m.referrers));
    }
    out
}

/// What a mirror did with the referrers: how many it copied, of how many subjects,
/// how the destination lists them, and each one left out.
fn render_mirrored_referrers(referrers: &[crate::pipeline::mirror::CopiedReferrer]) -> String {
    let copied: Vec<_> = referrers.iter().filter(|r| r.via.is_some()).collect();
    let mut out = String::new();
    if let Some(first) = copied.first() {
        let mut subjects: Vec<&str> = copied.iter().map(|r| r.subject.as_str()).collect();
        subjects.dedup();
        out.push_str(&format!(
            "  referrers  {} copied, of {} manifest(s), listed through {}\n",
            copied.len(),
            subjects.len(),
            first.via.map_or("", |v| v.describe())
        ));
    }
    for r in referrers.iter().filter(|r| r.via.is_none()) {
        out.push_str(&format!(
            "  referrer   {} of {} not copied: {}\n",
            report::short(&r.digest),
            report::short(&r.subject),
            r.left_out.as_deref().unwrap_or("")
        ));
    }
    out
}

/// The text report of smoke runs: per image the reference and the command, then a
/// block per platform (on failure, why and the output's tail; on success its last line).
pub fn render_smoke(results: &[SmokeResult]) -> String {
    let mut out = String::new();
    let mut last: Option<(&str, &str)> = None;
    for r in results {
        if last != Some((&r.image, &r.reference)) {
            out.push_str(&format!(
                "smoke {} `{}`
",
                r.reference,
                crate::shell::join(&r.command)
            ));
            last = Some((&r.image, &r.reference));
        }
        let exit = match r.exit_code {
            Some(c) => format!("exit {c}"),
            None => "no exit".to_string(),
        };
        out.push_str(&format!(
            "  {}  {}  {exit}  {:.1}s  {} on node {}{}\n",
            if r.ok { "ok  " } else { "FAIL" },
            r.platform,
            r.duration_s,
            if r.native { "native" } else { "emulated" },
            r.node,
            r.reason
                .as_deref()
                .map(|why| format!(": {why}"))
                .unwrap_or_default()
        ));
        // The output's last lines (the run keeps 20), passing or not.
        for l in r.output_tail.lines() {
            out.push_str(&format!("        | {l}\n"));
        }
    }
    out
}
