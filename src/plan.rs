//! The build plan: pure data.
