//! The MCP methods: what each request does, for either era.

use super::context::{ContextParts, RequestContext};
use super::dispatch::Reply;
use super::features::PromptResult;
use super::mrtr::{request_digest, MrtrState};
use super::outbound::Outbound;
use super::session::{LegacyState, Session};
use super::shape;
use super::tool::{BoxFuture, ToolError};
use crate::jsonrpc::{code, ErrorObject, Notification, Request};
use crate::protocol::{LogLevel, Method, ProtocolVersion, META_SUBSCRIPTION_ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A request with everything known about it.
pub(crate) struct Req {
    /// The method, parsed once by the dispatcher.
    pub method: Method,
    pub session: Arc<Session>,
    pub version: ProtocolVersion,
    pub client_capabilities: Value,
    pub log_level: Option<LogLevel>,
    pub progress_token: Option<Value>,
    pub out: Outbound,
    pub cancel: CancellationToken,
    pub req: Request,
}

impl Req {
    fn params(&self) -> &Map<String, Value> {
        &self.req.params
    }
    fn str_param(&self, key: &str) -> Result<&str, ErrorObject> {
        match self.params().get(key) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(ErrorObject::invalid_params(format!(
                "\"{key}\" must be a string"
            ))),
            None => Err(ErrorObject::invalid_params(format!(
                "Missing required parameter \"{key}\""
            ))),
        }
    }
    fn obj_param(&self, key: &str) -> Result<Map<String, Value>, ErrorObject> {
        match self.params().get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(ErrorObject::invalid_params(format!(
                "\"{key}\" must be an object"
            ))),
        }
    }
    pub(super) fn server(&self) -> &super::Server {
        &self.session.server
    }

    /// The state of a multi round-trip request carried by this retry.
    fn mrtr_state(&self) -> Result<MrtrState, ErrorObject> {
        if !self.version.is_modern() {
            return Ok(MrtrState::default());
        }
        let mut responses = match self.params().get("requestState") {
            None => Map::new(),
            Some(Value::String(s)) => {
                self.server()
                    .signer
                    .open(s, &self.digest())
                    .map_err(|e| match e {
                        // The server's fault, not the request's.
                        super::mrtr::StateError::NoKey => ErrorObject::internal(e.to_string()),
                        e => ErrorObject::invalid_params(e.to_string()),
                    })?
            }
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "\"requestState\" must be a string",
                ))
            }
        };
        match self.params().get("inputResponses") {
            None => {}
            Some(Value::Object(m)) => responses.extend(m.clone()),
            Some(_) => {
                return Err(ErrorObject::invalid_params(
                    "\"inputResponses\" must be an object",
                ))
            }
        }
        Ok(MrtrState::with_responses(responses))
    }

    fn digest(&self) -> String {
        let mut salient = self.params().clone();
        for k in ["_meta", "requestState", "inputResponses"] {
            salient.remove(k);
        }
        request_digest(self.method.as_str(), &Value::Object(salient))
    }

    pub(super) fn context(&self, mrtr: MrtrState) -> RequestContext {
        RequestContext::new(ContextParts {
            id: self.req.id.clone(),
            method: self.method.as_str().into(),
            version: self.version,
            client_capabilities: self.client_capabilities.clone(),
            cancel: self.cancel.clone(),
            progress_token: self.progress_token.clone(),
            log_level: self.log_level,
            out: self.out.clone(),
            requester: Some(self.session.requester_for(&self.req.id)),
            mrtr,
            roots_cache: (!self.version.is_modern()).then(|| self.session.roots.clone()),
        })
    }
}

/// Why a handler produced no value.
pub(super) enum RunError {
    Handler(ToolError),
    Timeout(Duration),
    Panic(String),
}

/// Runs a future, turning a panic inside it into an error (so one failing
/// handler answers `-32603` and the server goes on). Dropping it drops the
/// inner future, which is how cancellation reaches a handler.
struct CatchUnwind<F: ?Sized>(Pin<Box<F>>);

