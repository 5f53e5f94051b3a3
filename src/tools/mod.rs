//! Built-in tools of the `lmcp` binary, one module per family.
pub mod jobs;
pub mod ping;
pub mod shell;
pub mod system;
