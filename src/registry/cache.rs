//! What one run already read by digest: manifests and small blobs (configs), kept by
//! `REPO@DIGEST`. A digest fixes the bytes it names, so what was fetched and checked
//! once is not fetched again (promotion after verification, a leg's records).

use std::collections::HashMap;

use super::manifest::Fetched;

/// The most manifest bytes kept by digest in one run.
const DIGEST_CACHE_BYTES: usize = 32 << 20;

/// Manifests and small blobs (configs) already fetched and checked by digest, by
/// `REPO@DIGEST`, up to [`DIGEST_CACHE_BYTES`] in all (past that, nothing more is
/// kept). Only what was read from that repository is kept under its name.
#[derive(Debug, Default)]
pub(super) struct DigestCache {
    entries: HashMap<String, Fetched>,
    blobs: HashMap<String, Vec<u8>>,
    bytes: usize,
}

impl DigestCache {
    /// Takes `len` bytes of the budget, if it has them.
    fn reserve(&mut self, len: usize) -> bool {
        let fits = self.bytes + len <= DIGEST_CACHE_BYTES;
        if fits {
            self.bytes += len;
        }
        fits
    }

    /// The manifest fetched as `key` (`REPO@DIGEST`), if kept.
    pub(super) fn manifest(&self, key: &str) -> Option<&Fetched> {
        self.entries.get(key)
    }

    /// Keeps a manifest, if the budget allows.
    pub(super) fn keep_manifest(&mut self, key: String, fetched: &Fetched) {
        if self.reserve(fetched.bytes.len()) {
            self.entries.insert(key, fetched.clone());
        }
    }

    /// Keeps a blob's bytes, if the budget allows.
    pub(super) fn keep_blob(&mut self, key: String, bytes: &[u8]) {
        if self.reserve(bytes.len()) {
            self.blobs.insert(key, bytes.to_vec());
        }
    }

    pub(super) fn blob(&self, key: &str) -> Option<&Vec<u8>> {
        self.blobs.get(key)
    }
}
