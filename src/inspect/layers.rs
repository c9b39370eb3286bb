//! The image's filesystem as its layers make it, read lazily from the top: a layer is
//! streamed (gzip, zstd or plain tar) only when the layers above it do not decide a
//! path. While a layer streams, every entry's kind is recorded, and for regular files
//! only their first bytes (enough for an ELF header or a `#!` line), so symlink and
//! interpreter lookups never download a layer twice. Whiteouts (`.wh.NAME`) and opaque
//! directories (`.wh..wh..opq`) hide what lies below, as overlayfs does.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use super::InspectError;

/// How many leading bytes of each regular file are kept.
pub const HEAD_BYTES: usize = 128;

/// Where layer blobs come from. Index 0 is the bottom layer (manifest order).
pub trait LayerSource {
    fn count(&self) -> usize;
    /// The layer's media type (to pick the decompressor; magic bytes decide otherwise).
    fn media_type(&self, index: usize) -> &str;
    /// A name for messages (the digest).
    fn name(&self, index: usize) -> String;
    fn open(&self, index: usize) -> Result<Box<dyn Read + '_>, InspectError>;
}

/// One entry of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        head: Vec<u8>,
        size: u64,
        /// Permission bits (`0o755`…), for telling executables apart.
        mode: u32,
    },
    Dir,
    Symlink(String),
    /// A hard link to another path of the image (absolute, normalised).
    Hardlink(String),
    Other,
}

#[derive(Debug, Default)]
struct LayerIndex {
    entries: HashMap<String, Node>,
    whiteouts: HashSet<String>,
    opaque: HashSet<String>,
}

/// The union of an image's layers, read lazily from the top.
pub struct Union<'a> {
    source: &'a dyn LayerSource,
    /// Read layers, top first.
    read: Vec<LayerIndex>,
    pub bytes_read: u64,
}

/// Normalises a path inside the image: no leading `/` or `./`, no `.` components.
pub fn clean(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.join("/")
}

fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/')
        .map(|(p, _)| p)
        .or(if path.is_empty() { None } else { Some("") })
}

struct Counting<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

impl<'a> Union<'a> {
    pub fn new(source: &'a dyn LayerSource) -> Union<'a> {
        Union {
            source,
            read: Vec::new(),
            bytes_read: 0,
        }
    }

    pub fn layers_read(&self) -> usize {
        self.read.len()
    }

    /// Reads the next layer down; false when there is none.
    fn read_next(&mut self) -> Result<bool, InspectError> {
        let total = self.source.count();
        if self.read.len() >= total {
            return Ok(false);
        }
        let index = total - 1 - self.read.len();
        let layer = self.index_layer(index)?;
        self.read.push(layer);
        Ok(true)
    }

    fn index_layer(&mut self, index: usize) -> Result<LayerIndex, InspectError> {
        let name = self.source.name(index);
        let corrupt = |message: String| InspectError::Layer {
            layer: index,
            name: name.clone(),
            message,
        };
        let raw = self.source.open(index)?;
        let mut counting = Counting {
            inner: raw,
            count: 0,
        };
        let mut layer = LayerIndex::default();
        {
            let mut buffered = std::io::BufReader::new(&mut counting);
            let magic = {
                use std::io::BufRead;
                buffered
                    .fill_buf()
                    .map_err(|e| corrupt(e.to_string()))?
                    .to_vec()
            };
            let media_type = self.source.media_type(index);
            let decoded: Box<dyn Read> = if media_type.ends_with("gzip")
                || magic.starts_with(&[0x1f, 0x8b])
            {
                Box::new(flate2::read::MultiGzDecoder::new(buffered))
            } else if media_type.ends_with("zstd") || magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                Box::new(
                    zstd::stream::read::Decoder::new(buffered)
                        .map_err(|e| corrupt(e.to_string()))?,
                )
            } else {
                Box::new(buffered)
            };
            let mut archive = tar::Archive::new(decoded);
            let entries = archive.entries().map_err(|e| corrupt(e.to_string()))?;
            for entry in entries {
                let mut entry = entry.map_err(|e| corrupt(format!("bad tar entry: {e}")))?;
                let path = entry
                    .path()
                    .map_err(|e| corrupt(e.to_string()))?
                    .to_string_lossy()
                    .into_owned();
                let path = clean(&path);
                let (dir, base) = match path.rsplit_once('/') {
                    Some((d, b)) => (d.to_string(), b.to_string()),
                    None => (String::new(), path.clone()),
                };
                if base == ".wh..wh..opq" {
                    layer.opaque.insert(dir);
                    continue;
                }
                if let Some(hidden) = base.strip_prefix(".wh.") {
                    let hidden = if dir.is_empty() {
                        hidden.to_string()
                    } else {
                        format!("{dir}/{hidden}")
                    };
                    layer.whiteouts.insert(hidden);
                    continue;
                }
                let kind = entry.header().entry_type();
                let node = if kind.is_file() {
                    let mut head = Vec::with_capacity(HEAD_BYTES);
                    (&mut entry)
                        .take(HEAD_BYTES as u64)
                        .read_to_end(&mut head)
                        .map_err(|e| corrupt(e.to_string()))?;
                    Node::File {
                        head,
                        size: entry.header().size().unwrap_or(0),
                        mode: entry.header().mode().unwrap_or(0),
                    }
                } else if kind.is_dir() {
                    Node::Dir
                } else if kind.is_symlink() {
                    let target = entry
                        .link_name()
                        .map_err(|e| corrupt(e.to_string()))?
                        .map(|p| p.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    Node::Symlink(target)
                } else if kind.is_hard_link() {
                    let target = entry
                        .link_name()
                        .map_err(|e| corrupt(e.to_string()))?
                        .map(|p| clean(&p.to_string_lossy()))
                        .unwrap_or_default();
                    Node::Hardlink(target)
                } else {
                    Node::Other
                };
                // Parent directories a tar may leave implicit.
                let mut p = parent(&path);
                while let Some(d) = p {
                    if d.is_empty() {
                        break;
                    }
                    layer.entries.entry(d.to_string()).or_insert(Node::Dir);
                    p = parent(d);
                }
                layer.entries.insert(path, node);
            }
            // Read to the end so a verifying blob stream checks the digest.
            let mut rest = archive.into_inner();
            std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| corrupt(e.to_string()))?;
        }
        self.bytes_read += counting.count;
        Ok(layer)
    }

