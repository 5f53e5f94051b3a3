//! The Tasks extension (`io.modelcontextprotocol/tasks`, modern era) over
//! stdio: task-augmented `tools/call`, `tasks/get`, `tasks/cancel`,
//! `tasks/update`, capability checks. Every line the server writes is
//! checked against the 2026-07-28 schema by the peer; the task shapes,
//! which the core schema does not define, are checked here.

mod common;

use common::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TASKS: &str = "io.modelcontextprotocol/tasks";

fn with_tasks(params: Value) -> Value {
    with_meta(params, meta_with(json!({"extensions": {TASKS: {}}})))
}

/// Sets its flag when dropped: tells whether a tool's work was stopped.
struct OnDrop(Arc<AtomicBool>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A server with a slow tool per task support, and a flag set when the slow
/// optional tool's work is dropped before it finished.
fn builder(dropped: Arc<AtomicBool>) -> lmcp::ServerBuilder {
    let slow = |ms: u64, dropped: Option<Arc<AtomicBool>>| {
        move |args: serde_json::Map<String, Value>, _ctx: lmcp::RequestContext| {
            let guard = dropped.clone().map(OnDrop);
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                std::mem::forget(guard);
                if args.get("fail").is_some() {
                    return Err(lmcp::ToolError::Protocol(
                        lmcp::jsonrpc::ErrorObject::internal("asked to fail"),
                    ));
                }
                Ok(lmcp::ToolResult::text("done"))
            }
        }
    };
    lmcp::Server::builder("tasks", "1.0")
        .tool(
            lmcp::Tool::new("opt", "optional", slow(300, Some(dropped)))
                .task_support(lmcp::TaskSupport::Optional),
        )
        .tool(
            lmcp::Tool::new("req", "required", slow(10, None))
                .task_support(lmcp::TaskSupport::Required),
        )
        .tool(lmcp::Tool::new("never", "forbidden", slow(10, None)))
        .tool(
            lmcp::Tool::new("ask", "asks two questions", |_a, ctx| async move {
                let form = |m: &str| {
                    lmcp::server::InputRequest::Elicit(json!({"mode": "form", "message": m,
                        "requestedSchema": {"type": "object", "properties": {}}}))
                };
                let r = ctx
                    .inputs(vec![("a".into(), form("A?")), ("b".into(), form("B?"))])
                    .await?;
                Ok(lmcp::ToolResult::text(format!(
                    "{} {}",
                    r[0]["action"], r[1]["action"]
                )))
            })
            .task_support(lmcp::TaskSupport::Optional),
        )
        .tool(
            lmcp::Tool::new("named", "asks a name, then a task", |_a, ctx| async move {
                let ask = lmcp::server::InputRequest::Elicit(json!({"mode": "form",
                    "message": "Name?", "requestedSchema": {"type": "object", "properties": {}}}));
                let r = ctx.input_keyed("user_name", ask).await?;
                let became = ctx.continue_as_task();
                tokio::time::sleep(Duration::from_millis(50)).await;
                let name = r["content"]["name"].as_str().unwrap_or("?");
                Ok(lmcp::ToolResult::text(format!("{name} task={became}")))
            })
            .task_support(lmcp::TaskSupport::Optional)
            .input_before_task(),
        )
}

fn server(dropped: Arc<AtomicBool>) -> Arc<lmcp::Server> {
    builder(dropped).build()
}

/// The fields every `Task` has, with their types.
fn assert_task(t: &Value) {
    assert!(t["taskId"].as_str().is_some_and(|s| s.len() >= 32), "{t}");
    assert!(
        [
            "working",
            "input_required",
            "completed",
            "failed",
            "cancelled"
        ]
        .contains(&t["status"].as_str().unwrap_or("")),
        "{t}"
    );
    for k in ["createdAt", "lastUpdatedAt"] {
        assert!(t[k].as_str().is_some_and(|s| s.ends_with('Z')), "{k}: {t}");
    }
    assert!(t["ttlMs"].is_u64() && t["pollIntervalMs"].is_u64(), "{t}");
}

