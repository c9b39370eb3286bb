//! The ELF header reader (the first bytes of a file in a layer).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(info) = mpbuild::inspect::elf::parse(data) {
        let _ = format!("{info:?}");
    }
});
