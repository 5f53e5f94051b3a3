//! Running one request and answering it: as one JSON document, or as an
//! SSE stream when the request asked for one (progress, logs, a legacy
//! server request on the way).

use super::post::reroute_legacy;
use super::respond::{error_response, json_response, modern_status, plain};
use super::{oauth, replay, stream, Resp, State};
use crate::jsonrpc::{code, ErrorObject, Response as RpcResponse};
use crate::protocol::{Method, ProtocolVersion};
use crate::server::{Outbound, Session};
use crate::sync::MutexExt;
use hyper::header::HeaderValue;
use hyper::StatusCode;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
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
