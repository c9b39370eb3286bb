//! What help, man pages and completion scripts offer: the project options (`-f`,
//! `--set`, `--no-cache`, `--pull`) only on the commands that read a project, and the
//! catalog's services wherever a service is named — without changing what parses.

mod common;

use std::path::Path;

use common::cli::{mpbuild, stdout, text};

const NO_PROJECT: [&str; 4] = ["schema", "man", "completions", "version"];
const PROJECT_OPTIONS: [&str; 4] = ["--file", "--set", "--no-cache", "--pull"];

#[test]
fn commands_that_read_no_project_do_not_show_its_options() {
    let dir = tempfile::tempdir().unwrap();
    for sub in NO_PROJECT {
        let help = stdout(dir.path(), &[sub, "--help"]);
        assert!(!help.contains("-f,"), "{sub} --help shows -f:\n{help}");
        for option in PROJECT_OPTIONS {
            assert!(
                !help.contains(option),
                "{sub} --help shows {option}:\n{help}"
            );
        }
    }
    insta::assert_snapshot!("version_help", stdout(dir.path(), &["version", "--help"]));
    // The others keep them, nested ones too.
    for args in [&["push", "--help"][..], &["builder", "up", "--help"]] {
        let help = stdout(dir.path(), args);
        assert!(help.contains("-f, --file <FILE>"), "{args:?}:\n{help}");
        assert!(
            help.contains("--set <IMAGE.KEY=VALUE>"),
            "{args:?}:\n{help}"
        );
    }
    // Still accepted (and ignored) where hidden, before or after the command.
    for args in [
        &["version", "-f", "none.yaml"][..],
        &["-f", "none.yaml", "version"],
        &["schema", "--file", "none.yaml", "--no-cache"],
    ] {
        stdout(dir.path(), args);
    }
}

#[test]
fn man_pages_of_commands_that_read_no_project_do_not_show_its_options() {
    let dir = tempfile::tempdir().unwrap();
    stdout(dir.path(), &["man", "--dir", "pages"]);
    let page = |name: &str| std::fs::read_to_string(dir.path().join("pages").join(name)).unwrap();
    for sub in NO_PROJECT {
        let roff = page(&format!("mpbuild-{sub}.1"));
        assert!(!roff.contains("\\-\\-file"), "mpbuild-{sub}.1:\n{roff}");
        assert!(!roff.contains("\\-\\-set"), "mpbuild-{sub}.1:\n{roff}");
    }
    assert!(page("mpbuild-push.1").contains("\\-\\-file"));
}

/// Runs bash's completion function of the generated script on `words`, the last one
/// being completed, and returns what it offers.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let cword = words.len() - 1;
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={cword}; _mpbuild mpbuild '{}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words[cword],
    );
    completions_printed(&program)
}

#[test]
fn bash_completes_service_names_and_only_the_options_a_command_takes() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("mpbuild.bash");
    std::fs::write(&script, stdout(dir.path(), &["completions", "bash"])).unwrap();

    let offered = bash_completes(&script, &["mpbuild", "verify", "--target", "ecs-f"]);
    assert!(offered.contains(&"ecs-fargate".to_string()), "{offered:?}");
    assert!(
        offered.iter().all(|o| o.starts_with("ecs-f")),
        "{offered:?}"
    );
    let offered = bash_completes(&script, &["mpbuild", "targets", "clou"]);
    assert_eq!(offered, ["cloud-run"]);
    let offered = bash_completes(
        &script,
        &["mpbuild", "init", "--service", "azure-container-a"],
    );
    assert_eq!(offered, ["azure-container-apps"]);

    let offered = bash_completes(&script, &["mpbuild", "schema", "-"]);
    assert!(
        !offered.iter().any(|o| o == "-f" || o == "--file"),
        "{offered:?}"
    );
    let offered = bash_completes(&script, &["mpbuild", "push", "-"]);
    assert!(offered.iter().any(|o| o == "--file"), "{offered:?}");
}

#[test]
fn every_script_offers_every_service() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = mpbuild::catalog::Catalog::builtin();
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(dir.path(), &["completions", shell]);
        let offered = offered(shell, &script);
        // SERVICE:ARCH too.
        for name in catalog.names().into_iter().chain(["lambda:arm64"]) {
            assert!(
                offered.iter().any(|v| v == name),
                "{shell}: `{name}` is not a value offered"
            );
        }
    }
}

