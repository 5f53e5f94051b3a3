//! A session: one client connection's state, and the concurrent request
//! runner every transport feeds.
//!
//! Requests run as their own tasks (a slow handler never delays another);
//! notifications are handled in arrival order; responses from the client are
//! routed to the handler waiting for them. In-flight work is bounded by a
//! semaphore: the caller of [`Session::receive`] waits for a permit only for
//! new requests.

use super::dispatch;
use super::engine::Server;
use super::outbound::Outbound;
use super::request::Reply;
use super::slot::Slot;
use super::state::{Running, Session};
use crate::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId, Response};
use crate::protocol::Method;
use serde_json::Value;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Where an admitted request's response goes.
#[derive(Clone, Copy)]
enum Deliver {
    /// Sent on the request's outbound before the request counts as done.
    ToOutbound,
    /// Returned by the task (batch items).
    ToCaller,
}

/// A batch whose requests are running (see [`Session::start_batch`]).
#[derive(Debug)]
pub struct BatchRun {
    tasks: Vec<tokio::task::JoinHandle<Option<Response>>>,
    responses: Vec<Response>,
}

impl BatchRun {
    /// Wait for every request of the batch; the responses to send back (in
    /// the batch's order, errors for refused items first). Empty when the
    /// batch held only notifications and responses.
    pub async fn responses(self) -> Vec<Response> {
        let mut out = self.responses;
        for t in self.tasks {
            if let Ok(Some(r)) = t.await {
                out.push(r);
            }
        }
        out
    }
}

/// Whether a JSON value nests deeper than `limit` arrays/objects.
fn depth_exceeds(v: &Value, limit: usize) -> bool {
    match v {
        Value::Array(_) | Value::Object(_) if limit == 0 => true,
        Value::Array(a) => a.iter().any(|x| depth_exceeds(x, limit - 1)),
        Value::Object(o) => o.values().any(|x| depth_exceeds(x, limit - 1)),
        _ => false,
    }
}

impl Session {
    /// Handle one message from the client. Requests are started as tasks
    /// whose notifications and response go to `out`; this returns once the
    /// request is registered (so a following cancellation finds it).
    pub async fn receive(self: &Arc<Self>, msg: Message, out: &Outbound) {
        match msg {
            Message::Request(req) => self.start(req, out.clone()).await,
            Message::Notification(n) => self.notification(n),
            Message::Response(r) => {
                if !self.requester.route(r.clone()) {
                    log::debug!("ignoring a response to unknown request id {:?}", r.id);
                }
            }
        }
    }

    async fn start(self: &Arc<Self>, req: Request, out: Outbound) {
        match self.admit(req, out.clone(), Deliver::ToOutbound).await {
            Ok(run) => {
                tokio::spawn(run);
            }
            Err(refused) => {
                out.send_response(&refused).await;
            }
        }
    }

    /// Admit one request: wait for a place in the admission queue (so a
    /// flood of requests cannot grow memory), register its id (refusing a
    /// duplicate), and return the task that waits for an in-flight slot,
    /// runs the request and delivers its response.
    ///
    /// The caller waits only for the queue, never for a slot: while every
    /// slot is busy it can go on reading notifications (a cancellation) and
    /// the client's responses. A request cancelled while it waits for a slot
    /// never runs and gets no response.
    async fn admit(
        self: &Arc<Self>,
        req: Request,
        out: Outbound,
        deliver: Deliver,
    ) -> Result<impl std::future::Future<Output = Option<Response>> + Send + 'static, Response>
    {
        // A subscription lives as long as the client wants it: it must not
        // occupy one of the slots that bound work in progress, and it ends
        // gracefully (with a final result) when the session winds down, so
        // it does not share the shutdown token.
        let bounded = Method::parse(&req.method).is_none_or(Method::takes_slot);
        let queued = if bounded {
            match self.queue.clone().acquire_owned().await {
                Ok(p) => Some(p),
                Err(_) => {
                    return Err(Response::err(
                        Some(req.id),
                        ErrorObject::internal("the session is shutting down"),
                    ))
                }
            }
        } else {
            None
        };
        let token = if bounded {
            self.shutdown.child_token()
        } else {
            CancellationToken::new()
        };
        self.register(&req.id, &token)?;
        let this = self.clone();
        Ok(async move {
            let id = req.id.clone();
            let slot = if bounded {
                let slot = tokio::select! {
                    biased;
                    _ = token.cancelled() => None,
                    s = Slot::acquire(&this.permits) => s,
                };
                drop(queued);
                let Some(slot) = slot else {
                    this.finish(&id);
                    return None;
                };
                this.set_slot(&id, &slot);
                Some(slot)
            } else {
                None
            };
            let resp = this.call(req, out.clone(), token).await;
            let resp = match (deliver, resp) {
                (Deliver::ToOutbound, Some(r)) => {
                    out.send_response(&r).await;
                    None
                }
                (_, r) => r,
            };
            this.finish(&id);
            drop(slot);
            resp
        })
    }

    fn set_slot(&self, id: &RequestId, slot: &Arc<Slot>) {
        if let Some(r) = self.lock_in_flight().get_mut(id) {
            r.slot = Some(slot.clone());
        }
    }

    /// Put a request in the in-flight table; a duplicate id gets the error
    /// response to send instead.
    fn register(&self, id: &RequestId, token: &CancellationToken) -> Result<(), Response> {
        let mut map = self.lock_in_flight();
        if map.contains_key(id) {
            let err = ErrorObject::invalid_request(format!(
                "Duplicate request id {id}: a request with this id is still in flight"
            ));
            return Err(Response::err(Some(id.clone()), err));
        }
        map.insert(
            id.clone(),
            Running {
                cancel: token.clone(),
                slot: None,
            },
        );
        Ok(())
    }

