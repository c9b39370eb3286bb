//! Completion scripts offer the project's own services: bash, zsh and fish ask
//! `mpbuild __complete-services` when a service is being named, in the shell's
//! directory and with the line's `-f`/`--file`; a broken project, or no mpbuild to ask,
//! gives the built-in catalog, silently. The hidden command is in no help,
//! man page or completion.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::cli::{mpbuild, stdout, text};
use common::shells::{self, Completed};

/// A project with a service of its own on two platforms.
const PROJECT: &str = "version: 1
services:
  my-edge-box:
    title: My edge box
    platforms: [linux/arm64, linux/amd64]
images:
  api:
    repository: 127.0.0.1:5000/api
    tags: [latest]
    targets:
      - service: my-edge-box
";

/// What every shell must offer for `my-e` in [`PROJECT`].
const MINE: [&str; 3] = ["my-edge-box", "my-edge-box:arm64", "my-edge-box:amd64"];

/// Broken files, each a way: YAML, the `services:` entry, the file kind.
const BROKEN: [&str; 2] = [
    "version: 1\nservices: [\n",
    "version: 1\nservices:\n  my-edge-box:\n    title: no platforms\nimages: {}\n",
];

/// A hang guard for the hidden command with a file it cannot read (its own deadline is
/// 1 s): not a speed bound, only "it returned".
const HANG: Duration = Duration::from_secs(10);

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// The script for `shell`, written into its own directory (no project there).
fn script(shell: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = stdout(dir.path(), &["completions", shell]);
    let path = write(dir.path(), &format!("mpbuild.{shell}"), &text);
    (dir, path)
}

/// Bash's completion of `words` (no `:` in them) in `dir`, mpbuild on PATH.
fn bash(dir: &Path, script: &Path, words: &[&str]) -> Completed {
    let cur = words[words.len() - 1];
    let c = shells::bash(
        dir,
        &shells::with_mpbuild(),
        script,
        "",
        &words.join(" "),
        words,
        cur,
    );
    assert_eq!(c.stderr, "", "{words:?}");
    c
}

#[test]
fn bash_offers_the_projects_own_services() {
    let (_keep, script) = script("bash");
    let project = tempfile::tempdir().unwrap();
    let file = write(project.path(), "mpbuild.yaml", PROJECT);
    let p = project.path();
    for words in [
        &["mpbuild", "verify", "--target", "my-e"][..],
        &["mpbuild", "build", "-v", "--target", "my-e"],
        &["mpbuild", "mirror", "--target", "my-e"],
        &["mpbuild", "init", "--service", "my-e"],
        &["mpbuild", "targets", "my-e"],
    ] {
        assert_eq!(bash(p, &script, words).values, MINE, "{words:?}");
    }
    // SERVICE:ARCH after the `:` bash splits the word at.
    let c = shells::bash(
        p,
        &shells::with_mpbuild(),
        &script,
        "",
        "mpbuild build --target my-edge-box:a",
        &["mpbuild", "build", "--target", "my-edge-box", ":", "a"],
        "a",
    );
    assert_eq!(c.values, ["arm64", "amd64"]);
    assert_eq!(c.stderr, "");
    // Found from a subdirectory, as every command finds it.
    let sub = p.join("src/deep");
    std::fs::create_dir_all(&sub).unwrap();
    let words = ["mpbuild", "verify", "--target", "my-e"];
    assert_eq!(bash(&sub, &script, &words).values, MINE);

    // Elsewhere: nothing of it, unless the line names the file.
    let elsewhere = tempfile::tempdir().unwrap();
    let e = elsewhere.path();
    assert_eq!(bash(e, &script, &words).values, Vec::<String>::new());
    let f = file.display().to_string();
    let joined = format!("-f{f}");
    for words in [
        &["mpbuild", "-f", &f, "verify", "--target", "my-e"][..],
        &["mpbuild", "verify", "--file", &f, "--target", "my-e"],
        &["mpbuild", "build", &joined, "--target", "my-e"],
    ] {
        assert_eq!(bash(e, &script, words).values, MINE, "{words:?}");
    }
    // `--file=F` and `-f=F`: bash splits the word at `=` (in COMP_WORDBREAKS), so the
    // function gets `--file` `=` `F` (as an interactive bash 5.2 gives it).
    for (option, rest) in [
        ("--file", &["targets", "my-e"][..]),
        ("--file", &["verify", "--target", "my-e"]),
        ("-f", &["build", "--target", "my-e"]),
    ] {
        let mut words = vec!["mpbuild", option, "=", &f];
        words.extend(rest);
        let line = format!("mpbuild {option}={f} {}", rest.join(" "));
        let c = shells::bash(
            e,
            &shells::with_mpbuild(),
            &script,
            "",
            &line,
            &words,
            "my-e",
        );
        assert_eq!(c.values, MINE, "{line}");
        assert_eq!(c.stderr, "", "{line}");
    }
}

