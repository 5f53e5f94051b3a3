//! The Streamable HTTP client transport (`http://` URLs, and `https://`
//! with the `tls` feature: see `tls.rs`).
//!
//! Every outgoing message is its own POST; the answer — a JSON body, or an
//! SSE stream carrying progress and log notifications before the response —
//! is fed back to the [`Client`] as lines, so the era logic, progress routing
//! and cancellation of `mod.rs` work unchanged over HTTP.
//!
//! Era specifics handled here:
//! - modern requests get the `MCP-Protocol-Version`, `Mcp-Method` and (for
//!   `tools/call`, `prompts/get`, `resources/read`) `Mcp-Name` headers;
//!   cancelling one closes its response stream instead of sending
//!   `notifications/cancelled`, as the modern transport asks;
//! - a legacy `initialize` answer gives the session (`Mcp-Session-Id`) and
//!   the negotiated `MCP-Protocol-Version`, sent on every later message; a
//!   GET stream is opened for server-initiated messages (a 405 is fine); the
//!   session is ended with DELETE when the client goes away;
//! - an HTTP error without a JSON-RPC body becomes a JSON-RPC error for the
//!   request, so the discover probe falls back to `initialize` at once.
//!
//! A connection-level failure (refused, reset) or an expired session cancels
//! [`HttpLink::dead`]: the connection is dead and the owner should reconnect.

mod connection;
mod sse;
mod target;

use super::{Client, ClientError};
use crate::protocol::Method as RpcMethod;
use connection::send;
use http_body_util::BodyExt;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};
use sse::take_events;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use target::{header_value, parse_url, tls_config, Target, TlsConfig};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_util::sync::CancellationToken;

/// How to reach a Streamable HTTP server.
#[derive(Debug, Clone, Default)]
pub struct HttpConnect {
    /// The endpoint, `http://host[:port]/path`.
    pub url: String,
    /// Extra headers sent on every request (e.g. `Authorization`).
    pub headers: Vec<(String, String)>,
    /// For `https://`: a PEM file of extra trusted certificates (a private
    /// CA or a self-signed server certificate), besides the system's roots.
    pub ca_file: Option<std::path::PathBuf>,
}

#[derive(Default)]
struct State {
    session: Option<String>,
    /// The negotiated legacy version (after `initialize`).
    legacy_version: Option<String>,
    /// In-flight POSTs of requests, by JSON-RPC id (as JSON text).
    inflight: HashMap<String, AbortHandle>,
    get_stream: Option<AbortHandle>,
    /// Per tool (from the last `tools/list` pages seen): its parameters
    /// annotated with `x-mcp-header` — (header name, path in the arguments).
    param_headers: HashMap<String, Vec<(String, Vec<String>)>>,
}

struct Shared {
    target: Target,
    /// Set for `https://` targets.
    tls: Option<TlsConfig>,
    headers: Vec<(String, String)>,
    state: Mutex<State>,
    lines: mpsc::Sender<String>,
    dead: CancellationToken,
    /// Why `dead` was cancelled (the first cause).
    why: Arc<Mutex<Option<String>>>,
}

