//! stub
use super::FsConfig;
use crate::server::{Tool, ToolResult};
use std::sync::Arc;
pub(crate) fn info_tool(_cfg: Arc<FsConfig>) -> Tool {
    Tool::new("file_info", "stub", |_a, _c| async {
        Ok(ToolResult::text(""))
    })
    .read_only()
}
pub(crate) fn make_dir_tool(_cfg: Arc<FsConfig>) -> Tool {
    Tool::new("make_dir", "stub", |_a, _c| async {
        Ok(ToolResult::text(""))
    })
}
pub(crate) fn move_tool(_cfg: Arc<FsConfig>) -> Tool {
    Tool::new("move_file", "stub", |_a, _c| async {
        Ok(ToolResult::text(""))
    })
}