impl<F: Future + ?Sized> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into()))),
        }
    }
}

/// Run a handler in the current task, catching panics, bounded by `timeout`.
pub(super) async fn run<T: Send + 'static>(
    fut: BoxFuture<Result<T, ToolError>>,
    timeout: Duration,
) -> Result<T, RunError> {
    match tokio::time::timeout(timeout, CatchUnwind(fut)).await {
        Err(_) => Err(RunError::Timeout(timeout)),
        Ok(Err(panic)) => Err(RunError::Panic(panic)),
        Ok(Ok(Err(e))) => Err(RunError::Handler(e)),
        Ok(Ok(Ok(v))) => Ok(v),
    }
}

/// An `InputRequiredResult` for a handler that asked for input.
fn input_required(r: &Req, ctx: &RequestContext, pending: super::mrtr::PendingInput) -> Value {
    let state = ctx.take_mrtr();
    let sealed = r.server().signer.seal(&r.digest(), state.responses());
    json!({
        "resultType": "input_required",
        "inputRequests": pending.requests.iter().map(|(k, r)| (k.clone(), r.to_value())).collect::<Map<String, Value>>(),
        "requestState": sealed,
    })
}

/// Map a feature handler's failure (resources, prompts) to a reply.
pub(super) fn feature_error(r: &Req, ctx: &RequestContext, what: &str, e: RunError) -> Reply {
    match e {
        RunError::Handler(ToolError::InputRequired(p)) if r.version.is_modern() => {
            Reply::Result(input_required(r, ctx, p))
        }
        RunError::Handler(ToolError::Protocol(e)) => Reply::Error(e),
        RunError::Handler(ToolError::Tool(m)) => {
            Reply::Error(ErrorObject::internal(format!("{what} failed: {m}")))
        }
        RunError::Handler(ToolError::InputRequired(_)) => Reply::Error(ErrorObject::internal(
            format!("{what} needs client input this protocol cannot carry"),
        )),
        RunError::Timeout(d) => Reply::Error(ErrorObject::internal(format!(
            "{what} timed out after {} ms",
            d.as_millis()
        ))),
        RunError::Panic(m) => Reply::Error(ErrorObject::internal(format!(
            "{what} failed: handler panicked: {m}"
        ))),
    }
}

/// Route a validated request to its method.
pub(crate) async fn route(r: Req) -> Reply {
    if r.method.reads_lists() {
        r.server().run_list_hook().await;
    }
    match r.method {
        Method::Discover => Ok(discover(&r)).into(),
        Method::ToolsList => tools_list(&r).into(),
        Method::ToolsCall => tools_call(&r).await,
        Method::ResourcesList => resources_list(&r).await,
        Method::ResourceTemplatesList => templates_list(&r).into(),
        Method::ResourcesRead => resources_read(&r).await,
        Method::ResourcesSubscribe => subscribe(&r, true).into(),
        Method::ResourcesUnsubscribe => subscribe(&r, false).into(),
        Method::PromptsList => prompts_list(&r).into(),
        Method::PromptsGet => prompts_get(&r).await,
        Method::Complete => complete(&r).into(),
        Method::SetLogLevel => set_level(&r).into(),
        Method::Listen => listen(r).await,
        Method::Ping => Reply::Result(json!({})),
        // Answered by the dispatcher, which holds the session.
        Method::Initialize => Reply::Error(ErrorObject::method_not_found(r.method.as_str())),
    }
}

fn capabilities(server: &super::Server, version: ProtocolVersion) -> Value {
    let reg = server.registry.read().unwrap_or_else(|e| e.into_inner());
    let mut caps = Map::new();
    caps.insert("tools".into(), json!({"listChanged": true}));
    if !reg.resources.is_empty() || !reg.templates.is_empty() || reg.provider.is_some() {
        let mut res = json!({"listChanged": true});
        if !version.is_modern() {
            res["subscribe"] = json!(true);
        }
        caps.insert("resources".into(), res);
    }
    if !reg.prompts.is_empty() {
        caps.insert("prompts".into(), json!({"listChanged": true}));
    }
    if server.logging {
        caps.insert("logging".into(), json!({}));
    }
    if version >= ProtocolVersion::V2025_03_26 {
        caps.insert("completions".into(), json!({}));
    }
    Value::Object(caps)
}

