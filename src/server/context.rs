//! The per-request context a handler receives.
//!
//! It gives the handler everything about the request that is not its
//! arguments: the cancellation signal, progress and log reporters, the
//! client's capabilities, and [`RequestContext::input`] to ask the client for
//! input (elicitation, sampling, roots) in either protocol era.

use super::cache::CacheHint;
use super::error::ToolError;
use super::mrtr::{InputRequest, MrtrState, PendingInput};
use super::outbound::{ClientRequester, Outbound};
use crate::jsonrpc::{ErrorObject, Notification, RequestId};
use crate::protocol::{LogLevel, Method, ProtocolVersion};
use crate::sync::MutexExt;
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// What a handler knows about the request it serves. Cheap to clone.
#[derive(Clone)]
pub struct RequestContext {
    inner: Arc<Inner>,
}

struct Inner {
    id: RequestId,
    method: String,
    version: ProtocolVersion,
    client_capabilities: Value,
    cancel: CancellationToken,
    progress_token: Option<Value>,
    log_level: Option<LogLevel>,
    out: Outbound,
    requester: Option<ClientRequester>,
    mrtr: Mutex<MrtrState>,
    roots_cache: Option<Arc<super::roots_cache::RootsCache>>,
    /// Stricter caching hints for this request's result (see
    /// [`RequestContext::limit_cache`]).
    cache: Mutex<Option<CacheHint>>,
    /// Set while a call may still turn into a task (see
    /// [`RequestContext::continue_as_task`]).
    escalation: Mutex<Option<oneshot::Sender<()>>>,
    /// Whether the call runs as a task (see [`RequestContext::in_task`]).
    in_task: bool,
}

/// The pieces a transport or the dispatcher fills in to build a context.
pub(crate) struct ContextParts {
    pub id: RequestId,
    pub method: String,
    pub version: ProtocolVersion,
    pub client_capabilities: Value,
    pub cancel: CancellationToken,
    pub progress_token: Option<Value>,
    pub log_level: Option<LogLevel>,
    pub out: Outbound,
    pub requester: Option<ClientRequester>,
    pub mrtr: MrtrState,
    /// The session's cache of the client's roots (legacy era only).
    pub roots_cache: Option<Arc<super::roots_cache::RootsCache>>,
    /// Whether the call runs as a task from its start.
    pub in_task: bool,
}

impl RequestContext {
    pub(crate) fn new(p: ContextParts) -> Self {
        RequestContext {
            inner: Arc::new(Inner {
                id: p.id,
                method: p.method,
                version: p.version,
                client_capabilities: p.client_capabilities,
                cancel: p.cancel,
                progress_token: p.progress_token,
                log_level: p.log_level,
                out: p.out,
                requester: p.requester,
                mrtr: Mutex::new(p.mrtr),
                roots_cache: p.roots_cache,
                cache: Mutex::new(None),
                escalation: Mutex::new(None),
                in_task: p.in_task,
            }),
        }
    }

    /// A context detached from any client, for tests and for calling tool
    /// handlers directly from Rust: notifications go nowhere, input requests fail.
    pub fn detached() -> Self {
        Self::new(ContextParts {
            id: RequestId::Number(0),
            method: Method::ToolsCall.as_str().into(),
            version: ProtocolVersion::MODERN,
            client_capabilities: json!({}),
            cancel: CancellationToken::new(),
            progress_token: None,
            log_level: None,
            out: Outbound::discard(),
            requester: None,
            mrtr: MrtrState::default(),
            roots_cache: None,
            in_task: false,
        })
    }

    /// Make the modern caching hints (`ttlMs`, `cacheScope`) of this
    /// request's result at least as strict as `hint` (the smaller ttl wins,
    /// private wins); used by `resources/read`, e.g. to pass an upstream's
    /// hints on through the hub.
    pub fn limit_cache(&self, hint: CacheHint) {
        let mut c = self.inner.cache.lock_unpoisoned();
        *c = Some(c.map_or(hint, |c| c.min(hint)));
    }

    /// The hint set by [`RequestContext::limit_cache`], if any.
    pub(crate) fn cache_limit(&self) -> Option<CacheHint> {
        *self.inner.cache.lock_unpoisoned()
    }

