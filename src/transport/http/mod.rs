//! The Streamable HTTP transport, serving both protocol eras on one endpoint.
//!
//! - Modern (2026-07-28): stateless; each POST carries one request, whose
//!   `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` / `Mcp-Param-*`
//!   headers are checked against the body. The answer is JSON, or an SSE
//!   stream when the request asked for progress or log messages or opens a
//!   `subscriptions/listen`. Dropping an SSE stream cancels its request.
//! - Legacy (2025-03-26 … 2025-11-25): `initialize` mints an unguessable
//!   `Mcp-Session-Id`; later requests name it; `DELETE` ends it; a GET opens
//!   the session's stream for server-initiated notifications; server-to-client
//!   requests ride on the request's SSE stream and the client POSTs the answers.
//! - Security: loopback `Origin`s only by default (403 otherwise), optional
//!   bearer token (401), body limit (413), header-read timeout, connection and
//!   in-flight caps (503).

mod body;
mod headers;

use crate::jsonrpc::{code, ErrorObject, Message, Response as RpcResponse};
use crate::protocol::{ProtocolVersion, META_PROTOCOL_VERSION};
use crate::server::{Outbound, Server, Session};
use body::{sse_event, Body};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_TYPE, ORIGIN, WWW_AUTHENTICATE,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

/// Options of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Path of the MCP endpoint.
    pub path: String,
    /// Extra allowed `Origin`s (exact match; `*` allows any). Loopback
    /// origins are always allowed.
    pub allowed_origins: Vec<String>,
    /// Bearer token required on every request, if set.
    pub auth_token: Option<String>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Most connections served at once.
    pub max_connections: usize,
    /// Most requests in flight at once.
    pub max_in_flight: usize,
    /// Legacy sessions idle this long are ended.
    pub session_idle: Duration,
    /// Interval of SSE keep-alive comments.
    pub keep_alive: Duration,
    /// How long in-flight requests may finish at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            path: "/mcp".into(),
            allowed_origins: Vec::new(),
            auth_token: None,
            max_body_bytes: 4 * 1024 * 1024,
            max_connections: 512,
            max_in_flight: 1024,
            session_idle: Duration::from_secs(30 * 60),
            keep_alive: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

struct LegacySession {
    session: Arc<Session>,
    last_seen: Instant,
    /// Open GET streams: a session a client listens on is not idle.
    streams: Arc<std::sync::atomic::AtomicUsize>,
}

/// Counts an open GET stream for as long as it lives.
struct StreamGuard(Arc<std::sync::atomic::AtomicUsize>);

