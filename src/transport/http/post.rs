//! A POSTed message: era detection, header validation, legacy sessions and
//! batches; the request itself is run by `answer`.

use super::answer::{run, Run};
use super::respond::{error_response, json_response, plain};
use super::route::legacy_session;
use super::security::new_session_id;
use super::{headers, oauth, LegacySession, Resp, State};
use crate::jsonrpc::{code, ErrorObject, Message, Response as RpcResponse};
use crate::protocol::{Method, ProtocolVersion, META_PROTOCOL_VERSION};
use crate::server::{Outbound, Session};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use hyper::{Request, StatusCode};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

pub(super) async fn post(
    state: &Arc<State>,
    req: Request<Incoming>,
    session_id: Option<String>,
) -> Resp {
    let grant = req.extensions().get::<oauth::Grant>().cloned();
    let grant = grant.as_ref();
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
    // The header-read timeout does not cover the body: a client trickling
    // its body a byte at a time would hold the connection for ever.
    let body_timeout = state.opts.body_timeout;
    let read = tokio::time::timeout(
        body_timeout,
        http_body_util::Limited::new(req.into_body(), limit).collect(),
    );
    let Ok(read) = read.await else {
        let mut r = error_response(
            StatusCode::REQUEST_TIMEOUT,
            None,
            ErrorObject::invalid_request(format!(
                "Request body not received within {body_timeout:?}"
            )),
        );
        r.headers_mut()
            .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        return r;
    };
    let bytes = match read {
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
    // The permit lives as long as the request: to the end of post() for a
    // JSON answer, to the end of its stream for an SSE one (run() moves it
    // into the task feeding the stream), so the 503 cap and the shutdown
    // grace both see streamed requests.
    let Ok(permit) = state.in_flight.clone().try_acquire_owned() else {
        return error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            ErrorObject::internal("Server busy: too many requests in flight; retry shortly"),
        );
    };
    let limits = state.server.config().limits;
    if bytes.first() == Some(&b'[') {
        return batch(state, &bytes, session_id, grant).await;
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
        let method = Method::parse(&r.method);
        if method == Some(Method::ToolsCall) {
            let name = r.params.get("name").and_then(|n| n.as_str()).unwrap_or("");
            if let Some(tool) = state.server.tool(name) {
                let args = r.params.get("arguments").cloned().unwrap_or_default();
                if let Err(e) = headers::check_params(&headers, tool.header_params(), &args) {
                    return error_response(StatusCode::BAD_REQUEST, Some(r.id.clone()), e);
                }
            }
        }
        if let Some(refused) =
            oauth::scope_refusal(state, grant, &r.method, &r.params, Some(r.id.clone()))
        {
            return refused;
        }
        let meta = &r.params["_meta"];
        let streams = meta.get("progressToken").is_some()
            || meta.get("io.modelcontextprotocol/logLevel").is_some()
            || method.is_some_and(Method::always_streams)
            || !accept.contains("application/json") && accept.contains("text/event-stream");
        return run(
            state,
            Run {
                slots: method
                    .is_none_or(Method::takes_slot)
                    .then(|| state.modern_slots.clone()),
                session: state.modern.clone(),
                req: r,
                sse: streams,
                modern: true,
                new_session: None,
                permit,
                grant,
                replays: None,
            },
        )
        .await;
    }
    // Legacy.
    let is_init =
        matches!(&msg, Message::Request(r) if Method::parse(&r.method) == Some(Method::Initialize));
    let session = match (is_init, &session_id, msg) {
        (true, _, Message::Request(r)) => {
            let Some(id) = new_session_id(state.server.instance_id()) else {
                return error_response(
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some(r.id.clone()),
                    ErrorObject::internal(
                        "cannot open a session: the OS random number generator failed",
                    ),
                );
            };
            let s = state.server.session();
            let slots = Arc::new(Semaphore::new(state.server.config().max_in_flight.max(1)));
            let entry = LegacySession {
                session: s.clone(),
                last_seen: Instant::now(),
                streams: Arc::default(),
                slots: slots.clone(),
                replays: Arc::default(),
                owner: grant.map(|g| g.subject.clone()),
            };
            if let Err(busy) = state.open_session(id.clone(), entry) {
                s.shutdown();
                return error_response(StatusCode::SERVICE_UNAVAILABLE, Some(r.id.clone()), busy);
            }
            return run(
                state,
                Run {
                    slots: Some(slots),
                    session: s,
                    req: r,
                    sse: false,
                    modern: false,
                    new_session: Some(id),
                    permit,
                    grant,
                    replays: None,
                },
            )
            .await;
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
            if let Some(refused) =
                oauth::scope_refusal(state, grant, &r.method, &r.params, Some(r.id.clone()))
            {
                return refused;
            }
            return run(
                state,
                Run {
                    slots: Some(state.modern_slots.clone()),
                    session: state.modern.clone(),
                    req: r,
                    sse: false,
                    modern: true,
                    new_session: None,
                    permit,
                    grant,
                    replays: None,
                },
            )
            .await;
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
    let ((session, slots, replays), msg) = session;
    // MCP-Protocol-Version on a legacy session. The transport's rule: with
    // the header absent "and no other way to identify the version", assume
    // 2025-03-26. Over HTTP a session exists only from its `initialize`
    // on, and the version negotiated there is that other way: a request
    // without the header is served at the session's negotiated version
    // (what a 2025-03-26 client, which never sends it, expects). Only a
    // request racing its session's own `initialize` has no negotiated
    // version yet; it is assumed 2025-03-26, which changes nothing since
    // the engine refuses everything but `initialize` on such a session.
    // A header that is present must be a legacy revision we serve (400
    // otherwise, as the transport page asks for an invalid or unsupported
    // version). One that differs from the negotiated revision is served at
    // the negotiated one: the session's answers are shaped by what
    // `initialize` agreed, and clients do send another supported revision
    // there (the official conformance suite's server-sse-multiple-streams
    // posts with 2025-03-26 on a 2025-11-25 session and expects 200).
    let negotiated = session.legacy_version();
    let claimed = match headers.get("mcp-protocol-version") {
        None => negotiated.unwrap_or(ProtocolVersion::V2025_03_26),
        Some(h) => {
            let v = String::from_utf8_lossy(h.as_bytes());
            match ProtocolVersion::parse(&v).filter(|p| !p.is_modern()) {
                Some(p) => negotiated.unwrap_or(p),
                None => {
                    return error_response(
                        StatusCode::BAD_REQUEST,
                        None,
                        ErrorObject::invalid_request(format!(
                            "Unsupported MCP-Protocol-Version header for a legacy session: {v}"
                        )),
                    );
                }
            }
        }
    };
    log::trace!("legacy request at protocol version {claimed}");
    match msg {
        Message::Request(r) => {
            if let Some(refused) =
                oauth::scope_refusal(state, grant, &r.method, &r.params, Some(r.id.clone()))
            {
                return refused;
            }
            let streams = Method::parse(&r.method).is_some_and(Method::may_stream)
                && accept.contains("text/event-stream");
            run(
                state,
                Run {
                    slots: Some(slots),
                    session,
                    req: r,
                    sse: streams,
                    modern: false,
                    new_session: None,
                    permit,
                    grant,
                    replays: Some(replays),
                },
            )
            .await
        }
        other => {
            session.receive(other, &Outbound::discard()).await;
            plain(StatusCode::ACCEPTED, "")
        }
    }
}

pub(super) async fn batch(
    state: &Arc<State>,
    bytes: &[u8],
    session_id: Option<String>,
    grant: Option<&oauth::Grant>,
) -> Resp {
    let Some((session, ..)) = session_id.and_then(|id| legacy_session(state, &id)) else {
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
    if let Some(refused) = oauth::batch_refusal(state, grant, &items) {
        return refused;
    }
    let asked = if grant.is_some() {
        items.clone()
    } else {
        Vec::new()
    };
    match session.call_batch(items, &Outbound::discard()).await {
        Err(rejected) => json_response(StatusCode::BAD_REQUEST, &rejected.to_json()),
        Ok(rs) if rs.is_empty() => plain(StatusCode::ACCEPTED, ""),
        Ok(mut rs) => {
            oauth::filter_batch(grant, &asked, &mut rs);
            let arr: Vec<serde_json::Value> = rs
                .into_iter()
                .map(|r| Message::Response(r).to_value())
                .collect();
            json_response(StatusCode::OK, &serde_json::Value::Array(arr).to_string())
        }
    }
}

/// A message a legacy request produced while its answer is plain JSON (the
/// client's `Accept` lacked `text/event-stream`), so it has no stream of
/// its own. Notifications about the request (progress, log) are dropped:
/// the client chose not to stream them. A server-to-client request
/// (sampling, elicitation, roots) is request-related, so it never goes on
/// the session's GET stream (that stream is for messages unrelated to any
/// running request); and it cannot be dropped, or the handler would wait
/// for an answer until its timeout. It is answered at once, on the
/// client's behalf, with an error the handler sees and reports.
pub(super) async fn reroute_legacy(session: &Arc<Session>, line: String) {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
        return;
    };
    let (Some(id), Some(method)) = (v.get("id"), v.get("method").and_then(|m| m.as_str())) else {
        return;
    };
    let Ok(id) = serde_json::from_value::<crate::jsonrpc::RequestId>(id.clone()) else {
        return;
    };
    log::debug!("{method}: the request has no stream to the client; refused on its behalf");
    let refusal = RpcResponse::err(
        Some(id),
        ErrorObject::internal(format!(
            "{method} cannot reach the client: its request was answered as JSON; send the request with Accept: application/json, text/event-stream so that it can ask the client on its own event stream"
        )),
    );
    session
        .receive(Message::Response(refusal), &Outbound::discard())
        .await;
}
