//! Fixtures of the conformance suite's `tasks-*` scenarios (Tasks
//! extension; tool names and behaviour are the suite's).

use lmcp::jsonrpc::ErrorObject;
use lmcp::server::InputRequest;
use lmcp::{ServerBuilder, TaskSupport, Tool, ToolError, ToolResult};
use serde_json::{json, Value};
use std::time::Duration;

fn confirm(message: String) -> InputRequest {
    InputRequest::Elicit(json!({
        "mode": "form",
        "message": message,
        "requestedSchema": {"type": "object", "properties": {"confirm": {"type": "boolean"}}},
    }))
}

fn seconds(args: &serde_json::Map<String, Value>) -> Duration {
    let s = args.get("seconds").and_then(Value::as_f64).unwrap_or(1.0);
    Duration::from_secs_f64(s.clamp(0.0, 3600.0))
}

/// Adds `greet` (synchronous only), `slow_compute`, `protocol_error_job`,
/// `confirm_delete` and `multi_input` (tasks for clients that declare the
/// extension; the last two wait for the client's input inside the task) and
/// `failing_job` (only as a task: -32021 for other clients) and
/// `test_tool_with_task` (asks for `user_name` through MRTR, then becomes a
/// task that greets the user).
pub fn add(b: ServerBuilder) -> ServerBuilder {
    b.tool(Tool::new(
        "greet",
        "Greets `name` (never a task).",
        |a, _c| async move {
            let name = a.get("name").and_then(Value::as_str).unwrap_or("world");
            Ok(ToolResult::text(format!("Hello, {name}!")))
        },
    ))
    .tool(
        Tool::new(
            "slow_compute",
            "Sleeps `seconds`, then answers with its `label`.",
            |a, _c| async move {
                tokio::time::sleep(seconds(&a)).await;
                let label = a.get("label").and_then(Value::as_str).unwrap_or("");
                Ok(ToolResult::text(format!("computed {label}")))
            },
        )
        .task_support(TaskSupport::Optional),
    )
    .tool(
        Tool::new(
            "failing_job",
            "Fails as a tool after about a second.",
            |_a, _c| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Err(ToolError::Tool("the job failed".into()))
            },
        )
        .task_support(TaskSupport::Required),
    )
    .tool(
        Tool::new(
            "protocol_error_job",
            "Ends with a JSON-RPC error.",
            |_a, _c| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err(ToolError::Protocol(ErrorObject::internal(
                    "the job crashed",
                )))
            },
        )
        .task_support(TaskSupport::Optional),
    )
    .tool(
        Tool::new(
            "confirm_delete",
            "Asks the user to confirm deleting `filename`.",
            |a, ctx| async move {
                let file = a.get("filename").and_then(Value::as_str).unwrap_or("?");
                let r = ctx
                    .input_keyed("confirm", confirm(format!("Delete {file}?")))
                    .await?;
                Ok(ToolResult::text(format!("{file}: {}", r["action"])))
            },
        )
        .task_support(TaskSupport::Optional),
    )
    .tool(
        Tool::new(
            "multi_input",
            "Asks two questions at once.",
            |_a, ctx| async move {
                let r = ctx
                    .inputs(vec![
                        ("first".into(), confirm("First?".into())),
                        ("second".into(), confirm("Second?".into())),
                    ])
                    .await?;
                Ok(ToolResult::text(format!(
                    "{} {}",
                    r[0]["action"], r[1]["action"]
                )))
            },
        )
        .task_support(TaskSupport::Optional),
    )
    .tool(
        Tool::new(
            "test_tool_with_task",
            "Asks for `user_name`, then greets the user as a task.",
            |_a, ctx| async move {
                let ask = InputRequest::Elicit(json!({
                    "mode": "form",
                    "message": "What is your name?",
                    "requestedSchema": {"type": "object", "properties": {"name": {"type": "string"}}},
                }));
                let r = ctx.input_keyed("user_name", ask).await?;
                ctx.continue_as_task();
                let name = r["content"]["name"].as_str().unwrap_or("stranger");
                Ok(ToolResult::text(format!("Hello, {name}!")))
            },
        )
        .task_support(TaskSupport::Required)
        .input_before_task(),
    )
}
