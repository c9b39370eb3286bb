//! Subcommands.
use std::ffi::OsString;

pub fn run<I, T>(_args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    0
}
