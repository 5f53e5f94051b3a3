//! Forwarding a call of a `remote_*` tool to its upstream: arguments,
//! progress, cancellation (dropping the call cancels it upstream), timeout,
//! and the modern input rounds (MRTR) relayed to our client. [`relay`] does
//! the same for `prompts/get` and `resources/read`. A client with tasks gets
//! a local task wrapping the forwarded call, and the upstream runs the tool
//! as a task of its own where it can (then the call may outlast the
//! upstream's timeout); a tool that an upstream runs only as a task (a
//! modern upstream's, or a 2025-11-25 upstream's) is called as one for any
//! client and followed (`upstream_task.rs`).

use super::{lock, upstream_task, Upstream};
use crate::client::{Client, ClientError, Era, ServerRequest};
use crate::jsonrpc::{code, ErrorObject, Notification};
use crate::protocol::Method;
use crate::protocol::{Content, ToolAnnotations, META_CLIENT_CAPABILITIES, TASKS_EXTENSION};
use crate::server::{InputRequest, RequestContext, TaskSupport, Tool, ToolError, ToolResult};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

pub(super) fn remote_tool(
    up: Arc<Upstream>,
    upstream_name: String,
    exported: String,
    def: &Value,
) -> Tool {
    let description = def["description"].as_str().unwrap_or("").to_owned();
    let description = format!("[{}] {description}", up.cfg.name);
    let timeout = up.cfg.timeout;
    // A 2025-11-25 upstream lists which tools may run as tasks.
    let listed_as_task = matches!(
        def["execution"]["taskSupport"].as_str(),
        Some("optional" | "required")
    );
    let mut tool = Tool::new(exported, description, move |args, ctx| {
        let up = up.clone();
        let name = upstream_name.clone();
        async move { forward(&up, &name, args, listed_as_task, &ctx).await }
    })
    .input_schema(
        def.get("inputSchema")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object"})),
    )
    .timeout(timeout + Duration::from_secs(1))
    // As a task, the call may last as long as the task lives: the upstream
    // then runs the tool as a task of its own where it can (every request
    // to the upstream still has the upstream's timeout).
    .task_timeout(Duration::MAX)
    .skip_validation()
    // For clients with tasks the forwarded call runs inside a local task
    // (cancelling the task drops the call, which cancels it upstream). The
    // upstream runs it as a task of its own when it can (then it is
    // followed, and may outlast the upstream's call timeout), else as an
    // ordinary call; a tool that runs only as a task upstream is called
    // as one for any client.
    .task_support(TaskSupport::Optional);
    if let Some(t) = def["title"].as_str() {
        tool = tool.title(t);
    }
    if let Some(s) = def.get("outputSchema") {
        tool = tool.output_schema(s);
    }
    if let Some(a) = def
        .get("annotations")
        .and_then(|a| serde_json::from_value::<ToolAnnotations>(a.clone()).ok())
    {
        tool = tool.annotations(a);
    }
    for icon in def["icons"].as_array().into_iter().flatten() {
        tool = tool.icon(icon.clone());
    }
    // Passed on unchanged (an MCP Apps view renders from the host's side).
    tool.meta = def.get("_meta").and_then(Value::as_object).cloned();
    tool
}

/// How many input rounds (MRTR) one forwarded call may take.
const MAX_INPUT_ROUNDS: usize = 16;

/// Calls tool `name` upstream; `listed_as_task`: a 2025-11-25 upstream
/// listed it as one that may run as a task.
async fn forward(
    up: &Upstream,
    name: &str,
    args: serde_json::Map<String, Value>,
    listed_as_task: bool,
    ctx: &RequestContext,
) -> Result<ToolResult, ToolError> {
    let mut params = serde_json::Map::new();
    params.insert("name".into(), json!(name));
    params.insert("arguments".into(), Value::Object(args));
    let as_task = ctx.in_task().then_some(UpstreamTask { listed_as_task });
    relay(up, Method::ToolsCall.as_str(), params, as_task, ctx)
        .await
        .map(|v| tool_result_from(&v))
}

