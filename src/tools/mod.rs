//! Built-in tools of the `lmcp` binary, one module per family.

pub mod budget;
#[cfg(feature = "docs")]
pub(crate) mod docs;
#[cfg(any(feature = "web", feature = "docs"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "web", feature = "docs"))))]
pub mod extract_helper;
pub mod fs;
pub mod jobs;
pub mod ping;
pub(crate) mod process;
pub mod roots;
pub mod sandbox;
pub(crate) mod schemas;
pub mod shell;
pub mod system;

use crate::server::Tool;

/// The tools that need no configuration (`ping`, `systeminfo`); the
/// others take their family's config: see [`fs::tools`] and [`shell::tools`].
pub fn builtin() -> Vec<Tool> {
    vec![ping::tool(), system::tool()]
}
#[cfg(feature = "web")]
#[cfg_attr(docsrs, doc(cfg(feature = "web")))]
pub mod web;
