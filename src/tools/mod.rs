//! Built-in tools of the `lmcp` binary, one module per family.

pub mod ping;

use crate::server::Tool;

/// Every built-in tool with default settings.
pub fn builtin() -> Vec<Tool> {
    vec![ping::tool()]
}
