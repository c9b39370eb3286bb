//! `mpbuild doctor`'s checks: why a multi-platform push would fail, before trying it.
//! Each probe (`probes`) is a small function that looks at one thing — the host, the
//! docker CLI and daemon, buildx, the builder, each platform the project needs, the
//! image store, the credentials — and returns a [`Finding`]: ok / warn / fail and, when
//! not ok, a fix. [`checks`] runs them in order, stopping where the next needs what
//! failed. Nothing here prints: the command renders the findings.

mod finding;
mod probes;
pub mod signing;
mod system;

pub use finding::{Finding, Status};

use crate::config::Project;

/// Every probe, in order: the host, docker, the daemon, buildx, the builder, then (in a
/// project) each platform it needs, the steps that run emulated, the image store, the
/// credentials and what runs emulated locally. A probe whose subject is missing ends the
/// list there (no builder without a daemon).
pub fn checks(project: Option<&Project>, builder_flag: Option<&str>) -> Vec<Finding> {
    let mut out = vec![probes::host()];
    let exe = match probes::docker_cli() {
        Ok((exe, f)) => {
            out.push(f);
            exe
        }
        Err(f) => {
            out.push(f);
            return out;
        }
    };
    match probes::daemon(&exe) {
        Ok(f) => out.push(f),
        Err(fs) => {
            out.extend(fs);
            return out;
        }
    }
    let (f, go_on) = probes::buildx(&exe);
    out.push(f);
    if !go_on {
        return out;
    }
    let builder_name = builder_flag
        .map(str::to_string)
        .or_else(|| project.and_then(|p| p.builder.clone()));
    let builder = match probes::builder(&exe, builder_name.as_deref()) {
        Ok((b, f)) => {
            out.push(f);
            b
        }
        Err(f) => {
            out.push(f);
            return out;
        }
    };
    let Some(project) = project else {
        out.push(probes::no_project());
        return out;
    };
    let needed = probes::needed_platforms(project);
    out.extend(probes::platforms(project, &builder, &needed));
    out.extend(probes::emulated_steps(project, &builder, builder_name));
    out.extend(probes::image_store(&exe, project, &builder));
    out.extend(probes::credentials(project));
    out.extend(probes::local_runs(&needed));
    out
}

/// The findings as text: one line each (and its fix), then the counts.
pub fn render(findings: &[Finding]) -> String {
    let width = findings.iter().map(|f| f.check.len()).max().unwrap_or(0);
    let mut out = String::new();
    for f in findings {
        let word = match f.status {
            Status::Ok => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        };
        // A detail quoting a tool's lines (`    | …`) keeps them under the detail column.
        let detail = f.detail.replace('\n', &format!("\n      {:width$}  ", ""));
        out.push_str(&format!("{word}  {:width$}  {detail}\n", f.check));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("      {:width$}  fix: {fix}\n", ""));
        }
    }
    let fails = findings.iter().filter(|f| f.status == Status::Fail).count();
    let warns = findings.iter().filter(|f| f.status == Status::Warn).count();
    out.push_str(&format!("\n{fails} failing, {warns} warning(s)\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::finding::finding;
    use super::system::binfmt_names;
    use super::*;

    #[test]
    fn rendering_marks_fails_and_fixes() {
        let f = vec![
            finding(Status::Ok, "docker CLI", "/usr/bin/docker", None),
            finding(
                Status::Fail,
                "platform linux/arm64",
                "cannot build it here",
                Some("register QEMU".into()),
            ),
        ];
        let t = render(&f);
        assert!(
            t.contains("FAIL  platform linux/arm64  cannot build it here"),
            "{t}"
        );
        assert!(t.contains("fix: register QEMU"), "{t}");
        assert!(t.ends_with("1 failing, 0 warning(s)\n"), "{t}");
    }

    #[test]
    fn a_quoted_tool_line_stays_under_the_detail_column() {
        let f = vec![finding(
            Status::Fail,
            "buildx",
            "failed: it exited with status 1, printing:\n    | docker: 'buildx' is not a docker command.",
            None,
        )];
        assert!(
            render(&f).starts_with("FAIL  buildx  failed: it exited with status 1, printing:\n                  | docker: 'buildx' is not a docker command.\n"),
            "{}",
            render(&f)
        );
    }

    #[test]
    fn binfmt_names_cover_common_arches() {
        assert!(binfmt_names("arm64").contains(&"qemu-aarch64"));
        assert!(binfmt_names("mips").is_empty());
    }
}
