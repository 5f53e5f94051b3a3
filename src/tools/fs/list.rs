//! `list` (stub).
use super::FsConfig;
use crate::server::{Tool, ToolResult};
use std::sync::Arc;
/// Stub.
pub(crate) fn tool(_cfg: Arc<FsConfig>) -> Tool {
    Tool::new("list_x", "stub", |_a, _c| async {
        Ok(ToolResult::text(""))
    })
    .read_only()
}
