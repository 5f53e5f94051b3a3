//! A session's state: one client connection's negotiated era, in-flight
//! table, subscriptions and outbound, below the runner
//! ([`super::session`]) that feeds requests through the dispatcher, so that
//! the request kernel and the method handlers can reach it without
//! importing the runner.

use super::engine::Server;
use super::outbound::{ClientRequester, Outbound};
use super::provider::Change;
use super::roots_cache::RootsCache;
use super::slot::Slot;
use crate::jsonrpc::{Notification, RequestId};
use crate::protocol::{LogLevel, ProtocolVersion};
use crate::sync::{MutexExt, RwLockExt};
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
pub(super) struct Running {
    pub(super) cancel: CancellationToken,
    /// Its in-flight slot, once it has one.
    pub(super) slot: Option<Arc<Slot>>,
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
    pub(super) in_flight: Mutex<HashMap<RequestId, Running>>,
    pub(crate) requester: ClientRequester,
    pub(super) permits: Arc<Semaphore>,
    /// Places for requests admitted but still waiting for a slot.
    pub(super) queue: Arc<Semaphore>,
    pub(super) idle: Notify,
    pub(crate) subscribed: Mutex<HashSet<String>>,
    pub(super) shutdown: CancellationToken,
    pub(super) end_subscriptions: CancellationToken,
    pub(super) legacy_out: Mutex<Option<Outbound>>,
    pub(crate) roots: Arc<RootsCache>,
    /// Whether every request's messages share one channel (stdio), where a
    /// listen the server ends is also closed with `notifications/cancelled`.
    one_channel: std::sync::atomic::AtomicBool,
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
            one_channel: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The server this session serves.
    pub fn server(&self) -> &Arc<Server> {
        &self.server
    }

    /// The legacy protocol version negotiated by `initialize`, if any.
    pub fn legacy_version(&self) -> Option<ProtocolVersion> {
        self.legacy.read_unpoisoned().as_ref().map(|l| l.version)
    }

    /// Number of requests being handled.
    pub fn in_flight(&self) -> usize {
        self.lock_in_flight().len()
    }

    pub(super) fn lock_in_flight(&self) -> std::sync::MutexGuard<'_, HashMap<RequestId, Running>> {
        self.in_flight.lock_unpoisoned()
    }

    /// The client requester for the request `id`: it releases the
    /// request's in-flight slot while it waits for the client.
    pub(crate) fn requester_for(&self, id: &RequestId) -> ClientRequester {
        let slot = self.lock_in_flight().get(id).and_then(|r| r.slot.clone());
        self.requester.for_slot(slot)
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

    /// Where legacy server-initiated notifications (list changes, resource
    /// updates) go: stdout on stdio, the GET stream on HTTP.
    pub fn set_legacy_outbound(self: &Arc<Self>, out: Outbound) {
        *self.legacy_out.lock_unpoisoned() = Some(out);
    }

    /// Mark this session as one whose requests all share one channel (the
    /// stdio transport does).
    pub(crate) fn set_one_channel(&self) {
        self.one_channel
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether every request's messages share one channel (stdio).
    pub(crate) fn is_one_channel(&self) -> bool {
        self.one_channel.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The outbound set by [`Session::set_legacy_outbound`], if any (its
    /// receiver may be gone: sending then fails).
    pub fn legacy_outbound(&self) -> Option<Outbound> {
        self.legacy_out.lock_unpoisoned().clone()
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
                        if !session.subscribed.lock_unpoisoned().contains(&uri) {
                            continue;
                        }
                        ("notifications/resources/updated", json!({ "uri": uri }))
                    }
                };
                let n = Notification {
                    method: method.into(),
                    params: params.as_object().cloned().unwrap_or_default(),
                };
                let out = session.legacy_out.lock_unpoisoned().clone();
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
