//! The Tasks extension (`io.modelcontextprotocol/tasks`, modern era):
//! task-augmented `tools/call` and `tasks/get`, `tasks/update`,
//! `tasks/cancel`, input inside a task (`input_required`), and MRTR input
//! gathered before a task exists (`Tool::input_before_task`). The state lives in the server's task store
//! (`task_store.rs`); this file starts the work and answers the methods.

use super::super::context::{ContextParts, RequestContext};
use super::super::error::ToolError;
use super::super::mrtr::MrtrState;
use super::super::outbound::Outbound;
use super::super::request::{run, Req, RunError};
use super::super::shape;
use super::super::task_store::TaskOutcome;
use super::super::tool::{TaskSupport, Tool, ToolResult};
use crate::jsonrpc::{code, ErrorObject};
use serde_json::{json, Map, Value};
use std::future::Future;
use std::pin::Pin;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub(crate) use crate::protocol::TASKS_EXTENSION;

/// Whether the request's client capabilities declare the extension.
pub(super) fn declared(r: &Req) -> bool {
    r.version.is_modern()
        && r.client_capabilities
            .get("extensions")
            .and_then(|e| e.get(TASKS_EXTENSION))
            .is_some_and(Value::is_object)
}

/// The identity a task is bound to: the caller the transport named (the
/// token subject over HTTP). Without one (stdio: one client per process;
/// HTTP without tokens) all callers share the empty identity, and the
/// unguessable id is what keeps a task to the client that got it.
pub(super) fn owner(r: &Req) -> String {
    r.caller.clone().unwrap_or_default()
}