/// `initialize` (legacy): negotiate the version and open the session.
pub(crate) fn initialize(session: &Arc<Session>, req: &Request) -> Result<Value, ErrorObject> {
    let requested = match req.params.get("protocolVersion") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ErrorObject::invalid_params(
                "initialize needs a string \"protocolVersion\"",
            ))
        }
    };
    let caps = match req.params.get("capabilities") {
        None => json!({}),
        Some(c @ Value::Object(_)) => c.clone(),
        Some(_) => {
            return Err(ErrorObject::invalid_params(
                "\"capabilities\" must be an object",
            ))
        }
    };
    let version = match ProtocolVersion::parse(&requested) {
        Some(v) if !v.is_modern() => v,
        _ => ProtocolVersion::LATEST_LEGACY,
    };
    if let Some(info) = req.params.get("clientInfo") {
        log::info!("legacy client {} connected with protocol {version}", info);
    }
    *session.legacy.write().unwrap_or_else(|e| e.into_inner()) = Some(LegacyState {
        version,
        client_capabilities: caps,
        log_level: None,
    });
    session.watch_changes();
    let server = &session.server;
    let mut info = serde_json::to_value(&server.info).unwrap_or_default();
    if !version.has_structured_content() {
        if let Value::Object(m) = &mut info {
            m.remove("title");
        }
    }
    let mut result = json!({
        "protocolVersion": version.as_str(),
        "capabilities": capabilities(server, version),
        "serverInfo": info,
    });
    if let Some(i) = &server.instructions {
        result["instructions"] = json!(i);
    }
    Ok(result)
}

fn discover(r: &Req) -> Value {
    let server = r.server();
    let mut v = json!({
        "supportedVersions": ProtocolVersion::supported_strings(),
        "capabilities": capabilities(server, r.version),
    });
    if let Some(i) = &server.instructions {
        v["instructions"] = json!(i);
    }
    v
}

/// Decode a cursor into an offset.
pub(super) fn cursor(r: &Req, kind: &str) -> Result<usize, ErrorObject> {
    let Some(c) = r.params().get("cursor") else {
        return Ok(0);
    };
    let bad = || {
        ErrorObject::invalid_params(
            "Invalid cursor: pass back the nextCursor of an earlier page unchanged",
        )
    };
    let s = c.as_str().ok_or_else(bad)?;
    let raw = B64.decode(s).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (k, n) = text.split_once(':').ok_or_else(bad)?;
    if k != kind {
        return Err(bad());
    }
    n.parse().map_err(|_| bad())
}

/// One page of `items` under `key`, with `nextCursor` when more remain.
fn page(r: &Req, kind: &str, key: &str, mut items: Vec<Value>) -> Result<Value, ErrorObject> {
    let start = cursor(r, kind)?;
    let size = r.server().config.page_size.max(1);
    let total = items.len();
    if start > total {
        return Err(ErrorObject::invalid_params(
            "Invalid cursor: past the end of the list",
        ));
    }
    let end = (start + size).min(total);
    items.truncate(end);
    items.drain(..start);
    let mut v = Map::new();
    v.insert(key.to_owned(), Value::Array(items));
    let mut v = Value::Object(v);
    if end < total {
        v["nextCursor"] = json!(B64.encode(format!("{kind}:{end}")));
    }
    Ok(v)
}

fn tools_list(r: &Req) -> Result<Value, ErrorObject> {
    let items: Vec<Value> = {
        let reg = r
            .server()
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner());
        reg.tools
            .iter()
            .map(|t| shape::tool_for(t, r.version))
            .collect()
    };
    page(r, "t", "tools", items)
}

