//! What goes wrong reading an image's layers (exit 4: the registry's answer).

use crate::exit::{Code, Coded};
use crate::registry::RegistryError;

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("layer {layer} ({name}): {message}")]
    Layer {
        layer: usize,
        name: String,
        message: String,
    },
    #[error("{path}: too many levels of symbolic links")]
    SymlinkLoop { path: String },
    #[error(transparent)]
    Registry(#[from] RegistryError),
}

impl Coded for InspectError {
    fn code(&self) -> Code {
        Code::Registry
    }
}
