//! Built-in tools of the `lmcp` binary, one module per family.
pub mod ping;
#[cfg(feature = "web")]
pub mod web;
