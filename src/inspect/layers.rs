//! The image's filesystem as its layers make it, read lazily from the top: a layer is
//! streamed (gzip, zstd or plain tar) only when the layers above it do not decide a
//! path. While a layer streams, every entry's kind is recorded, and for regular files
//! only their first bytes (enough for an ELF header or a `#!` line), so symlink and
//! interpreter lookups never download a layer twice. Whiteouts (`.wh.NAME`) and opaque
//! directories (`.wh..wh..opq`) hide what lies below, as overlayfs does.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::rc::Rc;

use super::error::InspectError;

/// How many leading bytes of each regular file are read: enough for an ELF header or a
/// `#!` line. Only ELF files and scripts keep them all; other files keep
/// [`SHORT_HEAD`] bytes (for messages).
pub const HEAD_BYTES: usize = 128;
pub const SHORT_HEAD: usize = 16;

/// What reading an image's layers may cost; a layer over a limit is an error naming it.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Entries kept for the whole image (files, directories, links, whiteouts).
    pub entries: usize,
    /// Bytes of names and file heads kept for the whole image.
    pub index_bytes: u64,
    /// The extended headers (PAX, GNU long name and long link) of one tar entry.
    pub header_bytes: u64,
    /// Decompressed bytes of one layer.
    pub layer_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            entries: 1_000_000,
            index_bytes: 64 << 20,
            header_bytes: 1 << 20,
            layer_bytes: 16 << 30,
        }
    }
}

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
    limits: Limits,
    /// Entries and bytes of names and heads kept so far (all layers read).
    kept_entries: usize,
    kept_bytes: u64,
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

/// What the layers read so far keep: entries, and bytes of names and file heads.
struct Kept {
    entries: usize,
    bytes: u64,
}

/// The errors of one layer: each names the layer, and says which limit tripped.
struct LayerErrors {
    layer: usize,
    name: String,
    limits: Limits,
    state: Rc<GuardState>,
}

impl LayerErrors {
    fn corrupt(&self, message: String) -> InspectError {
        InspectError::Layer {
            layer: self.layer,
            name: self.name.clone(),
            message,
        }
    }

    /// An error the guard caused, in words; else the reader's own.
    fn fail(&self, e: std::io::Error, what: &str) -> InspectError {
        let limits = self.limits;
        match self.state.tripped.get() {
            Some(Trip::Layer) => self.corrupt(format!(
                "it decompresses to more than {} bytes; refused without reading the rest",
                limits.layer_bytes
            )),
            Some(Trip::Headers) => self.corrupt(format!(
                "a tar entry's extended headers (PAX, GNU long name or link) exceed {} bytes; refused",
                limits.header_bytes
            )),
            None if what.is_empty() => self.corrupt(e.to_string()),
            None => self.corrupt(format!("{what}: {e}")),
        }
    }

    /// Whether what is kept is still within the image's limits.
    fn within(&self, kept: &Kept) -> Result<(), InspectError> {
        let limits = self.limits;
        if kept.entries > limits.entries {
            Err(self.corrupt(format!(
                "the image has more than {} files; refused without reading the rest",
                limits.entries
            )))
        } else if kept.bytes > limits.index_bytes {
            Err(self.corrupt(format!(
                "the image's file names take more than {} bytes; refused without reading the rest",
                limits.index_bytes
            )))
        } else {
            Ok(())
        }
    }
}

/// The layer's tar stream: gzip or zstd by its media type or magic bytes, else as it is.
fn decompressed<'r>(
    raw: impl Read + 'r,
    media_type: &str,
    errors: &LayerErrors,
) -> Result<Box<dyn Read + 'r>, InspectError> {
    let mut buffered = std::io::BufReader::new(raw);
    let magic = {
        use std::io::BufRead;
        buffered
            .fill_buf()
            .map_err(|e| errors.corrupt(e.to_string()))?
            .to_vec()
    };
    Ok(
        if media_type.ends_with("gzip") || magic.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else if media_type.ends_with("zstd") || magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Box::new(
                zstd::stream::read::Decoder::new(buffered)
                    .map_err(|e| errors.corrupt(e.to_string()))?,
            )
        } else {
            Box::new(buffered)
        },
    )
}

