//! Built-in tools of the `lmcp` binary, one module per family.
pub mod fs;
pub mod ping;
pub mod roots;