async fn tools_call(r: &Req) -> Reply {
    let name = match r.str_param("name") {
        Ok(n) => n.to_owned(),
        Err(e) => return Reply::Error(e),
    };
    let args = match r.obj_param("arguments") {
        Ok(a) => a,
        Err(e) => return Reply::Error(e),
    };
    let Some(tool) = r.server().tool(&name) else {
        return Reply::Error(ErrorObject::invalid_params(format!("Unknown tool: {name}")));
    };
    if let Err(msg) = tool.validate(&args) {
        return Reply::Result(shape::tool_result_for(
            &super::ToolResult::error(msg),
            r.version,
        ));
    }
    let mrtr = match r.mrtr_state() {
        Ok(s) => s,
        Err(e) => return Reply::Error(e),
    };
    let ctx = r.context(mrtr);
    let timeout = tool.timeout.unwrap_or(r.server().config.default_timeout);
    let fut = (tool.handler)(args, ctx.clone());
    let result = match run(fut, timeout).await {
        Ok(res) => res,
        Err(RunError::Handler(ToolError::Tool(m))) => super::ToolResult::error(m),
        Err(RunError::Handler(ToolError::Protocol(e))) => return Reply::Error(e),
        Err(RunError::Handler(ToolError::InputRequired(p))) => {
            if r.version.is_modern() {
                return Reply::Result(input_required(r, &ctx, p));
            }
            return Reply::Error(ErrorObject::internal(
                "tool asked for input in a way this protocol cannot carry",
            ));
        }
        Err(RunError::Timeout(d)) => super::ToolResult::error(format!(
            "Tool '{name}' timed out after {} ms and was stopped",
            d.as_millis()
        )),
        Err(RunError::Panic(m)) => {
            log::error!("tool {name} panicked: {m}");
            return Reply::Error(ErrorObject::internal(format!(
                "Tool '{name}' failed: handler panicked: {m}"
            )));
        }
    };
    Reply::Result(shape::tool_result_for(&result, r.version))
}

async fn resources_list(r: &Req) -> Reply {
    let (items, provider): (Vec<Value>, _) = {
        let reg = r
            .server()
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let items = reg
            .resources
            .iter()
            .map(|x| x.to_value(r.version))
            .collect();
        (items, reg.provider.clone())
    };
    match provider {
        None => page(r, "r", "resources", items).into(),
        Some(p) => super::provider::list_page(r, p, items).await,
    }
}

fn templates_list(r: &Req) -> Result<Value, ErrorObject> {
    let items: Vec<Value> = {
        let reg = r
            .server()
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner());
        reg.templates
            .iter()
            .map(|x| x.to_value(r.version))
            .collect()
    };
    page(r, "rt", "resourceTemplates", items)
}

async fn resources_read(r: &Req) -> Reply {
    let uri = match r.str_param("uri") {
        Ok(u) => u.to_owned(),
        Err(e) => return Reply::Error(e),
    };
    let reader = {
        let reg = r
            .server()
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner());
        reg.resources
            .iter()
            .find(|x| x.uri == uri)
            .map(|x| x.read.clone())
            .or_else(|| {
                reg.templates
                    .iter()
                    .find(|t| t.matches(&uri))
                    .map(|t| t.read.clone())
            })
    };
    let Some(reader) = reader else {
        let code = if r.version.is_modern() {
            code::INVALID_PARAMS
        } else {
            code::RESOURCE_NOT_FOUND_LEGACY
        };
        return Reply::Error(
            ErrorObject::new(code, format!("Resource not found: {uri}"))
                .with_data(json!({"uri": uri})),
        );
    };
    let mrtr = match r.mrtr_state() {
        Ok(s) => s,
        Err(e) => return Reply::Error(e),
    };
    let ctx = r.context(mrtr);
    match run(reader(uri, ctx.clone()), r.server().config.default_timeout).await {
        Ok(contents) => {
            let mut v = json!({ "contents": contents });
            if let (true, Some(limit)) = (r.version.is_modern(), ctx.cache_limit()) {
                if let Some(h) = shape::cache_hint(Method::ResourcesRead, r.server(), Some(limit)) {
                    v["ttlMs"] = json!(h.ttl_ms);
                    v["cacheScope"] = json!(if h.private { "private" } else { "public" });
                }
            }
            Reply::Result(v)
        }
        Err(e) => feature_error(r, &ctx, "Reading the resource", e),
    }
}

