//! Resumable legacy request streams (2025-11-25 "Resumability and
//! Redelivery"). The events of a legacy request's SSE stream go into a
//! [`Log`] first; each connection that shows them is a reader of that log
//! from some position. Every event carries an id (`<stream>-<seq>`, unique
//! within the session), and a 2025-11-25 stream opens with a priming event
//! (an id, `retry:` and empty data). A client that loses its connection
//! GETs the endpoint with `Last-Event-ID` and reads on from there, up to
//! and including the final answer.
//!
//! A dropped connection does not cancel the request: only
//! `notifications/cancelled` does, or `--sse-replay-secs` passing with no
//! reader attached. A log keeps at most [`MAX_BUFFERED`] bytes of events
//! (oldest dropped first; the final answer always kept), and is forgotten
//! once a reader has handed its last event to the connection, or the
//! window has passed with nobody reading.

use super::body::{send_chunk, Body};
use super::respond::sse_headers;
use crate::sync::MutexExt;
use bytes::Bytes;
use hyper::Response;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Most bytes of events one stream keeps for a resume, beside its final
/// answer (kept whatever its size).
pub(super) const MAX_BUFFERED: usize = 1024 * 1024;

/// The reconnection delay suggested to clients (`retry:`), in milliseconds.
const RETRY_MS: u64 = 1000;

/// The resumable streams of one legacy session.
#[derive(Default)]
pub(super) struct Replays {
    next: AtomicU64,
    logs: Mutex<HashMap<u64, Arc<Log>>>,
}

/// Why a `Last-Event-ID` cannot be resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ResumeError {
    /// Not an id this server hands out (`<stream>-<seq>`).
    Malformed,
    /// The stream is unknown, over and forgotten, or its events from that
    /// id on were dropped (the client came back too late or too far
    /// behind).
    Gone,
}

impl std::fmt::Display for ResumeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResumeError::Malformed => f.write_str(
                "Last-Event-ID is not an event id of this server: resend it exactly as received",
            ),
            ResumeError::Gone => f.write_str(
                "that stream can no longer be resumed (it ended, or its events are no longer kept): send the request again",
            ),
        }
    }
}

impl std::error::Error for ResumeError {}

impl Replays {
    /// A new, empty log for a request's stream.
    pub(super) fn open(self: &Arc<Self>) -> Arc<Log> {
        let stream = self.next.fetch_add(1, Ordering::Relaxed);
        let log = Arc::new(Log {
            stream,
            inner: Mutex::new(Inner::default()),
            changed: Notify::new(),
            readers_changed: Notify::new(),
        });
        self.lock().insert(stream, log.clone());
        log
    }

    /// The log and the position after the event `last_event_id` names.
    pub(super) fn find(&self, last_event_id: &str) -> Result<(Arc<Log>, u64), ResumeError> {
        let (stream, seq) = last_event_id
            .trim()
            .split_once('-')
            .and_then(|(s, n)| Some((s.parse::<u64>().ok()?, n.parse::<u64>().ok()?)))
            .ok_or(ResumeError::Malformed)?;
        let log = self.lock().get(&stream).cloned().ok_or(ResumeError::Gone)?;
        Ok((log, seq.saturating_add(1)))
    }

    fn forget(&self, stream: u64) {
        self.lock().remove(&stream);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Log>>> {
        self.logs.lock_unpoisoned()
    }
}

/// The events of one stream, kept for its readers.
pub(super) struct Log {
    stream: u64,
    inner: Mutex<Inner>,
    /// An event was added, or the stream ended.
    changed: Notify,
    /// A reader came or went, or the last event was delivered.
    readers_changed: Notify,
}

#[derive(Default)]
struct Inner {
    /// Events from the oldest kept one on: their sequence number and the
    /// whole SSE chunk (id line included).
    events: VecDeque<(u64, Bytes)>,
    bytes: usize,
    next_seq: u64,
    done: bool,
    readers: usize,
    /// When the last reader left (or the log was made, before any came).
    idle_since: Option<Instant>,
    /// A reader handed the final event to its connection.
    delivered: bool,
}

impl Log {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock_unpoisoned()
    }

    fn push_chunk(&self, chunk: impl FnOnce(&str) -> String) {
        {
            let mut g = self.lock();
            let seq = g.next_seq;
            g.next_seq += 1;
            let b = Bytes::from(chunk(&format!("{}-{seq}", self.stream)));
            g.bytes += b.len();
            g.events.push_back((seq, b));
            while g.bytes > MAX_BUFFERED && g.events.len() > 1 {
                if let Some((_, old)) = g.events.pop_front() {
                    g.bytes -= old.len();
                }
            }
        }
        self.changed.notify_waiters();
    }

    /// The priming event of a 2025-11-25 stream: an id and the `retry:`
    /// delay, with empty data, so that a client can resume even before
    /// the first message.
    pub(super) fn prime(&self) {
        self.push_chunk(|id| format!("id: {id}\nretry: {RETRY_MS}\ndata:\n\n"));
    }

    /// Add one message (serialised JSON-RPC) as an event.
    pub(super) fn push(&self, json: &str) {
        self.push_chunk(|id| format!("id: {id}\nevent: message\ndata: {json}\n\n"));
    }

    /// End the stream, with its final message when there is one.
    pub(super) fn finish(&self, last: Option<&str>) {
        if let Some(last) = last {
            self.push(last);
        }
        self.lock().done = true;
        self.changed.notify_waiters();
    }

    /// Resolves once no reader has been attached for `window` (counted
    /// from when the last one left), or the final event was delivered.
    async fn unread_for(&self, window: Duration) {
        loop {
            let notified = self.readers_changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let deadline = {
                let g = self.lock();
                if g.delivered {
                    return;
                }
                (g.readers == 0).then(|| g.idle_since.unwrap_or_else(Instant::now) + window)
            };
            match deadline {
                Some(d) => tokio::select! {
                    _ = tokio::time::sleep_until(d) => return,
                    _ = notified => {}
                },
                None => notified.await,
            }
        }
    }
}