impl StreamGuard {
    fn new(count: Arc<std::sync::atomic::AtomicUsize>) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        StreamGuard(count)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

struct State {
    opts: HttpOptions,
    modern: Arc<Session>,
    server: Arc<Server>,
    sessions: Mutex<HashMap<String, LegacySession>>,
    in_flight: Arc<Semaphore>,
}

type Resp = Response<Body>;

fn json_response(status: StatusCode, value: &str) -> Resp {
    let mut r = Response::new(Body::full(value.to_owned()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn error_response(
    status: StatusCode,
    id: Option<crate::jsonrpc::RequestId>,
    e: ErrorObject,
) -> Resp {
    json_response(status, &RpcResponse::err(id, e).to_json())
}

fn plain(status: StatusCode, text: &'static str) -> Resp {
    let mut r = Response::new(Body::full(text));
    *r.status_mut() = status;
    r
}

/// HTTP status for a JSON-RPC error of a modern request.
fn modern_status(code_: i64) -> StatusCode {
    match code_ {
        code::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        code::INVALID_PARAMS
        | code::INVALID_REQUEST
        | code::PARSE_ERROR
        | code::HEADER_MISMATCH
        | code::MISSING_CLIENT_CAPABILITY
        | code::UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn is_loopback_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    let host = if let Some(v6) = rest.strip_prefix('[') {
        return v6.split(']').next() == Some("::1");
    } else {
        rest.split(':').next().unwrap_or("")
    };
    matches!(host, "localhost" | "127.0.0.1")
}

impl State {
    fn origin_allowed(&self, origin: &str) -> bool {
        is_loopback_origin(origin)
            || self
                .opts
                .allowed_origins
                .iter()
                .any(|o| o == "*" || o == origin)
    }
}

fn new_session_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        log::error!("OS random number generator unavailable");
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Serve `server` on `listener` until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    opts: HttpOptions,
    stop: CancellationToken,
) {
    let state = Arc::new(State {
        modern: server.session(),
        sessions: Mutex::new(HashMap::new()),
        in_flight: Arc::new(Semaphore::new(opts.max_in_flight.max(1))),
        server,
        opts,
    });
    let conns = Arc::new(Semaphore::new(state.opts.max_connections.max(1)));
    let reaper = tokio::spawn(reap_sessions(state.clone()));
    let conn_stop = CancellationToken::new();
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let permit = conns.clone().try_acquire_owned().ok();
        let state = state.clone();
        let conn_stop = conn_stop.clone();
        tokio::spawn(async move {
            let over = permit.is_none();
            let svc = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move {
                    if over {
                        return Ok::<_, std::convert::Infallible>(plain(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "too many connections\n",
                        ));
                    }
                    let r = handle(&state, req, peer).await;
                    Ok(r)
                }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .keep_alive(!over);
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => if let Err(e) = r { log::debug!("connection from {peer}: {e}") },
                _ = conn_stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(10), conn).await;
                }
            }
            drop(permit);
        });
    }
    // Stop accepting: close the listening socket (new connections are
    // refused, not queued) and tell every connection to finish the request
    // it is serving and take no other. Then end subscriptions, let requests
    // finish within the grace period, and cancel what is left.
    drop(listener);
    conn_stop.cancel();
    state.modern.end_subscriptions();
    let sessions: Vec<Arc<Session>> = state
        .sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .map(|s| s.session.clone())
        .collect();
    for s in &sessions {
        s.end_subscriptions();
    }
    let grace = state.opts.shutdown_grace;
    let _ = tokio::time::timeout(grace, async {
        while state.in_flight.available_permits() < state.opts.max_in_flight.max(1) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    state.modern.shutdown();
    for s in sessions {
        s.shutdown();
    }
    reaper.abort();
}

async fn reap_sessions(state: Arc<State>) {
    let idle = state.opts.session_idle;
    loop {
        tokio::time::sleep(Duration::from_secs(30).min(idle)).await;
        let expired: Vec<Arc<Session>> = {
            let mut map = state.sessions.lock().unwrap_or_else(|e| e.into_inner());
            let dead: Vec<String> = map
                .iter()
                .filter(|(_, s)| {
                    s.last_seen.elapsed() > idle
                        && s.session.in_flight() == 0
                        && s.streams.load(std::sync::atomic::Ordering::SeqCst) == 0
                })
                .map(|(k, _)| k.clone())
                .collect();
            dead.iter()
                .filter_map(|k| map.remove(k))
                .map(|s| s.session)
                .collect()
        };
        for s in expired {
            log::debug!("legacy HTTP session expired");
            s.shutdown();
        }
    }
}

async fn handle(state: &Arc<State>, req: Request<Incoming>, peer: SocketAddr) -> Resp {
    let origin = req
        .headers()
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let started = std::time::Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let mcp_method = req
        .headers()
        .get("mcp-method")
        .and_then(|v| v.to_str().ok())
        .map(|m| m.chars().take(64).collect::<String>());
    let mut resp = route(state, req, origin.as_deref()).await;
    if let Some(o) = origin.filter(|o| state.origin_allowed(o)) {
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&o) {
            h.insert("access-control-allow-origin", v);
        }
        h.insert("vary", HeaderValue::from_static("Origin"));
        h.insert(
            "access-control-expose-headers",
            HeaderValue::from_static("Mcp-Session-Id, WWW-Authenticate"),
        );
    }
    // Access log: no headers' values beyond the method name, never a token or a body.
    log::debug!(
        "access peer={peer} method={method} path={path:?} mcp_method={:?} status={} ms={:.1}",
        mcp_method.as_deref().unwrap_or("-"),
        resp.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    resp
}

async fn route(state: &Arc<State>, req: Request<Incoming>, origin: Option<&str>) -> Resp {
    let path = req.uri().path();
    if path == "/healthz" && req.method() == Method::GET {
        return plain(StatusCode::OK, "ok\n");
    }
    if path != state.opts.path {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: the MCP endpoint is elsewhere\n",
        );
    }
    if let Some(o) = origin {
        if !state.origin_allowed(o) {
            return error_response(
                StatusCode::FORBIDDEN,
                None,
                ErrorObject::invalid_request(format!("Origin {o} is not allowed")),
            );
        }
    }
    if req.method() == Method::OPTIONS {
        let mut r = plain(StatusCode::NO_CONTENT, "");
        let h = r.headers_mut();
        h.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("POST, GET, DELETE, OPTIONS"),
        );
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("content-type, accept, authorization, mcp-protocol-version, mcp-method, mcp-name, mcp-session-id, last-event-id"),
        );
        h.insert("access-control-max-age", HeaderValue::from_static("600"));
        return r;
    }
    if let Some(token) = &state.opts.auth_token {
        let given = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
            let mut r = error_response(
                StatusCode::UNAUTHORIZED,
                None,
                ErrorObject::invalid_request("Missing or wrong bearer token"),
            );
            r.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lmcp\""),
            );
            return r;
        }
    }
    let session_id = req
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    match *req.method() {
        Method::POST => post(state, req, session_id).await,
        Method::GET => get_stream(state, req, session_id),
        Method::DELETE => {
            let Some(id) = session_id else {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "DELETE needs an Mcp-Session-Id header\n",
                );
            };
            match state
                .sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id)
            {
                Some(s) => {
                    s.session.shutdown();
                    plain(StatusCode::NO_CONTENT, "")
                }
                None => plain(StatusCode::NOT_FOUND, "unknown or expired session\n"),
            }
        }
        _ => {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "use POST\n");
            r.headers_mut().insert(
                ALLOW,
                HeaderValue::from_static("POST, GET, DELETE, OPTIONS"),
            );
            r
        }
    }
}

