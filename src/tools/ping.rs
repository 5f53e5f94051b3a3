//! `ping`: a health check that answers at once with `pong`, the server's
//! time and its uptime.
use crate::server::{Tool, ToolResult};
use crate::time::rfc3339;
use crate::tools::schemas::stored;
use crate::tools::system::{mark_start, server_uptime};
use serde_json::json;
use std::time::SystemTime;

/// The `ping` tool.
pub fn tool() -> Tool {
    mark_start();
    Tool::new(
        "ping",
        "Check that the server is alive; answers \"pong\" at once with the server's time and uptime.",
        |_args, _ctx| async {
            let time = rfc3339(SystemTime::now());
            let uptime_ms = server_uptime().as_millis() as u64;
            Ok(ToolResult::text(format!("pong (server time {time}, up {uptime_ms} ms)"))
                .with_structured(json!({"pong": true, "time": time, "uptime_ms": uptime_ms})))
        },
    )
    .title("Ping")
    .output_schema(stored!("ping.output" => json!({"type":"object","properties":{
        "pong":{"type":"boolean"},
        "time":{"type":"string","description":"server time, RFC 3339 UTC"},
        "uptime_ms":{"type":"integer","description":"milliseconds since the server started"}
    },"required":["pong","time","uptime_ms"]})))
    .read_only()
    .idempotent()
    .open_world(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ping_answers_pong_with_time_and_uptime() {
        let t = tool();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let r = (t.handler)(serde_json::Map::new(), crate::RequestContext::detached())
            .await
            .unwrap();
        let v = r.structured.unwrap();
        assert_eq!(v["pong"], true);
        assert!(v["uptime_ms"].as_u64().unwrap() >= 5);
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
    }
}
