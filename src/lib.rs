//! mpbuild: build multi-platform container images for the services they run on, and
//! prove by reading the registry that every required platform is there before any
//! deploy tag moves.
//!
//! The flow, one module per stage:
//! `config` (mpbuild.yaml) → `catalog` (service → platforms) → `plan` (pure data) →
//! `buildx` (runs docker buildx) → `registry` (OCI distribution client) →
//! `verify` (checks, with `inspect` for the deep ELF check) → promote tags.
//! `cli` parses arguments; `commands` carry each subcommand out.

pub mod builder;
pub mod buildx;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod digest;
pub mod exit;
pub mod inspect;
pub mod oci_layout;
pub mod plan;
pub mod platform;
pub mod publish;
pub mod registry;
pub mod shell;
pub mod verify;

use std::ffi::OsString;

/// Runs mpbuild with the given arguments and returns the process exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    commands::run(args)
}