/// How a reader's connection is fed and bounded.
pub(super) struct ReaderOptions {
    /// Interval of keep-alive comments.
    pub keep_alive: Duration,
    /// A client that takes nothing for this long has its connection cut
    /// (the request goes on; the client may resume).
    pub stall: Duration,
}

/// A streaming response showing `log` from position `from` on.
pub(super) fn attach(
    log: Arc<Log>,
    from: u64,
    opts: ReaderOptions,
) -> Result<Response<Body>, ResumeError> {
    {
        let mut g = log.lock();
        let first_kept = g.events.front().map_or(g.next_seq, |(s, _)| *s);
        if from < first_kept || from > g.next_seq || (g.done && g.delivered) {
            return Err(ResumeError::Gone);
        }
        g.readers += 1;
    }
    log.readers_changed.notify_waiters();
    let (btx, brx) = mpsc::channel::<Bytes>(64);
    let (end_tx, end_rx) = oneshot::channel();
    let cut = CancellationToken::new();
    tokio::spawn(read(log, from, btx, end_rx, cut.clone(), opts));
    let mut r = Response::new(Body::Sse {
        rx: brx,
        cancel: CancellationToken::new(),
        cut,
        end: Some(end_tx),
    });
    sse_headers(r.headers_mut());
    Ok(r)
}

/// Copy `log`'s events from `cursor` on to one connection, until the
/// stream ends or the connection goes.
async fn read(
    log: Arc<Log>,
    mut cursor: u64,
    btx: mpsc::Sender<Bytes>,
    end: oneshot::Receiver<()>,
    cut: CancellationToken,
    opts: ReaderOptions,
) {
    let first = Instant::now() + opts.keep_alive;
    let mut tick = tokio::time::interval_at(first, opts.keep_alive);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let complete = 'feed: loop {
        let notified = log.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (batch, done, upto) = {
            let g = log.lock();
            if g.events.front().is_some_and(|(s, _)| *s > cursor) {
                log::debug!("SSE reader fell behind the kept events; connection cut");
                cut.cancel();
                break 'feed false;
            }
            let batch: Vec<(u64, Bytes)> = g
                .events
                .iter()
                .filter(|(s, _)| *s >= cursor)
                .cloned()
                .collect();
            (batch, g.done, g.next_seq)
        };
        for (seq, chunk) in batch {
            if !send_chunk(&btx, chunk, opts.stall).await {
                if !btx.is_closed() {
                    cut.cancel();
                }
                break 'feed false;
            }
            cursor = seq + 1;
        }
        if done && cursor == upto {
            break true;
        }
        tokio::select! {
            _ = notified => {}
            _ = tick.tick() => {
                if !send_chunk(&btx, Bytes::from_static(b":\n\n"), opts.stall).await {
                    if !btx.is_closed() {
                        cut.cancel();
                    }
                    break false;
                }
            }
            _ = btx.closed() => break false,
        }
    };
    drop(btx);
    // The final event counts as delivered once the body has handed its
    // end to the connection (not merely queued it).
    let delivered = complete && end.await.is_ok();
    {
        let mut g = log.lock();
        g.readers -= 1;
        g.delivered |= delivered;
        if g.readers == 0 {
            g.idle_since = Some(Instant::now());
        }
    }
    log.readers_changed.notify_waiters();
}

/// Feed `log` from a legacy request's message channel and final answer,
/// then keep it for resumes. Holds `hold` (the request's permits) until the
/// request ends; cancels the request when nobody has read the stream for
/// `window`.
pub(super) fn produce<F>(
    replays: Arc<Replays>,
    log: Arc<Log>,
    mut rx: mpsc::Receiver<String>,
    finish: F,
    cancel: CancellationToken,
    window: Duration,
    hold: Box<dyn Send>,
) where
    F: Future<Output = Option<String>> + Send + 'static,
{
    log.lock().idle_since = Some(Instant::now());
    tokio::spawn(async move {
        tokio::pin!(finish);
        let mut rx_open = true;
        let mut abandoned = false;
        loop {
            tokio::select! {
                biased;
                m = rx.recv(), if rx_open => match m {
                    Some(line) => log.push(&line),
                    None => rx_open = false,
                },
                last = &mut finish => {
                    while let Ok(line) = rx.try_recv() {
                        log.push(&line);
                    }
                    log.finish(last.as_deref());
                    break;
                }
                _ = log.unread_for(window), if !abandoned => {
                    abandoned = true;
                    cancel.cancel();
                }
            }
        }
        drop(hold);
        if !abandoned {
            log.unread_for(window).await;
        }
        replays.forget(log.stream);
        if abandoned {
            log::debug!(
                "legacy stream {} not resumed within {window:?}: its request was cancelled and its events dropped",
                log.stream
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_bounds() {
        let replays = Arc::new(Replays::default());
        let log = replays.open();
        log.prime();
        log.push("{}");
        assert_eq!(replays.find("0-1").map(|(_, n)| n), Ok(2));
        assert_eq!(replays.find("0-x").err(), Some(ResumeError::Malformed));
        assert_eq!(replays.find("7-0").err(), Some(ResumeError::Gone));
        let big = "x".repeat(MAX_BUFFERED / 2);
        for _ in 0..4 {
            log.push(&big);
        }
        let g = log.lock();
        assert!(g.bytes <= MAX_BUFFERED, "{}", g.bytes);
        assert_eq!(g.next_seq, 6);
        assert!(g.events.front().is_some_and(|(s, _)| *s > 1));
    }
}