/// Polls `tasks/get` until the task leaves `working`.
fn poll_until_terminal(p: &mut Peer, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = p.call("tasks/get", with_tasks(json!({"taskId": id})));
        let t = result(&r).clone();
        assert_eq!(t["resultType"], "complete", "{t}");
        assert_task(&t);
        // Terminal, or waiting for the client (which the caller handles).
        if t["status"] != "working" {
            return t;
        }
        assert!(Instant::now() < deadline, "task never finished: {t}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn discover_advertises_the_extension() {
    let mut p = Peer::in_process(server(Arc::default()));
    let r = p.modern("server/discover", json!({}));
    assert_eq!(
        result(&r)["capabilities"]["extensions"][TASKS],
        json!({}),
        "{r}"
    );
}

#[test]
fn an_optional_tool_runs_as_a_task_polled_to_completion() {
    let mut p = Peer::in_process(server(Arc::default()));
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "opt", "arguments": {}})),
    );
    let created = result(&r).clone();
    assert_eq!(created["resultType"], "task", "{created}");
    assert_eq!(created["status"], "working");
    assert_task(&created);
    let id = created["taskId"].as_str().unwrap();
    let done = poll_until_terminal(&mut p, id);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["result"]["content"][0]["text"], "done");
    assert!(schema_errors(
        Era::Modern,
        "CallToolResult",
        &json!({"resultType": "complete", "content": done["result"]["content"]})
    )
    .is_empty());
    // Without the extension the same tool answers synchronously.
    let r = p.modern("tools/call", json!({"name": "opt", "arguments": {}}));
    assert_eq!(first_text(&r), "done", "{r}");
    // A forbidden tool never makes a task.
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "never", "arguments": {}})),
    );
    assert_eq!(first_text(&r), "done", "{r}");
}

#[test]
fn a_json_rpc_error_fails_the_task() {
    let mut p = Peer::in_process(server(Arc::default()));
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "req", "arguments": {"fail": true}})),
    );
    let id = result(&r)["taskId"].as_str().unwrap().to_string();
    let t = poll_until_terminal(&mut p, &id);
    assert_eq!(t["status"], "failed", "{t}");
    assert_eq!(t["error"]["code"], -32603);
    assert_eq!(t["error"]["message"], "asked to fail");
}

#[test]
fn a_required_tool_needs_the_extension() {
    let mut p = Peer::in_process(server(Arc::default()));
    let r = p.modern("tools/call", json!({"name": "req", "arguments": {}}));
    assert_eq!(error_code(&r), -32021, "{r}");
    assert_eq!(
        r["error"]["data"]["requiredCapabilities"]["extensions"][TASKS],
        json!({})
    );
    // So do the tasks/* methods.
    let r = p.modern("tasks/get", json!({"taskId": "x"}));
    assert_eq!(error_code(&r), -32021, "{r}");
}

#[test]
fn cancel_stops_the_work() {
    let dropped = Arc::new(AtomicBool::new(false));
    let mut p = Peer::in_process(server(dropped.clone()));
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "opt", "arguments": {}})),
    );
    let id = result(&r)["taskId"].as_str().unwrap().to_string();
    let r = p.call("tasks/cancel", with_tasks(json!({"taskId": id})));
    assert_eq!(result(&r)["resultType"], "complete", "{r}");
    let t = poll_until_terminal(&mut p, &id);
    assert_eq!(t["status"], "cancelled", "{t}");
    assert!(t.get("result").is_none());
    let deadline = Instant::now() + Duration::from_secs(5);
    while !dropped.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the tool's work kept running");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn unknown_tasks_are_invalid_params() {
    let mut p = Peer::in_process(server(Arc::default()));
    for m in ["tasks/get", "tasks/cancel"] {
        let r = p.call(
            m,
            with_tasks(json!({"taskId": "0123456789abcdef0123456789abcdef"})),
        );
        assert_eq!(error_code(&r), -32602, "{m}: {r}");
    }
    let r = p.call(
        "tasks/update",
        with_tasks(json!({"taskId": "nope", "inputResponses": {}})),
    );
    assert_eq!(error_code(&r), -32602, "{r}");
    // A known task acknowledges an update (no key is outstanding: ignored).
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "opt", "arguments": {}})),
    );
    let id = result(&r)["taskId"].as_str().unwrap().to_string();
    let r = p.call(
        "tasks/update",
        with_tasks(json!({"taskId": id, "inputResponses": {"k": {"action": "accept"}}})),
    );
    assert_eq!(result(&r)["resultType"], "complete", "{r}");
}

