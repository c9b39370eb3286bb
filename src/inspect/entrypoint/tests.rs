use super::super::layers::testing::*;
use super::*;
use crate::inspect::elf::{EM_AARCH64, EM_ARM, EM_X86_64, header};

fn cfg(entry: &[&str], cmd: &[&str], env_path: Option<&str>, wd: Option<&str>) -> RunConfig {
    RunConfig {
        entrypoint: (!entry.is_empty()).then(|| entry.iter().map(|s| s.to_string()).collect()),
        cmd: (!cmd.is_empty()).then(|| cmd.iter().map(|s| s.to_string()).collect()),
        env: env_path.map(|p| vec![format!("PATH={p}")]),
        working_dir: wd.map(str::to_string),
    }
}

fn p(s: &str) -> Platform {
    Platform::parse(s).unwrap()
}

fn words(s: &[&str]) -> Vec<String> {
    s.iter().map(|w| w.to_string()).collect()
}

/// The final path of each program checked, and whether it passed.
fn checked(c: &DeepCheck) -> Vec<(String, bool)> {
    c.programs
        .iter()
        .map(|p| (p.chain.last().cloned().unwrap_or_default(), p.ok()))
        .collect()
}

fn arm64_base() -> Vec<(&'static str, Vec<u8>)> {
    let arm = header(EM_AARCH64, true, true);
    vec![(
        TAR,
        tar(&[
            E::L("bin", "usr/bin"),
            E::F("usr/bin/dash", &arm),
            E::L("usr/bin/sh", "dash"),
            E::F("usr/bin/env", &arm),
        ]),
    )]
}

#[test]
fn entrypoint_plus_cmd_and_path_lookup() {
    let arm = header(EM_AARCH64, true, true);
    let x86 = header(EM_X86_64, true, true);
    let src = mem(vec![
        (GZ, gzip(&tar(&[E::F("usr/bin/app", &x86)]))),
        (GZ, gzip(&tar(&[E::F("usr/local/bin/app", &arm)]))),
    ]);
    let mut u = Union::new(&src);
    let c = check(
        &mut u,
        &cfg(&["app"], &["--serve"], None, None),
        &p("linux/arm64"),
    )
    .unwrap();
    assert!(c.ok(), "{c:?}");
    assert_eq!(c.programs.len(), 1);
    assert_eq!(c.programs[0].chain, vec!["/usr/local/bin/app"]);
    // PATH order decides: /usr/bin first finds the x86-64 one.
    let mut u = Union::new(&src);
    let c = check(
        &mut u,
        &cfg(&[], &["app"], Some("/usr/bin:/usr/local/bin"), None),
        &p("linux/arm64"),
    )
    .unwrap();
    assert!(!c.ok());
    assert_eq!(
        c.summary(&p("linux/arm64")),
        "/usr/bin/app is an ELF for x86-64, but the platform is linux/arm64"
    );
}

#[test]
fn scripts_are_checked_through_their_interpreter() {
    let arm = header(EM_AARCH64, true, true);
    let mut layers = arm64_base();
    layers.push((
        TAR,
        tar(&[
            E::F("usr/bin/python3", &arm),
            E::F("app/run.sh", b"#!/bin/sh\nexec python3 app.py\n"),
            E::F("app/tool", b"#!/usr/bin/env python3\n"),
        ]),
    ));
    let src = mem(layers);
    let mut u = Union::new(&src);
    let c = check(
        &mut u,
        &cfg(&["./run.sh"], &[], None, Some("/app")),
        &p("linux/arm64"),
    )
    .unwrap();
    assert!(c.ok(), "{c:?}");
    assert_eq!(
        c.programs[0].chain,
        vec!["/app/./run.sh → /app/run.sh", "/bin/sh → /usr/bin/dash"]
    );
    let c = check(
        &mut u,
        &cfg(&["/app/tool"], &[], None, None),
        &p("linux/arm64"),
    )
    .unwrap();
    assert!(c.ok(), "{c:?}");
    assert_eq!(
        checked(&c),
        vec![
            ("/usr/bin/env".to_string(), true),
            ("/usr/bin/python3".to_string(), true)
        ]
    );
    assert_eq!(
        c.summary(&p("linux/arm64")),
        "/usr/bin/env is an ELF for AArch64 (via /app/tool); \
             /usr/bin/python3 is an ELF for AArch64 (via /app/tool → /usr/bin/env)"
    );
}

