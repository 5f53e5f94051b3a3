//! A POSTed message: era detection, header validation, legacy sessions and
//! batches, and running the request with a JSON or SSE answer.

use super::*;
use crate::protocol::Method;
use crate::sync::MutexExt;

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
async fn reroute_legacy(session: &Arc<Session>, line: String) {
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

/// One request to run, and how to answer it.
pub(super) struct Run<'a> {
    /// The session the request belongs to (the shared modern one, or a
    /// legacy session).
    pub session: Arc<Session>,
    /// The request.
    pub req: crate::jsonrpc::Request,
    /// Answer as an SSE stream (else as one JSON document).
    pub sse: bool,
    /// A modern (stateless) request; legacy requests are registered under
    /// their id so `notifications/cancelled` reaches them.
    pub modern: bool,
    /// The id of the legacy session this `initialize` opens: sent back as
    /// `Mcp-Session-Id` on success, forgotten on failure.
    pub new_session: Option<String>,
    /// The request's in-flight slot, held until its answer is complete:
    /// dropped on return for JSON, by the stream's pump for SSE.
    pub permit: OwnedSemaphorePermit,
    /// The session's `--max-in-flight` slots (all modern requests share
    /// one set): the request waits for one, and holds it as long as
    /// `permit`. `None` for requests that take no slot
    /// (`subscriptions/listen`, which lives as long as its client wants).
    pub slots: Option<Arc<Semaphore>>,
    /// The token's grant, when tokens are checked: its scopes filter a
    /// `tools/list` answer.
    pub grant: Option<&'a oauth::Grant>,
    /// The legacy session's resumable streams: a streamed answer that does
    /// not finish at once goes through a replay log there (its dropped
    /// connection does not cancel it).
    pub replays: Option<Arc<replay::Replays>>,
}

type CallFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Option<RpcResponse>> + Send>>;

/// Run one request and answer it as JSON or as an SSE stream.
///
/// The request is polled once here, on the connection's task: a handler
/// that finishes at once (most do) is answered in one write, JSON or a
/// complete event stream alike, with no task, channel hop or timer in
/// between. Only a request that has to wait gets its own task (and, when
/// streamed, the pump that forwards its events as they come).
pub(super) async fn run(state: &Arc<State>, run: Run<'_>) -> Resp {
    let Run {
        session,
        req,
        sse,
        modern,
        new_session,
        permit,
        slots,
        grant,
        replays,
    } = run;
    // A token's `tools/list` shows only the tools its scopes allow.
    let list_filter = grant
        .filter(|_| Method::parse(&req.method) == Some(Method::ToolsList))
        .cloned();
    let filter = move |mut r: RpcResponse| {
        oauth::filter_answer(list_filter.as_ref(), Some(Method::ToolsList), &mut r);
        r
    };
    let slot = match slots {
        Some(s) => match s.acquire_owned().await {
            Ok(p) => Some(p),
            Err(_) => return plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
        },
        None => None,
    };
    let (out, mut rx) = Outbound::channel(64);
    let cancel = CancellationToken::new();
    let caller = grant.map(|g| g.subject.clone());
    let mut call: CallFuture = {
        let (session, cancel) = (session.clone(), cancel.clone());
        Box::pin(async move {
            if modern {
                session.call_as(req, out, cancel, caller).await
            } else {
                session.call_tracked(req, out, cancel).await
            }
        })
    };
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(call.as_mut().poll(cx))).await;
    if let std::task::Poll::Ready(resp) = first {
        let resp = resp.map(&filter);
        let mut queued = Vec::new();
        while let Ok(line) = rx.try_recv() {
            queued.push(line);
        }
        let failed_up_front =
            modern && queued.is_empty() && resp.as_ref().is_some_and(failed_with_status);
        if sse && !failed_up_front {
            drop((permit, slot));
            return stream::complete(queued.into_iter().chain(resp.map(|r| r.to_json())));
        }
        if !modern {
            for line in queued {
                reroute_legacy(&session, line).await;
            }
        }
        drop(slot);
        return json_answer(state, resp, modern, new_session);
    }
    let mut task = tokio::spawn(call);
    let mut first = Vec::new();
    if sse && modern {
        // The stream is chosen only once there is something to stream (a
        // first message, or a keep-alive interval without any): a request
        // that fails before that keeps its HTTP status (400, 404), as when
        // it fails at once.
        let guard = CancelOnDrop(Some(cancel.clone()));
        let finished = tokio::select! {
            r = &mut task => Some(r.ok().flatten().map(&filter)),
            Some(line) = rx.recv() => {
                first.push(line);
                None
            }
            _ = tokio::time::sleep(state.opts.keep_alive) => None,
        };
        guard.disarm();
        if let Some(resp) = finished {
            while let Ok(line) = rx.try_recv() {
                first.push(line);
            }
            drop((permit, slot));
            if first.is_empty() && resp.as_ref().is_some_and(failed_with_status) {
                return json_answer(state, resp, modern, new_session);
            }
            return stream::complete(first.into_iter().chain(resp.map(|r| r.to_json())));
        }
    }
    if !sse {
        let _guard = CancelOnDrop(Some(cancel));
        tokio::pin!(task);
        let resp = loop {
            tokio::select! {
                r = &mut task => break r.ok().flatten().map(&filter),
                Some(line) = rx.recv() => if !modern {
                    reroute_legacy(&session, line).await;
                },
            }
        };
        drop((permit, slot));
        return json_answer(state, resp, modern, new_session);
    }
    let finish = async move { task.await.ok().flatten().map(filter).map(|r| r.to_json()) };
    if let Some(replays) = replays.filter(|_| !modern) {
        let log = replays.open();
        if session
            .legacy_version()
            .is_some_and(|v| v >= ProtocolVersion::V2025_11_25)
        {
            log.prime();
        }
        let reader = replay::attach(
            log.clone(),
            0,
            replay::ReaderOptions {
                keep_alive: state.opts.keep_alive,
                stall: state.opts.sse_stall,
            },
        );
        replay::produce(
            replays,
            log,
            rx,
            finish,
            cancel,
            state.opts.sse_replay,
            Box::new((permit, slot)),
        );
        return reader.unwrap_or_else(|e| {
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                None,
                ErrorObject::internal(e.to_string()),
            )
        });
    }
    let pump = stream::Pump {
        first,
        rx,
        keep_alive: state.opts.keep_alive,
        stall: state.opts.sse_stall,
        stop: cancel,
        hold: Box::new((permit, slot)),
    };
    stream::spawn(pump, finish)
}

/// Cancels a request when dropped (its connection went away), unless
/// disarmed first.
struct CancelOnDrop(Option<CancellationToken>);

impl CancelOnDrop {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.cancel();
        }
    }
}

/// A modern answer that is an error with an HTTP status of its own (400,
/// 404): it must go out as JSON with that status, never in a 200 stream.
fn failed_with_status(r: &RpcResponse) -> bool {
    matches!(&r.outcome, Err(e) if modern_status(e.code) != StatusCode::OK)
}

/// The JSON answer to a request (202 when it has none), with the status its
/// error calls for; a legacy `initialize` gets its session id, or its
/// session forgotten when it failed.
fn json_answer(
    state: &State,
    resp: Option<RpcResponse>,
    modern: bool,
    new_session: Option<String>,
) -> Resp {
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
            state.sessions.lock_unpoisoned().remove(&id);
        }
    }
    r
}