/// Issue 20: the binary's `shell` runs as a task for a client that asks,
/// polled to completion; a cancelled one loses its process group.
#[test]
fn shell_as_a_task_completes_and_cancel_kills_its_process_group() {
    let mut p = Peer::lmcp();
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "shell", "arguments": {"command": "sleep 1; echo done"}})),
    );
    let created = result(&r).clone();
    assert_eq!(created["resultType"], "task", "{created}");
    assert_task(&created);
    let t = poll_until_terminal(&mut p, created["taskId"].as_str().unwrap());
    assert_eq!(t["status"], "completed", "{t}");
    assert!(
        t["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("done"),
        "{t}"
    );
    assert_eq!(t["result"]["structuredContent"]["exit_code"], 0, "{t}");

    let dir = std::env::temp_dir().join(format!("lmcp-task-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pid_file = dir.join("pid");
    let cmd = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "shell", "arguments": {"command": cmd}})),
    );
    let id = result(&r)["taskId"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        if let Ok(s) = std::fs::read_to_string(&pid_file) {
            if let Ok(pid) = s.trim().parse::<u32>() {
                break pid;
            }
        }
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    assert!(proc_dir.exists());
    let r = p.call("tasks/cancel", with_tasks(json!({"taskId": id})));
    assert_eq!(result(&r)["resultType"], "complete", "{r}");
    let deadline = Instant::now() + Duration::from_secs(10);
    // Gone, or a zombie nobody reaps (its parent was killed too).
    while proc_dir.exists()
        && !std::fs::read_to_string(proc_dir.join("stat")).is_ok_and(|s| s.contains(") Z "))
    {
        assert!(Instant::now() < deadline, "sleep {pid} survived the cancel");
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = poll_until_terminal(&mut p, &id);
    assert_eq!(t["status"], "cancelled", "{t}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Input inside a task: `input_required` with `inputRequests` on
/// `tasks/get`, answered (partly, then fully) with `tasks/update`; the
/// task then completes with what the answers gave.
#[test]
fn a_task_waits_for_input_given_with_tasks_update() {
    let mut p = Peer::in_process(server(Arc::default()));
    let caps = json!({"elicitation": {}, "extensions": {TASKS: {}}});
    let call = with_meta(
        json!({"name": "ask", "arguments": {}}),
        meta_with(caps.clone()),
    );
    let r = p.call("tools/call", call);
    let id = result(&r)["taskId"].as_str().unwrap().to_string();
    let t = poll_until_terminal(&mut p, &id);
    assert_eq!(t["status"], "input_required", "{t}");
    let keys: Vec<&String> = t["inputRequests"].as_object().unwrap().keys().collect();
    assert_eq!(keys, ["a", "b"]);
    assert_eq!(t["inputRequests"]["a"]["method"], "elicitation/create");
    let update = |answers: Value| {
        with_meta(
            json!({"taskId": id, "inputResponses": answers}),
            meta_with(caps.clone()),
        )
    };
    let r = p.call(
        "tasks/update",
        update(json!({"a": {"action": "accept"}, "zz": {}})),
    );
    assert_eq!(result(&r)["resultType"], "complete", "{r}");
    let t = result(&p.call("tasks/get", with_tasks(json!({"taskId": id})))).clone();
    assert_eq!(t["status"], "input_required", "{t}");
    assert_eq!(t["inputRequests"].as_object().unwrap().len(), 1, "{t}");
    assert!(t["inputRequests"].get("b").is_some(), "{t}");
    p.call("tasks/update", update(json!({"b": {"action": "decline"}})));
    let t = poll_until_terminal(&mut p, &id);
    assert_eq!(t["status"], "completed", "{t}");
    assert_eq!(
        t["result"]["content"][0]["text"], "\"accept\" \"decline\"",
        "{t}"
    );
}

/// A task lives for the TTL the embedder set; after it, `tasks/get` finds
/// nothing (-32602) and the work is stopped.
#[test]
fn an_expired_task_is_gone() {
    let dropped = Arc::new(AtomicBool::new(false));
    let limits = lmcp::server::TaskLimits {
        ttl: Duration::from_millis(150),
        ..Default::default()
    };
    let server = builder(dropped.clone()).task_limits(limits).build();
    let mut p = Peer::in_process(server);
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "opt", "arguments": {}})),
    );
    let created = result(&r).clone();
    assert_eq!(created["ttlMs"], 150, "{created}");
    std::thread::sleep(Duration::from_millis(200));
    let r = p.call(
        "tasks/get",
        with_tasks(json!({"taskId": created["taskId"]})),
    );
    assert_eq!(error_code(&r), -32602, "{r}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !dropped.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the expired task's work went on");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// MRTR before the task (`Tool::input_before_task`): the first round is an
