//! What help, man pages and completion scripts offer: the project options (`-f`,
//! `--set`, `--no-cache`, `--pull`) only on the commands that read a project, and the
//! catalog's services wherever a service is named — without changing what parses.

mod common;

use std::ffi::OsString;
use std::path::Path;

use common::cli::{mpbuild, stdout, text};
use common::shells;

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
/// being completed, in the script's directory (no project there), and returns what it
/// offers.
fn bash_completes(script: &Path, words: &[&str]) -> Vec<String> {
    let cur = words[words.len() - 1];
    bash_completes_in(script, "", &words.join(" "), words, cur)
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
fn without_mpbuild_every_script_offers_the_catalog_it_holds() {
    // No mpbuild to ask (not on PATH): the values written into the script.
    let dir = tempfile::tempdir().unwrap();
    let catalog = mpbuild::catalog::Catalog::builtin();
    let path = OsString::from(shells::WITHOUT_MPBUILD);
    let line = "mpbuild verify --target ";
    for shell in ["bash", "zsh", "fish"] {
        let script = dir.path().join(format!("mpbuild.{shell}"));
        std::fs::write(&script, stdout(dir.path(), &["completions", shell])).unwrap();
        let completed = match shell {
            "bash" => shells::bash(
                dir.path(),
                &path,
                &script,
                "",
                line,
                &["mpbuild", "verify", "--target", ""],
                "",
            ),
            "zsh" => shells::zsh(dir.path(), &path, &script, line),
            _ => shells::fish(dir.path(), &path, &script, line),
        };
        // SERVICE:ARCH too.
        for name in catalog.names().into_iter().chain(["lambda:arm64"]) {
            assert!(
                completed.values.iter().any(|v| v == name),
                "{shell}: `{name}` is not offered: {completed:?}"
            );
        }
        assert_eq!(completed.stderr, "", "{shell}");
    }
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

/// [`bash_completes_at_colon`] after `setup` (shell code run before the call), with
/// the built mpbuild on PATH.
fn bash_completes_in(
    script: &Path,
    setup: &str,
    line: &str,
    words: &[&str],
    cur: &str,
) -> Vec<String> {
    let dir = script.parent().unwrap();
    let completed = shells::bash(
        dir,
        &shells::with_mpbuild(),
        script,
        setup,
        line,
        words,
        cur,
    );
    assert_eq!(completed.stderr, "", "{line}");
    completed.values
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
