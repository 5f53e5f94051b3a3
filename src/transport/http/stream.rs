//! The one SSE pump: feeds an event stream from a request's (or a legacy
//! session's GET stream's) message channel, with keep-alive comments, a
//! bound on how long a client that reads nothing may hold the stream, and
//! the request's final answer as the last event.
//!
//! Nothing here waits on a timer before the first event: the keep-alive
//! ticker first fires one full interval after the stream opens (a ticker
//! whose first tick is awaited at once costs up to a millisecond, since
//! timers resolve to the millisecond — issue 15's stall on every stream).

use super::body::{send_chunk, sse_event, Body};
use super::respond::sse_headers;
use bytes::Bytes;
use hyper::Response;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How one SSE stream is fed and bounded.
pub(super) struct Pump {
    /// Messages already taken from `rx`, sent first.
    pub first: Vec<String>,
    /// Messages (serialised JSON-RPC) to send as events, in order.
    pub rx: mpsc::Receiver<String>,
    /// Interval of keep-alive comments.
    pub keep_alive: Duration,
    /// A client that takes nothing for this long has its stream cut.
    pub stall: Duration,
    /// Ends the stream: cancelled when the response body is dropped (the
    /// client went away), by shutdown, or by the pump itself when it cuts
    /// a stalled client. The request behind the stream watches it too.
    pub stop: CancellationToken,
    /// Held until the stream ends (an in-flight permit, a stream counter).
    pub hold: Box<dyn Send>,
}

/// Start the pump for a request's stream and return the streaming response.
/// `finish` resolves to the request's final message (`None`: the request
/// ended without one); the stream then sends the messages still queued,
/// that last one, and ends. The request's message channel closing first
/// (its sender is dropped as the handler returns) does not end the stream:
/// the final answer is still to come.
pub(super) fn spawn<F>(pump: Pump, finish: F) -> Response<Body>
where
    F: Future<Output = Option<String>> + Send + 'static,
{
    run(pump, finish, true)
}

/// Start the pump for a stream with no request behind it (a legacy GET
/// stream): it ends when `rx` closes or `stop` fires.
pub(super) fn spawn_listener(pump: Pump) -> Response<Body> {
    run(pump, std::future::pending(), false)
}

fn run<F>(pump: Pump, finish: F, answers: bool) -> Response<Body>
where
    F: Future<Output = Option<String>> + Send + 'static,
{
    let Pump {
        first,
        mut rx,
        keep_alive,
        stall,
        stop,
        hold,
    } = pump;
    let (btx, brx) = mpsc::channel::<Bytes>(64);
    let cut = CancellationToken::new();
    let cut_it = cut.clone();
    let body_stop = stop.clone();
    tokio::spawn(async move {
        let _hold = hold;
        for line in first {
            if !send_chunk(&btx, sse_event(&line), stall).await {
                stop.cancel();
                return;
            }
        }
        tokio::pin!(finish);
        let first = tokio::time::Instant::now() + keep_alive;
        let mut tick = tokio::time::interval_at(first, keep_alive);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rx_open = true;
        loop {
            let chunk = tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                m = rx.recv(), if rx_open => match m {
                    Some(line) => sse_event(&line),
                    None if answers => {
                        rx_open = false;
                        continue;
                    }
                    None => break,
                },
                last = &mut finish, if answers => {
                    while let Ok(line) = rx.try_recv() {
                        if !send_chunk(&btx, sse_event(&line), stall).await {
                            return;
                        }
                    }
                    if let Some(last) = last {
                        send_chunk(&btx, sse_event(&last), stall).await;
                    }
                    break;
                }
                _ = tick.tick() => Bytes::from_static(b":\n\n"),
            };
            if !send_chunk(&btx, chunk, stall).await {
                if !btx.is_closed() {
                    log::debug!(
                        "SSE client read nothing for {stall:?}; stream cut, connection closed"
                    );
                }
                // The body fails once drained, so hyper closes the
                // connection instead of ending the stream as if complete;
                // the request behind it is cancelled.
                cut_it.cancel();
                stop.cancel();
                break;
            }
        }
    });
    let mut r = Response::new(Body::Sse {
        rx: brx,
        cancel: body_stop,
        cut,
        end: None,
    });
    sse_headers(r.headers_mut());
    r
}

/// A complete event stream in one body: the events of a request that
/// finished before its answer was sent, written in one go like a JSON answer.
pub(super) fn complete(lines: impl IntoIterator<Item = String>) -> Response<Body> {
    let mut buf = Vec::new();
    for line in lines {
        buf.extend_from_slice(&sse_event(&line));
    }
    let mut r = Response::new(Body::full(buf));
    sse_headers(r.headers_mut());
    r
}
