//! OCI distribution API client (filled in by the registry work).
