//! `mpbuild.yaml`: raw structs, loading, validation into a `Project`.

use crate::exit::{Code, Coded};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Coded for ConfigError {
    fn code(&self) -> Code {
        Code::Usage
    }
}
