//! What bounds a layer's read: a byte counter for the compressed stream, and the guard
//! between the decompressor and the tar reader.

use std::io::Read;
use std::rc::Rc;

pub(super) struct Counting<R> {
    pub(super) inner: R,
    pub(super) count: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Between the decompressor and the tar reader: counts decompressed bytes (at most
/// `layer_bytes`) and, while the tar reader looks for the next entry (`budget` set),
/// bounds what it may read: the headers, padding and extended headers of one entry.
/// (Entry data is read by `index_layer` itself, with no budget.)
pub(super) struct Guard<R> {
    pub(super) inner: R,
    pub(super) state: Rc<GuardState>,
}

#[derive(Default)]
pub(super) struct GuardState {
    pub(super) total: std::cell::Cell<u64>,
    pub(super) limit: std::cell::Cell<u64>,
    pub(super) budget: std::cell::Cell<Option<u64>>,
    pub(super) tripped: std::cell::Cell<Option<Trip>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Trip {
    Headers,
    Layer,
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let st = &self.state;
        let n = self.inner.read(buf)?;
        let total = st.total.get() + n as u64;
        st.total.set(total);
        if total > st.limit.get() {
            st.tripped.set(Some(Trip::Layer));
            return Err(std::io::Error::other("decompressed size limit"));
        }
        if let Some(b) = st.budget.get() {
            if n as u64 > b {
                st.tripped.set(Some(Trip::Headers));
                return Err(std::io::Error::other("extended header limit"));
            }
            st.budget.set(Some(b - n as u64));
        }
        Ok(n)
    }
}
