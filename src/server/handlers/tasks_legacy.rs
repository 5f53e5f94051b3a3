//! The 2025-11-25 experimental tasks (legacy era), for clients that declare
//! the `tasks` capability in `initialize`: task-augmented `tools/call`
//! (`params.task`), `tasks/get`, `tasks/result` (blocks until the task
//! ends), `tasks/list` and `tasks/cancel`, on the same task store as the
//! modern extension (`tasks.rs`), and `notifications/tasks/status` on each
//! status change of a task the session created. Input inside a legacy task
//! is not carried: a handler asking for it gets the error it would get
//! without a client to ask.

use super::super::request::{Reply, Req};
use super::super::task_store::TaskStatus;
use super::super::tool::{TaskSupport, Tool};
use super::super::Session;
use super::tasks::{owner, Mode};
use crate::jsonrpc::{code, ErrorObject};
use crate::protocol::ProtocolVersion;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tokio::sync::broadcast::{error::RecvError, Receiver};

/// The `_meta` key tying a message to its task.
const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";

/// Whether the request is from a legacy client of a revision with tasks
/// (2025-11-25) that declared the `tasks` capability.
pub(super) fn has_tasks(r: &Req) -> bool {
    !r.version.is_modern()
        && r.version >= ProtocolVersion::V2025_11_25
        && r.client_capabilities
            .get("tasks")
            .is_some_and(Value::is_object)
}

