//! Built-in tools of the `lmcp` binary, one module per family.

pub mod fs;
pub mod ping;
pub mod roots;

use crate::server::Tool;

/// The `ping` tool alone (the rest need configuration: see [`fs::tools`]).
pub fn builtin() -> Vec<Tool> {
    vec![ping::tool()]
}