#[test]
fn env_is_followed_to_the_program_it_runs() {
    let arm = header(EM_AARCH64, true, true);
    let x86 = header(EM_X86_64, true, true);
    let mut layers = arm64_base();
    layers.push((
        TAR,
        tar(&[
            // The python3 on PATH was copied from the build platform.
            E::F("usr/local/bin/python3", &x86),
            E::F("opt/py/bin/python3", &arm),
            E::F("app/tool", b"#!/usr/bin/env python3\nprint()\n"),
            E::F("app/split", b"#!/usr/bin/env -S python3 -u\n"),
        ]),
    ));
    let src = mem(layers);
    let arm64 = p("linux/arm64");
    let mut u = Union::new(&src);
    // `#!/usr/bin/env python3`: env passes, python3 fails, and the summary says so.
    let c = check(&mut u, &cfg(&["/app/tool"], &[], None, None), &arm64).unwrap();
    assert!(!c.ok());
    assert_eq!(
        checked(&c),
        vec![
            ("/usr/bin/env".to_string(), true),
            ("/usr/local/bin/python3".to_string(), false)
        ]
    );
    assert_eq!(
        c.summary(&arm64),
        "1 of 2 programs fail: /usr/local/bin/python3 is an ELF for x86-64, but the \
             platform is linux/arm64 (via /app/tool → /usr/bin/env); ok: /usr/bin/env"
    );
    // `env -S`, packed into one word by the kernel.
    let c = check(&mut u, &cfg(&["/app/split"], &[], None, None), &arm64).unwrap();
    assert_eq!(
        checked(&c)[1],
        ("/usr/local/bin/python3".to_string(), false)
    );
    // Options and NAME=VALUE words are skipped; PATH= changes the lookup.
    let c = check(
        &mut u,
        &cfg(
            &[
                "env",
                "-i",
                "-u",
                "HOME",
                "LANG=C",
                "PATH=/opt/py/bin",
                "python3",
            ],
            &["app.py"],
            None,
            None,
        ),
        &arm64,
    )
    .unwrap();
    assert!(c.ok(), "{c:?}");
    assert_eq!(checked(&c)[1], ("/opt/py/bin/python3".to_string(), true));
    // env as the entrypoint with the program in Cmd; checked once.
    let c = check(
        &mut u,
        &cfg(&["/usr/bin/env"], &["python3", "app.py"], None, None),
        &arm64,
    )
    .unwrap();
    assert_eq!(
        checked(&c),
        vec![
            ("/usr/bin/env".to_string(), true),
            ("/usr/local/bin/python3".to_string(), false)
        ]
    );
    // A program env cannot find fails as env would.
    let c = check(&mut u, &cfg(&["env", "ruby"], &[], None, None), &arm64).unwrap();
    assert!(!c.ok());
    assert_eq!(
        c.programs[1].verdict,
        Verdict::NotFound {
            path: "ruby".into()
        }
    );
}

#[test]
fn shell_form_checks_the_first_word_of_the_command() {
    let x86 = header(EM_X86_64, true, true);
    let arm = header(EM_AARCH64, true, true);
    let mut layers = arm64_base();
    layers.push((
        GZ,
        gzip(&tar(&[
            E::F("usr/local/bin/gunicorn", &x86),
            E::F("usr/local/bin/worker", &arm),
        ])),
    ));
    let src = mem(layers);
    let arm64 = p("linux/arm64");
    let mut u = Union::new(&src);
    let shell = |cmd: &str| cfg(&[], &["/bin/sh", "-c", cmd], None, None);
    let c = check(&mut u, &shell("exec gunicorn app:main -b :80"), &arm64).unwrap();
    assert!(!c.ok());
    assert_eq!(
        checked(&c),
        vec![
            ("/bin/sh → /usr/bin/dash".to_string(), true),
            ("/usr/local/bin/gunicorn".to_string(), false)
        ]
    );
    assert!(
            c.summary(&arm64).contains(
                "/usr/local/bin/gunicorn is an ELF for x86-64, but the platform is linux/arm64 (via /bin/sh → /usr/bin/dash)"
            ),
            "{}",
            c.summary(&arm64)
        );
    let c = check(&mut u, &shell("WORKERS=2 exec worker --fast"), &arm64).unwrap();
    assert!(c.ok(), "{c:?}");
    assert_eq!(c.programs.len(), 2);
    // Builtins, expansions and words that are no file in the image: only sh.
    for cmd in [
        "echo hi",
        "cd /app && exec gunicorn",
        "$APP --x",
        "not-here x",
    ] {
        let c = check(&mut u, &shell(cmd), &arm64).unwrap();
        assert!(c.ok(), "{cmd}: {c:?}");
        assert_eq!(c.programs.len(), 1, "{cmd}");
    }
    // `bash -ec` and friends are -c too.
    let c = check(
        &mut u,
        &cfg(&["/bin/sh", "-ec"], &["gunicorn"], None, None),
        &arm64,
    )
    .unwrap();
    assert!(!c.ok());
}