fn legacy_session(state: &State, id: &str) -> Option<Arc<Session>> {
    let mut map = state.sessions.lock().unwrap_or_else(|e| e.into_inner());
    let s = map.get_mut(id)?;
    s.last_seen = Instant::now();
    Some(s.session.clone())
}

fn get_stream(state: &Arc<State>, req: Request<Incoming>, session_id: Option<String>) -> Resp {
    let Some(id) = session_id else {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET streams exist only for legacy sessions (send Mcp-Session-Id)\n",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST, DELETE, OPTIONS"));
        return r;
    };
    let Some(session) = legacy_session(state, &id) else {
        return plain(StatusCode::NOT_FOUND, "unknown or expired session\n");
    };
    let streams = {
        let map = state.sessions.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&id).map(|s| s.streams.clone()).unwrap_or_default()
    };
    let accepts = req
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    if !accepts {
        return plain(
            StatusCode::NOT_ACCEPTABLE,
            "GET needs Accept: text/event-stream\n",
        );
    }
    let (out, mut rx) = Outbound::channel(64);
    session.set_legacy_outbound(out);
    let (btx, brx) = mpsc::channel::<Bytes>(64);
    let cancel = CancellationToken::new();
    let keep_alive = state.opts.keep_alive;
    let stop = cancel.clone();
    let open = StreamGuard::new(streams);
    tokio::spawn(async move {
        let _open = open;
        let mut tick = tokio::time::interval(keep_alive);
        tick.tick().await;
        loop {
            let chunk = tokio::select! {
                _ = stop.cancelled() => break,
                m = rx.recv() => match m { Some(line) => sse_event(&line), None => break },
                _ = tick.tick() => Bytes::from_static(b":\n\n"),
            };
            if btx.send(chunk).await.is_err() {
                break;
            }
        }
    });
    sse_response(brx, cancel)
}

