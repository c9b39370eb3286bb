//! `mpbuild check`: will this deploy exec? Every image reference in deployment files
//! (ECS task definitions, CloudFormation/SAM, Kubernetes manifests, compose, Copilot),
//! held to what its workload needs — the platforms the same file says (or the
//! service's, or the cluster's), a single image manifest for Lambda — with the same
//! verification as `verify`. Each reference is resolved once however many files name
//! it; findings name `FILE:LINE`.
//!
//! `gather` reads the files into uses of references; `resolve` reads the registry and
//! decides; `report` renders; `pin` writes the verified digests back into the files.

mod gather;
pub mod pin;
pub mod report;
mod resolve;
mod uses;

pub use gather::{Input, Options, gather};
pub use resolve::resolve;
pub use uses::*;

#[cfg(test)]
mod tests;
