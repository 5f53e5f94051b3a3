//! The 2025-11-25 experimental tasks (legacy era) over stdio, for a client
//! that declares `tasks` in `initialize`: the server's `capabilities.tasks`,
//! `execution.taskSupport` in `tools/list`, task-augmented `tools/call`,
//! `tasks/get`, `tasks/result` (blocking), `tasks/list`, `tasks/cancel`.
//! Every line the server writes is checked against the 2025-11-25 schema
//! by the peer (`CreateTaskResult`, `GetTaskResult`, `ListTasksResult`,
//! `CancelTaskResult`, `GetTaskPayloadResult`).

mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const RELATED: &str = "io.modelcontextprotocol/related-task";

fn server() -> Arc<lmcp::Server> {
    let slow = |ms: u64| {
        move |args: serde_json::Map<String, Value>, _ctx: lmcp::RequestContext| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if args.get("fail").is_some() {
                return Ok(lmcp::ToolResult::error("asked to fail"));
            }
            Ok(lmcp::ToolResult::text("done"))
        }
    };
    lmcp::Server::builder("tasks", "1.0")
        .tool(
            lmcp::Tool::new("opt", "optional", slow(200)).task_support(lmcp::TaskSupport::Optional),
        )
        .tool(
            lmcp::Tool::new("long", "long", slow(60_000)).task_support(lmcp::TaskSupport::Optional),
        )
        .tool(
            lmcp::Tool::new("req", "required", slow(10)).task_support(lmcp::TaskSupport::Required),
        )
        .tool(lmcp::Tool::new("never", "forbidden", slow(10)))
        .build()
}

/// A peer past `initialize` at 2025-11-25, declaring tasks when `tasks`.
fn peer(tasks: bool) -> (Peer, Value) {
    let mut p = Peer::in_process(server());
    let caps = if tasks {
        json!({"tasks": {"list": {}, "cancel": {}}})
    } else {
        json!({})
    };
    let init = p.initialize("2025-11-25", caps);
    (p, result(&init).clone())
}

fn call_as_task(p: &mut Peer, name: &str, args: Value) -> Value {
    let r = p.call(
        "tools/call",
        json!({"name": name, "arguments": args, "task": {"ttl": 60_000}}),
    );
    let task = result(&r)["task"].clone();
    assert_eq!(task["status"], "working", "{r}");
    assert!(task["ttl"].is_u64() && task["pollInterval"].is_u64(), "{r}");
    assert!(task.get("ttlMs").is_none(), "{r}");
    task
}