#[test]
fn an_entrypoint_script_also_checks_the_cmd_program() {
    let x86 = header(EM_X86_64, true, true);
    let mut layers = arm64_base();
    layers.push((
        TAR,
        tar(&[
            E::F("entry.sh", b"#!/bin/sh\nset -e\nexec \"$@\"\n"),
            E::F("usr/local/bin/server", &x86),
        ]),
    ));
    let src = mem(layers);
    let arm64 = p("linux/arm64");
    let mut u = Union::new(&src);
    let c = check(
        &mut u,
        &cfg(&["/entry.sh"], &["server", "--port", "80"], None, None),
        &arm64,
    )
    .unwrap();
    assert!(!c.ok());
    assert_eq!(
        c.summary(&arm64),
        "1 of 2 programs fail: /usr/local/bin/server is an ELF for x86-64, but the \
             platform is linux/arm64 (via /entry.sh); ok: /bin/sh → /usr/bin/dash"
    );
    assert_eq!(c.failed().len(), 1);
    // A Cmd of arguments to the script is not a program.
    for cmd in [&["--port", "80"][..], &["serve"][..]] {
        let c = check(&mut u, &cfg(&["/entry.sh"], cmd, None, None), &arm64).unwrap();
        assert!(c.ok(), "{cmd:?}: {c:?}");
        assert_eq!(c.programs.len(), 1);
    }
    // An ELF entrypoint takes Cmd as its arguments: not checked as a program.
    let c = check(
        &mut u,
        &cfg(&["/usr/bin/dash"], &["server"], None, None),
        &arm64,
    )
    .unwrap();
    assert!(c.ok(), "{c:?}");
}

#[test]
fn env_and_shell_parsing() {
    let path = "/usr/bin";
    assert_eq!(
        env_program(&words(&["-S", "python3 -u", "x.py"]), path),
        Some((path.to_string(), words(&["python3", "-u", "x.py"])))
    );
    assert_eq!(
        env_program(
            &words(&["-uHOME", "-0v", "--unset", "X", "--", "A=1", "node"]),
            path
        ),
        Some((path.to_string(), words(&["node"])))
    );
    assert_eq!(
        env_program(&words(&["--split-string=deno run", "--chdir=/app"]), path),
        Some((path.to_string(), words(&["deno", "run", "--chdir=/app"])))
    );
    assert_eq!(
        env_program(&words(&["-i", "python3"]), path).unwrap().0,
        EXECVP_DEFAULT_PATH
    );
    assert_eq!(env_program(&words(&["-i", "A=1"]), path), None);
    assert_eq!(shell_command(&words(&["-c", "x y"])), Some("x y"));
    assert_eq!(
        shell_command(&words(&["-o", "pipefail", "-ec", "x"])),
        Some("x")
    );
    assert_eq!(shell_command(&words(&["/entry.sh", "-c"])), None);
    assert_eq!(
        shell_first_program("A=1 B=2 exec -a name 'app' --flag;"),
        Some(words(&["app", "--flag"]))
    );
    assert_eq!(shell_first_program("set -e; app"), None);
    assert_eq!(shell_first_program("\"$HOME/bin/app\""), None);
}

#[test]
fn arm_v7_binaries_and_failures() {
    let arm32 = header(EM_ARM, false, true);
    let src = mem(vec![(
        TAR,
        tar(&[E::F("agent", &arm32), E::F("data.txt", b"hello world")]),
    )]);
    let mut u = Union::new(&src);
    assert!(
        check(
            &mut u,
            &cfg(&["/agent"], &[], None, None),
            &p("linux/arm/v7")
        )
        .unwrap()
        .ok()
    );
    let c = check(
        &mut u,
        &cfg(&["/data.txt"], &[], None, None),
        &p("linux/arm/v7"),
    )
    .unwrap();
    assert!(
        matches!(c.programs[0].verdict, Verdict::NotElf { .. }),
        "{c:?}"
    );
    let c = check(
        &mut u,
        &cfg(&["/missing"], &[], None, None),
        &p("linux/arm/v7"),
    )
    .unwrap();
    assert_eq!(
        c.programs[0].verdict,
        Verdict::NotFound {
            path: "/missing".into()
        }
    );
    let c = check(&mut u, &cfg(&[], &[], None, None), &p("linux/arm/v7")).unwrap();
    assert_eq!(c.programs[0].verdict, Verdict::NothingToExec);
    assert!(!c.ok());
}

#[test]
fn loops_of_interpreters_end() {
    let src = mem(vec![(
        TAR,
        tar(&[E::F("a", b"#!/b\n"), E::F("b", b"#!/a\n")]),
    )]);
    let mut u = Union::new(&src);
    let c = check(&mut u, &cfg(&["/a"], &[], None, None), &p("linux/amd64")).unwrap();
    assert!(!c.ok());
    assert!(
        c.summary(&p("linux/amd64")).contains("more than 8"),
        "{c:?}"
    );
}

#[test]
fn windows_images_are_not_looked_into() {
    let src = mem(vec![(TAR, tar(&[E::F("app.exe", b"MZ")]))]);
    let mut u = Union::new(&src);
    let c = check(
        &mut u,
        &cfg(&["C:\\app.exe"], &[], None, None),
        &p("windows/amd64"),
    )
    .unwrap();
    assert!(c.ok());
    assert_eq!(u.layers_read(), 0);
    assert!(
        c.summary(&p("windows/amd64"))
            .starts_with("not checked: the deep check reads Linux ELF programs"),
        "{}",
        c.summary(&p("windows/amd64"))
    );
}
