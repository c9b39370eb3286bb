//! mpbuild: build multi-platform container images for the services they run on, and
//! prove by reading the registry that every required platform is there before any
//! deploy tag moves.
//!
//! The flow, one module per stage:
//! `config` (mpbuild.yaml) → `catalog` (service → platforms) → `plan` (pure data) →
//! `pipeline` (the stages of a push: mirror → build → upload → verify → promote →
//! report), over `buildx` (runs docker buildx), `registry` (OCI distribution client)
//! and `verify` (checks, with `inspect` for the deep ELF check).
//! `cli` parses arguments; `settings` resolves what every command needs; `commands`
//! are the thin edge that calls the stages and renders what they return.

pub mod builder;
pub mod buildx;
pub mod cancel;
pub mod catalog;
pub mod check;
pub mod child;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod digest;
pub mod doctor;
pub mod emulation;
pub mod error;
pub mod escape;
pub mod exit;
pub mod fsread;
pub mod gitmeta;
pub mod heartbeat;
pub mod inputs;
pub mod inspect;
pub mod oci_layout;
pub mod pipeline;
pub mod plan;
pub mod platform;
pub mod printer;
pub mod provenance;
pub mod registry;
pub mod settings;
pub mod shell;
pub mod signing;
pub mod summary;
pub mod tool_output;
pub mod verify;
pub mod version;
pub mod workdir;

use std::ffi::OsString;

/// Runs mpbuild with the given arguments and returns the process exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    commands::run(args)
}
