//! Following a task an upstream created for a forwarded call (the modern
//! Tasks extension, `io.modelcontextprotocol/tasks`): when a modern
//! upstream refuses a call because its tool runs only as a task (-32021
//! naming the extension), the hub calls it again as a task, so such a tool
//! works for every client of the hub, of either era and with or without
//! tasks. [`follow`] polls `tasks/get` at the
//! upstream's interval, relays the task's input requests to our client and
//! answers them with `tasks/update`, and cancels the task upstream
//! (`tasks/cancel`) when our call ends first (cancelled, timed out, or its
//! client gone).
//!
//! A 2025-11-25 upstream that offers task-augmented `tools/call` answers a
//! plain call of a tool that runs only as a task with -32601; the hub calls
//! it again with `params.task` and waits for the outcome with
//! `tasks/result` ([`run_legacy`]), relaying the upstream's requests to our
//! client meanwhile, and cancels the task upstream if our call ends first.
//!
//! When our client's call is itself a task, the hub asks the upstream for a
//! task from the start: a modern upstream is told of the extension and may
//! answer with a task ([`follow`]); a 2025-11-25 upstream gets `params.task`
//! for a tool it lists as able to run as a task ([`run_legacy`]). Then the
//! call lasts as long as the upstream's task, not one request's timeout.

use super::forward::{call_error, call_once, relay_inputs};
use super::Upstream;
use crate::client::{Client, ClientError};
use crate::jsonrpc::ErrorObject;
use crate::protocol::META_CLIENT_CAPABILITIES;
use crate::server::{RequestContext, TaskStatus, ToolError};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Bounds of the upstream's `pollIntervalMs`: no busier than this, and
/// never slower than the upper one.
const POLL_MIN: Duration = Duration::from_millis(20);
const POLL_MAX: Duration = Duration::from_secs(5);
/// How many times one task may ask for input.
const MAX_INPUT_ROUNDS: usize = 16;

/// Cancels the upstream task when dropped before [`follow`] saw it end.
struct CancelOnDrop {
    client: Client,
    params: Map<String, Value>,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (client, params) = (self.client.clone(), std::mem::take(&mut self.params));
        rt.spawn(async move {
            if let Err(e) = client
                .request("tasks/cancel", params, Duration::from_secs(5))
                .await
            {
                log::debug!("hub: cancelling an upstream task failed: {e}");
            }
        });
    }
}

