//! The registry client: the OCI distribution API over HTTP(S), with Docker's own
//! credentials. Used by verify, push (upload and promotion) and mirror.

pub mod auth;
mod blobs;
mod cache;
pub mod client;
pub mod convert;
pub mod credentials;
pub mod error;
mod http;
#[cfg(test)]
mod interrupt_tests;
pub mod manifest;
mod manifests;
mod redirect;
pub mod reference;
mod resolve;
mod retry_after;
mod scheme;
#[cfg(test)]
pub(crate) mod test_server;
mod transport;
mod upload;

pub use blobs::{BlobReader, Checked};
pub use client::Client;
pub use error::RegistryError;
pub use http::OpenBlob;
pub use manifest::Fetched;
pub use manifest::{Descriptor, ImageConfig, Manifest};
pub use reference::{Reference, Repository};
pub use scheme::is_loopback;
pub use transport::{Options, Retry};
pub use upload::{Placed, Upload};