#[test]
fn capabilities_and_tool_list_show_tasks_to_clients_that_declare_them() {
    let (mut p, init) = peer(true);
    assert_eq!(
        init["capabilities"]["tasks"],
        json!({"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}})
    );
    let tools = result(&p.call("tools/list", json!({})))["tools"].clone();
    let support = |n: &str| {
        let t = tools.as_array().unwrap().iter().find(|t| t["name"] == n);
        t.unwrap()["execution"]["taskSupport"].clone()
    };
    assert_eq!(support("opt"), "optional");
    assert_eq!(support("req"), "required");
    assert_eq!(support("never"), Value::Null);
    let (_, init) = peer(false);
    assert!(init["capabilities"].get("tasks").is_none(), "{init}");
}

/// `tasks/result` waits for the work and answers the call's result, tied
/// to the task by `_meta`; the finished task is in `tasks/list`.
#[test]
fn a_task_is_polled_and_its_result_fetched() {
    let (mut p, _) = peer(true);
    let task = call_as_task(&mut p, "opt", json!({}));
    let id = task["taskId"].as_str().unwrap().to_string();
    let t = p.call("tasks/get", json!({"taskId": id}));
    assert_eq!(result(&t)["taskId"], id.as_str());
    let r = p.call("tasks/result", json!({"taskId": id}));
    let res = result(&r);
    assert_eq!(res["content"][0]["text"], "done", "{r}");
    assert_eq!(res["_meta"][RELATED]["taskId"], id.as_str(), "{r}");
    let t = p.call("tasks/get", json!({"taskId": id}));
    assert_eq!(result(&t)["status"], "completed", "{t}");
    assert!(result(&t).get("result").is_none(), "{t}");
    let l = p.call("tasks/list", json!({}));
    let ids: Vec<&Value> = result(&l)["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["taskId"])
        .collect();
    assert_eq!(ids, [&json!(id)], "{l}");
}

/// A tool error (`isError`) makes a `failed` task; `tasks/result` still
/// answers the tool's result.
#[test]
fn a_tool_error_is_a_failed_task() {
    let (mut p, _) = peer(true);
    let id = call_as_task(&mut p, "opt", json!({"fail": true}))["taskId"].clone();
    let r = p.call("tasks/result", json!({"taskId": id}));
    assert_eq!(result(&r)["isError"], true, "{r}");
    let t = p.call("tasks/get", json!({"taskId": id}));
    assert_eq!(result(&t)["status"], "failed", "{t}");
}

/// Cancelling answers the `cancelled` task; a second cancel is -32602, and
/// a pending `tasks/result` ends with an error.
#[test]
fn cancel_ends_the_task_and_its_waiting_result() {
    let (mut p, _) = peer(true);
    let id = call_as_task(&mut p, "long", json!({}))["taskId"].clone();
    let waiting = p.request("tasks/result", json!({"taskId": id}));
    let c = p.call("tasks/cancel", json!({"taskId": id}));
    assert_eq!(result(&c)["status"], "cancelled", "{c}");
    let r = p.response_within(waiting, Duration::from_secs(10));
    assert_eq!(error_code(&r), -32603, "{r}");
    let again = p.call("tasks/cancel", json!({"taskId": id}));
    assert_eq!(error_code(&again), -32602, "{again}");
}

/// `taskSupport` is enforced with -32601; unknown ids are -32602; a client
/// that did not declare tasks has no `tasks/*` methods.
#[test]
fn task_support_and_declarations_are_enforced() {
    let (mut p, _) = peer(true);
    let r = p.call("tools/call", json!({"name": "req", "arguments": {}}));
    assert_eq!(error_code(&r), -32601, "{r}");
    let r = p.call(
        "tools/call",
        json!({"name": "never", "arguments": {}, "task": {}}),
    );
    assert_eq!(error_code(&r), -32601, "{r}");
    let r = p.call(
        "tasks/get",
        json!({"taskId": "0123456789abcdef0123456789abcdef"}),
    );
    assert_eq!(error_code(&r), -32602, "{r}");
    let (mut p, _) = peer(false);
    let r = p.call("tasks/list", json!({}));
    assert_eq!(error_code(&r), -32601, "{r}");
    let r = p.call("tools/call", json!({"name": "req", "arguments": {}}));
    assert_eq!(error_code(&r), -32601, "{r}");
    // Without the declaration `task` is ignored: the call answers directly.
    let r = p.call(
        "tools/call",
        json!({"name": "opt", "arguments": {}, "task": {}}),
    );
    assert_eq!(result(&r)["content"][0]["text"], "done", "{r}");
}

/// Each status change of a task is told with `notifications/tasks/status`
/// (the task in the 2025-11-25 shape, checked against that schema by the
/// peer): completed, failed (a tool error), cancelled.
#[test]
fn status_changes_are_notified() {
    let (mut p, _) = peer(true);
    let told = |p: &mut Peer, id: &Value, status: &str| {
        let n = p
            .wait_for(Duration::from_secs(10), |m| {
                m["method"] == "notifications/tasks/status" && m["params"]["taskId"] == *id
            })
            .unwrap_or_else(|| panic!("no notifications/tasks/status for {id}"));
        assert_eq!(n["params"]["status"], status, "{n}");
        assert!(
            n["params"]["ttl"].is_u64() && n["params"].get("result").is_none(),
            "{n}"
        );
    };
    let done = call_as_task(&mut p, "opt", json!({}))["taskId"].clone();
    told(&mut p, &done, "completed");
    let failed = call_as_task(&mut p, "opt", json!({"fail": true}))["taskId"].clone();
    told(&mut p, &failed, "failed");
    let long = call_as_task(&mut p, "long", json!({}))["taskId"].clone();
    p.call("tasks/cancel", json!({"taskId": long}));
    told(&mut p, &long, "cancelled");
    // Nothing more about a task once it ended.
    p.collect_for(Duration::from_millis(200));
    let again = p.take_stashed(|m| m["method"] == "notifications/tasks/status");
    assert!(again.is_empty(), "{again:?}");
}