    /// Every path of the final filesystem with its node, as the layers make it: each
    /// layer is read once (the ones a lookup already read are not read again), and a
    /// path counts only when no layer above it replaces it, whites it out, hides it
    /// under an opaque directory, or puts a non-directory at one of its parents.
    pub fn final_entries(&mut self) -> Result<Vec<(String, Node)>, InspectError> {
        while self.read_next()? {}
        let mut decided: HashMap<&str, &Node> = HashMap::new();
        let mut order: Vec<&str> = Vec::new();
        for (i, layer) in self.read.iter().enumerate() {
            let above = &self.read[..i];
            let mut paths: Vec<&String> = layer.entries.keys().collect();
            paths.sort();
            for path in paths {
                if decided.contains_key(path.as_str()) {
                    continue;
                }
                let hidden = above.iter().any(|upper| {
                    upper.whiteouts.contains(path)
                        || std::iter::successors(parent(path), |p| parent(p))
                            .take_while(|a| !a.is_empty())
                            .any(|a| {
                                upper.whiteouts.contains(a)
                                    || upper.opaque.contains(a)
                                    || upper.entries.get(a).is_some_and(|n| *n != Node::Dir)
                            })
                        || upper.opaque.contains("")
                });
                if hidden {
                    continue;
                }
                decided.insert(path, &layer.entries[path]);
                order.push(path);
            }
        }
        order.sort();
        Ok(order
            .into_iter()
            .map(|p| (format!("/{p}"), decided[p].clone()))
            .collect())
    }

    /// The node at `path` (no symlinks followed), reading more layers only as needed.
    pub fn lookup(&mut self, path: &str) -> Result<Option<Node>, InspectError> {
        let path = clean(path);
        if path.is_empty() {
            return Ok(Some(Node::Dir));
        }
        let ancestors: Vec<String> = {
            let mut v = Vec::new();
            let mut p = parent(&path);
            while let Some(d) = p {
                v.push(d.to_string());
                if d.is_empty() {
                    break;
                }
                p = parent(d);
            }
            v
        };
        let mut i = 0;
        loop {
            if i >= self.read.len() && !self.read_next()? {
                return Ok(None);
            }
            let layer = &self.read[i];
            if let Some(n) = layer.entries.get(&path) {
                return Ok(Some(n.clone()));
            }
            if layer.whiteouts.contains(&path)
                || ancestors.iter().any(|a| layer.whiteouts.contains(a))
            {
                return Ok(None);
            }
            if ancestors.iter().any(|a| layer.opaque.contains(a)) {
                return Ok(None);
            }
            i += 1;
        }
    }