/// Follow the upstream task `created` (a `CreateTaskResult`) to its end and
/// return its `CallToolResult`. `caps` are the client capabilities every
/// `tasks/*` request carries (the extension among them).
pub(super) async fn follow(
    up: &Upstream,
    client: &Client,
    created: Value,
    caps: &Map<String, Value>,
    ctx: &RequestContext,
) -> Result<Value, ToolError> {
    let name = &up.cfg.name;
    let Some(id) = created["taskId"].as_str().map(str::to_owned) else {
        return Err(ToolError::Tool(format!(
            "upstream '{name}' answered with a task without a taskId"
        )));
    };
    let params = |extra: Option<(&str, Value)>| {
        let mut p = Map::new();
        p.insert("taskId".into(), json!(id));
        p.insert(
            "_meta".into(),
            json!({ META_CLIENT_CAPABILITIES: Value::Object(caps.clone()) }),
        );
        if let Some((k, v)) = extra {
            p.insert(k.into(), v);
        }
        p
    };
    let mut guard = CancelOnDrop {
        client: client.clone(),
        params: params(None),
        armed: true,
    };
    let timeout = up.cfg.timeout;
    let failed = |e| task_error(up, &id, e);
    let mut task = created;
    let mut rounds = 0;
    loop {
        match TaskStatus::of(&task) {
            Some(TaskStatus::Completed) => {
                guard.armed = false;
                return task.get("result").cloned().ok_or_else(|| {
                    ToolError::Tool(format!(
                        "upstream '{name}' completed task {id} without a result"
                    ))
                });
            }
            Some(TaskStatus::Failed) => {
                guard.armed = false;
                return Err(
                    match task
                        .get("error")
                        .cloned()
                        .map(serde_json::from_value::<ErrorObject>)
                    {
                        Some(Ok(e)) => ToolError::Protocol(e),
                        _ => ToolError::Tool(format!(
                            "upstream '{name}' task failed: {}",
                            task["statusMessage"].as_str().unwrap_or("no reason given")
                        )),
                    },
                );
            }
            Some(TaskStatus::Cancelled) => {
                guard.armed = false;
                return Err(ToolError::Tool(format!(
                    "upstream '{name}' cancelled the task running this call"
                )));
            }
            Some(TaskStatus::InputRequired)
                if task["inputRequests"]
                    .as_object()
                    .is_some_and(|m| !m.is_empty()) =>
            {
                rounds += 1;
                if rounds > MAX_INPUT_ROUNDS {
                    return Err(ToolError::Tool(format!(
                        "upstream '{name}' asked for input more than {MAX_INPUT_ROUNDS} times in one task; gave up"
                    )));
                }
                let mut answers = relay_inputs(up, &task, ctx).await?;
                let responses = answers
                    .remove("inputResponses")
                    .unwrap_or_else(|| json!({}));
                client
                    .request(
                        "tasks/update",
                        params(Some(("inputResponses", responses))),
                        timeout,
                    )
                    .await
                    .map_err(failed)?;
            }
            _ => {
                let wait = task["pollIntervalMs"]
                    .as_u64()
                    .map_or(Duration::from_millis(500), Duration::from_millis)
                    .clamp(POLL_MIN, POLL_MAX);
                tokio::time::sleep(wait).await;
            }
        }
        task = client
            .request("tasks/get", params(None), timeout)
            .await
            .map_err(failed)?;
    }
}

/// Calls a 2025-11-25 upstream's tool as a task (`params` carries `task`)
/// and returns the task's outcome from `tasks/result` (its
/// `CallToolResult`, or the JSON-RPC error it failed with); inside our
/// client's task, `tasks/result` is asked again after a request timeout
/// while the upstream answers `tasks/get`. `relayed`
/// counts the upstream's requests relayed to our client so far.
pub(super) async fn run_legacy(
    up: &Upstream,
    client: &Client,
    params: Map<String, Value>,
    ctx: &RequestContext,
    relayed: &mut usize,
) -> Result<Value, ToolError> {
    let created = call_once(up, client, "tools/call", params, ctx, relayed)
        .await?
        .map_err(|e| call_error(up, ctx, e))?;
    let Some(id) = created["task"]["taskId"].as_str().map(str::to_owned) else {
        // Not a task after all (the upstream ran it at once).
        return Ok(created);
    };
    let mut p = Map::new();
    p.insert("taskId".into(), json!(id));
    let mut guard = CancelOnDrop {
        client: client.clone(),
        params: p.clone(),
        armed: true,
    };
    // tasks/result answers when the task ends. Inside our client's task
    // that may be later than the upstream's timeout for one request: ask
    // again while the upstream still answers `tasks/get` (a wedged upstream
    // does not), within our task's own bound.
    let outcome = loop {
        match call_once(up, client, "tasks/result", p.clone(), ctx, relayed).await? {
            Err(ClientError::Timeout(_)) if ctx.in_task() => {
                client
                    .request("tasks/get", p.clone(), up.cfg.timeout)
                    .await
                    .map_err(|e| task_error(up, &id, e))?;
            }
            other => break other,
        }
    };
    guard.armed = false;
    match outcome {
        Ok(v) => Ok(v),
        Err(ClientError::Rpc(e)) => Err(ToolError::Protocol(e)),
        Err(e) => Err(task_error(up, &id, e)),
    }
}

/// A failure to talk to the upstream about its task `id`, as our tool error.
fn task_error(up: &Upstream, id: &str, e: ClientError) -> ToolError {
    ToolError::Tool(format!("upstream '{}' task {id}: {e}", up.cfg.name))
}
