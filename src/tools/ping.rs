//! `ping`: a tool that answers at once (for liveness checks and latency).
use crate::server::{Tool, ToolResult};
use serde_json::json;

/// The `ping` tool.
pub fn tool() -> Tool {
    Tool::new(
        "ping",
        "Check that the server is alive; answers \"pong\" at once.",
        |_args, _ctx| async { Ok(ToolResult::text("pong").with_structured(json!({"pong": true}))) },
    )
    .title("Ping")
    .output_schema(
        json!({"type":"object","properties":{"pong":{"type":"boolean"}},"required":["pong"]}),
    )
    .read_only()
    .idempotent()
    .open_world(false)
}
