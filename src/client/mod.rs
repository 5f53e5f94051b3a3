//! An MCP client speaking both protocol eras, for the hub and the
//! `lmcp client` command (and usable on its own).
//!
//! [`Client::connect`] detects the server's era the way the spec asks a
//! dual-era client to: probe with a modern `server/discover`; a
//! `DiscoverResult` (or a recognised modern error) means modern, anything
//! else (another error, or silence past the probe timeout) means legacy, and
//! the client falls back to `initialize`.

mod error;
mod handshake;
mod http;
mod relay;
mod stdio;
#[cfg(feature = "tls")]
pub(crate) mod tls;

pub use error::ClientError;
pub use handshake::{Era, ServerHello};
pub use http::{HttpConnect, HttpLink};
pub use relay::{Relay, ServerRequest};
pub use stdio::StdioSpawn;

/// Marks (in `error.data`) a JSON-RPC error a transport made up for a
/// request it could not deliver; reported as [`ClientError::Transport`].
const TRANSPORT_MARK: &str = "lmcp/transport";

use crate::jsonrpc::{code, ErrorObject, Message, Notification, Request, RequestId, Response};
use crate::protocol::Method;
use crate::protocol::{
    ProtocolVersion, META_CLIENT_CAPABILITIES, META_CLIENT_INFO, META_PROTOCOL_VERSION,
};
use crate::server::CacheHint;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Cleans up a request that ended early (timeout, or the caller dropped it):
/// forgets it and tells the server to stop.
struct InFlight<'a> {
    client: &'a Client,
    id: RequestId,
    token: Option<String>,
    relay: bool,
    done: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.relay {
            self.client.inner.relays.remove(&self.id);
        }
        if let Some(t) = &self.token {
            self.client
                .inner
                .progress
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(t);
        }
        if self.done {
            return;
        }
        self.client.forget(&self.id);
        let n = Notification {
            method: "notifications/cancelled".into(),
            params: json!({"requestId": self.id, "reason": "cancelled by the caller"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let _ = self
            .client
            .inner
            .tx
            .try_send(Message::Notification(n).to_json());
    }
}

type Pending = Mutex<HashMap<RequestId, oneshot::Sender<Result<Value, ErrorObject>>>>;

struct Inner {
    tx: mpsc::Sender<String>,
    pending: Pending,
    next: AtomicI64,
    era: Mutex<Option<Era>>,
    info: Value,
    capabilities: Value,
    legacy_capabilities: Mutex<Value>,
    relays: relay::Relays,
    notifications: Mutex<Option<mpsc::UnboundedSender<Notification>>>,
    progress: Mutex<HashMap<String, mpsc::UnboundedSender<Notification>>>,
}

/// A connection to one MCP server. Cheap to clone; requests may run
/// concurrently.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("era", &self.era())
            .finish_non_exhaustive()
    }
}

/// How long the `server/discover` probe waits before assuming a legacy server.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

impl Client {
    /// A client over a channel pair: `tx` carries serialised messages to the
    /// server; the returned sender must be fed every line the server writes.
    pub fn over_channels(tx: mpsc::Sender<String>, info: Value) -> (Client, mpsc::Sender<String>) {
        let client = Client {
            inner: Arc::new(Inner {
                tx,
                pending: Mutex::new(HashMap::new()),
                next: AtomicI64::new(1),
                era: Mutex::new(None),
                info,
                capabilities: json!({}),
                legacy_capabilities: Mutex::new(json!({})),
                relays: relay::Relays::default(),
                notifications: Mutex::new(None),
                progress: Mutex::new(HashMap::new()),
            }),
        };
        let (line_tx, mut line_rx) = mpsc::channel::<String>(256);
        let weak = Arc::downgrade(&client.inner);
        tokio::spawn(async move {
            while let Some(line) = line_rx.recv().await {
                let Some(inner) = weak.upgrade() else { break };
                Client { inner }.on_line(&line).await;
            }
            if let Some(inner) = weak.upgrade() {
                inner
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
            }
        });
        (client, line_tx)
    }