    /// Resolves `path` the way the kernel would: every symlink followed (the last one
    /// too), `..` handled, hard links to their target. Returns the final path and node.
    pub fn resolve(&mut self, path: &str) -> Result<Option<(String, Node)>, InspectError> {
        let mut queue: std::collections::VecDeque<String> =
            path.split('/').map(str::to_string).collect();
        let mut cur: Vec<String> = Vec::new();
        let mut hops = 0;
        let mut last = Node::Dir;
        while let Some(comp) = queue.pop_front() {
            match comp.as_str() {
                "" | "." => continue,
                ".." => {
                    cur.pop();
                    continue;
                }
                _ => {}
            }
            let candidate = if cur.is_empty() {
                comp.clone()
            } else {
                format!("{}/{comp}", cur.join("/"))
            };
            match self.lookup(&candidate)? {
                None => return Ok(None),
                Some(Node::Symlink(target)) => {
                    hops += 1;
                    if hops > 40 {
                        return Err(InspectError::SymlinkLoop {
                            path: format!("/{}", clean(path)),
                        });
                    }
                    if target.starts_with('/') {
                        cur.clear();
                    }
                    for (n, c) in target.split('/').enumerate() {
                        queue.insert(n, c.to_string());
                    }
                }
                Some(Node::Hardlink(target)) => {
                    hops += 1;
                    if hops > 40 {
                        return Err(InspectError::SymlinkLoop {
                            path: format!("/{}", clean(path)),
                        });
                    }
                    cur = target.split('/').map(str::to_string).collect();
                    match self.lookup(&target)? {
                        Some(n) => last = n,
                        None => return Ok(None),
                    }
                }
                Some(node) => {
                    cur.push(comp);
                    last = node;
                }
            }
        }
        Ok(Some((format!("/{}", cur.join("/")), last)))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// Layers built in memory for tests; counts how many were opened.
    pub struct MemLayers {
        pub layers: Vec<(String, Vec<u8>)>,
        pub opened: std::cell::RefCell<Vec<usize>>,
    }

    impl LayerSource for MemLayers {
        fn count(&self) -> usize {
            self.layers.len()
        }
        fn media_type(&self, index: usize) -> &str {
            &self.layers[index].0
        }
        fn name(&self, index: usize) -> String {
            format!("layer{index}")
        }
        fn open(&self, index: usize) -> Result<Box<dyn Read + '_>, InspectError> {
            self.opened.borrow_mut().push(index);
            Ok(Box::new(&self.layers[index].1[..]))
        }
    }

    pub enum E<'a> {
        F(&'a str, &'a [u8]),
        /// A regular file with these permission bits.
        M(&'a str, &'a [u8], u32),
        D(&'a str),
        L(&'a str, &'a str),
        H(&'a str, &'a str),
    }

    pub fn tar(entries: &[E]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for e in entries {
            let mut h = tar::Header::new_gnu();
            match e {
                E::F(p, data) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(data.len() as u64);
                    h.set_mode(0o755);
                    b.append_data(&mut h, p, *data).unwrap();
                }
                E::M(p, data, mode) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(data.len() as u64);
                    h.set_mode(*mode);
                    b.append_data(&mut h, p, *data).unwrap();
                }
                E::D(p) => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_size(0);
                    h.set_mode(0o755);
                    b.append_data(&mut h, p, &[][..]).unwrap();
                }
                E::L(p, t) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    b.append_link(&mut h, p, t).unwrap();
                }
                E::H(p, t) => {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_size(0);
                    b.append_link(&mut h, p, t).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    pub fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    pub fn zstd(data: &[u8]) -> Vec<u8> {
        zstd::stream::encode_all(data, 1).unwrap()
    }

    pub const GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    pub const ZST: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    pub const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

    pub fn mem(layers: Vec<(&str, Vec<u8>)>) -> MemLayers {
        MemLayers {
            layers: layers
                .into_iter()
                .map(|(m, d)| (m.to_string(), d))
                .collect(),
            opened: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn top_layer_decides_without_opening_lower_ones() {
        let src = mem(vec![
            (GZ, gzip(&tar(&[E::F("app", b"old")]))),
            (GZ, gzip(&tar(&[E::F("app", b"new")]))),
        ]);
        let mut u = Union::new(&src);
        assert!(
            matches!(u.lookup("/app").unwrap(), Some(Node::File { head, .. }) if head == b"new")
        );
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
}
