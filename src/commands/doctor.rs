//! `mpbuild doctor`: settings → `doctor::checks` → the findings, as text or JSON.

use crate::cli::{DoctorArgs, Format};
use crate::doctor::{self, Finding, Status};
use crate::exit::Code;
use crate::settings::Settings;

pub fn run(s: &Settings, args: &DoctorArgs) -> anyhow::Result<Code> {
    let project = match s.project() {
        Ok(p) => Some(p),
        Err(e) if s.file.is_some() => return Err(e),
        Err(_) => None,
    };
    let mut findings = doctor::checks(project.as_ref(), args.builder.as_deref());
    findings.extend(doctor::signing::findings(project.as_ref(), &|name| {
        std::env::var(name).ok()
    }));
    if crate::cancel::requested() {
        // Checks cut short would read as failures: none is reported.
        return Err(crate::exit::Interrupted.into());
    }
    let p = s.printer();
    let code = if findings.iter().any(|f| f.status == Status::Fail) {
        Code::VerifyFailed
    } else {
        Code::Ok
    };
    match args.format {
        Format::Json => p.value(&serde_json::json!({
            "schema_version": super::output::SCHEMA_VERSION,
            "command": "doctor",
            "result": if code == Code::Ok { "ok" } else { "failed" },
            "exit_code": code.as_i32(),
            "ok": code == Code::Ok,
            "findings": findings,
        })),
        Format::Text if p.quiet() => {
            // Errors only: the failing checks and their fixes.
            let failing: Vec<Finding> = findings
                .iter()
                .filter(|f| f.status == Status::Fail)
                .cloned()
                .collect();
            let text = doctor::render(&failing);
            crate::err!(
                p,
                "{}",
                text.rsplit_once("\n\n").map_or("", |(body, _)| body)
            );
            if !failing.is_empty() {
                crate::errln!(p, "");
            }
        }
        Format::Text => crate::out!(p, "{}", doctor::render(&findings)),
    }
    Ok(code)
}