    /// Receive the server's notifications (progress, logs, list changes).
    pub fn notifications(&self) -> mpsc::UnboundedReceiver<Notification> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self
            .inner
            .notifications
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(tx);
        rx
    }

    /// The client capabilities to declare in a legacy `initialize` (default
    /// none, so a legacy server sends no requests). Call before connecting.
    pub fn declare_legacy_capabilities(&self, caps: Value) {
        *self
            .inner
            .legacy_capabilities
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = caps;
    }

    /// The era detected by [`Client::connect`].
    pub fn era(&self) -> Option<Era> {
        *self.inner.era.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn on_line(&self, line: &str) {
        let msg = match Message::parse(line.as_bytes(), &Default::default()) {
            Ok(m) => m,
            Err(_) => {
                log::warn!("client: ignoring a line that is not JSON-RPC");
                return;
            }
        };
        match msg {
            Message::Response(r) => self.route(r),
            Message::Notification(n) => {
                if n.method == "notifications/progress" {
                    let token = n
                        .params
                        .get("progressToken")
                        .and_then(Value::as_str)
                        .map(String::from);
                    let target = token.and_then(|t| {
                        self.inner
                            .progress
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .get(&t)
                            .cloned()
                    });
                    if let Some(tx) = target {
                        let _ = tx.send(n);
                        return;
                    }
                }
                if let Some(tx) = self
                    .inner
                    .notifications
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                {
                    let _ = tx.send(n);
                }
            }
            Message::Request(req) => {
                if Method::parse(&req.method) == Some(Method::Ping) {
                    let _ = self
                        .inner
                        .tx
                        .send(Response::ok(req.id, json!({})).to_json())
                        .await;
                    return;
                }
                // Answered by the call it belongs to (see `relay`), or refused.
                let id = req.id.clone();
                let answer = self.inner.relays.dispatch(req);
                let tx = self.inner.tx.clone();
                tokio::spawn(async move {
                    let resp = match answer.await {
                        Ok(Ok(v)) => Response::ok(id, v),
                        Ok(Err(e)) => Response::err(Some(id), e),
                        Err(_) => Response::err(
                            Some(id),
                            ErrorObject::new(code::INTERNAL_ERROR, "the request was not answered"),
                        ),
                    };
                    let _ = tx.send(resp.to_json()).await;
                });
            }
        }
    }

    fn route(&self, r: Response) {
        let Some(id) = r.id.clone() else { return };
        if let Some(tx) = self
            .inner
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id)
        {
            let _ = tx.send(r.outcome);
        }
    }

    /// The `_meta` a modern request carries.
    fn modern_meta(&self, v: ProtocolVersion) -> Value {
        json!({
            META_PROTOCOL_VERSION: v.as_str(),
            META_CLIENT_CAPABILITIES: self.inner.capabilities,
            META_CLIENT_INFO: self.inner.info,
        })
    }

    /// Send a request and wait for its result (adding the modern `_meta`
    /// when the server is modern).
    pub async fn request(
        &self,
        method: &str,
        params: Map<String, Value>,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        let mut params = params;
        self.with_meta(&mut params);
        self.raw_request(method, params, timeout).await
    }

    fn with_meta(&self, params: &mut Map<String, Value>) {
        if let Some(Era::Modern(v)) = self.era() {
            let meta = params.entry("_meta").or_insert_with(|| json!({}));
            if let (Value::Object(m), Value::Object(add)) = (meta, self.modern_meta(v)) {
                // Keys the caller set (e.g. per-request client capabilities) win.
                for (k, v) in add {
                    m.entry(k).or_insert(v);
                }
            }
        }
    }

    async fn raw_request(
        &self,
        method: &str,
        params: Map<String, Value>,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        self.tracked_request(method, params, timeout, None).await
    }

    /// Send a request; progress notifications for it go to `progress`. If
    /// this future is dropped before the answer (the caller was cancelled),
    /// the server is sent `notifications/cancelled`.
    pub async fn tracked_request(
        &self,
        method: &str,
        params: Map<String, Value>,
        timeout: Duration,
        progress: Option<mpsc::UnboundedSender<Notification>>,
    ) -> Result<Value, ClientError> {
        self.tracked_request_relaying(method, params, timeout, progress, None)
            .await
    }

    /// Like [`Client::tracked_request`]; besides, the server's requests made
    /// while this one runs (legacy elicitation, sampling, roots) go to
    /// `relay` to be answered (see [`ServerRequest`]). Declare what you can
    /// answer first with [`Client::declare_legacy_capabilities`].
    pub async fn tracked_request_relaying(
        &self,
        method: &str,
        mut params: Map<String, Value>,
        timeout: Duration,
        progress: Option<mpsc::UnboundedSender<Notification>>,
        relay: Option<Relay>,
    ) -> Result<Value, ClientError> {
        let id = RequestId::from(self.inner.next.fetch_add(1, Ordering::Relaxed));
        let relaying = relay.is_some();
        if let Some(r) = relay {
            self.inner.relays.add(id.clone(), r);
        }
        let (tx, rx) = oneshot::channel();
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), tx);
        let token = progress.map(|p| {
            let token = format!("lmcp-p{id}");
            self.inner
                .progress
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(token.clone(), p);
            let meta = params.entry("_meta").or_insert_with(|| json!({}));
            if let Value::Object(m) = meta {
                m.insert("progressToken".into(), json!(token));
            }
            token
        });
        let mut guard = InFlight {
            client: self,
            id: id.clone(),
            token,
            relay: relaying,
            done: false,
        };
        let msg = Message::Request(Request {
            id: id.clone(),
            method: method.into(),
            params,
        });
        if self.inner.tx.send(msg.to_json()).await.is_err() {
            guard.done = true;
            return Err(ClientError::Transport(
                "the server connection is closed".into(),
            ));
        }
        let r = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e)))
                if e.data
                    .as_ref()
                    .is_some_and(|d| d.get(TRANSPORT_MARK).is_some()) =>
            {
                Err(ClientError::Transport(e.message))
            }
            Ok(Ok(Err(e))) => Err(ClientError::Rpc(e)),
            Ok(Err(_)) => Err(ClientError::Transport(
                "the server connection closed before answering".into(),
            )),
            Err(_) => return Err(ClientError::Timeout(timeout)),
        };
        guard.done = true;
        r
    }

    fn forget(&self, id: &RequestId) {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// Send a notification.
    pub async fn notify(&self, method: &str, params: Value) -> Result<(), ClientError> {
        let n = Notification {
            method: method.into(),
            params: params.as_object().cloned().unwrap_or_default(),
        };
        self.inner
            .tx
            .send(Message::Notification(n).to_json())
            .await
            .map_err(|_| ClientError::Transport("the server connection is closed".into()))
    }

    /// Every tool of the server (following pagination).
    pub async fn list_tools(&self) -> Result<Vec<Value>, ClientError> {
        self.list_all(Method::ToolsList.as_str(), "tools").await
    }

    /// Every item of a paginated list method (`tools/list`, `prompts/list`,
    /// `resources/list`, ...; `key` names the result's array), following
    /// `nextCursor` for at most 1000 pages.
    pub async fn list_all(&self, method: &str, key: &str) -> Result<Vec<Value>, ClientError> {
        Ok(self.list_all_hinted(method, key).await?.0)
    }

    /// [`Client::list_all`], with the strictest caching hints (`ttlMs`,
    /// `cacheScope`) of its pages, when the server gave any.
    pub async fn list_all_hinted(
        &self,
        method: &str,
        key: &str,
    ) -> Result<(Vec<Value>, Option<CacheHint>), ClientError> {
        let mut all = Vec::new();
        let mut hint: Option<CacheHint> = None;
        let mut cursor: Option<String> = None;
        for _ in 0..1000 {
            let mut p = Map::new();
            if let Some(c) = &cursor {
                p.insert("cursor".into(), json!(c));
            }
            let r = self.request(method, p, Duration::from_secs(30)).await?;
            if let Some(h) = CacheHint::of(&r) {
                hint = Some(hint.map_or(h, |old| old.min(h)));
            }
            all.extend(r[key].as_array().cloned().unwrap_or_default());
            match r["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        Ok((all, hint))
    }

    /// Call a tool and return its result object.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Value,
        timeout: Duration,
    ) -> Result<Value, ClientError> {
        self.call_tool_with_progress(name, arguments, timeout, None)
            .await
    }

    /// Send a request (with the modern `_meta` when the server is modern),
    /// passing its progress notifications to `progress`
    /// and the server's requests to `relay` (see
    /// [`Client::tracked_request_relaying`]).
    pub async fn request_with_progress(
        &self,
        method: &str,
        mut params: Map<String, Value>,
        timeout: Duration,
        progress: Option<mpsc::UnboundedSender<Notification>>,
        relay: Option<Relay>,
    ) -> Result<Value, ClientError> {
        self.with_meta(&mut params);
        self.tracked_request_relaying(method, params, timeout, progress, relay)
            .await
    }

    /// Call a tool, passing its progress notifications to `progress`.
    pub async fn call_tool_with_progress(
        &self,
        name: &str,
        arguments: Value,
        timeout: Duration,
        progress: Option<mpsc::UnboundedSender<Notification>>,
    ) -> Result<Value, ClientError> {
        let mut p = Map::new();
        p.insert("name".into(), json!(name));
        p.insert("arguments".into(), arguments);
        self.with_meta(&mut p);
        self.tracked_request(Method::ToolsCall.as_str(), p, timeout, progress)
            .await
    }
}