impl Shared {
    /// Mark the connection dead because of `msg`; returns `msg`.
    fn died(&self, msg: String) -> String {
        let mut why = self.why.lock().unwrap_or_else(|e| e.into_inner());
        if why.is_none() {
            *why = Some(msg.clone());
        }
        drop(why);
        self.dead.cancel();
        msg
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The life of an HTTP client connection, beside its [`Client`].
#[derive(Debug, Clone)]
pub struct HttpLink {
    /// Cancelled when the server is found unreachable or our session ended:
    /// reconnect (make a new client).
    pub dead: CancellationToken,
    closed: CancellationToken,
    why: Arc<Mutex<Option<String>>>,
}

impl HttpLink {
    /// Resolves once every handle of the client is dropped and the
    /// transport has finished (a legacy session ended with DELETE).
    pub async fn closed(&self) {
        self.closed.cancelled().await;
    }

    /// Why [`HttpLink::dead`] was cancelled (e.g. the connection or TLS
    /// error), once it is.
    pub fn why(&self) -> Option<String> {
        self.why.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl HttpConnect {
    /// Open a client for the endpoint (no traffic until the first request,
    /// normally [`Client::connect`]). Must be called inside a tokio runtime.
    pub fn connect(&self) -> Result<(Client, HttpLink), ClientError> {
        let target = parse_url(&self.url)?;
        let tls = tls_config(&target, self.ca_file.as_deref())?;
        let (tx, mut rx) = mpsc::channel::<String>(256);
        let info = json!({"name": "lmcp-client", "version": env!("CARGO_PKG_VERSION")});
        let (client, lines) = Client::over_channels(tx, info);
        let dead = CancellationToken::new();
        let why = Arc::new(Mutex::new(None));
        let closed = CancellationToken::new();
        let done = closed.clone();
        let shared = Arc::new(Shared {
            target,
            tls,
            headers: self.headers.clone(),
            state: Mutex::new(State::default()),
            lines,
            dead: dead.clone(),
            why: why.clone(),
        });
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                on_outgoing(&shared, line).await;
            }
            // Every client handle is gone: end the legacy session.
            let (session, get) = {
                let mut st = lock(&shared.state);
                for (_, h) in st.inflight.drain() {
                    h.abort();
                }
                (st.session.take(), st.get_stream.take())
            };
            if let Some(g) = get {
                g.abort();
            }
            if session.is_some() {
                let _ = send(&shared, Method::DELETE, None, session, None).await;
            }
            done.cancel();
        });
        Ok((client, HttpLink { dead, closed, why }))
    }
}

async fn on_outgoing(shared: &Arc<Shared>, line: String) {
    let msg: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
    let method = msg["method"].as_str().map(String::from);
    let id = msg.get("id").filter(|i| !i.is_null()).cloned();
    let (session, legacy) = {
        let st = lock(&shared.state);
        (st.session.clone(), st.legacy_version.clone())
    };
    let modern_version = msg["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"]
        .as_str()
        .map(String::from);
    if method.as_deref() == Some("notifications/cancelled") && modern_version.is_none() {
        let target = msg["params"]["requestId"].to_string();
        let handle = lock(&shared.state).inflight.remove(&target);
        if legacy.is_none() {
            // Modern: closing the response stream is the cancellation.
            if let Some(h) = handle {
                h.abort();
            }
            return;
        }
        if let Some(h) = handle {
            h.abort();
        }
    }
    let mut extra: Vec<(String, String)> = Vec::new();
    match (&modern_version, &legacy) {
        (Some(v), _) => {
            extra.push(("mcp-protocol-version".into(), v.clone()));
            if let Some(m) = &method {
                extra.push(("mcp-method".into(), header_value(m)));
                let parsed = RpcMethod::parse(m);
                let name = parsed
                    .and_then(RpcMethod::name_param)
                    .and_then(|field| msg["params"][field].as_str());
                if let Some(n) = name {
                    extra.push(("mcp-name".into(), header_value(n)));
                }
                if parsed == Some(RpcMethod::ToolsCall) {
                    extra.extend(param_headers(shared, &msg["params"]));
                }
            }
        }
        (None, Some(v)) => extra.push(("mcp-protocol-version".into(), v.clone())),
        (None, None) => {}
    }
    let parsed = method.as_deref().and_then(RpcMethod::parse);
    let is_initialize = parsed == Some(RpcMethod::Initialize);
    let is_tools_list = parsed == Some(RpcMethod::ToolsList);
    let is_initialized = method.as_deref() == Some("notifications/initialized");
    let sh = shared.clone();
    let key = id.as_ref().map(Value::to_string);
    // Spawned under the lock so the task cannot remove its entry before it is added.
    let mut st = lock(&shared.state);
    let task = tokio::spawn(async move {
        let kind = Kind {
            initialize: is_initialize,
            tools_list: is_tools_list,
        };
        let outcome = post(&sh, line, id.as_ref(), session, extra, kind).await;
        if let Err(e) = outcome {
            if let Some(id) = &id {
                let _ = sh.lines.send(transport_error(id, &e)).await;
            }
        } else if is_initialized {
            open_get_stream(&sh);
        }
        if let Some(k) = &id {
            lock(&sh.state).inflight.remove(&k.to_string());
        }
    });
    if let Some(k) = key {
        st.inflight.insert(k, task.abort_handle());
    }
    drop(st);
}

/// The `Mcp-Param-*` headers of a modern `tools/call`: one per argument the
/// tool's `inputSchema` (as last listed) annotates with `x-mcp-header` and
/// the call gives, valued as the server compares it (strings as they are,
/// numbers and booleans as JSON text), encoded like every header value.
fn param_headers(shared: &Shared, params: &Value) -> Vec<(String, String)> {
    let Some(name) = params["name"].as_str() else {
        return Vec::new();
    };
    let st = lock(&shared.state);
    let Some(annotated) = st.param_headers.get(name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (header, path) in annotated {
        let mut v = &params["arguments"];
        for p in path {
            v = v.get(p).unwrap_or(&Value::Null);
        }
        let text = match v {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let header = format!("mcp-param-{}", header.to_ascii_lowercase());
        if hyper::header::HeaderName::from_bytes(header.as_bytes()).is_ok() {
            out.push((header, header_value(&text)));
        }
    }
    out
}

/// Remember the `x-mcp-header` parameters of the tools in a `tools/list`
/// answer, for later calls (see [`param_headers`]).
fn note_tools(shared: &Shared, text: &str) {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return;
    };
    let mut st = lock(&shared.state);
    for t in v["result"]["tools"].as_array().into_iter().flatten() {
        if let Some(name) = t["name"].as_str() {
            let annotated = crate::transport::http::headers::annotated_params(&t["inputSchema"]);
            if annotated.is_empty() {
                st.param_headers.remove(name);
            } else {
                st.param_headers.insert(name.to_owned(), annotated);
            }
        }
    }
}

/// What kind of request a POST carries, for what its answer teaches.
#[derive(Clone, Copy)]
struct Kind {
    initialize: bool,
    tools_list: bool,
}

/// A JSON-RPC error standing for a transport failure (see `Client`).
fn transport_error(id: &Value, msg: &str) -> String {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": crate::jsonrpc::code::INTERNAL_ERROR, "message": msg, "data": {super::TRANSPORT_MARK: true}}}).to_string()
}

/// POST one message and feed whatever comes back to the client.
async fn post(
    shared: &Shared,
    line: String,
    id: Option<&Value>,
    session: Option<String>,
    extra: Vec<(String, String)>,
    kind: Kind,
) -> Result<(), String> {
    let is_initialize = kind.initialize;
    let had_session = session.is_some();
    let resp = send(shared, Method::POST, Some(line), session, Some(extra)).await?;
    let status = resp.status();
    if status == StatusCode::NOT_FOUND && had_session {
        return Err(shared.died("the server ended our session (HTTP 404); reconnecting".into()));
    }
    if is_initialize && status.is_success() {
        if let Some(s) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            lock(&shared.state).session = Some(s.to_string());
        }
    }
    let sse = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("text/event-stream"));
    if status == StatusCode::ACCEPTED {
        return Ok(());
    }
    let mut body = resp.into_body();
    if sse {
        let mut buf: Vec<u8> = Vec::new();
        let mut delivered = false;
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("the response stream broke: {e}"))?;
            if let Ok(data) = frame.into_data() {
                buf.extend_from_slice(&data);
                for event in take_events(&mut buf) {
                    note_initialize(shared, is_initialize, &event);
                    if kind.tools_list {
                        note_tools(shared, &event);
                    }
                    let event = mark_related(event, id);
                    delivered = true;
                    if shared.lines.send(event).await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
        return if delivered || status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {status}"))
        };
    }
    let bytes = body
        .collect()
        .await
        .map_err(|e| format!("reading the response failed: {e}"))?
        .to_bytes();
    let text = String::from_utf8_lossy(&bytes).trim().to_string();
    if let Ok(mut v) = serde_json::from_str::<Value>(&text) {
        if v.get("result").is_some() || v.get("error").is_some() {
            // An HTTP-level error often carries `"id": null`: it is ours.
            if let (Some(id), true) = (id, v.get("id").is_none_or(Value::is_null)) {
                v["id"] = id.clone();
            }
            note_initialize(shared, is_initialize, &text);
            if kind.tools_list {
                note_tools(shared, &text);
            }
            let _ = shared.lines.send(v.to_string()).await;
            return Ok(());
        }
    }
    if status.is_success() {
        return Ok(());
    }
    let mut snippet: String = text.chars().take(200).collect();
    if snippet.is_empty() {
        snippet = status.canonical_reason().unwrap_or("").to_string();
    }
    Err(format!("HTTP {status}: {snippet}"))
}