fn sse_response(rx: mpsc::Receiver<Bytes>, cancel: CancellationToken) -> Resp {
    let mut r = Response::new(Body::Sse { rx, cancel });
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

async fn post(state: &Arc<State>, req: Request<Incoming>, session_id: Option<String>) -> Resp {
    let ctype = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ctype.to_ascii_lowercase().starts_with("application/json") {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            ErrorObject::invalid_request("POST bodies must be Content-Type: application/json"),
        );
    }
    let headers = req.headers().clone();
    let limit = state.opts.max_body_bytes;
    let bytes = match http_body_util::Limited::new(req.into_body(), limit)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    None,
                    ErrorObject::invalid_request(format!(
                        "Request body exceeds the limit of {limit} bytes"
                    )),
                );
            }
            return plain(StatusCode::BAD_REQUEST, "could not read the request body\n");
        }
    };
    let Ok(_permit) = state.in_flight.clone().try_acquire_owned() else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            ErrorObject::internal("Server busy: too many requests in flight; retry shortly"),
        );
    };
    let limits = state.server.config().limits;
    if bytes.first() == Some(&b'[') {
        return batch(state, &bytes, session_id).await;
    }
    let msg = match Message::parse(&bytes, &limits) {
        Ok(m) => m,
        Err(f) => return error_response(StatusCode::BAD_REQUEST, f.id.clone(), f.error),
    };
    let accept = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*")
        .to_owned();
    let modern_version = match &msg {
        Message::Request(r) => r
            .params
            .get("_meta")
            .and_then(|m| m.get(META_PROTOCOL_VERSION))
            .and_then(|v| v.as_str())
            .map(String::from),
        _ => None,
    };
    if let Some(v) = modern_version {
        let Message::Request(r) = msg else {
            return plain(StatusCode::BAD_REQUEST, "\n");
        };
        if let Err(e) = headers::check_standard(&headers, &r, &v) {
            return error_response(StatusCode::BAD_REQUEST, Some(r.id.clone()), e);
        }
        if r.method == "tools/call" {
            let name = r.params.get("name").and_then(|n| n.as_str()).unwrap_or("");
            if let Some(tool) = state.server.tool(name) {
                let args = r.params.get("arguments").cloned().unwrap_or_default();
                if let Err(e) = headers::check_params(&headers, &tool.input_schema, &args) {
                    return error_response(StatusCode::BAD_REQUEST, Some(r.id.clone()), e);
                }
            }
        }
        let meta = &r.params["_meta"];
        let streams = meta.get("progressToken").is_some()
            || meta.get("io.modelcontextprotocol/logLevel").is_some()
            || r.method == "subscriptions/listen"
            || !accept.contains("application/json") && accept.contains("text/event-stream");
        return run(state, state.modern.clone(), r, streams, true, None).await;
    }
    // Legacy.
    let is_init = matches!(&msg, Message::Request(r) if r.method == "initialize");
    let session = match (is_init, &session_id, msg) {
        (true, _, Message::Request(r)) => {
            let id = new_session_id();
            let s = state.server.session();
            let entry = LegacySession {
                session: s.clone(),
                last_seen: Instant::now(),
                streams: Arc::default(),
            };
            state
                .sessions
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone(), entry);
            return run(state, s, r, false, false, Some(id)).await;
        }
        (_, Some(id), m) => match legacy_session(state, id) {
            Some(s) => (s, m),
            None => {
                return error_response(
                    StatusCode::NOT_FOUND,
                    None,
                    ErrorObject::invalid_request(
                        "Unknown or expired session: send initialize again",
                    ),
                )
            }
        },
        // Neither modern _meta nor a session: let the engine explain what is missing.
        (_, None, Message::Request(r)) => {
            return run(state, state.modern.clone(), r, false, true, None).await
        }
        // A stateless notification: accepted (nothing in the modern era needs it over HTTP).
        (_, None, n @ Message::Notification(_)) => {
            state.modern.receive(n, &Outbound::discard()).await;
            return plain(StatusCode::ACCEPTED, "");
        }
        (_, None, _) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                None,
                ErrorObject::invalid_request("Missing Mcp-Session-Id header"),
            )
        }
    };
    let (session, msg) = session;
    if let Some(v) = headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
    {
        if ProtocolVersion::parse(v).is_none_or(|p| p.is_modern()) {
            return error_response(
                StatusCode::BAD_REQUEST,
                None,
                ErrorObject::invalid_request(format!(
                    "Unsupported MCP-Protocol-Version header for a legacy session: {v}"
                )),
            );
        }
    }
    match msg {
        Message::Request(r) => {
            let streams = matches!(
                r.method.as_str(),
                "tools/call" | "prompts/get" | "resources/read"
            ) && accept.contains("text/event-stream");
            run(state, session, r, streams, false, None).await
        }
        other => {
            session.receive(other, &Outbound::discard()).await;
            plain(StatusCode::ACCEPTED, "")
        }
    }
}

