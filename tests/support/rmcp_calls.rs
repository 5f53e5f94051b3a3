//! Tool calls through the official Rust SDK (`rmcp`) shared by the tests that
//! use it as a client, over stdio or HTTP alike.

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::RoleClient;
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

/// A JSON object literal as tool arguments.
pub fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

/// The first text block of a tool result.
pub fn text(r: &CallToolResult) -> String {
    let v = serde_json::to_value(r).unwrap();
    v["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A fast `echo` is answered while the fixture's `sleep` of `sleep_ms` runs.
pub async fn fast_call_answered_during_slow_one(
    client: &RunningService<RoleClient, ()>,
    sleep_ms: u64,
) {
    let slow = client.call_tool(
        CallToolRequestParams::new("sleep")
            .with_arguments(args(serde_json::json!({"ms": sleep_ms}))),
    );
    let fast = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        let r = client
            .call_tool(
                CallToolRequestParams::new("echo")
                    .with_arguments(args(serde_json::json!({"text": "fast"}))),
            )
            .await
            .expect("echo during sleep");
        (t.elapsed(), r)
    };
    let (slow, (took, fast)) = tokio::join!(slow, fast);
    assert_eq!(text(&fast), "fast");
    assert!(
        took < Duration::from_millis(1000),
        "echo waited for sleep: {took:?}"
    );
    assert_eq!(text(&slow.expect("sleep")), format!("slept {sleep_ms} ms"));
}