#[test]
fn bash_with_a_broken_project_offers_the_catalog_silently() {
    let (_keep, script) = script("bash");
    let words = ["mpbuild", "verify", "--target", "l"];
    let catalog_only = |c: &Completed, what: &str| {
        for v in ["lambda", "lambda:arm64", "lightsail", "local"] {
            assert!(c.values.iter().any(|o| o == v), "{what}: {c:?}");
        }
        assert!(c.values.iter().all(|o| o.starts_with('l')), "{what}: {c:?}");
        assert_eq!(c.stderr, "", "{what}");
    };
    for yaml in BROKEN {
        let project = tempfile::tempdir().unwrap();
        write(project.path(), "mpbuild.yaml", yaml);
        catalog_only(&bash(project.path(), &script, &words), yaml);
        let mine = bash(
            project.path(),
            &script,
            &["mpbuild", "verify", "--target", "my-e"],
        );
        assert_eq!(mine.values, Vec::<String>::new(), "{yaml}");
    }
    // Files that are no project file: a device, a FIFO nobody writes to, none at all.
    let dir = tempfile::tempdir().unwrap();
    let fifo = fifo(dir.path());
    for file in ["/dev/zero", &fifo, "missing.yaml"] {
        let words = ["mpbuild", "-f", file, "verify", "--target", "l"];
        catalog_only(&bash(dir.path(), &script, &words), file);
    }
    // An mpbuild that fails (an old one without the command): the script's own values.
    let bin = tempfile::tempdir().unwrap();
    let fake = write(
        bin.path(),
        "mpbuild",
        "#!/bin/sh\necho 'error: unrecognized subcommand' >&2\nexit 2\n",
    );
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut path = bin.path().as_os_str().to_owned();
    path.push(":");
    path.push(shells::WITHOUT_MPBUILD);
    let c = shells::bash(
        dir.path(),
        &path,
        &script,
        "",
        &words.join(" "),
        &words,
        "l",
    );
    catalog_only(&c, "a failing mpbuild");
}

fn sorted(values: &[&str]) -> Vec<String> {
    let mut values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    values.sort();
    values
}

#[test]
fn zsh_and_fish_offer_the_projects_own_services() {
    let project = tempfile::tempdir().unwrap();
    let file = write(project.path(), "mpbuild.yaml", PROJECT)
        .display()
        .to_string();
    let broken = tempfile::tempdir().unwrap();
    write(broken.path(), "mpbuild.yaml", BROKEN[0]);
    let elsewhere = tempfile::tempdir().unwrap();
    let path = shells::with_mpbuild();
    for shell in ["zsh", "fish"] {
        let (_keep, script) = script(shell);
        // Both shells sort what they offer.
        let complete = |dir: &Path, line: &str| {
            let mut c = match shell {
                "zsh" => shells::zsh(dir, &path, &script, line),
                _ => shells::fish(dir, &path, &script, line),
            };
            c.values.sort();
            c
        };
        for line in [
            "mpbuild verify --target my-e",
            "mpbuild init --service my-e",
            "mpbuild targets my-e",
        ] {
            let c = complete(project.path(), line);
            assert_eq!(c.values, sorted(&MINE), "{shell}: {line}");
            assert_eq!(c.stderr, "", "{shell}: {line}");
        }
        // The file named from elsewhere, in each spelling clap takes.
        for option in ["-f ", "-f", "-f=", "--file ", "--file="] {
            let line = format!("mpbuild {option}{file} build --target my-edge-box:");
            let c = complete(elsewhere.path(), &line);
            assert_eq!(c.values, sorted(&MINE[1..]), "{shell}: {line}");
        }
        // A broken project: the catalog, nothing of the file.
        let c = complete(broken.path(), "mpbuild verify --target lambda:");
        assert_eq!(c.values, ["lambda:amd64", "lambda:arm64"], "{shell}");
        assert_eq!(c.stderr, "", "{shell}");
    }
}

