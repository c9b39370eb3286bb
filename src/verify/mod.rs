//! Verification: prove that what a registry holds contains every platform the targets
//! need. `check` decides (pure); `collect` reads the registry; `report` renders.

pub mod check;
pub mod report;
pub mod requirements;

pub use check::{Deep, Entry, Kind, Observed, Requirements, Row, Status, Verdict, check};