/// `input_required` result without a task; the retry with the answer becomes
/// a task (no `requestState`, no `inputRequests`) whose result carries the
/// answer. Without the extension the same tool answers synchronously.
#[test]
fn input_gathered_by_mrtr_before_the_task_reaches_its_result() {
    let mut p = Peer::in_process(server(Arc::default()));
    let caps = json!({"elicitation": {}, "extensions": {TASKS: {}}});
    let call = |extra: Value, caps: &Value| {
        let mut params = json!({"name": "named", "arguments": {}});
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        with_meta(params, meta_with(caps.clone()))
    };
    let r = p.call("tools/call", call(json!({}), &caps));
    let round1 = result(&r).clone();
    assert_eq!(round1["resultType"], "input_required", "{round1}");
    assert!(round1.get("taskId").is_none(), "{round1}");
    assert!(
        round1["inputRequests"].get("user_name").is_some(),
        "{round1}"
    );
    let answer = json!({
        "inputResponses": {"user_name": {"action": "accept", "content": {"name": "Alice"}}},
        "requestState": round1["requestState"],
    });
    let r = p.call("tools/call", call(answer.clone(), &caps));
    let created = result(&r).clone();
    assert_eq!(created["resultType"], "task", "{created}");
    assert_task(&created);
    for k in ["requestState", "inputRequests", "content"] {
        assert!(created.get(k).is_none(), "{k}: {created}");
    }
    let t = poll_until_terminal(&mut p, created["taskId"].as_str().unwrap());
    assert_eq!(t["status"], "completed", "{t}");
    assert_eq!(t["result"]["content"][0]["text"], "Alice task=true", "{t}");
    // A client without the extension gets the tool's result directly.
    let r = p.call("tools/call", call(answer, &json!({"elicitation": {}})));
    assert_eq!(result(&r)["content"][0]["text"], "Alice task=false", "{r}");
}