/// The server's `capabilities.tasks` for a legacy client that declared
/// tasks: task-augmented `tools/call`, `tasks/list`, `tasks/cancel`.
pub(super) fn capability() -> Value {
    json!({"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}})
}

fn not_a_task(what: &str) -> ErrorObject {
    ErrorObject::new(code::METHOD_NOT_FOUND, what.to_string())
}

/// How `tools/call` runs `tool` for a legacy client with tasks: as a task
/// when the call carries `params.task`, as the tool's `taskSupport` allows.
pub(super) fn mode(r: &Req, tool: &Tool) -> Result<Mode, ErrorObject> {
    let asked = r.params().get("task").is_some_and(Value::is_object);
    match (tool.task_support, asked) {
        (TaskSupport::Forbidden, true) => Err(not_a_task(&format!(
            "Tool '{}' cannot run as a task: call it without \"task\"",
            tool.name
        ))),
        (TaskSupport::Required, false) => Err(not_a_task(&format!(
            "Tool '{}' runs only as a task: call it with \"task\": {{}}",
            tool.name
        ))),
        (_, true) => Ok(Mode::LegacyTask),
        (_, false) => Ok(Mode::Sync),
    }
}

/// Starts a legacy task for a call of `tool`: the answer is the
/// `CreateTaskResult` (`{task}`); the session is then told each status
/// change of the task (`notifications/tasks/status`) until it ends.
pub(super) fn start(r: &Req, tool: &Tool, args: Map<String, Value>) -> Result<Value, ErrorObject> {
    // Watch before the work starts, so no change is missed.
    let changes = r.server().tasks.watch();
    let t = super::tasks::start(r, tool, args)?;
    if let Some(id) = t["taskId"].as_str() {
        tell_status(&r.session, changes, id.to_string(), owner(r));
    }
    Ok(json!({"task": task(&t)}))
}

/// Sends `notifications/tasks/status` (the task, legacy shape) to the
/// session's channel for server notifications on every status change of
/// task `id`, until it ends, expires, or the session ends.
fn tell_status(session: &Arc<Session>, mut changes: Receiver<String>, id: String, owner: String) {
    let store = session.server.tasks.clone();
    let ended = session.shutdown_token().clone();
    let session = Arc::downgrade(session);
    tokio::spawn(async move {
        loop {
            let changed = tokio::select! {
                _ = ended.cancelled() => return,
                c = changes.recv() => c,
            };
            match changed {
                Ok(changed) if changed == id => {}
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => return,
            }
            let (Some(t), Some(session)) = (store.get(&owner, &id), session.upgrade()) else {
                return;
            };
            let params = task(&t).as_object().cloned().unwrap_or_default();
            let n = crate::jsonrpc::Notification {
                method: "notifications/tasks/status".into(),
                params,
            };
            if let Some(out) = session.legacy_outbound() {
                out.send_notification(&n).await;
            }
            if !TaskStatus::still_running(&t) {
                return;
            }
        }
    });
}

/// The store's task in the 2025-11-25 `Task` shape (`ttl`, `pollInterval`;
/// no result). A tool result with `isError` is a `failed` task there.
pub(super) fn task(t: &Value) -> Value {
    let mut m = Map::new();
    for (k, v) in t.as_object().into_iter().flatten() {
        let k = match k.as_str() {
            "ttlMs" => "ttl",
            "pollIntervalMs" => "pollInterval",
            "result" | "error" | "inputRequests" | "resultType" => continue,
            k => k,
        };
        m.insert(k.into(), v.clone());
    }
    if t["status"] == "completed" && t["result"]["isError"] == true {
        m.insert("status".into(), json!("failed"));
    }
    Value::Object(m)
}

/// The `taskId` of a legacy `tasks/*` request from a client with tasks.
fn task_id(r: &Req) -> Result<&str, ErrorObject> {
    if !has_tasks(r) {
        return Err(ErrorObject::method_not_found(&format!(
            "{} (declare the \"tasks\" capability in initialize to use tasks)",
            r.method
        )));
    }
    r.str_param("taskId")
}

fn not_found() -> ErrorObject {
    ErrorObject::invalid_params("Failed to retrieve task: Task not found")
}

/// `tasks/get`: the task's state.
pub(super) fn get(r: &Req) -> Result<Value, ErrorObject> {
    let id = task_id(r)?;
    let t = r.server().tasks.get(&owner(r), id).ok_or_else(not_found)?;
    Ok(task(&t))
}

/// `tasks/cancel`: stops the task and answers its (`cancelled`) state;
/// -32602 for a task that already ended.
pub(super) fn cancel(r: &Req) -> Result<Value, ErrorObject> {
    let id = task_id(r)?;
    let store = &r.server().tasks;
    if !store.cancel(&owner(r), id).ok_or_else(not_found)? {
        return Err(ErrorObject::invalid_params(
            "Cannot cancel task: it has already ended (tasks/result gives its outcome)",
        ));
    }
    let t = store.get(&owner(r), id).ok_or_else(not_found)?;
    Ok(task(&t))
}

/// `tasks/list`: the caller's tasks (one page).
pub(super) fn list(r: &Req) -> Result<Value, ErrorObject> {
    if !has_tasks(r) {
        return Err(ErrorObject::method_not_found(
            "tasks/list (declare the \"tasks\" capability in initialize to use tasks)",
        ));
    }
    let tasks: Vec<Value> = r.server().tasks.list(&owner(r)).iter().map(task).collect();
    Ok(json!({ "tasks": tasks }))
}

/// `tasks/result`: waits until the task ends, then answers what the call
/// would have answered (its result, or its JSON-RPC error), tied to the
/// task by `_meta`.
pub(super) async fn result(r: &Req) -> Reply {
    let id = match task_id(r) {
        Ok(id) => id,
        Err(e) => return Reply::Error(e),
    };
    let Some(t) = r.server().tasks.wait_terminal(&owner(r), id).await else {
        return Reply::Error(not_found());
    };
    if let Some(res) = t.get("result") {
        let mut res = res.clone();
        res["_meta"][RELATED_TASK] = json!({ "taskId": id });
        return Reply::Result(res);
    }
    let e = &t["error"];
    Reply::Error(match e["code"].as_i64() {
        Some(c) => ErrorObject {
            code: c,
            message: e["message"].as_str().unwrap_or("the task failed").into(),
            data: e.get("data").cloned(),
        },
        None => ErrorObject::internal("the task was cancelled before it produced a result"),
    })
}
