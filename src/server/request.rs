//! The request kernel every method handler builds on: [`Req`] (a request
//! with its era, capabilities and outbound), [`Reply`], running a handler
//! with its timeout and panic guard, turning a handler's failure into a
//! reply, and paging lists.

use super::context::{ContextParts, RequestContext};
use super::error::{BoxFuture, ToolError};
use super::mrtr::{request_digest, MrtrState, PendingInput, StateError};
use super::outbound::Outbound;
use super::state::Session;
use super::Server;
use crate::jsonrpc::{ErrorObject, Request};
use crate::protocol::{LogLevel, Method, ProtocolVersion};
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

/// What to answer.
pub(crate) enum Reply {
    /// A result object.
    Result(Value),
    /// An error.
    Error(ErrorObject),
    /// No response (e.g. a subscription ended by cancellation).
    Silent,
}

impl From<Result<Value, ErrorObject>> for Reply {
    fn from(r: Result<Value, ErrorObject>) -> Self {
        match r {
            Ok(v) => Reply::Result(v),
            Err(e) => Reply::Error(e),
        }
    }
}

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
    /// Who sent it, when the transport knows (the token subject over HTTP).
    pub caller: Option<String>,
    pub req: Request,
}

impl Req {
    pub(crate) fn params(&self) -> &Map<String, Value> {
        &self.req.params
    }
    pub(crate) fn str_param(&self, key: &str) -> Result<&str, ErrorObject> {
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
    pub(crate) fn obj_param(&self, key: &str) -> Result<Map<String, Value>, ErrorObject> {
        match self.params().get(key) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(ErrorObject::invalid_params(format!(
                "\"{key}\" must be an object"
            ))),
        }
    }
    pub(crate) fn server(&self) -> &Server {
        &self.session.server
    }
    /// The page size of list results (at least 1).
    pub(crate) fn page_size(&self) -> usize {
        self.server().config.page_size.max(1)
    }

    /// The state of a multi round-trip request carried by this retry.
    pub(crate) fn mrtr_state(&self) -> Result<MrtrState, ErrorObject> {
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
                        StateError::NoKey => ErrorObject::internal(e.to_string()),
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

    pub(crate) fn digest(&self) -> String {
        let mut salient = self.params().clone();
        for k in ["_meta", "requestState", "inputResponses"] {
            salient.remove(k);
        }
        request_digest(self.method.as_str(), &Value::Object(salient))
    }

    pub(crate) fn context(&self, mrtr: MrtrState) -> RequestContext {
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
            in_task: false,
        })
    }
}

/// The parameters of a call by name: `tools/call`, `prompts/get`.
pub(crate) struct NamedCall {
    /// The tool's or prompt's name.
    pub name: String,
    /// Its arguments (an empty object when absent or null).
    pub arguments: Map<String, Value>,
}

impl NamedCall {
    /// Read `name` (a string, required) and `arguments` (an object, optional).
    pub(crate) fn parse(r: &Req) -> Result<Self, ErrorObject> {
        Ok(NamedCall {
            name: r.str_param("name")?.to_owned(),
            arguments: r.obj_param("arguments")?,
        })
    }
}

/// Why a handler produced no value.
pub(crate) enum RunError {
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
pub(crate) async fn run<T: Send + 'static>(
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
pub(crate) fn input_required(r: &Req, ctx: &RequestContext, pending: PendingInput) -> Value {
    let state = ctx.take_mrtr();
    let sealed = r.server().signer.seal(&r.digest(), state.responses());
    json!({
        "resultType": "input_required",
        "inputRequests": pending.requests.iter().map(|(k, r)| (k.clone(), r.to_value())).collect::<Map<String, Value>>(),
        "requestState": sealed,
    })
}

/// Map a feature handler's failure (resources, prompts) to a reply.
pub(crate) fn feature_error(r: &Req, ctx: &RequestContext, what: &str, e: RunError) -> Reply {
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

/// Decode a cursor of list `kind` into an offset.
pub(crate) fn cursor(r: &Req, kind: &str) -> Result<usize, ErrorObject> {
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

/// The cursor of list `kind` that resumes at `offset`.
pub(crate) fn next_cursor(kind: &str, offset: usize) -> Value {
    json!(B64.encode(format!("{kind}:{offset}")))
}

/// One page of `items` under `key`, with `nextCursor` when more remain.
pub(crate) fn page(
    r: &Req,
    kind: &str,
    key: &str,
    mut items: Vec<Value>,
) -> Result<Value, ErrorObject> {
    let start = cursor(r, kind)?;
    let size = r.page_size();
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
        v["nextCursor"] = next_cursor(kind, end);
    }
    Ok(v)
}