async fn batch(state: &Arc<State>, bytes: &[u8], session_id: Option<String>) -> Resp {
    let Some(session) = session_id.and_then(|id| legacy_session(state, &id)) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            None,
            ErrorObject::invalid_request("JSON-RPC batches need a 2025-03-26 session"),
        );
    };
    let items: Vec<serde_json::Value> = match serde_json::from_slice(bytes) {
        Ok(v) => v,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                None,
                ErrorObject::new(code::PARSE_ERROR, format!("Parse error: {e}")),
            )
        }
    };
    match session.call_batch(items, &Outbound::discard()).await {
        Err(rejected) => json_response(StatusCode::BAD_REQUEST, &rejected.to_json()),
        Ok(rs) if rs.is_empty() => plain(StatusCode::ACCEPTED, ""),
        Ok(rs) => {
            let arr: Vec<serde_json::Value> = rs
                .into_iter()
                .map(|r| Message::Response(r).to_value())
                .collect();
            json_response(StatusCode::OK, &serde_json::Value::Array(arr).to_string())
        }
    }
}

/// Run one request and answer it as JSON or as an SSE stream.
async fn run(
    state: &Arc<State>,
    session: Arc<Session>,
    req: crate::jsonrpc::Request,
    sse: bool,
    modern: bool,
    new_session: Option<String>,
) -> Resp {
    let (out, mut rx) = Outbound::channel(64);
    let cancel = CancellationToken::new();
    let task = {
        let (session, cancel) = (session.clone(), cancel.clone());
        tokio::spawn(async move {
            if modern {
                session.call(req, out, cancel).await
            } else {
                session.call_tracked(req, out, cancel).await
            }
        })
    };
    if !sse {
        struct CancelOnDrop(CancellationToken);
        impl Drop for CancelOnDrop {
            fn drop(&mut self) {
                self.0.cancel();
            }
        }
        let _guard = CancelOnDrop(cancel);
        tokio::pin!(task);
        let resp = loop {
            tokio::select! {
                r = &mut task => break r.ok().flatten(),
                Some(_) = rx.recv() => {}
            }
        };
        let Some(resp) = resp else {
            return plain(StatusCode::ACCEPTED, "");
        };
        let status = match &resp.outcome {
            Err(e) if modern => modern_status(e.code),
            Err(e) if matches!(e.code, code::PARSE_ERROR | code::INVALID_REQUEST) => {
                StatusCode::BAD_REQUEST
            }
            _ => StatusCode::OK,
        };
        let mut r = json_response(status, &resp.to_json());
        if let Some(id) = new_session {
            if resp.outcome.is_ok() {
                if let Ok(v) = HeaderValue::from_str(&id) {
                    r.headers_mut().insert("mcp-session-id", v);
                }
            } else {
                state
                    .sessions
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
            }
        }
        return r;
    }
    let (btx, brx) = mpsc::channel::<Bytes>(64);
    let keep_alive = state.opts.keep_alive;
    let stop = cancel.clone();
    tokio::spawn(async move {
        tokio::pin!(task);
        let mut tick = tokio::time::interval(keep_alive);
        tick.tick().await;
        loop {
            let chunk = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                Some(line) = rx.recv() => sse_event(&line),
                r = &mut task => {
                    while let Ok(line) = rx.try_recv() {
                        if btx.send(sse_event(&line)).await.is_err() {
                            return;
                        }
                    }
                    if let Ok(Some(resp)) = r {
                        let _ = btx.send(sse_event(&resp.to_json())).await;
                    }
                    break;
                }
                _ = tick.tick() => Bytes::from_static(b":\n\n"),
            };
            if btx.send(chunk).await.is_err() {
                stop.cancel();
                break;
            }
        }
    });
    sse_response(brx, cancel)
}

/// Bind `addr` and serve until SIGINT/SIGTERM (or `stop`).
pub async fn serve_http(
    server: Arc<Server>,
    addr: &str,
    opts: HttpOptions,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    if !local.ip().is_loopback() && opts.auth_token.is_none() {
        log::warn!("listening on non-loopback address {local} without a bearer token: anyone who can reach it can use every tool; set --auth-token-file or LMCP_AUTH_TOKEN");
        eprintln!("lmcp: WARNING: {local} is reachable from other machines and no token is set");
    }
    eprintln!("lmcp: listening on http://{local}{}", opts.path);
    let signals = crate::transport::shutdown_signal(stop.clone());
    serve(listener, server, opts, stop).await;
    signals.abort();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert!(is_loopback_origin("http://localhost:3000"));
        assert!(is_loopback_origin("http://127.0.0.1"));
        assert!(is_loopback_origin("https://[::1]:8080"));
        assert!(!is_loopback_origin("http://evil.com"));
        assert!(!is_loopback_origin("http://localhost.evil.com"));
        assert!(!is_loopback_origin("null"));
    }

    #[test]
    fn token_compare() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