fn subscribe(r: &Req, on: bool) -> Result<Value, ErrorObject> {
    let uri = r.str_param("uri")?.to_owned();
    let mut set = r
        .session
        .subscribed
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let changed = if on {
        set.insert(uri.clone())
    } else {
        set.remove(&uri)
    };
    drop(set);
    if changed {
        r.server().watch_resource(&uri, on);
    }
    Ok(json!({}))
}

fn prompts_list(r: &Req) -> Result<Value, ErrorObject> {
    let items: Vec<Value> = {
        let reg = r
            .server()
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner());
        reg.prompts.iter().map(|x| x.to_value()).collect()
    };
    page(r, "p", "prompts", items)
}

async fn prompts_get(r: &Req) -> Reply {
    let name = match r.str_param("name") {
        Ok(n) => n.to_owned(),
        Err(e) => return Reply::Error(e),
    };
    let args = match r.obj_param("arguments") {
        Ok(a) => a,
        Err(e) => return Reply::Error(e),
    };
    let prompt = {
        let reg = r
            .server()
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner());
        reg.prompts.iter().find(|p| p.name == name).cloned()
    };
    let Some(prompt) = prompt else {
        return Reply::Error(ErrorObject::invalid_params(format!(
            "Unknown prompt: {name}"
        )));
    };
    for a in prompt.arguments.iter().filter(|a| a.required) {
        if !args.get(&a.name).is_some_and(|v| v.is_string()) {
            return Reply::Error(ErrorObject::invalid_params(format!(
                "Prompt '{name}' needs the argument '{}' (a string)",
                a.name
            )));
        }
    }
    let mrtr = match r.mrtr_state() {
        Ok(s) => s,
        Err(e) => return Reply::Error(e),
    };
    let ctx = r.context(mrtr);
    match run(
        (prompt.get)(args, ctx.clone()),
        r.server().config.default_timeout,
    )
    .await
    {
        Ok(p) => Reply::Result(prompt_value(&p, r.version)),
        Err(e) => feature_error(r, &ctx, "Rendering the prompt", e),
    }
}

fn prompt_value(p: &PromptResult, version: ProtocolVersion) -> Value {
    let messages: Vec<Value> = p
        .messages
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content.to_value_for(version)}))
        .collect();
    let mut v = json!({ "messages": messages });
    if let Some(d) = &p.description {
        v["description"] = json!(d);
    }
    v
}

fn complete(r: &Req) -> Result<Value, ErrorObject> {
    let reference = r.obj_param("ref")?;
    let argument = r.obj_param("argument")?;
    let arg_name = argument
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ErrorObject::invalid_params(
                "completion/complete needs \"argument\": {\"name\", \"value\"}",
            )
        })?;
    let arg_value = argument.get("value").and_then(Value::as_str).unwrap_or("");
    let reg = r
        .server()
        .registry
        .read()
        .unwrap_or_else(|e| e.into_inner());
    let completer = match reference.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => {
            let name = reference.get("name").and_then(Value::as_str).unwrap_or("");
            let p =
                reg.prompts.iter().find(|p| p.name == name).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown prompt: {name}"))
                })?;
            p.complete.clone()
        }
        Some("ref/resource") => {
            let uri = reference.get("uri").and_then(Value::as_str).unwrap_or("");
            let t = reg
                .templates
                .iter()
                .find(|t| t.uri_template == uri)
                .ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown resource template: {uri}"))
                })?;
            t.complete.clone()
        }
        _ => {
            return Err(ErrorObject::invalid_params(
                "\"ref.type\" must be \"ref/prompt\" or \"ref/resource\"",
            ))
        }
    };
    drop(reg);
    let mut values = completer
        .map(|c| c(arg_name, arg_value))
        .unwrap_or_default();
    let total = values.len();
    values.truncate(100);
    Ok(json!({"completion": {"values": values, "total": total, "hasMore": total > 100}}))
}

