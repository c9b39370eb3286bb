//! Running `docker buildx` (filled in by the push work).
