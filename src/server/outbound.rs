//! Where a request's messages go, and how the server asks the client things.
//!
//! An [`Outbound`] is the stream a request's notifications and response are
//! written to: the process's stdout on stdio, the request's own response
//! stream on HTTP. A [`ClientRequester`] sends legacy server-to-client
//! requests and routes the client's answers back to the waiting handler.

use super::slot::Slot;
use crate::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId, Response};
use crate::sync::MutexExt;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// A sink for serialised JSON-RPC messages (one message per item, no newline).
#[derive(Clone, Debug)]
pub struct Outbound {
    tx: Option<mpsc::Sender<String>>,
}

impl Outbound {
    /// An outbound over a channel; the receiver writes the messages out.
    pub fn new(tx: mpsc::Sender<String>) -> Self {
        Outbound { tx: Some(tx) }
    }
    /// A bounded channel pair.
    pub fn channel(capacity: usize) -> (Outbound, mpsc::Receiver<String>) {
        let (tx, rx) = mpsc::channel(capacity);
        (Outbound::new(tx), rx)
    }
    /// An outbound that drops everything.
    pub fn discard() -> Self {
        Outbound { tx: None }
    }
    /// Send one serialised message; `false` if the receiver is gone.
    pub async fn send_line(&self, line: String) -> bool {
        match &self.tx {
            Some(tx) => tx.send(line).await.is_ok(),
            None => false,
        }
    }
    /// Send a notification.
    pub async fn send_notification(&self, n: &Notification) -> bool {
        self.send_line(Message::Notification(n.clone()).to_json())
            .await
    }
    /// Send a response.
    pub async fn send_response(&self, r: &Response) -> bool {
        self.send_line(r.to_json()).await
    }
    /// Whether the receiving side has gone away.
    pub fn is_closed(&self) -> bool {
        self.tx.as_ref().is_none_or(|t| t.is_closed())
    }
}

type Pending = Arc<Mutex<HashMap<RequestId, oneshot::Sender<Result<Value, ErrorObject>>>>>;

/// Sends server-to-client requests (legacy era) and matches the answers.
#[derive(Clone)]
pub struct ClientRequester {
    pending: Pending,
    next: Arc<AtomicI64>,
    timeout: Duration,
    /// The in-flight slot of the request this requester serves: released
    /// while it waits for the client (see [`ClientRequester::request`]).
    slot: Option<Arc<Slot>>,
}

impl std::fmt::Debug for ClientRequester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientRequester").finish_non_exhaustive()
    }
}

impl ClientRequester {
    /// A requester whose requests time out after `timeout`.
    pub fn new(timeout: Duration) -> Self {
        ClientRequester {
            pending: Arc::default(),
            next: Arc::new(AtomicI64::new(1)),
            timeout,
            slot: None,
        }
    }

    /// The same requester (same pending table), releasing `slot` while a
    /// request waits for the client.
    pub(crate) fn for_slot(&self, slot: Option<Arc<Slot>>) -> Self {
        ClientRequester {
            slot,
            ..self.clone()
        }
    }

    /// Send `method` to the client on `out` and wait for its answer, the
    /// timeout, or `cancel`.
    ///
    /// While it waits, the handler's in-flight slot is released: requests
    /// the client sends meanwhile (perhaps the ones its answer depends on)
    /// must be able to run even when every slot belongs to a handler waiting
    /// for the client. The slot is taken again before returning; if this
    /// future is dropped (the call was cancelled or timed out) the slot just
    /// stays released, so the session's limit never grows.
    pub async fn request(
        &self,
        method: &str,
        params: Map<String, Value>,
        out: &Outbound,
        cancel: &CancellationToken,
    ) -> Result<Value, ErrorObject> {
        let id = RequestId::String(format!(
            "lmcp-s{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        ));
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id.clone(), tx);
        let guard = PendingGuard {
            pending: &self.pending,
            id: id.clone(),
        };
        let req = Message::Request(Request {
            id,
            method: method.to_owned(),
            params,
        });
        if !out.send_line(req.to_json()).await {
            return Err(ErrorObject::internal("the client connection is closed"));
        }
        let lent = self.slot.as_deref().map(Slot::lend);
        let outcome = tokio::select! {
            r = rx => r.unwrap_or_else(|_| Err(ErrorObject::internal("the client connection closed before answering"))),
            _ = tokio::time::sleep(self.timeout) => Err(ErrorObject::internal(format!(
                "the client did not answer {method} within {} s", self.timeout.as_secs()))),
            _ = cancel.cancelled() => Err(ErrorObject::internal("request cancelled")),
        };
        drop(guard);
        if let Some(lent) = lent {
            lent.restore().await;
        }
        outcome
    }

    /// Route a response from the client; `false` if no request waits for it.
    pub fn route(&self, response: Response) -> bool {
        let Some(id) = response.id else { return false };
        match self.lock().remove(&id) {
            Some(tx) => tx.send(response.outcome).is_ok(),
            None => false,
        }
    }

    /// Fail every waiting request (the connection ended).
    pub fn fail_all(&self) {
        self.lock().clear();
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<RequestId, oneshot::Sender<Result<Value, ErrorObject>>>>
    {
        self.pending.lock_unpoisoned()
    }
}

struct PendingGuard<'a> {
    pending: &'a Pending,
    id: RequestId,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.pending.lock_unpoisoned().remove(&self.id);
    }
}
