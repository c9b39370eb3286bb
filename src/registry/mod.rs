//! The registry client: the OCI distribution API over HTTP(S), with Docker's own
//! credentials. Used by verify, push (upload and promotion) and mirror.

pub mod auth;
mod blobs;
pub mod client;
pub mod convert;
pub mod credentials;
pub mod error;
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

pub use client::{BlobReader, Checked, Client, Fetched, Options, Retry};
pub use error::RegistryError;
pub use manifest::{Descriptor, ImageConfig, Manifest};
pub use reference::{Reference, Repository};
pub use upload::{Placed, Upload};