/// Every entry of the tar stream into a layer index (the guard bounds what the tar
/// reader reads between entries), then the stream read to its end so a verifying blob
/// stream checks the digest.
fn read_tar<R: Read>(
    guard: Guard<R>,
    errors: &LayerErrors,
    kept: &mut Kept,
) -> Result<LayerIndex, InspectError> {
    let (limits, state) = (errors.limits, errors.state.clone());
    let mut layer = LayerIndex::default();
    let mut archive = tar::Archive::new(guard);
    let mut entries = archive.entries().map_err(|e| errors.fail(e, ""))?;
    loop {
        state.budget.set(Some(limits.header_bytes + HEADER_SLACK));
        let Some(entry) = entries.next() else { break };
        state.budget.set(None);
        let mut entry = entry.map_err(|e| errors.fail(e, "bad tar entry"))?;
        let path = entry
            .path()
            .map_err(|e| errors.corrupt(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let path = clean(&path);
        let (dir, base) = match path.rsplit_once('/') {
            Some((d, b)) => (d.to_string(), b.to_string()),
            None => (String::new(), path.clone()),
        };
        let node = if base == ".wh..wh..opq" || base.starts_with(".wh.") {
            None
        } else {
            Some(entry_node(&mut entry, errors)?)
        };
        // The rest of the entry's data, read here (not by the tar reader,
        // whose reads between entries are bounded).
        std::io::copy(&mut entry, &mut std::io::sink()).map_err(|e| errors.fail(e, ""))?;
        match node {
            None => whiteout(&mut layer, &path, dir, &base, errors, kept)?,
            Some(node) => keep(&mut layer, path, node, errors, kept)?,
        }
    }
    // Read to the end so a verifying blob stream checks the digest.
    let mut rest = archive.into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).map_err(|e| errors.fail(e, ""))?;
    Ok(layer)
}

/// What an entry (not a whiteout) is: a file with its first bytes (all [`HEAD_BYTES`]
/// for an ELF file or a script, else [`SHORT_HEAD`]), a directory, a link, or other.
fn entry_node<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    errors: &LayerErrors,
) -> Result<Node, InspectError> {
    let kind = entry.header().entry_type();
    let node = if kind.is_file() {
        let mut head = Vec::with_capacity(HEAD_BYTES);
        entry
            .by_ref()
            .take(HEAD_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|e| errors.fail(e, ""))?;
        if !(head.starts_with(b"\x7fELF") || head.starts_with(b"#!")) {
            head.truncate(SHORT_HEAD);
            head.shrink_to_fit();
        }
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
            .map_err(|e| errors.corrupt(e.to_string()))?
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        Node::Symlink(target)
    } else if kind.is_hard_link() {
        let target = entry
            .link_name()
            .map_err(|e| errors.corrupt(e.to_string()))?
            .map(|p| clean(&p.to_string_lossy()))
            .unwrap_or_default();
        Node::Hardlink(target)
    } else {
        Node::Other
    };
    Ok(node)
}

/// A whiteout: `.wh..wh..opq` makes its directory opaque, `.wh.NAME` hides NAME.
fn whiteout(
    layer: &mut LayerIndex,
    path: &str,
    dir: String,
    base: &str,
    errors: &LayerErrors,
    kept: &mut Kept,
) -> Result<(), InspectError> {
    kept.entries += 1;
    kept.bytes += path.len() as u64;
    errors.within(kept)?;
    if base == ".wh..wh..opq" {
        layer.opaque.insert(dir);
    } else {
        let hidden = &base[".wh.".len()..];
        let hidden = if dir.is_empty() {
            hidden.to_string()
        } else {
            format!("{dir}/{hidden}")
        };
        layer.whiteouts.insert(hidden);
    }
    Ok(())
}

/// An entry kept in the layer's index, with the parent directories a tar may leave
/// implicit (up to the first one already known: its own parents are known too).
fn keep(
    layer: &mut LayerIndex,
    path: String,
    node: Node,
    errors: &LayerErrors,
    kept: &mut Kept,
) -> Result<(), InspectError> {
    let mut p = parent(&path);
    while let Some(d) = p {
        if d.is_empty() || layer.entries.contains_key(d) {
            break;
        }
        kept.entries += 1;
        kept.bytes += d.len() as u64;
        errors.within(kept)?;
        layer.entries.insert(d.to_string(), Node::Dir);
        p = parent(d);
    }
    let (name_cost, node_cost) = (path.len() as u64, cost(&node));
    match layer.entries.insert(path, node) {
        Some(old) => kept.bytes = kept.bytes - cost(&old) + node_cost,
        None => {
            kept.entries += 1;
            kept.bytes += name_cost + node_cost;
        }
    }
    errors.within(kept)
}

/// The bytes a node keeps besides its name: a file's head, a link's target.
fn cost(node: &Node) -> u64 {
    match node {
        Node::File { head, .. } => head.len() as u64,
        Node::Symlink(t) | Node::Hardlink(t) => t.len() as u64,
        _ => 0,
    }
}

/// Room for a tar entry's own header blocks and padding besides its extended headers.
const HEADER_SLACK: u64 = 8 * 512;

impl<'a> Union<'a> {
    pub fn new(source: &'a dyn LayerSource) -> Union<'a> {
        Union::with_limits(source, Limits::default())
    }

    pub fn with_limits(source: &'a dyn LayerSource, limits: Limits) -> Union<'a> {
        Union {
            source,
            read: Vec::new(),
            bytes_read: 0,
            limits,
            kept_entries: 0,
            kept_bytes: 0,
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

    /// One streaming pass over layer `index`: decompressed, bounded by the guard, each
    /// tar entry recorded; what it keeps counts against the image's limits.
    fn index_layer(&mut self, index: usize) -> Result<LayerIndex, InspectError> {
        let name = self.source.name(index);
        let raw = self.source.open(index)?;
        let mut counting = Counting {
            inner: raw,
            count: 0,
        };
        let state = Rc::new(GuardState::default());
        state.limit.set(self.limits.layer_bytes);
        let errors = LayerErrors {
            layer: index,
            name,
            limits: self.limits,
            state: state.clone(),
        };
        let mut kept = Kept {
            entries: self.kept_entries,
            bytes: self.kept_bytes,
        };
        let layer = {
            let decoded = decompressed(&mut counting, self.source.media_type(index), &errors)?;
            let guard = Guard {
                inner: decoded,
                state,
            };
            read_tar(guard, &errors, &mut kept)?
        };
        self.kept_entries = kept.entries;
        self.kept_bytes = kept.bytes;
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

mod guard;
use guard::{Counting, Guard, GuardState, Trip};

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;
