//! mpbuild.yaml, as `config::parse` checks it (no environment variables set), in a
//! directory that has a Dockerfile. Property: a file either gives a project — which
//! plans for both kinds of builder, as `mpbuild plan` prints it (JSON and the CI
//! matrix) — or an error located in that file: its path, and where a line is named,
//! a line that exists in it (as YAML counts lines), shown under the message. Never a
//! panic.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mpbuild::config::{self, ConfigError, Env};
use mpbuild::plan::{Options, Output, Plan};
use mpbuild::platform::Platform;

/// A project directory with a Dockerfile (so images get as far as planning).
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("mpbuild-fuzz-project-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("Dockerfile"), "FROM scratch\n").unwrap();
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env = Env {
        host: Platform::new("linux", "amd64", ""),
        var: &|_| None,
        preview: false,
        overrides: &[],
        git: &|_| mpbuild::gitmeta::GitMeta::default(),
    };
    let path = dir().join("mpbuild.yaml");
    match config::parse(&path, text, &env) {
        Ok(project) => {
            for output in [Output::OciLayout, Output::PushByDigest] {
                let options = Options {
                    output,
                    work_dir: dir().join("work"),
                    builder: None,
                };
                let plan = Plan::new(&project, &options);
                serde_json::to_string(&plan).expect("a plan serialises");
                serde_json::to_string(&plan.matrix()).expect("a matrix serialises");
            }
        }
        Err(e) => {
            let shown = e.to_string();
            let ConfigError::At(l) = &e else {
                panic!("an error not located in the file: {shown}");
            };
            assert!(
                shown.contains(&path.display().to_string()),
                "the error names no file: {shown}"
            );
            if l.pos.is_known() {
                // Lines as YAML ends them: `\r\n`, a lone `\r`, `\n`.
                let count = text
                    .replace("\r\n", "\n")
                    .replace('\r', "\n")
                    .split('\n')
                    .count();
                let line = l.pos.line as usize;
                assert!(
                    line <= count,
                    "line {line} of a {count}-line file: {shown}"
                );
                // The line itself is shown under the message.
                assert!(
                    l.line_text.is_some() && shown.contains(&format!("{line} | ")),
                    "the error at line {line} does not show it: {shown}"
                );
                assert!(
                    shown.contains(&format!("{}:{}:{}", path.display(), l.pos.line, l.pos.column)),
                    "{shown}"
                );
            }
        }
    }
});
