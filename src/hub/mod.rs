//! The hub: upstream MCP servers re-exported as `remote_<server>_<tool>`
//! tools of this server.
//!
//! Each upstream has a supervisor task: it starts the upstream (stdio child),
//! detects its era with [`crate::client::Client::connect`], registers its
//! tools, follows its tool-list changes, and restarts it with exponential
//! backoff when it dies. While an upstream is down its tools stay listed and
//! answer a clear error. A failing upstream never blocks another.

pub mod config;
mod forward;
mod prompts;
mod registry;
mod resources;
pub mod status;
mod subscriptions;
mod supervisor;
mod upstream_task;

use crate::client::Client;
use crate::server::{CacheHint, Server, Tool, ToolResult};
use config::{HubConfig, UpstreamConfig};
pub use registry::exported_name;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use supervisor::supervise;
use tokio_util::sync::CancellationToken;

/// State of one upstream, for `hub_status`.
#[derive(Debug, Clone, Default)]
struct Status {
    state: &'static str,
    era: Option<String>,
    tools: usize,
    last_error: Option<String>,
    restarts: u32,
    /// Items left out because their exported name (or URI) is taken, by
    /// kind (`tool`, `prompt`, `resource`): "KIND NAME: why".
    skipped: Vec<String>,
}

struct Upstream {
    cfg: UpstreamConfig,
    prefix: String,
    separator: String,
    status: Mutex<Status>,
    client: Mutex<Option<Client>>,
    registered: Mutex<Vec<String>>,
    prompts: Mutex<Vec<String>>,
    resources: Mutex<Vec<String>>,
    /// Cancelled when a lazy or idle-stopped upstream should start (at once
    /// for the others); replaced when the upstream stops for idleness.
    wake: Mutex<CancellationToken>,
    /// Whether the upstream was ever started (listings wake only the others).
    started: std::sync::atomic::AtomicBool,
    /// Requests being forwarded to it now.
    busy: std::sync::atomic::AtomicUsize,
    /// Whether it is a 2025-11-25 upstream offering task-augmented
    /// `tools/call` (`capabilities.tasks.requests.tools.call`).
    legacy_tasks: std::sync::atomic::AtomicBool,
    /// When the last forwarded request ended (or the upstream started).
    last_used: Mutex<Instant>,
    /// Resource URIs of this upstream our clients follow.
    sub_want: Mutex<BTreeSet<String>>,
    /// Told when `sub_want` changes.
    sub_changed: tokio::sync::Notify,
    /// The caching hints of every upstream's lists, by "upstream method"
    /// (shared by all upstreams of the hub).
    list_hints: Arc<Mutex<HashMap<String, CacheHint>>>,
}