/// A `tools/call` made inside our client's task, which the upstream may
/// run as a task of its own.
#[derive(Debug, Clone, Copy)]
pub(super) struct UpstreamTask {
    /// A 2025-11-25 upstream listed the tool as one that may run as a task.
    listed_as_task: bool,
}

/// Send `method` (`tools/call`, `prompts/get`, `resources/read`) with
/// `params` to the upstream, relaying progress, the upstream's input
/// requests of either era and cancellation; returns the final result. A
/// modern upstream's tool that runs only as a task (-32021 naming the Tasks
/// extension) is called again as a task, which is followed to its result.
/// With `in_task` (a `tools/call` inside our client's task) the upstream is
/// asked to run the tool as a task from the start where it can.
pub(super) async fn relay(
    up: &Upstream,
    method: &str,
    base: serde_json::Map<String, Value>,
    in_task: Option<UpstreamTask>,
    ctx: &RequestContext,
) -> Result<Value, ToolError> {
    let _busy = up.busy();
    let client = up.client_waking().await;
    let Some(client) = client else {
        let s = lock(&up.status).clone();
        return Err(ToolError::Tool(format!(
            "upstream '{}' is {} ({}); try again later",
            up.cfg.name,
            s.state,
            s.last_error.unwrap_or_else(|| "starting".into())
        )));
    };
    // Modern upstreams learn per request what our client can answer (only
    // the input kinds the hub relays).
    let mut caps: serde_json::Map<String, Value> = ctx
        .client_capabilities()
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| matches!(k.as_str(), "elicitation" | "sampling" | "roots"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let modern = matches!(client.era(), Some(Era::Modern(_)));
    let mut as_task = false;
    let mut retry = serde_json::Map::new();
    let mut relayed = 0;
    match in_task {
        // A modern upstream decides per call: it may answer with a task.
        Some(_) if modern => {
            as_task = true;
            caps.insert("extensions".into(), json!({ TASKS_EXTENSION: {} }));
        }
        Some(t) if t.listed_as_task && up.legacy_tasks.load(Ordering::Relaxed) => {
            return run_as_legacy_task(up, &client, &base, ctx, &mut relayed).await;
        }
        _ => {}
    }
    for _ in 0..MAX_INPUT_ROUNDS {
        let mut params = base.clone();
        params.extend(retry.clone());
        if modern {
            params.insert(
                "_meta".into(),
                json!({ META_CLIENT_CAPABILITIES: Value::Object(caps.clone()) }),
            );
        }
        let v = match call_once(up, &client, method, params, ctx, &mut relayed).await? {
            Ok(v) => v,
            // A modern upstream's tool that runs only as a task: call it
            // again as one (the modern era lists no per-tool task support).
            Err(ClientError::Rpc(e)) if modern && !as_task && needs_tasks(&e) => {
                as_task = true;
                caps.insert("extensions".into(), json!({ TASKS_EXTENSION: {} }));
                continue;
            }
            // A 2025-11-25 upstream's tool that runs only as a task answers
            // -32601 to a plain call: call it as a task and wait for its
            // result.
            Err(ClientError::Rpc(e))
                if !modern
                    && method == Method::ToolsCall.as_str()
                    && e.code == code::METHOD_NOT_FOUND
                    && up.legacy_tasks.load(Ordering::Relaxed) =>
            {
                return run_as_legacy_task(up, &client, &base, ctx, &mut relayed).await;
            }
            Err(e) => return Err(call_error(up, ctx, e)),
        };
        if as_task && v["resultType"] == "task" {
            return upstream_task::follow(up, &client, v, &caps, ctx).await;
        }
        if v["resultType"] != "input_required" {
            return Ok(v);
        }
        retry = relay_inputs(up, &v, ctx).await?;
    }
    Err(ToolError::Tool(format!(
        "upstream '{}' asked for input more than {MAX_INPUT_ROUNDS} times; gave up",
        up.cfg.name
    )))
}

/// Calls a tool of a 2025-11-25 upstream as a task (`base` with
/// `params.task`) and waits for its result.
async fn run_as_legacy_task(
    up: &Upstream,
    client: &Client,
    base: &serde_json::Map<String, Value>,
    ctx: &RequestContext,
    relayed: &mut usize,
) -> Result<Value, ToolError> {
    let mut params = base.clone();
    params.insert("task".into(), json!({}));
    upstream_task::run_legacy(up, client, params, ctx, relayed).await
}

/// One round of `method`, relaying progress and legacy input requests: the
/// upstream's answer, or the error relaying to our client ended it with.
pub(super) async fn call_once(
    up: &Upstream,
    client: &Client,
    method: &str,
    params: serde_json::Map<String, Value>,
    ctx: &RequestContext,
    relayed: &mut usize,
) -> Result<Result<Value, ClientError>, ToolError> {
    let (ptx, mut prx) = mpsc::unbounded_channel();
    let progress = ctx.wants_progress().then_some(ptx);
    let (rtx, mut rrx) = mpsc::unbounded_channel();
    let call = client.request_with_progress(method, params, up.cfg.timeout, progress, Some(rtx));
    tokio::pin!(call);
    let result = loop {
        tokio::select! {
            r = &mut call => break r,
            Some(sr) = rrx.recv() => {
                *relayed += 1;
                relay_request(up, sr, ctx, *relayed).await?;
            }
            Some(n) = prx.recv() => relay_progress(ctx, &n).await,
        }
    };
    // The upstream's reader queued every progress notification that came
    // before the result; pass those on before the result, or the client
    // (which drops progress for a finished request) would miss them.
    while let Ok(n) = prx.try_recv() {
        relay_progress(ctx, &n).await;
    }
    Ok(result)
}

/// Whether an upstream's -32021 names the Tasks extension as the missing
/// capability (its tool runs only as a task).
fn needs_tasks(e: &ErrorObject) -> bool {
    e.code == code::MISSING_CLIENT_CAPABILITY
        && e.data.as_ref().is_some_and(|d| {
            d["requiredCapabilities"]["extensions"]
                .get(TASKS_EXTENSION)
                .is_some()
        })
}

/// How a failed upstream call reaches our client.
pub(super) fn call_error(up: &Upstream, ctx: &RequestContext, e: ClientError) -> ToolError {
    match e {
        // -32021 exists only in the modern era: tell a legacy client's model.
        ClientError::Rpc(e)
            if e.code == code::MISSING_CLIENT_CAPABILITY && !ctx.protocol_version().is_modern() =>
        {
            ToolError::Tool(format!("upstream '{}': {}", up.cfg.name, e.message))
        }
        ClientError::Rpc(e) => ToolError::Protocol(e),
        e => ToolError::Tool(format!("upstream '{}': {e}", up.cfg.name)),
    }
}

/// Pass one upstream `notifications/progress` on to our client.
async fn relay_progress(ctx: &RequestContext, n: &Notification) {
    let p = n
        .params
        .get("progress")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let total = n.params.get("total").and_then(Value::as_f64);
    ctx.progress(p, total, n.params.get("message").and_then(Value::as_str))
        .await;
}

/// Answer a legacy upstream's request (elicitation, sampling, roots) by
/// asking our client through [`RequestContext::inputs`]: a legacy client is
/// asked at once; for a modern client the call ends with an input round and
/// runs again on its retry, where the answer is found under the same key
/// (the upstream is assumed to ask the same questions in the same order).
async fn relay_request(
    up: &Upstream,
    sr: ServerRequest,
    ctx: &RequestContext,
    n: usize,
) -> Result<(), ToolError> {
    let params = Value::Object(sr.params);
    let req = match sr.method.as_str() {
        "elicitation/create" => InputRequest::Elicit(params),
        "sampling/createMessage" => InputRequest::Sampling(params),
        "roots/list" => InputRequest::Roots,
        m => {
            let _ = sr.reply.send(Err(ErrorObject::method_not_found(&format!(
                "{m}: the lmcp hub does not relay this request"
            ))));
            return Ok(());
        }
    };
    match ctx.inputs(vec![(format!("lmcp-relay-{n}"), req)]).await {
        Ok(mut v) => {
            let _ = sr.reply.send(Ok(v.pop().unwrap_or_default()));
            Ok(())
        }
        Err(ToolError::InputRequired(p)) => Err(ToolError::InputRequired(p)),
        Err(ToolError::Protocol(e)) => {
            let _ = sr.reply.send(Err(e));
            Ok(())
        }
        Err(ToolError::Tool(m)) => {
            log::info!(
                "hub: upstream {}'s {} not relayed: {m}",
                up.cfg.name,
                sr.method
            );
            let _ = sr
                .reply
                .send(Err(ErrorObject::new(code::INTERNAL_ERROR, m)));
            Ok(())
        }
    }
}

/// Ask our client for what a modern upstream's `InputRequiredResult` wants
/// (through [`RequestContext::inputs`], so either era of our client works)
/// and build the retry's `inputResponses` / `requestState`.
pub(super) async fn relay_inputs(
    up: &Upstream,
    v: &Value,
    ctx: &RequestContext,
) -> Result<serde_json::Map<String, Value>, ToolError> {
    let mut wanted = Vec::new();
    for (key, r) in v["inputRequests"].as_object().into_iter().flatten() {
        let params = r.get("params").cloned().unwrap_or_else(|| json!({}));
        let req = match r["method"].as_str() {
            Some("elicitation/create") => InputRequest::Elicit(params),
            Some("sampling/createMessage") => InputRequest::Sampling(params),
            Some("roots/list") => InputRequest::Roots,
            other => {
                return Err(ToolError::Tool(format!(
                    "upstream '{}' asked for input of an unknown kind {other:?}; the hub cannot relay it",
                    up.cfg.name
                )))
            }
        };
        wanted.push((key.clone(), req));
    }
    let keys: Vec<String> = wanted.iter().map(|(k, _)| k.clone()).collect();
    let answers = ctx.inputs(wanted).await?;
    let mut retry = serde_json::Map::new();
    retry.insert(
        "inputResponses".into(),
        Value::Object(keys.into_iter().zip(answers).collect()),
    );
    if let Some(state) = v.get("requestState") {
        retry.insert("requestState".into(), state.clone());
    }
    Ok(retry)
}

/// Turn an upstream `CallToolResult` into ours; unknown content kinds become text.
fn tool_result_from(v: &Value) -> ToolResult {
    let content = v["content"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            serde_json::from_value::<Content>(c.clone())
                .unwrap_or_else(|_| Content::text(c.to_string()))
        })
        .collect();
    ToolResult {
        content,
        structured: v.get("structuredContent").cloned(),
        is_error: v["isError"].as_bool().unwrap_or(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_convert() {
        let r = tool_result_from(
            &json!({"content": [{"type": "text", "text": "hi"}, {"type": "weird"}], "isError": true, "structuredContent": {"a": 1}}),
        );
        assert!(r.is_error);
        assert_eq!(r.content[0], Content::text("hi"));
        assert!(matches!(&r.content[1], Content::Text { text, .. } if text.contains("weird")));
        assert_eq!(r.structured, Some(json!({"a": 1})));
    }

    #[test]
    fn only_a_missing_tasks_extension_calls_again_as_a_task() {
        let missing = |data: Value| {
            ErrorObject::new(
                code::MISSING_CLIENT_CAPABILITY,
                "Missing required client capability",
            )
            .with_data(data)
        };
        assert!(needs_tasks(&missing(
            json!({"requiredCapabilities": {"extensions": {TASKS_EXTENSION: {}}}})
        )));
        assert!(!needs_tasks(&missing(
            json!({"requiredCapabilities": {"elicitation": {}}})
        )));
        assert!(!needs_tasks(&ErrorObject::internal("boom")));
    }
}