    fn finish(&self, id: &RequestId) {
        let mut map = self.lock_in_flight();
        map.remove(id);
        if map.is_empty() {
            self.idle.notify_waiters();
        }
    }

    /// Run one request to completion and return its response; `None` when
    /// the request was cancelled (no response may be sent then).
    pub async fn call(
        self: &Arc<Self>,
        req: Request,
        out: Outbound,
        cancel: CancellationToken,
    ) -> Option<Response> {
        self.call_as(req, out, cancel, None).await
    }

    /// Like [`Session::call`] for the client identified as `caller` (over
    /// HTTP, the subject of its token): the tasks it creates are bound to
    /// that identity, and only that identity sees them.
    pub async fn call_as(
        self: &Arc<Self>,
        req: Request,
        out: Outbound,
        cancel: CancellationToken,
        caller: Option<String>,
    ) -> Option<Response> {
        let id = req.id.clone();
        tokio::select! {
            biased;
            _ = cancel.cancelled() => None,
            r = dispatch::handle(self, req, out, cancel.clone(), caller) => match r {
                Reply::Result(v) => Some(Response::ok(id, v)),
                Reply::Error(e) => Some(Response::err(Some(id), e)),
                Reply::Silent => None,
            },
        }
    }

    /// Like [`Session::call`], but registered under the request id so a
    /// `notifications/cancelled` naming it (legacy sessions over HTTP) reaches it.
    pub async fn call_tracked(
        self: &Arc<Self>,
        req: Request,
        out: Outbound,
        cancel: CancellationToken,
    ) -> Option<Response> {
        let id = req.id.clone();
        if let Err(err) = self.register(&id, &cancel) {
            return Some(err);
        }
        let r = self.call(req, out, cancel).await;
        self.finish(&id);
        r
    }

    /// Handle a batch (2025-03-26 sessions only); returns the responses.
    ///
    /// `Err` is a single response rejecting the whole batch (batches are
    /// not allowed, or it is empty).
    pub async fn call_batch(
        self: &Arc<Self>,
        items: Vec<Value>,
        out: &Outbound,
    ) -> Result<Vec<Response>, Response> {
        Ok(self.start_batch(items, out).await?.responses().await)
    }

    /// Admit every item of a batch (as [`Session::receive`] admits single
    /// messages: same in-flight limit, duplicate-id check and nesting limit)
    /// and return the running batch, whose responses are collected with
    /// [`BatchRun::responses`].
    pub async fn start_batch(
        self: &Arc<Self>,
        items: Vec<Value>,
        out: &Outbound,
    ) -> Result<BatchRun, Response> {
        if self.legacy_version().is_none_or(|v| !v.allows_batches()) {
            return Err(Response::err(
                None,
                ErrorObject::invalid_request(
                    "JSON-RPC batches are only supported in protocol version 2025-03-26; send one message per line",
                ),
            ));
        }
        if items.is_empty() {
            return Err(Response::err(
                None,
                ErrorObject::invalid_request("Invalid request: empty batch"),
            ));
        }
        let mut run = BatchRun {
            tasks: Vec::new(),
            responses: Vec::new(),
        };
        // The array itself is one level of the message's nesting.
        let max_depth = self.server.config.limits.max_depth.saturating_sub(1);
        for item in items {
            if depth_exceeds(&item, max_depth) {
                let id = item
                    .get("id")
                    .cloned()
                    .and_then(|v| serde_json::from_value::<RequestId>(v).ok());
                run.responses.push(Response::err(
                    id,
                    ErrorObject::invalid_request(format!(
                        "Message nests deeper than the limit of {} levels",
                        self.server.config.limits.max_depth
                    )),
                ));
                continue;
            }
            match Message::from_value(item) {
                Ok(Message::Request(req)) => {
                    match self.admit(req, out.clone(), Deliver::ToCaller).await {
                        Ok(task) => run.tasks.push(tokio::spawn(task)),
                        Err(refused) => run.responses.push(refused),
                    }
                }
                Ok(Message::Notification(n)) => self.notification(n),
                Ok(Message::Response(r)) => {
                    self.requester.route(r);
                }
                Err(f) => run.responses.push(f.into_response()),
            }
        }
        Ok(run)
    }

    fn notification(self: &Arc<Self>, n: Notification) {
        match n.method.as_str() {
            "notifications/cancelled" => {
                let id = n
                    .params
                    .get("requestId")
                    .cloned()
                    .and_then(|v| serde_json::from_value::<RequestId>(v).ok());
                match id {
                    Some(id) => {
                        if !self.cancel(&id) {
                            log::debug!("cancellation for unknown or finished request {id}");
                        }
                    }
                    None => {
                        log::warn!("notifications/cancelled without a valid requestId; ignored")
                    }
                }
            }
            "notifications/roots/list_changed" => self.roots.invalidate(),
            "notifications/initialized" | "notifications/progress" => {}
            other => log::debug!("ignoring notification {other}"),
        }
    }
}

impl Server {
    /// Open a session (one per stdio process or per legacy HTTP session).
    pub fn session(self: &Arc<Self>) -> Arc<Session> {
        Session::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nesting_of_batch_items_is_measured() {
        let deep = (0..10).fold(json!(1), |v, _| json!([v]));
        assert!(depth_exceeds(&deep, 9));
        assert!(!depth_exceeds(&deep, 10));
        assert!(!depth_exceeds(&json!({"a": 1}), 1));
        assert!(depth_exceeds(&json!({"a": {}}), 1));
    }
}