/// A running hub.
pub struct Hub {
    upstreams: Vec<Arc<Upstream>>,
    stop: CancellationToken,
    /// How many client subscriptions each resource URI has.
    sub_counts: Mutex<HashMap<String, usize>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("upstreams", &self.upstreams.len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// Start a supervisor for every upstream of `cfg`; their tools are added
    /// to `server` as they come up. Must be called inside a tokio runtime.
    pub fn start(server: &Arc<Server>, cfg: HubConfig) -> Arc<Hub> {
        let stop = CancellationToken::new();
        let list_hints = Arc::new(Mutex::new(HashMap::new()));
        let upstreams: Vec<Arc<Upstream>> = cfg
            .upstreams
            .into_iter()
            .map(|u| {
                let lazy = u.lazy;
                Arc::new(Upstream {
                    cfg: u,
                    prefix: cfg.prefix.clone(),
                    separator: cfg.separator.clone(),
                    status: Mutex::new(Status {
                        state: if lazy { "idle" } else { "starting" },
                        ..Default::default()
                    }),
                    wake: {
                        let t = CancellationToken::new();
                        if !lazy {
                            t.cancel();
                        }
                        Mutex::new(t)
                    },
                    started: Default::default(),
                    busy: Default::default(),
                    legacy_tasks: Default::default(),
                    last_used: Mutex::new(Instant::now()),
                    client: Mutex::new(None),
                    registered: Mutex::new(Vec::new()),
                    prompts: Mutex::new(Vec::new()),
                    resources: Mutex::new(Vec::new()),
                    sub_want: Mutex::new(BTreeSet::new()),
                    sub_changed: tokio::sync::Notify::new(),
                    list_hints: list_hints.clone(),
                })
            })
            .collect();
        let hub = Arc::new(Hub {
            upstreams,
            stop,
            sub_counts: Mutex::new(HashMap::new()),
        });
        let weak = Arc::downgrade(&hub);
        server.set_subscribe_hook(Arc::new(move |uri, on| {
            subscriptions::on_subscribe(&weak, uri, on)
        }));
        for up in &hub.upstreams {
            tokio::spawn(supervise(
                up.clone(),
                Arc::downgrade(server),
                hub.stop.clone(),
            ));
        }
        server.add_tool(status_tool(Arc::downgrade(&hub)));
        if hub.upstreams.iter().any(|u| u.cfg.lazy) {
            let weak = Arc::downgrade(&hub);
            server.set_list_hook(Arc::new(move || {
                let hub = weak.upgrade();
                Box::pin(async move {
                    if let Some(hub) = hub {
                        hub.wake_lazy().await;
                    }
                })
            }));
        }
        hub
    }

    /// Each upstream's name, state, era, tool count and last error.
    pub fn status(&self) -> Vec<Value> {
        self.upstreams
            .iter()
            .map(|u| {
                let s = lock(&u.status).clone();
                json!({
                    "name": u.cfg.name,
                    "state": s.state,
                    "era": s.era,
                    "tools": s.tools,
                    "restarts": s.restarts,
                    "last_error": s.last_error,
                    "skipped": s.skipped,
                })
            })
            .collect()
    }

    /// Wait until every upstream has made its first connection attempt, or
    /// `limit` has passed.
    pub async fn wait_started(&self, limit: Duration) {
        wait_for(&self.upstreams, limit).await;
    }

    /// Start the lazy upstreams that are still idle and wait (at most
    /// [`LAZY_START_WAIT`]) until they have listed their tools. Only those
    /// are waited for: an eager upstream still starting (or hung) does not
    /// delay the listing.
    async fn wake_lazy(&self) {
        let mut woke = Vec::new();
        for u in &self.upstreams {
            let wake = lock(&u.wake).clone();
            if !wake.is_cancelled() && !u.started.load(Ordering::SeqCst) {
                set_status(u, |s| s.state = "starting");
                wake.cancel();
                woke.push(u.clone());
            }
        }
        if !woke.is_empty() {
            wait_for(&woke, LAZY_START_WAIT).await;
        }
    }

    /// Stop every upstream (children are killed).
    pub fn shutdown(&self) {
        self.stop.cancel();
    }
}

/// Wait until none of `ups` is still starting, or `limit` has passed.
async fn wait_for(ups: &[Arc<Upstream>], limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while ups.iter().any(|u| lock(&u.status).state == "starting") {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn status_tool(hub: Weak<Hub>) -> Tool {
    Tool::new("hub_status", "List the hub's upstream MCP servers with their state, protocol era, tool count and last error.", move |_a, _ctx| {
        let hub = hub.upgrade();
        async move {
            let Some(hub) = hub else { return Ok(ToolResult::error("the hub is not running")) };
            let list = hub.status();
            let mut text = String::new();
            for u in &list {
                text.push_str(&format!(
                    "{}: {} ({} tools{}{})\n",
                    u["name"].as_str().unwrap_or(""),
                    u["state"].as_str().unwrap_or(""),
                    u["tools"],
                    u["era"].as_str().map(|e| format!(", {e}")).unwrap_or_default(),
                    u["last_error"].as_str().map(|e| format!(", last error: {e}")).unwrap_or_default(),
                ));
                for skip in u["skipped"].as_array().into_iter().flatten() {
                    text.push_str(&format!("  skipped {}\n", skip.as_str().unwrap_or("")));
                }
            }
            Ok(ToolResult::text(text).with_structured(json!({ "upstreams": list })))
        }
    })
    .title("Hub status")
    .output_schema(json!({"type": "object", "properties": {"upstreams": {"type": "array", "items": {"type": "object"}}}, "required": ["upstreams"]}))
    .read_only()
    .open_world(false)
}

fn set_status(up: &Upstream, f: impl FnOnce(&mut Status)) {
    f(&mut lock(&up.status));
}

/// How long the first listing waits for lazy upstreams to come up.
pub const LAZY_START_WAIT: Duration = Duration::from_secs(30);

impl Upstream {
    /// The connected client; an idle-stopped upstream is started first
    /// (waiting at most [`LAZY_START_WAIT`]).
    async fn client_waking(&self) -> Option<Client> {
        let deadline = tokio::time::Instant::now() + LAZY_START_WAIT;
        loop {
            if let Some(c) = lock(&self.client).clone() {
                return Some(c);
            }
            let wake = lock(&self.wake).clone();
            if !wake.is_cancelled() {
                set_status(self, |s| s.state = "starting");
                wake.cancel();
            } else if matches!(lock(&self.status).state, "down" | "stopped") {
                return None; // the caller reports the state
            }
            // Starting, or just stopping for idleness (then the next turn
            // wakes it again): wait.
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Mark one forwarded request as running until the guard is dropped.
    fn busy(&self) -> Busy<'_> {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self)
    }
}

/// See [`Upstream::busy`].
struct Busy<'a>(&'a Upstream);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        *lock(&self.0.last_used) = Instant::now();
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_spec() {
        assert_eq!(exported_name("remote", "_", "ev", "echo"), "remote_ev_echo");
        assert_eq!(exported_name("", "_", "ev", "a b/c"), "ev_a_b_c");
        assert_eq!(
            exported_name("remote", "_", "s", &"x".repeat(300)).len(),
            128
        );
    }
}