/// The values a completion script offers, each as the shell writes one: a word of a
/// bash `compgen -W "…"` list, a zsh `VALUE\:"title"` line (its colons escaped), a fish
/// `VALUE\t'title'` line. Exact values: `local` (a shell keyword) or `eks` (in
/// `eks-fargate`) count only where they are offered themselves.
fn offered(shell: &str, script: &str) -> Vec<String> {
    let mut values = Vec::new();
    for line in script.lines() {
        match shell {
            "bash" => {
                if let Some((_, rest)) = line.split_once("compgen -W \"") {
                    let list = rest.split('"').next().unwrap_or_default();
                    values.extend(list.split_whitespace().map(str::to_string));
                }
            }
            "zsh" => {
                if let Some((v, _)) = line.split_once("\\:\"") {
                    // The first value follows the option's `:((`.
                    let v = v.rsplit("((").next().unwrap_or_default();
                    values.push(v.replace("\\:", ":"));
                }
            }
            _ => {
                if let Some((v, _)) = line.split_once("\\t'") {
                    // The first value follows the option's `-a "`.
                    values.push(v.rsplit("-a \"").next().unwrap_or_default().to_string());
                }
            }
        }
    }
    values
}

#[test]
fn what_parses_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    std::fs::write(
        dir.path().join("mpbuild.yaml"),
        "version: 1\nimages:\n  api:\n    repository: 127.0.0.1:5000/api\n    tags: [latest]\n    targets:\n      - service: ecs-fargate\n",
    )
    .unwrap();
    stdout(
        dir.path(),
        &["build", "--dry-run", "--target", "ecs-fargate:arm64"],
    );
    stdout(dir.path(), &["-f", "mpbuild.yaml", "plan"]);
    stdout(dir.path(), &["plan", "--file", "mpbuild.yaml"]);
    // An unknown service is mpbuild's to explain, not refused by clap's value list.
    let out = mpbuild(dir.path())
        .args(["build", "--dry-run", "--target", "gcr"])
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("unknown service `gcr`"), "{all}");
    assert!(!all.contains("invalid value"), "{all}");
}

/// Runs `_mpbuild` the way interactive bash calls it for `line` (cursor at its end):
/// `words` split at ':' as bash splits them (COMP_WORDBREAKS), `cur` and `prev` its
/// second and third arguments — the figures of a real `complete -F` call, recorded
/// from an interactive bash 5 for these lines.
fn bash_completes_at_colon(script: &Path, line: &str, words: &[&str], cur: &str) -> Vec<String> {
    bash_completes_in(script, "", line, words, cur)
}

/// [`bash_completes_at_colon`] after `setup` (shell code run before the call).
fn bash_completes_in(
    script: &Path,
    setup: &str,
    line: &str,
    words: &[&str],
    cur: &str,
) -> Vec<String> {
    let cword = words.len() - 1;
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let prev = words[cword - 1];
    let program = format!(
        "source '{}'; {setup} COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({}); COMP_CWORD={cword}; _mpbuild mpbuild '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
    );
    completions_printed(&program)
}

#[test]
fn bash_completes_service_arch_after_the_colon_bash_split_at() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("mpbuild.bash");
    std::fs::write(&script, stdout(dir.path(), &["completions", "bash"])).unwrap();

    // `--target lambda:ar<TAB>`: bash gives the words `lambda` `:` `ar`, and replaces
    // only `ar`: the completion is what goes after the colon.
    let line = "mpbuild build --target lambda:ar";
    let words = ["mpbuild", "build", "--target", "lambda", ":", "ar"];
    let offered = bash_completes_at_colon(&script, line, &words, "ar");
    assert_eq!(offered, ["arm64"], "{line}");

    // `--target lambda:<TAB>`: the current word is `:`, bash's second argument empty.
    let line = "mpbuild verify --target lambda:";
    let words = ["mpbuild", "verify", "--target", "lambda", ":"];
    let offered = bash_completes_at_colon(&script, line, &words, "");
    assert_eq!(offered, ["amd64", "arm64"], "{line}");

    // Several architectures, one more option before.
    let line = "mpbuild build -v --target raspberry-pi:armv";
    let words = [
        "mpbuild",
        "build",
        "-v",
        "--target",
        "raspberry-pi",
        ":",
        "armv",
    ];
    let offered = bash_completes_at_colon(&script, line, &words, "armv");
    assert_eq!(offered, ["armv7", "armv6"], "{line}");

    // A blank before the colon: separate words, nothing joined (no service is `:x`).
    let line = "mpbuild build --target lambda :ar";
    let words = ["mpbuild", "build", "--target", "lambda", ":", "ar"];
    let offered = bash_completes_at_colon(&script, line, &words, "ar");
    assert!(!offered.contains(&"arm64".to_string()), "{offered:?}");

    // A shell without ':' in COMP_WORDBREAKS keeps `lambda:` one word and replaces it
    // whole: the whole value, nothing stripped.
    let offered = bash_completes_in(
        &script,
        "COMP_WORDBREAKS=${COMP_WORDBREAKS//:/};",
        "mpbuild build --target lambda:",
        &["mpbuild", "build", "--target", "lambda:"],
        "lambda:",
    );
    assert_eq!(offered, ["lambda:amd64", "lambda:arm64"]);
}

/// Runs `program` (which sources the script and calls `_mpbuild`) in a bash without
/// start-up files: the lines it printed, COMPREPLY one per line.
fn completions_printed(program: &str) -> Vec<String> {
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", program])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}
