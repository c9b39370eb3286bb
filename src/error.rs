//! The crate's error as the edge reports it. Errors travel through the stages as
//! `anyhow::Error` chains of typed errors (each with [`Coded::code`] and, apart from its
//! message, [`Coded::help`]); the edge looks at a chain once, here, to find the typed
//! error that decides: the first in the chain. Every typed error mpbuild returns is
//! listed in [`typed`]; an error with none in its chain is a usage error (exit 2).

use crate::exit::{Code, Coded};

/// The error that ended a run: its typed error, if its chain has one.
pub struct Error<'a> {
    typed: Option<&'a dyn Coded>,
}

impl<'a> Error<'a> {
    /// The typed error that decides for `err`: the first in its chain.
    pub fn of(err: &'a anyhow::Error) -> Error<'a> {
        Error {
            typed: err.chain().find_map(typed),
        }
    }

    /// The exit code (see [`crate::exit::Code`]).
    pub fn code(&self) -> Code {
        self.typed.map_or(Code::Usage, |e| e.code())
    }

    /// What to do about it, when the error says.
    pub fn help(&self) -> Option<String> {
        self.typed.and_then(|e| e.help())
    }
}

/// `cause` as one of mpbuild's typed errors, if it is one.
fn typed<'a>(cause: &'a (dyn std::error::Error + 'static)) -> Option<&'a dyn Coded> {
    macro_rules! first_of {
        ($($ty:ty),* $(,)?) => {
            $(
                if let Some(e) = cause.downcast_ref::<$ty>() {
                    return Some(e);
                }
            )*
        };
    }
    first_of!(
        crate::exit::UsageError,
        crate::exit::Interrupted,
        crate::exit::ChecksFailed,
        crate::platform::PlatformError,
        crate::config::ConfigError,
        crate::deploy::DeployError,
        crate::check::pin::PinError,
        crate::oci_layout::LayoutError,
        crate::registry::RegistryError,
        crate::inspect::InspectError,
        crate::registry::convert::ConvertError,
        crate::buildx::BuildError,
        crate::pipeline::mirror::MirrorError,
        crate::pipeline::mirror::ReferrerError,
        crate::pipeline::merge::MergeError,
        crate::workdir::WorkDirError,
        crate::pipeline::promote::NotLanded,
        crate::inputs::InputFileError,
        crate::signing::SignError,
    );
    None
}