fn set_level(r: &Req) -> Result<Value, ErrorObject> {
    let level = r
        .params()
        .get("level")
        .and_then(Value::as_str)
        .and_then(LogLevel::parse)
        .ok_or_else(|| ErrorObject::invalid_params("\"level\" must be one of debug, info, notice, warning, error, critical, alert, emergency"))?;
    if let Some(state) = r
        .session
        .legacy
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
    {
        state.log_level = Some(level);
    }
    Ok(json!({}))
}

/// `subscriptions/listen` (modern): acknowledge, then forward the opted-in
/// changes until the client cancels or the server shuts down.
async fn listen(r: Req) -> Reply {
    let filter = match r.obj_param("notifications") {
        Ok(f) => f,
        Err(e) => return Reply::Error(e),
    };
    if !r.params().contains_key("notifications") {
        return Reply::Error(ErrorObject::invalid_params(
            "Missing required parameter \"notifications\"",
        ));
    }
    let flag = |k: &str| filter.get(k).and_then(Value::as_bool).unwrap_or(false);
    let tools = flag("toolsListChanged");
    let prompts = flag("promptsListChanged");
    let resources = flag("resourcesListChanged");
    let uris: Vec<String> = filter
        .get("resourceSubscriptions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|u| u.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut ack = Map::new();
    if tools {
        ack.insert("toolsListChanged".into(), json!(true));
    }
    if prompts {
        ack.insert("promptsListChanged".into(), json!(true));
    }
    if resources {
        ack.insert("resourcesListChanged".into(), json!(true));
    }
    if !uris.is_empty() {
        ack.insert("resourceSubscriptions".into(), json!(uris));
    }
    let sub_id = serde_json::to_value(&r.req.id).unwrap_or_default();
    let tagged = |method: &str, mut params: Map<String, Value>| Notification {
        method: method.into(),
        params: {
            params.insert(
                "_meta".into(),
                json!({ META_SUBSCRIPTION_ID: sub_id.clone() }),
            );
            params
        },
    };
    let mut rx = r.server().subscribe_changes();
    let _watching = super::provider::WatchGuard::new(r.session.server.clone(), uris.clone());
    let mut ack_params = Map::new();
    ack_params.insert("notifications".into(), Value::Object(ack));
    if !r
        .out
        .send_notification(&tagged(
            "notifications/subscriptions/acknowledged",
            ack_params,
        ))
        .await
    {
        return Reply::Silent;
    }
    let shutdown = r.session.subscriptions_ended().clone();
    // Tell the subscribe hook while the stream lives (also when it is dropped).
    loop {
        let change = tokio::select! {
            _ = shutdown.cancelled() => break,
            c = rx.recv() => c,
        };
        let n = match change {
            Ok(super::Change::Tools) if tools => {
                tagged("notifications/tools/list_changed", Map::new())
            }
            Ok(super::Change::Prompts) if prompts => {
                tagged("notifications/prompts/list_changed", Map::new())
            }
            Ok(super::Change::Resources) if resources => {
                tagged("notifications/resources/list_changed", Map::new())
            }
            Ok(super::Change::ResourceUpdated(u)) if uris.contains(&u) => {
                let mut p = Map::new();
                p.insert("uri".into(), json!(u));
                tagged("notifications/resources/updated", p)
            }
            Ok(_) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => break,
        };
        if !r.out.send_notification(&n).await {
            return Reply::Silent;
        }
    }
    Reply::Result(json!({ "_meta": { META_SUBSCRIPTION_ID: sub_id } }))
}
