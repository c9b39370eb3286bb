//! The registry side of a push: uploading a build's OCI layout, and promoting tags to
//! verified digests.

pub mod mirror;
pub mod promote;
pub mod upload;