pub(super) fn missing_capability() -> ErrorObject {
    ErrorObject::new(
        code::MISSING_CLIENT_CAPABILITY,
        "Missing required client capability",
    )
    .with_data(json!({"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}}))
}

/// How `tools/call` runs a tool for this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Synchronously: the answer is the tool's result.
    Sync,
    /// As a task from the start: the answer is a `CreateTaskResult`.
    Task,
    /// Inline until the handler calls `continue_as_task` (MRTR input first).
    InlineFirst,
    /// As a legacy (2025-11-25) task: the answer is `{task}`.
    LegacyTask,
}

/// How `tools/call` runs `tool` for this request (modern era; see
/// `tasks_legacy::mode` for 2025-11-25 clients with tasks), or the error
/// refusing it.
pub(super) fn mode(r: &Req, tool: &Tool) -> Result<Mode, ErrorObject> {
    let task = match tool.task_support {
        TaskSupport::Forbidden => return Ok(Mode::Sync),
        TaskSupport::Optional => declared(r),
        TaskSupport::Required if declared(r) => true,
        // -32021 exists only in the modern era.
        TaskSupport::Required if !r.version.is_modern() => {
            return Err(ErrorObject::new(
                code::METHOD_NOT_FOUND,
                format!(
                    "Tool '{}' runs only as a task: use protocol 2025-11-25 with the \"tasks\" \
                     capability in initialize and call it with \"task\": {{}}",
                    tool.name
                ),
            ))
        }
        TaskSupport::Required => return Err(missing_capability()),
    };
    Ok(match task {
        false => Mode::Sync,
        true if tool.input_before_task => Mode::InlineFirst,
        // A retry carrying input responses finishes its MRTR exchange
        // synchronously before any task exists (as the extension advises).
        true if r.params().contains_key("inputResponses") => Mode::Sync,
        true => Mode::Task,
    })
}

/// A handler's run, bounded by its timeout, catching panics.
pub(super) type Running = Pin<Box<dyn Future<Output = Result<ToolResult, RunError>> + Send>>;

/// How an inline run ended: the call became a task (its `CreateTaskResult`
/// or the error creating it), or the handler returned first.
pub(super) enum Inline {
    Task(Result<Value, ErrorObject>),
    Done(Result<ToolResult, RunError>),
}

/// Runs `work` inline until it ends or its handler calls
/// `continue_as_task` (`escalated` fires): then a task is created and the
/// rest of the work runs in the background as that task.
pub(super) async fn inline_first(
    r: &Req,
    name: &str,
    mut work: Running,
    mut escalated: oneshot::Receiver<()>,
) -> Inline {
    let res = tokio::select! {
        res = &mut work => res,
        Ok(()) = &mut escalated => return Inline::Task(adopt(r, name, work)),
    };
    // It may have asked to become a task and ended within the same poll.
    if escalated.try_recv().is_err() {
        return Inline::Done(res);
    }
    let server = r.session.server().clone();
    let made = server.tasks.create(&owner(r), CancellationToken::new());
    Inline::Task(made.map(|task| {
        let id = task["taskId"].as_str().unwrap_or_default();
        server.tasks.finish(id, outcome_of(res, name, r.version));
        created(task)
    }))
}

/// Makes `work`, already running, the work of a new task.
fn adopt(r: &Req, name: &str, work: Running) -> Result<Value, ErrorObject> {
    let server = r.session.server().clone();
    let token = CancellationToken::new();
    let task = server.tasks.create(&owner(r), token.clone())?;
    let id = task["taskId"].as_str().unwrap_or_default().to_string();
    let (name, version) = (name.to_string(), r.version);
    tokio::spawn(async move {
        let res = tokio::select! {
            // Dropping the work stops it (process groups are killed on drop).
            _ = token.cancelled() => return,
            res = work => res,
        };
        server.tasks.finish(&id, outcome_of(res, &name, version));
    });
    Ok(created(task))
}

/// A store's new task as the `CreateTaskResult` answering the call.
pub(super) fn created(mut task: Value) -> Value {
    task["resultType"] = json!("task");
    task
}

/// Creates a task for a call of `tool` and starts its work in the
/// background; returns the new task as the store has it.
pub(super) fn start(r: &Req, tool: &Tool, args: Map<String, Value>) -> Result<Value, ErrorObject> {
    let server = r.session.server().clone();
    let token = CancellationToken::new();
    let task = server.tasks.create(&owner(r), token.clone())?;
    let id = task["taskId"].as_str().unwrap_or_default().to_string();
    // Progress and log notifications are not carried by tasks; input goes
    // through `input_required` and `tasks/update`.
    let (rid, method, version, caps) = (
        r.req.id.clone(),
        r.method.as_str().to_string(),
        r.version,
        r.client_capabilities.clone(),
    );
    let context = move |cancel: CancellationToken, answers: Map<String, Value>| {
        RequestContext::new(ContextParts {
            id: rid.clone(),
            method: method.clone(),
            version,
            client_capabilities: caps.clone(),
            cancel,
            progress_token: None,
            log_level: None,
            out: Outbound::discard(),
            requester: None,
            mrtr: MrtrState::with_responses(answers),
            roots_cache: None,
            in_task: true,
        })
    };
    let timeout = tool
        .task_timeout
        .or(tool.timeout)
        .unwrap_or(server.config.default_timeout);
    // No run outlives its task (the result would have nowhere to go), the
    // runs after an input round included.
    let expires = tokio::time::Instant::now().checked_add(server.tasks.limits().ttl);
    let bound = move || match expires {
        Some(at) => timeout.min(at.saturating_duration_since(tokio::time::Instant::now())),
        None => timeout,
    };
    let (handler, name) = (tool.handler.clone(), tool.name.clone());
    tokio::spawn(async move {
        let mut answers = Map::new();
        let outcome = loop {
            let fut = handler(args.clone(), context(token.clone(), answers.clone()));
            let res = tokio::select! {
                // Dropping the handler's future stops its work (process
                // groups are killed on drop); the store already says
                // `cancelled`.
                _ = token.cancelled() => return,
                res = run(fut, bound()) => res,
            };
            let pending = match res {
                Err(RunError::Handler(ToolError::InputRequired(p))) => p,
                other => break outcome_of(other, &name, version),
            };
            // Like an MRTR retry: the handler runs again with every answer
            // so far once the client has answered all it asked.
            let requests = pending
                .requests
                .iter()
                .map(|(k, r)| (k.clone(), r.to_value()))
                .collect();
            let Some(rx) = server.tasks.await_input(&id, requests) else {
                return;
            };
            tokio::select! {
                _ = token.cancelled() => return,
                got = rx => match got {
                    Ok(m) => answers.extend(m),
                    Err(_) => return,
                },
            }
        };
        server.tasks.finish(&id, outcome);
    });
    Ok(task)
}

/// How a run of a task's handler ended, as the task records it.
pub(super) fn outcome_of(
    res: Result<ToolResult, RunError>,
    name: &str,
    version: crate::protocol::ProtocolVersion,
) -> TaskOutcome {
    match res {
        Ok(res) => TaskOutcome::Result(shape::tool_result_for(&res, version)),
        Err(RunError::Handler(ToolError::Tool(m))) => {
            TaskOutcome::Result(shape::tool_result_for(&ToolResult::error(m), version))
        }
        Err(RunError::Handler(ToolError::Protocol(e))) => TaskOutcome::Error(e),
        Err(RunError::Handler(ToolError::InputRequired(_))) => TaskOutcome::Error(
            ErrorObject::internal("the tool asked for input outside of its task"),
        ),
        Err(RunError::Timeout(d)) => TaskOutcome::Result(shape::tool_result_for(
            &ToolResult::error(format!(
                "Tool '{name}' timed out after {} ms and was stopped",
                d.as_millis()
            )),
            version,
        )),
        Err(RunError::Panic(m)) => {
            log::error!("tool {name} panicked: {m}");
            TaskOutcome::Error(ErrorObject::internal(format!(
                "Tool '{name}' failed: handler panicked: {m}"
            )))
        }
    }
}

/// The `taskId` of a `tasks/*` request from a client that declared the
/// extension.
fn task_id(r: &Req) -> Result<&str, ErrorObject> {
    if !declared(r) {
        return Err(missing_capability());
    }
    r.str_param("taskId")
}

fn not_found() -> ErrorObject {
    ErrorObject::invalid_params("Failed to retrieve task: Task not found")
}

/// `tasks/get`: the task's current state, with its result or error once
/// terminal.
pub(super) fn get(r: &Req) -> Result<Value, ErrorObject> {
    let id = task_id(r)?;
    r.server().tasks.get(&owner(r), id).ok_or_else(not_found)
}

/// `tasks/update`: answers to the task's outstanding `inputRequests`
/// (answers to other keys are ignored, as the extension asks);
/// acknowledged with an empty result.
pub(super) fn update(r: &Req) -> Result<Value, ErrorObject> {
    let id = task_id(r)?;
    let responses = r.obj_param("inputResponses")?;
    r.server()
        .tasks
        .give_input(&owner(r), id, responses)
        .ok_or_else(not_found)?;
    Ok(json!({}))
}

/// `tasks/cancel`: stops the task's work; acknowledged with an empty result.
pub(super) fn cancel(r: &Req) -> Result<Value, ErrorObject> {
    let id = task_id(r)?;
    r.server()
        .tasks
        .cancel(&owner(r), id)
        .ok_or_else(not_found)?;
    Ok(json!({}))
}