/// Tag a server request that arrived on the stream of our request `id`.
fn mark_related(event: String, id: Option<&Value>) -> String {
    let Some(id) = id else { return event };
    match serde_json::from_str::<Value>(&event) {
        Ok(mut v) if v.get("method").is_some() && v.get("id").is_some() => {
            if !v["params"].is_object() {
                v["params"] = json!({});
            }
            if !v["params"]["_meta"].is_object() {
                v["params"]["_meta"] = json!({});
            }
            v["params"]["_meta"][super::relay::RELATED] = id.clone();
            v.to_string()
        }
        _ => event,
    }
}

/// Remember the negotiated version when `initialize` is answered.
fn note_initialize(shared: &Shared, is_initialize: bool, text: &str) {
    if !is_initialize {
        return;
    }
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        if let Some(pv) = v["result"]["protocolVersion"].as_str() {
            lock(&shared.state).legacy_version = Some(pv.to_string());
        }
    }
}

/// Legacy: open the optional GET stream for server-initiated messages.
fn open_get_stream(shared: &Arc<Shared>) {
    let (session, version) = {
        let st = lock(&shared.state);
        (st.session.clone(), st.legacy_version.clone())
    };
    if session.is_none() {
        return;
    }
    let sh = shared.clone();
    let task = tokio::spawn(async move {
        let extra = version.map(|v| vec![("mcp-protocol-version".to_string(), v)]);
        let Ok(resp) = send(&sh, Method::GET, None, session, extra).await else {
            return;
        };
        if !resp.status().is_success() {
            return; // 405: the server offers no GET stream.
        }
        let mut body = resp.into_body();
        let mut buf = Vec::new();
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                buf.extend_from_slice(&data);
                for event in take_events(&mut buf) {
                    if sh.lines.send(event).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    lock(&shared.state).get_stream = Some(task.abort_handle());
}
