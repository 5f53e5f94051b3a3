//! A tool's `structuredContent` is checked against its `outputSchema` when
//! `ServerConfig::validate_output` is on (debug builds; the `lmcp` binary
//! with `LMCP_VALIDATE_OUTPUT`, as the test command runs it): a mismatch is
//! a bug in the tool and answers -32603 naming it (issue 19).

mod common;

use common::*;
use lmcp::{ServerConfig, Tool, ToolResult};
use serde_json::json;

fn server(validate_output: bool) -> std::sync::Arc<lmcp::Server> {
    let schema =
        json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]});
    lmcp::Server::builder("out", "1.0")
        .config(ServerConfig {
            validate_output,
            ..ServerConfig::default()
        })
        .tool(
            Tool::new("good", "keeps its promise", |_a, _c| async {
                Ok(ToolResult::structured(json!({"n": 1})))
            })
            .output_schema(schema.clone()),
        )
        .tool(
            Tool::new("bad", "breaks its promise", |_a, _c| async {
                Ok(ToolResult::structured(json!({"n": "one"})))
            })
            .output_schema(schema),
        )
        .build()
}

#[test]
fn a_result_that_breaks_the_output_schema_is_an_internal_error() {
    let mut p = Peer::in_process(server(true));
    let r = p.modern("tools/call", json!({"name": "good", "arguments": {}}));
    assert_eq!(result(&r)["structuredContent"], json!({"n": 1}), "{r}");
    let r = p.modern("tools/call", json!({"name": "bad", "arguments": {}}));
    assert_eq!(error_code(&r), -32603, "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("'bad'") && msg.contains("outputSchema") && msg.contains("/n"),
        "{msg}"
    );
}

#[test]
fn without_the_check_the_result_goes_out_as_the_tool_made_it() {
    let mut p = Peer::in_process(server(false));
    p.initialize(LATEST_LEGACY, json!({}));
    let r = p.call("tools/call", json!({"name": "bad", "arguments": {}}));
    assert_eq!(result(&r)["structuredContent"], json!({"n": "one"}), "{r}");
}
