//! The registry client: the OCI distribution API over HTTP(S), with Docker's own
//! credentials. Used by verify, push (upload and promotion) and mirror; `referrers`
//! lists and writes OCI 1.1 referrers (the API, or the referrers tag schema).

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
mod preflight;
mod redirect;
pub mod reference;
pub mod referrers;
mod resolve;
mod retry_after;
mod scheme;
#[cfg(test)]
pub(crate) mod test_registry;
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
pub use preflight::EMPTY_JSON;
pub use reference::{Reference, Repository};
pub use referrers::{Artifact, Referrers, Via};
pub use scheme::is_loopback;
pub use transport::{Options, Retry};
pub use upload::{Placed, Upload};
