//! A session: one client connection's state, and the concurrent request
//! runner every transport feeds.
//!
//! Requests run as their own tasks (a slow handler never delays another);
//! notifications are handled in arrival order; responses from the client are
//! routed to the handler waiting for them. In-flight work is bounded by a
//! semaphore: the caller of [`Session::receive`] waits for a permit only for
//! new requests.

use super::dispatch;
use super::outbound::{ClientRequester, Outbound};
use super::request::Reply;
use super::slot::Slot;
use super::{Change, Server};
use crate::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId, Response};
use crate::protocol::{LogLevel, Method, ProtocolVersion};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

/// How many admitted requests may wait for an in-flight slot before the
/// reader itself waits (each holds a parsed message, up to the size limit).
const ADMISSION_QUEUE: usize = 64;

/// A request in the in-flight table.
struct Running {
    cancel: CancellationToken,
    /// Its in-flight slot, once it has one.
    slot: Option<Arc<Slot>>,
}

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

/// What a legacy `initialize` established.
#[derive(Debug, Clone)]
pub(crate) struct LegacyState {
    pub version: ProtocolVersion,
    pub client_capabilities: Value,
    pub log_level: Option<LogLevel>,
}

/// One connection's state (a stdio process, or one legacy HTTP session, or
/// the shared stateless context of modern HTTP requests).
pub struct Session {
    pub(crate) server: Arc<Server>,
    pub(crate) legacy: RwLock<Option<LegacyState>>,
    in_flight: Mutex<HashMap<RequestId, Running>>,
    pub(crate) requester: ClientRequester,
    permits: Arc<Semaphore>,
    /// Places for requests admitted but still waiting for a slot.
    queue: Arc<Semaphore>,
    idle: Notify,
    pub(crate) subscribed: Mutex<HashSet<String>>,
    shutdown: CancellationToken,
    end_subscriptions: CancellationToken,
    legacy_out: Mutex<Option<Outbound>>,
    pub(crate) roots: Arc<super::roots_cache::RootsCache>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(server: Arc<Server>) -> Arc<Self> {
        let cfg = server.config.clone();
        let permits = Arc::new(Semaphore::new(cfg.max_in_flight.max(1)));
        Arc::new(Session {
            server,
            legacy: RwLock::new(None),
            in_flight: Mutex::new(HashMap::new()),
            requester: ClientRequester::new(cfg.client_request_timeout),
            permits,
            queue: Arc::new(Semaphore::new(ADMISSION_QUEUE)),
            idle: Notify::new(),
            subscribed: Mutex::new(HashSet::new()),
            shutdown: CancellationToken::new(),
            end_subscriptions: CancellationToken::new(),
            legacy_out: Mutex::new(None),
            roots: Arc::default(),
        })
    }

    /// The server this session serves.
    pub fn server(&self) -> &Arc<Server> {
        &self.server
    }

    /// The legacy protocol version negotiated by `initialize`, if any.
    pub fn legacy_version(&self) -> Option<ProtocolVersion> {
        self.legacy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|l| l.version)
    }

    /// Number of requests being handled.
    pub fn in_flight(&self) -> usize {
        self.lock_in_flight().len()
    }

    fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<RequestId, Running>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

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

    /// The client requester for the request `id`: it releases the
    /// request's in-flight slot while it waits for the client.
    pub(crate) fn requester_for(&self, id: &RequestId) -> ClientRequester {
        let slot = self.lock_in_flight().get(id).and_then(|r| r.slot.clone());
        self.requester.for_slot(slot)
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
        let id = req.id.clone();
        tokio::select! {
            biased;
            _ = cancel.cancelled() => None,
            r = dispatch::handle(self, req, out, cancel.clone()) => match r {
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

    /// Cancel the request with this id, if it is in flight.
    pub fn cancel(&self, id: &RequestId) -> bool {
        match self.lock_in_flight().get(id) {
            Some(r) => {
                r.cancel.cancel();
                true
            }
            None => false,
        }
    }

    /// Begin shutdown: cancel everything in flight and end subscriptions.
    pub fn shutdown(&self) {
        self.end_subscriptions.cancel();
        self.shutdown.cancel();
        self.requester.fail_all();
    }

    /// End every `subscriptions/listen` stream gracefully (each gets its
    /// final result); call before draining at shutdown.
    pub fn end_subscriptions(&self) {
        self.end_subscriptions.cancel();
    }

    pub(crate) fn subscriptions_ended(&self) -> &CancellationToken {
        &self.end_subscriptions
    }

    /// The session-wide shutdown token.
    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// Wait until no request is in flight, or `grace` has passed.
    pub async fn drain(&self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            let idle = self.idle.notified();
            if self.lock_in_flight().is_empty() {
                return true;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return self.lock_in_flight().is_empty();
            }
        }
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

    /// Where legacy server-initiated notifications (list changes, resource
    /// updates) go: stdout on stdio, the GET stream on HTTP.
    pub fn set_legacy_outbound(self: &Arc<Self>, out: Outbound) {
        *self.legacy_out.lock().unwrap_or_else(|e| e.into_inner()) = Some(out);
    }

    /// The outbound set by [`Session::set_legacy_outbound`], if any (its
    /// receiver may be gone: sending then fails).
    pub fn legacy_outbound(&self) -> Option<Outbound> {
        self.legacy_out
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Start forwarding the server's change announcements to a legacy client.
    pub(crate) fn watch_changes(self: &Arc<Self>) {
        let mut rx = self.server.subscribe_changes();
        let weak = Arc::downgrade(self);
        let stop = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let change = tokio::select! {
                    _ = stop.cancelled() => break,
                    c = rx.recv() => c,
                };
                let change = match change {
                    Ok(c) => c,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Change::Tools,
                    Err(_) => break,
                };
                let Some(session) = weak.upgrade() else { break };
                let (method, params) = match change {
                    Change::Tools => ("notifications/tools/list_changed", json!({})),
                    Change::Prompts => ("notifications/prompts/list_changed", json!({})),
                    Change::Resources => ("notifications/resources/list_changed", json!({})),
                    Change::ResourceUpdated(uri) => {
                        if !session
                            .subscribed
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .contains(&uri)
                        {
                            continue;
                        }
                        ("notifications/resources/updated", json!({ "uri": uri }))
                    }
                };
                let n = Notification {
                    method: method.into(),
                    params: params.as_object().cloned().unwrap_or_default(),
                };
                let out = session
                    .legacy_out
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                if let Some(out) = out {
                    out.send_notification(&n).await;
                }
            }
        });
    }
}

impl Drop for Session {
    /// A session's resource subscriptions end with it.
    fn drop(&mut self) {
        let uris: Vec<String> = self
            .subscribed
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for u in uris {
            self.server.watch_resource(&u, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_of_batch_items_is_measured() {
        let deep = (0..10).fold(json!(1), |v, _| json!([v]));
        assert!(depth_exceeds(&deep, 9));
        assert!(!depth_exceeds(&deep, 10));
        assert!(!depth_exceeds(&json!({"a": 1}), 1));
        assert!(depth_exceeds(&json!({"a": {}}), 1));
    }
}