    /// The JSON-RPC id of the request.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.id
    }
    /// The method being served.
    pub fn method(&self) -> &str {
        &self.inner.method
    }
    /// The protocol revision of this request.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.version
    }
    /// The capabilities the client declared (per request in the modern era,
    /// at `initialize` in the legacy era).
    pub fn client_capabilities(&self) -> &Value {
        &self.inner.client_capabilities
    }
    /// Whether the client declared capability `name` (e.g. `"elicitation"`).
    pub fn has_client_capability(&self, name: &str) -> bool {
        self.inner
            .client_capabilities
            .get(name)
            .is_some_and(|v| !v.is_null())
    }

    /// The cancellation token of this request.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.inner.cancel
    }
    /// Resolves when the request is cancelled (client cancel, timeout, shutdown).
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.inner.cancel.cancelled()
    }
    /// Whether the request has been cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancel.is_cancelled()
    }

    /// Whether the client asked for progress (sent a `progressToken`).
    pub fn wants_progress(&self) -> bool {
        self.inner.progress_token.is_some()
    }

    /// Report progress; a no-op unless the request carried a `progressToken`.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.inner.progress_token else {
            return;
        };
        let mut params = Map::new();
        params.insert("progressToken".into(), token.clone());
        params.insert("progress".into(), json!(progress));
        if let Some(t) = total {
            params.insert("total".into(), json!(t));
        }
        if let Some(m) = message {
            if self.inner.version >= ProtocolVersion::V2025_03_26 {
                params.insert("message".into(), json!(m));
            }
        }
        self.notify("notifications/progress", params).await;
    }

    /// The minimum level the client wants log messages at, if any.
    pub fn log_level(&self) -> Option<LogLevel> {
        self.inner.log_level
    }

    /// Send a log message to the client if it asked for this level.
    pub async fn log(&self, level: LogLevel, logger: &str, data: Value) {
        let Some(min) = self.inner.log_level else {
            return;
        };
        if level < min {
            return;
        }
        let mut params = Map::new();
        params.insert(
            "level".into(),
            serde_json::to_value(level).unwrap_or_default(),
        );
        params.insert("logger".into(), json!(logger));
        params.insert("data".into(), data);
        self.notify("notifications/message", params).await;
    }

    /// Send a notification related to this request on its stream.
    pub async fn notify(&self, method: &str, params: Map<String, Value>) {
        if self.inner.cancel.is_cancelled() {
            return;
        }
        let n = Notification {
            method: method.to_owned(),
            params,
        };
        self.inner.out.send_notification(&n).await;
    }

    /// Ask the client for input: an `elicitation/create`,
    /// `sampling/createMessage` or `roots/list` request. Returns the client's
    /// result.
    ///
    /// - Legacy era: sends a server-to-client request and awaits the answer.
    /// - Modern era: if the client's retry already carries the answer, returns
    ///   it; otherwise returns [`ToolError::InputRequired`], which the handler
    ///   propagates with `?` and the engine turns into an
    ///   `InputRequiredResult`. The handler then runs again from the start on
    ///   the retry, so code before the call must be safe to repeat.
    pub async fn input(&self, request: InputRequest) -> Result<Value, ToolError> {
        let key = {
            let mut state = self.inner.mrtr.lock_unpoisoned();
            state.next_key()
        };
        let mut v = self.inputs(vec![(key, request)]).await?;
        Ok(v.pop().unwrap_or_default())
    }

    /// Like [`RequestContext::input`], under a key of the handler's choosing
    /// (the key in the modern `inputRequests`/`inputResponses` maps).
    pub async fn input_keyed(&self, key: &str, request: InputRequest) -> Result<Value, ToolError> {
        let mut v = self.inputs(vec![(key.to_owned(), request)]).await?;
        Ok(v.pop().unwrap_or_default())
    }

    /// Ask for several inputs at once; the answers come back in order. In the
    /// modern era every missing answer is requested in one
    /// `InputRequiredResult`; in the legacy era the requests are sent one
    /// after the other.
    pub async fn inputs(
        &self,
        requests: Vec<(String, InputRequest)>,
    ) -> Result<Vec<Value>, ToolError> {
        for (_, request) in &requests {
            let needed = request.required_capability();
            let sub = request.required_sub_capability();
            let declared = self.inner.client_capabilities.get(needed);
            let has = declared.is_some_and(|v| !v.is_null())
                && sub.is_none_or(|s| {
                    declared
                        .and_then(|v| v.get(s))
                        .is_some_and(|v| !v.is_null())
                });
            if has {
                continue;
            }
            let (name, required) = match sub {
                Some(s) => (format!("{needed}.{s}"), json!({needed: {s: {}}})),
                None => (needed.to_owned(), json!({needed: {}})),
            };
            if !self.inner.version.is_modern() {
                // -32021 exists only in the modern era: tell the model instead.
                return Err(ToolError::Tool(format!(
                    "This tool needs the client capability '{name}', which this client did not declare"
                )));
            }
            return Err(ToolError::Protocol(
                ErrorObject::new(
                    crate::jsonrpc::code::MISSING_CLIENT_CAPABILITY,
                    format!("This request needs the client capability '{name}', which the client did not declare"),
                )
                .with_data(json!({ "requiredCapabilities": required })),
            ));
        }
        if self.inner.version.is_modern() {
            let state = self.inner.mrtr.lock_unpoisoned();
            let missing: Vec<(String, InputRequest)> = requests
                .iter()
                .filter(|(k, _)| state.answer(k).is_none())
                .cloned()
                .collect();
            if !missing.is_empty() {
                return Err(ToolError::InputRequired(PendingInput::new(missing)));
            }
            return Ok(requests
                .iter()
                .map(|(k, _)| state.answer(k).cloned().unwrap_or_default())
                .collect());
        }
        let Some(requester) = &self.inner.requester else {
            return Err(ToolError::Tool(
                "this transport cannot send requests to the client".into(),
            ));
        };
        let mut answers = Vec::with_capacity(requests.len());
        for (_, request) in requests {
            let mut params = request.params();
            if self.inner.version < ProtocolVersion::V2025_11_25 {
                // `mode` (form/url elicitation) arrived in 2025-11-25.
                params.remove("mode");
            } else if request.required_sub_capability() == Some("url")
                && !params.contains_key("elicitationId")
            {
                // The legacy era requires an id on URL elicitations (the
                // modern one has none, e.g. one relayed from a modern upstream).
                params.insert("elicitationId".into(), json!(elicitation_id()));
            }
            let v = requester
                .request(
                    request.method(),
                    params,
                    &self.inner.out,
                    &self.inner.cancel,
                )
                .await
                .map_err(ToolError::Protocol)?;
            answers.push(v);
        }
        Ok(answers)
    }

    /// Ask the user for structured input (`elicitation/create`, form mode).
    pub async fn elicit(&self, message: &str, requested_schema: Value) -> Result<Value, ToolError> {
        self.input(InputRequest::Elicit(json!({
            "mode": "form",
            "message": message,
            "requestedSchema": requested_schema,
        })))
        .await
    }

    /// Ask the client's model for a completion (`sampling/createMessage`).
    pub async fn create_message(&self, params: Value) -> Result<Value, ToolError> {
        self.input(InputRequest::Sampling(params)).await
    }

    /// Ask the client for its roots (`roots/list`).
    ///
    /// In a legacy session the answer is kept until the client sends
    /// `notifications/roots/list_changed`, so asking again costs nothing.
    pub async fn list_roots(&self) -> Result<Value, ToolError> {
        let Some(cache) = self.inner.roots_cache.as_ref() else {
            return self.input(InputRequest::Roots).await;
        };
        let generation = match cache.get() {
            Ok(v) => return Ok(v),
            Err(g) => g,
        };
        let v = self.input(InputRequest::Roots).await?;
        cache.put(generation, v.clone());
        Ok(v)
    }

    /// Turns the call into a task from here on (Tasks extension), for a
    /// tool built with [`Tool::input_before_task`](super::tool::Tool::input_before_task):
    /// the client gets a `CreateTaskResult` now and the rest of the handler
    /// runs as the task, whose result is what the handler returns. Call it
    /// once the input gathered through MRTR (`input`, `input_keyed`) is
    /// complete; the task itself cannot ask for more. Returns whether the
    /// call became a task; elsewhere (other tools, clients without the
    /// extension) it does nothing and the call stays synchronous.
    pub fn continue_as_task(&self) -> bool {
        let tx = self.inner.escalation.lock_unpoisoned().take();
        tx.is_some_and(|tx| tx.send(()).is_ok())
    }

    /// Whether this call runs as a task from its start (a task-augmented
    /// call of either era): the client polls for the outcome, so the
    /// handler may take as long as the task lives, e.g. to follow work that
    /// runs as a task elsewhere. False for calls that became tasks through
    /// [`RequestContext::continue_as_task`].
    pub fn in_task(&self) -> bool {
        self.inner.in_task
    }

    /// Lets [`RequestContext::continue_as_task`] signal `tx`.
    pub(crate) fn arm_escalation(&self, tx: oneshot::Sender<()>) {
        *self.inner.escalation.lock_unpoisoned() = Some(tx);
    }

    pub(crate) fn take_mrtr(&self) -> MrtrState {
        std::mem::take(&mut *self.inner.mrtr.lock_unpoisoned())
    }
}

/// A fresh id for a URL elicitation sent to a legacy client.
fn elicitation_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // Unique within this process is enough for an id the client echoes.
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return format!("elicitation-{n}");
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}
