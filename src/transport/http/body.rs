//! Response bodies: a whole JSON document, or a Server-Sent Events stream fed
//! by a channel. Dropping an SSE body (the client went away) cancels the
//! request behind it; a stream cut by the server (its client stalled) ends
//! in an error, so that the connection is closed rather than the stream
//! ended as if complete.

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A response body.
pub enum Body {
    /// A complete body (possibly empty).
    Full(Option<Bytes>),
    /// An event stream; `cancel` fires when the body is dropped.
    Sse {
        /// Ready-made SSE chunks (each a whole event or comment).
        rx: mpsc::Receiver<Bytes>,
        /// Cancelled on drop.
        cancel: CancellationToken,
        /// Cancelled by the producer when it gives up on the stream: once
        /// `rx` is drained the body fails (hyper then closes the connection)
        /// instead of ending as if complete.
        cut: CancellationToken,
        /// Fired once the stream's end has been handed to the connection
        /// (every event before it written out), not when cut or dropped.
        end: Option<tokio::sync::oneshot::Sender<()>>,
    },
}

/// An SSE stream the server cut short (its client took nothing for
/// `sse_stall`).
#[derive(Debug)]
pub struct StreamCut;

impl std::fmt::Display for StreamCut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("event stream cut: the client took nothing for too long")
    }
}

impl std::error::Error for StreamCut {}

impl Body {
    /// A body of these bytes.
    pub fn full(b: impl Into<Bytes>) -> Self {
        Body::Full(Some(b.into()))
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Body::Sse { cancel, .. } = self {
            cancel.cancel();
        }
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = StreamCut;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, StreamCut>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Sse { rx, cut, end, .. } => match rx.poll_recv(cx) {
                Poll::Ready(None) if cut.is_cancelled() => Poll::Ready(Some(Err(StreamCut))),
                Poll::Ready(None) => {
                    if let Some(end) = end.take() {
                        let _ = end.send(());
                    }
                    Poll::Ready(None)
                }
                p => p.map(|o| o.map(|b| Ok(Frame::data(b)))),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Sse { .. } => SizeHint::default(),
        }
    }
}

/// One SSE event carrying a JSON-RPC message, in a single chunk.
pub fn sse_event(json: &str) -> Bytes {
    let mut s = String::with_capacity(json.len() + 24);
    s.push_str("event: message\ndata: ");
    s.push_str(json);
    s.push_str("\n\n");
    Bytes::from(s)
}

/// Queue `chunk` on an SSE stream, waiting at most `stall` for room; `false`
/// when the client is gone or has taken nothing for that long.
pub async fn send_chunk(tx: &mpsc::Sender<Bytes>, chunk: Bytes, stall: Duration) -> bool {
    matches!(
        tokio::time::timeout(stall, tx.send(chunk)).await,
        Ok(Ok(()))
    )
}
