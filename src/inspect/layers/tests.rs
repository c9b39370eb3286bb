use super::testing::*;
use super::*;

#[test]
fn top_layer_decides_without_opening_lower_ones() {
    let src = mem(vec![
        (GZ, gzip(&tar(&[E::F("app", b"old")]))),
        (GZ, gzip(&tar(&[E::F("app", b"new")]))),
    ]);
    let mut u = Union::new(&src);
    assert!(matches!(u.lookup("/app").unwrap(), Some(Node::File { head, .. }) if head == b"new"));
    assert_eq!(*src.opened.borrow(), vec![1]);
}

#[test]
fn whiteouts_and_opaque_directories_hide_lower_layers() {
    let src = mem(vec![
        (
            TAR,
            tar(&[
                E::F("etc/a", b"1"),
                E::F("etc/b", b"2"),
                E::F("opt/x/y", b"3"),
            ]),
        ),
        (
            ZST,
            zstd(&tar(&[
                E::F("etc/.wh.a", b""),
                E::F("opt/x/.wh..wh..opq", b""),
                E::F("opt/x/z", b"4"),
            ])),
        ),
    ]);
    let mut u = Union::new(&src);
    assert_eq!(u.lookup("etc/a").unwrap(), None);
    assert!(u.lookup("etc/b").unwrap().is_some());
    assert_eq!(u.lookup("opt/x/y").unwrap(), None);
    assert!(u.lookup("opt/x/z").unwrap().is_some());
    let src = mem(vec![
        (TAR, tar(&[E::F("srv/data/f", b"1")])),
        (TAR, tar(&[E::F(".wh.srv", b"")])),
    ]);
    assert_eq!(Union::new(&src).lookup("srv/data/f").unwrap(), None);
}

#[test]
fn merged_usr_and_relative_symlinks() {
    let src = mem(vec![
        (
            GZ,
            gzip(&tar(&[
                E::L("bin", "usr/bin"),
                E::D("usr/bin"),
                E::F("usr/bin/dash", b"\x7fELF"),
                E::L("usr/bin/sh", "dash"),
            ])),
        ),
        (
            GZ,
            gzip(&tar(&[
                E::L("usr/local/bin/app", "../../bin/../lib/app"),
                E::F("usr/lib/app", b"bin"),
            ])),
        ),
    ]);
    let mut u = Union::new(&src);
    let (p, _) = u.resolve("/bin/sh").unwrap().unwrap();
    assert_eq!(p, "/usr/bin/dash");
    let (p, _) = u.resolve("/usr/local/bin/app").unwrap().unwrap();
    assert_eq!(p, "/usr/lib/app");
    assert_eq!(u.resolve("/bin/nope").unwrap(), None);
}

#[test]
fn symlink_loops_are_errors_and_hardlinks_resolve() {
    let src = mem(vec![(
        TAR,
        tar(&[
            E::L("a", "b"),
            E::L("b", "a"),
            E::F("real", b"x"),
            E::H("hard", "real"),
        ]),
    )]);
    let mut u = Union::new(&src);
    assert!(matches!(
        u.resolve("/a"),
        Err(InspectError::SymlinkLoop { .. })
    ));
    let (p, n) = u.resolve("/hard").unwrap().unwrap();
    assert_eq!(p, "/real");
    assert!(matches!(n, Node::File { .. }));
}