/// `mpbuild __complete-services ARGS` in `dir`: it must exit 0 and print nothing on
/// stderr; its stdout.
fn complete_services(dir: &Path, args: &[&str]) -> String {
    let out = mpbuild(dir)
        .arg("__complete-services")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", text(&out));
    assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_hidden_command_prints_the_projects_services_else_the_catalogs() {
    let none = tempfile::tempdir().unwrap();
    let catalog = complete_services(none.path(), &[]);
    let values: Vec<&str> = catalog
        .lines()
        .map(|l| l.split_once('\t').expect("VALUE<TAB>TITLE").0)
        .collect();
    let builtin = mpbuild::catalog::Catalog::builtin();
    for name in builtin.names().into_iter().chain(["lambda:arm64"]) {
        assert!(values.contains(&name), "{name}:\n{catalog}");
    }
    assert!(catalog.contains("lambda:arm64\tAWS Lambda (container image) on linux/arm64\n"));

    let project = tempfile::tempdir().unwrap();
    write(project.path(), "mpbuild.yaml", PROJECT);
    let out = complete_services(project.path(), &[]);
    // The project's service after the catalog's, its SERVICE:ARCH after theirs.
    let arch_at: usize = catalog
        .lines()
        .take_while(|l| !l.split('\t').next().unwrap().contains(':'))
        .map(|l| l.len() + 1)
        .sum();
    let (services, archs) = catalog.split_at(arch_at);
    assert!(archs.starts_with("ecs-"), "{archs}");
    assert_eq!(
        out,
        format!(
            "{services}my-edge-box\tMy edge box\n{archs}my-edge-box:arm64\tMy edge box on linux/arm64\nmy-edge-box:amd64\tMy edge box on linux/amd64\n"
        )
    );
    // The file named, from elsewhere, in each spelling.
    let file = project.path().join("mpbuild.yaml").display().to_string();
    let with_equals = format!("--file={file}");
    let joined = format!("-f{file}");
    for args in [
        &["--file", &file][..],
        &["-f", &file],
        &[&with_equals],
        &[&joined],
    ] {
        assert_eq!(complete_services(none.path(), args), out, "{args:?}");
    }
    // Broken, missing, a device, a FIFO nobody writes to: the catalog.
    for yaml in BROKEN {
        let broken = tempfile::tempdir().unwrap();
        write(broken.path(), "mpbuild.yaml", yaml);
        assert_eq!(complete_services(broken.path(), &[]), catalog, "{yaml}");
    }
    let fifo = fifo(none.path());
    for args in [
        &["-f", "missing.yaml"][..],
        &["-f", "/dev/zero"],
        &["-f", &fifo],
        &["--bogus"],
    ] {
        let started = Instant::now();
        assert_eq!(complete_services(none.path(), args), catalog, "{args:?}");
        let took = started.elapsed();
        assert!(took < HANG, "{args:?}: still running after {took:?}");
    }
    // Only `version:` and the services are read: the rest still being written (a
    // service not yet declared, a key half typed, a target not yet a map) does not hide
    // them, as long as it is YAML (`BROKEN[0]` is not).
    for half_written in [
        PROJECT.replace("service: my-edge-box", "service: not-written-yet"),
        PROJECT.replace("    tags: [latest]\n", "    ta:\n"),
        PROJECT.replace("      - service: my-edge-box\n", "      - serv\n"),
        format!("{PROJECT}mirr:\n"),
    ] {
        let half = tempfile::tempdir().unwrap();
        write(half.path(), "mpbuild.yaml", &half_written);
        assert_eq!(complete_services(half.path(), &[]), out, "{half_written}");
    }
}

#[test]
fn the_hidden_command_prints_no_name_a_shell_would_expand_nor_a_control_character() {
    let project = tempfile::tempdir().unwrap();
    write(
        project.path(),
        "mpbuild.yaml",
        "version: 1\nservices:\n  \"$(touch pwned)\":\n    platforms: [linux/amd64]\n  \"a b\":\n    platforms: [linux/amd64]\n  edge:\n    title: \"Edge \\e]0;owned\\a box\"\n    platforms: [linux/amd64]\nimages:\n  api:\n    repository: r.example/api\n    targets:\n      - service: edge\n",
    );
    let out = complete_services(project.path(), &[]);
    assert!(
        out.contains("\nedge\tEdge \\x1b]0;owned\\x07 box\n"),
        "{out}"
    );
    assert!(!out.contains("pwned") && !out.contains("a b"), "{out}");
    assert!(
        !out.bytes()
            .any(|b| b.is_ascii_control() && b != b'\n' && b != b'\t')
    );
    // And bash, completing there, runs nothing of it.
    let (_keep, script) = script("bash");
    let c = bash(
        project.path(),
        &script,
        &["mpbuild", "verify", "--target", ""],
    );
    assert!(c.values.contains(&"edge".to_string()), "{c:?}");
    assert!(!project.path().join("pwned").exists());
}

#[test]
fn the_hidden_command_is_in_no_help_man_page_or_completion() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["help"]] {
        let help = stdout(dir.path(), args);
        assert!(help.contains("completions"), "{help}");
        assert!(!help.contains("__complete"), "{help}");
    }
    stdout(dir.path(), &["man", "--dir", "pages"]);
    for page in std::fs::read_dir(dir.path().join("pages")).unwrap() {
        let page = page.unwrap();
        let name = page.file_name().to_string_lossy().into_owned();
        assert!(!name.contains("__complete"), "{name}");
        let roff = std::fs::read_to_string(page.path()).unwrap();
        assert!(!roff.contains("complete\\-services"), "{name}");
    }
    for shell in ["powershell", "elvish"] {
        let script = stdout(dir.path(), &["completions", shell]);
        assert!(!script.contains("__complete"), "{shell}");
    }
    let (_keep, bash_script) = script("bash");
    let c = bash(dir.path(), &bash_script, &["mpbuild", ""]);
    assert!(c.values.contains(&"completions".to_string()), "{c:?}");
    assert!(!c.values.iter().any(|v| v.contains("__complete")), "{c:?}");
    let (_keep, fish_script) = script("fish");
    let c = shells::fish(
        dir.path(),
        &shells::with_mpbuild(),
        &fish_script,
        "mpbuild ",
    );
    assert!(c.values.contains(&"completions".to_string()), "{c:?}");
    assert!(!c.values.iter().any(|v| v.contains("__complete")), "{c:?}");
    // Not a command of the CLI clap parses, so no --help of its own either.
    let out = mpbuild(dir.path())
        .args(["help", "__complete-services"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// The parts of a zsh or fish script that ask mpbuild: each line that calls the
/// function, and the function, the catalog's values written into it shown as
/// `[CATALOG]` (checked to be the hidden command's output without a project).
fn hooks(shell: &str, script: &str, catalog: &str) -> String {
    let quoted = match shell {
        "zsh" => format!("'{}'", catalog.replace('\'', "'\\''")),
        _ => format!("'{}'", catalog.replace('\\', "\\\\").replace('\'', "\\'")),
    };
    assert!(
        script.contains(&quoted),
        "{shell}: the fallback is not the catalog's values"
    );
    let script = script.replace(&quoted, "'[CATALOG]'");
    let (start, end) = match shell {
        "zsh" => ("_mpbuild_services() {", "\n}\n"),
        _ => ("function __mpbuild_services", "\nend\n"),
    };
    let at = script.find(start).unwrap();
    let function = &script[at..at + script[at..].find(end).unwrap() + end.len()];
    let calls: Vec<&str> = script
        .lines()
        .filter(|l| {
            (l.contains("_mpbuild_services")
                || l.contains("local _mpbuild_")
                || l.contains("_mpbuild_line"))
                && !function.contains(*l)
        })
        .collect();
    format!("{}\n\n{function}", calls.join("\n"))
}

#[test]
fn zsh_and_fish_scripts_ask_mpbuild_where_a_service_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = complete_services(dir.path(), &[]);
    for shell in ["zsh", "fish"] {
        let script = stdout(dir.path(), &["completions", shell]);
        insta::assert_snapshot!(format!("{shell}_hooks"), hooks(shell, &script, &catalog));
    }
}

/// A FIFO nobody writes to (`DIR/fifo.yaml`), made with mkfifo: a project file whose read
/// would block.
fn fifo(dir: &std::path::Path) -> String {
    let fifo = dir.join("fifo.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    fifo.display().to_string()
}
