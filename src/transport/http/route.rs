//! Routing one HTTP request: `/healthz`, the endpoint's path, `Origin` and
//! token checks, methods (POST, GET streams of legacy sessions, DELETE, CORS
//! preflight).

use super::post::post;
use super::respond::{error_response, plain};
use super::{oauth, replay, stream, Resp, State, StreamGuard};
use crate::jsonrpc::ErrorObject;
use crate::server::{Outbound, Session};
use crate::sync::MutexExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, ALLOW};
use hyper::{Method, Request, StatusCode};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

pub(super) async fn route(
    state: &Arc<State>,
    req: Request<Incoming>,
    origin: Option<&str>,
) -> Resp {
    let path = req.uri().path();
    if path == "/healthz" && req.method() == Method::GET {
        // A draining instance fails its health check at once, so that a
        // balancer stops sending it new calls while old ones finish.
        return match state.is_draining() {
            true => plain(StatusCode::SERVICE_UNAVAILABLE, "draining\n"),
            false => plain(StatusCode::OK, "ok\n"),
        };
    }
    if state.is_draining() && path == state.opts.path && !pinned(req.headers()) {
        // New work (a stateless call, a new session) is refused before it
        // starts, so a balancer may retry it on another instance; calls of
        // this instance's legacy sessions and jobs are still served.
        let mut r = error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            ErrorObject::internal(
                "this lmcp instance is shutting down: retry the request (a load balancer sends it to another instance)",
            ),
        );
        r.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return r;
    }
    if let Some(why) = state.host_refusal(req.headers()) {
        return error_response(
            StatusCode::FORBIDDEN,
            None,
            ErrorObject::invalid_request(why),
        );
    }
    if let Some(r) = oauth::metadata_route(state, req.method(), path) {
        return r;
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
        if let Ok(v) = HeaderValue::from_str(&allow_headers(req.headers())) {
            h.insert("access-control-allow-headers", v);
        }
        h.insert("access-control-max-age", HeaderValue::from_static("600"));
        return r;
    }
    let grant = match oauth::authorize(state, req.headers()).await {
        Ok(g) => g,
        Err(refused) => return refused,
    };
    // Past the token check (or with no token set, at the endpoint): the
    // connection has shown it is a real client and keeps its slot.
    let mut r = endpoint(state, req, grant).await;
    r.extensions_mut().insert(Admitted);
    r
}

/// Marks a response to a request that reached the MCP endpoint past the
/// token check: its connection counts as proven (`admission.rs`). Health
/// checks, unknown paths and refused requests do not carry it.
#[derive(Clone, Copy)]
pub(super) struct Admitted;

/// A request to the endpoint that passed the `Origin` and token checks.
async fn endpoint(
    state: &Arc<State>,
    mut req: Request<Incoming>,
    grant: Option<oauth::Grant>,
) -> Resp {
    let session_id = req
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    if let Some(refused) = oauth::session_refusal(state, session_id.as_deref(), grant.as_ref()) {
        return refused;
    }
    if let Some(g) = grant {
        req.extensions_mut().insert(g);
    }
    match *req.method() {
        // Boxed: the connection keeps its service future for as long as it
        // is open, so that future holds only what every request needs.
        Method::POST => Box::pin(post(state, req, session_id)).await,
        Method::GET => get_stream(state, req, session_id),
        Method::DELETE => {
            let Some(id) = session_id else {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "DELETE needs an Mcp-Session-Id header\n",
                );
            };
            match state.sessions.lock_unpoisoned().remove(&id) {
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

/// Whether a request names state a balancer pins to one instance: a legacy
/// session (`Mcp-Session-Id`) or a background job (`Mcp-Param-Job`).
fn pinned(h: &hyper::HeaderMap) -> bool {
    h.contains_key("mcp-session-id") || h.contains_key("mcp-param-job")
}

/// Headers a browser may send (CORS preflight): the fixed ones of the
/// protocol, plus the `Mcp-Param-*` headers the preflight asks for (a tool
/// whose input schema has `x-mcp-header` parameters mirrors them there;
/// their names depend on the tool, so they are allowed by prefix).
fn allow_headers(h: &hyper::HeaderMap) -> String {
    let mut allowed = String::from("content-type, accept, authorization, mcp-protocol-version, mcp-method, mcp-name, mcp-session-id, last-event-id");
    let requested = h
        .get_all("access-control-request-headers")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|n| n.trim().to_ascii_lowercase());
    for name in requested {
        let param = name.strip_prefix("mcp-param-").unwrap_or("");
        if !param.is_empty()
            && param
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !allowed.split(", ").any(|a| a == name)
        {
            allowed.push_str(", ");
            allowed.push_str(&name);
        }
    }
    allowed
}

/// The legacy session `id` names, its in-flight slots and its resumable
/// streams, marked as used now.
pub(super) fn legacy_session(
    state: &State,
    id: &str,
) -> Option<(Arc<Session>, Arc<Semaphore>, Arc<replay::Replays>)> {
    let mut map = state.sessions.lock_unpoisoned();
    let s = map.get_mut(id)?;
    s.last_seen = Instant::now();
    Some((s.session.clone(), s.slots.clone(), s.replays.clone()))
}

pub(super) fn get_stream(
    state: &Arc<State>,
    req: Request<Incoming>,
    session_id: Option<String>,
) -> Resp {
    let Some(id) = session_id else {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET streams exist only for legacy sessions (send Mcp-Session-Id)\n",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST, DELETE, OPTIONS"));
        return r;
    };
    let Some((session, _, replays)) = legacy_session(state, &id) else {
        return plain(StatusCode::NOT_FOUND, "unknown or expired session\n");
    };
    let streams = {
        let map = state.sessions.lock_unpoisoned();
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
    // A resume: the rest of the request stream that event belongs to.
    if let Some(last) = req.headers().get("last-event-id") {
        let found = last
            .to_str()
            .map_err(|_| replay::ResumeError::Malformed)
            .and_then(|id| replays.find(id));
        let opts = replay::ReaderOptions {
            keep_alive: state.opts.keep_alive,
            stall: state.opts.sse_stall,
        };
        return match found.and_then(|(log, from)| replay::attach(log, from, opts)) {
            Ok(r) => r,
            Err(e) => {
                let status = match e {
                    replay::ResumeError::Malformed => StatusCode::BAD_REQUEST,
                    replay::ResumeError::Gone => StatusCode::GONE,
                };
                error_response(status, None, ErrorObject::invalid_request(e.to_string()))
            }
        };
    }
    let (out, rx) = Outbound::channel(64);
    session.set_legacy_outbound(out);
    let pump = stream::Pump {
        first: Vec::new(),
        rx,
        keep_alive: state.opts.keep_alive,
        stall: state.opts.sse_stall,
        // Cancelled when the body is dropped, or at shutdown (the parent).
        stop: state.streams_stop.child_token(),
        hold: Box::new(StreamGuard::new(streams)),
    };
    stream::spawn_listener(pump)
}