/// `notifications/tasks` on a `subscriptions/listen` stream: the stream
/// follows the caller's known tasks named in `taskIds` (an unknown id is
/// left out of the acknowledgement), sends each one's state at once and
/// then every status change, each the detailed task `tasks/get` would give,
/// input requests and the final result included.
#[test]
fn a_listen_stream_follows_task_status() {
    let mut p = Peer::in_process(server(Arc::default()));
    let caps = json!({"elicitation": {}, "extensions": {TASKS: {}}});
    let call = |name: &str| {
        with_meta(
            json!({"name": name, "arguments": {}}),
            meta_with(caps.clone()),
        )
    };
    let opt = p.call("tools/call", call("opt"));
    let opt = result(&opt)["taskId"].as_str().unwrap().to_string();
    let ask = p.call("tools/call", call("ask"));
    let ask = result(&ask)["taskId"].as_str().unwrap().to_string();
    let sub = p.request(
        "subscriptions/listen",
        with_meta(
            json!({"notifications": {"taskIds": [opt, ask, "no-such-task", opt]}}),
            meta_with(caps.clone()),
        ),
    );
    let ack = p.next();
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    let mut both = vec![opt.clone(), ask.clone()];
    both.sort();
    assert_eq!(
        ack["params"]["notifications"],
        json!({"taskIds": both}),
        "{ack}"
    );
    let status_of = |p: &mut Peer, sub: i64, id: &str, status: &str| -> Value {
        let (id, status) = (id.to_string(), status.to_string());
        let n = p
            .wait_for(Duration::from_secs(10), |m| {
                m["method"] == "notifications/tasks"
                    && m["params"]["taskId"] == id.as_str()
                    && m["params"]["status"] == status.as_str()
            })
            .unwrap_or_else(|| panic!("no notifications/tasks {status} for {id}"));
        assert_task(&n["params"]);
        assert_eq!(
            n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], sub,
            "{n}"
        );
        n
    };
    let done = status_of(&mut p, sub, &opt, "completed");
    assert_eq!(
        done["params"]["result"]["content"][0]["text"], "done",
        "{done}"
    );
    let waiting = status_of(&mut p, sub, &ask, "input_required");
    let keys: Vec<&String> = waiting["params"]["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(keys, ["a", "b"], "{waiting}");
    let update = with_meta(
        json!({"taskId": ask, "inputResponses": {"a": {"action": "accept"}, "b": {"action": "decline"}}}),
        meta_with(caps.clone()),
    );
    p.call("tasks/update", update);
    let done = status_of(&mut p, sub, &ask, "completed");
    assert_eq!(
        done["params"]["result"]["content"][0]["text"], "\"accept\" \"decline\"",
        "{done}"
    );
    // A cancelled task is told too.
    let slow = p.call("tools/call", call("opt"));
    let slow = result(&slow)["taskId"].as_str().unwrap().to_string();
    let sub2 = p.request(
        "subscriptions/listen",
        with_meta(
            json!({"notifications": {"taskIds": [slow]}}),
            meta_with(caps.clone()),
        ),
    );
    let ack = p
        .wait_for(Duration::from_secs(10), |m| {
            m["method"] == "notifications/subscriptions/acknowledged"
                && m["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == sub2
        })
        .unwrap();
    assert_eq!(ack["params"]["notifications"]["taskIds"], json!([slow]));
    p.call("tasks/cancel", with_tasks(json!({"taskId": slow})));
    status_of(&mut p, sub2, &slow, "cancelled");
}

/// Task status notifications need the extension declared (-32021), and
/// `taskIds` must be an array.
#[test]
fn a_listen_for_tasks_needs_the_extension() {
    let mut p = Peer::in_process(server(Arc::default()));
    let r = p.modern(
        "subscriptions/listen",
        json!({"notifications": {"taskIds": ["x"]}}),
    );
    assert_eq!(error_code(&r), -32021, "{r}");
    assert_eq!(
        r["error"]["data"]["requiredCapabilities"]["extensions"][TASKS],
        json!({}),
        "{r}"
    );
    let r = p.call(
        "subscriptions/listen",
        with_tasks(json!({"notifications": {"taskIds": "x"}})),
    );
    assert_eq!(error_code(&r), -32602, "{r}");
}

#[test]
fn a_task_knows_it_is_one_and_may_run_past_the_call_timeout() {
    // 300 ms of work: over the call timeout (100 ms), within the task
    // timeout (5 s); the handler reports whether it runs as a task.
    let tool = lmcp::Tool::new("long", "slow, says if in a task", |a, ctx| async move {
        let ms = a.get("ms").and_then(Value::as_u64).unwrap_or(300);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(lmcp::ToolResult::text(format!("in_task={}", ctx.in_task())))
    })
    .timeout(Duration::from_millis(100))
    .task_timeout(Duration::from_secs(5))
    .task_support(lmcp::TaskSupport::Optional);
    let mut p = Peer::in_process(lmcp::Server::builder("t", "1").tool(tool).build());
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "long", "arguments": {}})),
    );
    let id = result(&r)["taskId"].as_str().unwrap().to_string();
    let done = poll_until_terminal(&mut p, &id);
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["result"]["content"][0]["text"], "in_task=true",
        "{done}"
    );
    // As a plain call the tool's own timeout applies.
    let r = p.modern("tools/call", json!({"name": "long", "arguments": {}}));
    assert_eq!(result(&r)["isError"], true, "{r}");
    assert!(first_text(&r).contains("timed out"), "{r}");
    let r = p.modern(
        "tools/call",
        json!({"name": "long", "arguments": {"ms": 1}}),
    );
    assert_eq!(first_text(&r), "in_task=false", "{r}");
}

#[test]
fn no_task_run_outlives_the_task() {
    // A run without a timeout of its own (task_timeout MAX) is stopped when
    // its task's time to live (300 ms) is up.
    let dropped = Arc::new(AtomicBool::new(false));
    let flag = dropped.clone();
    let tool = lmcp::Tool::new("forever", "never ends", move |_a, _ctx| {
        let guard = OnDrop(flag.clone());
        async move {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(guard);
            Ok(lmcp::ToolResult::text("never"))
        }
    })
    .task_timeout(Duration::MAX)
    .task_support(lmcp::TaskSupport::Optional);
    let limits = lmcp::server::TaskLimits {
        ttl: Duration::from_millis(300),
        ..Default::default()
    };
    let server = lmcp::Server::builder("t", "1")
        .tool(tool)
        .task_limits(limits)
        .build();
    let mut p = Peer::in_process(server);
    let r = p.call(
        "tools/call",
        with_tasks(json!({"name": "forever", "arguments": {}})),
    );
    assert_eq!(result(&r)["resultType"], "task", "{r}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !dropped.load(Ordering::SeqCst) {
        assert!(Instant::now() < deadline, "the run went on past the TTL");
        std::thread::sleep(Duration::from_millis(20));
    }
}
