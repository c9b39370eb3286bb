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
