//! A layer blob (tar, gzip or zstd) as `--deep` reads it: the image's union, symlinks
//! resolved, and the entrypoint check over it (ELF headers, `#!` lines). Property: the
//! reader never reports more bytes read than the blob holds.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use mpbuild::inspect::InspectError;
use mpbuild::inspect::layers::{LayerSource, Limits, Union};
use mpbuild::platform::Platform;
use mpbuild::registry::manifest::RunConfig;

struct One<'a>(&'a [u8], &'static str);

impl LayerSource for One<'_> {
    fn count(&self) -> usize {
        1
    }
    fn media_type(&self, _: usize) -> &str {
        self.1
    }
    fn name(&self, _: usize) -> String {
        "sha256:fuzz".into()
    }
    fn open(&self, _: usize) -> Result<Box<dyn Read + '_>, InspectError> {
        Ok(Box::new(self.0))
    }
}

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run short; the limits themselves are what is tested.
    let limits = Limits {
        entries: 10_000,
        index_bytes: 4 << 20,
        header_bytes: 64 << 10,
        layer_bytes: 32 << 20,
    };
    let src = One(data, "application/vnd.oci.image.layer.v1.tar");
    let mut u = Union::with_limits(&src, limits);
    let _ = u.resolve("/bin/sh");
    assert!(u.bytes_read <= data.len() as u64, "{} of {}", u.bytes_read, data.len());
    let mut u = Union::with_limits(&src, limits);
    let _ = u.final_entries();
    assert!(u.bytes_read <= data.len() as u64, "{} of {}", u.bytes_read, data.len());
    let mut u = Union::with_limits(&src, limits);
    let run = RunConfig {
        entrypoint: Some(vec!["/bin/sh".into(), "-c".into()]),
        cmd: Some(vec!["exec app --flag".into()]),
        env: Some(vec!["PATH=/usr/local/bin:/usr/bin:/bin".into()]),
        working_dir: Some("/srv".into()),
    };
    let _ = mpbuild::inspect::entrypoint::check(&mut u, &run, &Platform::new("linux", "arm64", ""));
    assert!(u.bytes_read <= data.len() as u64, "{} of {}", u.bytes_read, data.len());
});
