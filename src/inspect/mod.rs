//! Looking inside image layers: the entrypoint's ELF machine (filled in by the deep-verify work).