#[test]
fn the_final_filesystem_honours_whiteouts_opaque_dirs_and_replaced_parents() {
    let src = mem(vec![
        (
            TAR,
            tar(&[
                E::F("bin/a", b"a0"),
                E::F("bin/gone", b"g"),
                E::F("opt/x/old", b"o"),
                E::F("lib/mod/f", b"f"),
                E::F("keep", b"k"),
            ]),
        ),
        (
            GZ,
            gzip(&tar(&[
                E::F("bin/a", b"a1"),
                E::F("bin/.wh.gone", b""),
                E::F("opt/x/.wh..wh..opq", b""),
                E::F("opt/x/new", b"n"),
                E::L("lib/mod", "/elsewhere"),
            ])),
        ),
    ]);
    let mut u = Union::new(&src);
    // A lookup first reads the top layer; the listing reads the rest, once each.
    assert!(u.lookup("/bin/a").unwrap().is_some());
    let all = u.final_entries().unwrap();
    assert_eq!(*src.opened.borrow(), vec![1, 0]);
    let files: Vec<(String, Vec<u8>)> = all
        .iter()
        .filter_map(|(p, n)| match n {
            Node::File { head, .. } => Some((p.clone(), head.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        files,
        vec![
            ("/bin/a".to_string(), b"a1".to_vec()),
            ("/keep".to_string(), b"k".to_vec()),
            ("/opt/x/new".to_string(), b"n".to_vec()),
        ]
    );
    assert!(
        all.iter()
            .any(|(p, n)| p == "/lib/mod" && matches!(n, Node::Symlink(_)))
    );
}

#[test]
fn corrupt_layers_name_the_layer() {
    let src = mem(vec![(GZ, vec![0x1f, 0x8b, 1, 2, 3])]);
    let e = Union::new(&src).lookup("x").unwrap_err();
    assert!(e.to_string().contains("layer0"), "{e}");
}

fn limited(limits: Limits, layer: Vec<u8>) -> String {
    let src = mem(vec![(GZ, layer)]);
    let mut u = Union::with_limits(&src, limits);
    u.lookup("/nothing/here").unwrap_err().to_string()
}

/// A tar of `n` files at `path(i)`, built in memory (long names become GNU
/// long-name entries).
fn tar_of(n: usize, path: impl Fn(usize) -> String, data: &[u8]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..n {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, path(i), data).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn deep_long_names_stop_at_the_index_limit() {
    // Each path has ~2,000 components: its implicit parents alone are ~4 MB of
    // names. 2,000 of them (a 2 MB gzip layer) would be 8 GB kept.
    let deep = "a/".repeat(2000);
    let layer = gzip(&tar_of(2000, |i| format!("x{i}/{deep}f"), b""));
    assert!(layer.len() < 4 << 20, "{}", layer.len());
    let started = std::time::Instant::now();
    let e = limited(Limits::default(), layer);
    assert!(
        e.contains("layer0") && e.contains("file names take more than"),
        "{e}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

#[test]
fn too_many_entries_is_an_error_naming_the_layer() {
    let layer = gzip(&tar_of(200, |i| format!("f{i}"), b"x"));
    let limits = Limits {
        entries: 100,
        ..Limits::default()
    };
    let e = limited(limits, layer);
    assert!(
        e.contains("layer0") && e.contains("more than 100 files"),
        "{e}"
    );
}

#[test]
fn a_long_name_header_over_the_limit_is_refused_unread() {
    let name = "n".repeat(2 << 20);
    let layer = gzip(&tar_of(1, |_| name.clone(), b""));
    let e = limited(Limits::default(), layer);
    assert!(
        e.contains("layer0") && e.contains("extended headers"),
        "{e}"
    );
    // A PAX header too.
    let mut b = tar::Builder::new(Vec::new());
    let big = "p".repeat(2 << 20);
    b.append_pax_extensions([("path", big.as_bytes())]).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_size(0);
    b.append_data(&mut h, "short", &[][..]).unwrap();
    let e = limited(Limits::default(), gzip(&b.into_inner().unwrap()));
    assert!(e.contains("extended headers"), "{e}");
    // Under the limit, a long name reads as before.
    let name = format!("{}/app", "d".repeat(5000));
    let src = mem(vec![(GZ, gzip(&tar_of(1, |_| name.clone(), b"\x7fELF")))]);
    assert!(Union::new(&src).lookup(&name).unwrap().is_some());
}

#[test]
fn decompressed_size_is_capped_per_layer() {
    let layer = gzip(&tar_of(1, |_| "zeros".into(), &vec![0u8; 4 << 20]));
    assert!(layer.len() < 64 << 10);
    let limits = Limits {
        layer_bytes: 1 << 20,
        ..Limits::default()
    };
    let e = limited(limits, layer.clone());
    assert!(
        e.contains("layer0") && e.contains("decompresses to more than 1048576"),
        "{e}"
    );
    let src = mem(vec![(GZ, layer)]);
    assert!(Union::new(&src).lookup("zeros").unwrap().is_some());
}

#[test]
fn only_elf_files_and_scripts_keep_their_whole_head() {
    let src = mem(vec![(
        TAR,
        tar(&[
            E::F("data", &[b'x'; 200]),
            E::F(
                "run.sh",
                &[b"#!/bin/sh\n".as_slice(), &[b' '; 200]].concat(),
            ),
        ]),
    )]);
    let mut u = Union::new(&src);
    let head = |n: Option<Node>| match n {
        Some(Node::File { head, .. }) => head.len(),
        _ => panic!(),
    };
    assert_eq!(head(u.lookup("data").unwrap()), SHORT_HEAD);
    assert_eq!(head(u.lookup("run.sh").unwrap()), HEAD_BYTES);
}
