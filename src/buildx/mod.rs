//! Running `docker buildx`: finding docker and buildx, inspecting the builder, running
//! a planned build or bake with its progress shown, reading the digests it produced.

pub mod beat;
pub mod cache;
pub mod docker;
pub mod error;
pub mod log;
pub mod metadata;
pub mod nodes;
pub mod plugin;
pub mod progress;
pub mod run;
pub mod state;
pub mod steps;
pub mod timing;
pub mod ui;
pub mod watch;

pub use docker::{Builder, Version};
pub use error::BuildError;
pub use run::Job;
pub use ui::{Mode, Ui};
