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
mod resources;
pub mod status;
mod subscriptions;

use crate::client::{Client, ClientError, Era, HttpConnect, StdioSpawn};
use crate::server::{CacheHint, Server, Tool, ToolResult};
use config::{HubConfig, UpstreamConfig, UpstreamTransport};
use forward::remote_tool;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
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

/// The re-exported name of `tool` of upstream `server`: only characters the
/// spec allows, at most 128 of them.
pub fn exported_name(prefix: &str, sep: &str, server: &str, tool: &str) -> String {
    let raw = if prefix.is_empty() {
        format!("{server}{sep}{tool}")
    } else {
        format!("{prefix}{sep}{server}{sep}{tool}")
    };
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.truncate(128);
    s
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

/// Resolves when the upstream has been unused for its `idleTimeoutMs`
/// (never without one): no request in flight, no resource followed.
async fn idle(up: &Upstream) {
    let Some(limit) = up.cfg.idle_timeout else {
        return std::future::pending().await;
    };
    loop {
        let since = lock(&up.last_used).elapsed();
        if since >= limit && lock(&up.sub_want).is_empty() {
            // Checked and unpublished under the client lock: a request that
            // marked itself busy after this finds no client and wakes the
            // upstream again instead of using one about to be closed.
            let mut client = lock(&up.client);
            if up.busy.load(Ordering::SeqCst) == 0 {
                *client = None;
                return;
            }
        }
        let wait = limit.saturating_sub(since).max(Duration::from_millis(100));
        tokio::time::sleep(wait).await;
    }
}

/// Why one life of an upstream ended without an error.
enum Ended {
    /// The hub is stopping.
    Stop,
    /// Unused for its idle timeout: stopped until needed again.
    Idle,
}

async fn supervise(up: Arc<Upstream>, server: Weak<Server>, stop: CancellationToken) {
    loop {
        let wake = lock(&up.wake).clone();
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = wake.cancelled() => {}
        }
        up.started.store(true, Ordering::SeqCst);
        if !run_until_idle(&up, &server, &stop).await {
            break;
        }
        // Idle: the child is gone; the next forwarded request wakes it
        // (state first: a request waiting meanwhile then sees the new token).
        log::info!("hub: upstream {} stopped after being idle", up.cfg.name);
        set_status(&up, |s| s.state = "idle");
        *lock(&up.wake) = CancellationToken::new();
    }
    set_status(&up, |s| s.state = "stopped");
}

/// Run an upstream, restarting it with backoff, until the hub stops
/// (false) or it is idle (true).
async fn run_until_idle(
    up: &Arc<Upstream>,
    server: &Weak<Server>,
    stop: &CancellationToken,
) -> bool {
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        let outcome = tokio::select! {
            _ = stop.cancelled() => return false,
            r = run_once(up, server, stop) => r,
        };
        *lock(&up.client) = None;
        if stop.is_cancelled() {
            return false;
        }
        let msg = match outcome {
            Ok(Ended::Idle) => return true,
            Ok(Ended::Stop) => return false,
            Err(e) => e,
        };
        log::warn!(
            "hub: upstream {} is down: {msg}; restarting in {} s",
            up.cfg.name,
            backoff.as_secs()
        );
        set_status(up, |s| {
            s.state = "down";
            s.last_error = Some(msg);
            s.restarts += 1;
        });
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_secs(1);
        }
        tokio::select! {
            _ = stop.cancelled() => return false,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// What keeps an upstream connection alive, and tells when it died.
enum Link {
    /// A child process (killed when dropped).
    Child(tokio::process::Child),
    /// An HTTP endpoint; its `dead` token is cancelled when it is found unreachable.
    Http(crate::client::HttpLink),
}

impl Link {
    async fn died(&mut self) -> String {
        match self {
            Link::Child(c) => match c.wait().await {
                Ok(s) => format!("the upstream process exited ({s})"),
                Err(e) => format!("waiting for the upstream failed: {e}"),
            },
            Link::Http(l) => {
                l.dead.cancelled().await;
                l.why().unwrap_or_else(|| {
                    "the upstream stopped answering (connection failed or session ended)".into()
                })
            }
        }
    }
}

/// Open the transport of an upstream (no protocol traffic yet).
fn open(cfg: &UpstreamConfig) -> Result<(Client, Link), String> {
    match &cfg.transport {
        UpstreamTransport::Stdio {
            command,
            args,
            env,
            cwd,
        } => {
            let spawn = StdioSpawn {
                command: command.clone(),
                args: args.clone(),
                env: env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                cwd: cwd.clone(),
                ..Default::default()
            };
            let (client, child) = spawn.spawn().map_err(|e| e.to_string())?;
            Ok((client, Link::Child(child)))
        }
        UpstreamTransport::Http {
            url,
            headers,
            ca_file,
        } => {
            let http = HttpConnect {
                url: url.clone(),
                headers: headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ca_file: ca_file.clone(),
            };
            let (client, link) = http.connect().map_err(|e| e.to_string())?;
            Ok((client, Link::Http(link)))
        }
    }
}

/// How long a modern `subscriptions/listen` stream may stay open.
const LISTEN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// One life of an upstream: start, connect, serve until it dies.
async fn run_once(
    up: &Arc<Upstream>,
    server: &Weak<Server>,
    stop: &CancellationToken,
) -> Result<Ended, String> {
    let (client, mut link) = open(&up.cfg)?;
    // Legacy upstreams may then ask during calls; the hub relays to our client.
    client.declare_legacy_capabilities(json!({"elicitation": {}, "sampling": {}, "roots": {}}));
    let mut notes = client.notifications();
    let hello = tokio::select! {
        r = async {
            if up.cfg.legacy { client.connect_legacy().await } else { client.connect().await }
        } => r.map_err(|e| format!("connect failed: {e}"))?,
        why = link.died() => return Err(why),
    };
    let era = match hello.era {
        Era::Modern(v) => format!("modern {}", v.as_str()),
        Era::Legacy(v) => format!("legacy {}", v.as_str()),
    };
    // Modern upstreams tell list changes only on a subscriptions/listen stream.
    let listen = async {
        if !matches!(hello.era, Era::Modern(_)) {
            return std::future::pending::<String>().await;
        }
        let mut p = serde_json::Map::new();
        p.insert(
            "notifications".into(),
            json!({"toolsListChanged": true, "resourcesListChanged": true, "promptsListChanged": true}),
        );
        match client.request("subscriptions/listen", p, LISTEN_FOR).await {
            Ok(_) => "the upstream ended its subscriptions/listen stream".to_string(),
            Err(ClientError::Rpc(e)) => {
                log::info!(
                    "hub: upstream {} refused subscriptions/listen ({}); its list changes will not be followed",
                    up.cfg.name,
                    e.message
                );
                std::future::pending::<String>().await
            }
            Err(e) => format!("the subscriptions/listen stream failed: {e}"),
        }
    };
    tokio::pin!(listen);
    refresh_tools(up, &client, server).await?;
    let has_prompts = hello.capabilities.get("prompts").is_some();
    prompts::refresh(up, &client, server, has_prompts).await?;
    let has_resources = hello.capabilities.get("resources").is_some();
    resources::refresh(up, &client, server, has_resources).await?;
    set_status(up, |s| {
        s.state = "up";
        s.era = Some(era);
    });
    // Published only now, after the state: a call that got this client
    // finds the upstream listed and reported as up.
    *lock(&up.client) = Some(client.clone());
    let mut follower = subscriptions::Follower::new(hello.era, &hello.capabilities);
    let mut res_listen: Option<subscriptions::ListenFuture> = None;
    if let subscriptions::Sync::Listen(l) = follower.sync(up, &client).await {
        res_listen = l;
    }
    *lock(&up.last_used) = Instant::now();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(Ended::Stop),
            _ = idle(up) => return Ok(Ended::Idle),
            why = link.died() => return Err(why),
            why = &mut listen => {
                // The listen stream usually breaks because the upstream died:
                // prefer the more telling reason if it comes promptly.
                return Err(tokio::select! {
                    died = link.died() => died,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => why,
                });
            }
            _ = up.sub_changed.notified() => {
                if let subscriptions::Sync::Listen(l) = follower.sync(up, &client).await {
                    res_listen = l;
                }
            }
            why = async {
                match res_listen.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            } => return Err(why),
            n = notes.recv() => match n {
                Some(n) if n.method == "notifications/tools/list_changed" => refresh_tools(up, &client, server).await?,
                Some(n) if n.method == "notifications/prompts/list_changed" => prompts::refresh(up, &client, server, has_prompts).await?,
                Some(n) if n.method == "notifications/resources/list_changed" => resources::refresh(up, &client, server, has_resources).await?,
                Some(n) if n.method == "notifications/resources/updated" => {
                    if let (Some(uri), Some(server)) = (n.params.get("uri").and_then(Value::as_str), server.upgrade()) {
                        server.notify_change(crate::server::Change::ResourceUpdated(uri.to_owned()));
                    }
                }
                Some(_) => {}
                None => return Err("the upstream closed its output".into()),
            },
        }
    }
}

/// Re-list the upstream's tools and bring our registry in line with it.
async fn refresh_tools(
    up: &Arc<Upstream>,
    client: &Client,
    server: &Weak<Server>,
) -> Result<(), String> {
    let (tools, hint) = client
        .list_all_hinted("tools/list", "tools")
        .await
        .map_err(|e| format!("tools/list failed: {e}"))?;
    let Some(server) = server.upgrade() else {
        return Ok(());
    };
    note_list_hint(up, &server, "tools/list", hint);
    let _one_at_a_time = lock(&REGISTER);
    let registered = lock(&up.registered).clone();
    let taken = |exported: &str| {
        (server.tool(exported).is_some() && !registered.iter().any(|r| r == exported))
            .then_some("another upstream's or a built-in tool has that name")
    };
    let mut names = Vec::new();
    for (name, exported, t) in exports(up, "tool", &tools, taken) {
        server.add_tool(remote_tool(
            up.clone(),
            name.to_owned(),
            exported.clone(),
            t,
        ));
        names.push(exported);
    }
    retire(&up.registered, &names, |gone| {
        server.remove_tool(gone);
    });
    set_status(up, |s| s.tools = names.len());
    Ok(())
}

/// The items of an upstream's list (tools, prompts) that the hub re-exports,
/// with their upstream and exported names: nameless items and items the
/// upstream's allow/deny lists refuse are left out; so are exported names
/// that collide with an earlier item of the list or that `taken` refuses
/// (another upstream's, or a built-in, holds the name: it says why) —
/// those are logged and recorded in the upstream's `skipped` status.
fn exports<'a>(
    up: &Upstream,
    kind: &str,
    items: &'a [Value],
    taken: impl Fn(&str) -> Option<&'static str>,
) -> Vec<(&'a str, String, &'a Value)> {
    let mut out: Vec<(&str, String, &Value)> = Vec::new();
    let mut skipped = Vec::new();
    for item in items {
        let Some(name) = item["name"].as_str() else {
            continue;
        };
        if !up.cfg.permits(name) {
            continue;
        }
        let exported = exported_name(&up.prefix, &up.separator, &up.cfg.name, name);
        let why = if out.iter().any(|(_, e, _)| *e == exported) {
            Some("another of its own maps to the same name")
        } else {
            taken(&exported)
        };
        if let Some(why) = why {
            skipped.push(format!("{kind} {name:?} as {exported}: {why}"));
            continue;
        }
        out.push((name, exported, item));
    }
    record_skipped(up, kind, skipped);
    out
}

/// Replace the `skipped` entries of `kind` in the upstream's status (each
/// new one is logged as a warning).
fn record_skipped(up: &Upstream, kind: &str, new: Vec<String>) {
    let prefix = format!("{kind} ");
    let mut st = lock(&up.status);
    for s in &new {
        if !st.skipped.contains(s) {
            log::warn!("hub: upstream {}: skipped {s}", up.cfg.name);
        }
    }
    st.skipped.retain(|s| !s.starts_with(&prefix));
    st.skipped.extend(new);
}

/// Remember the caching hints an upstream gave for list `method` (`None`:
/// none) and limit our own lists' hints to the strictest of all upstreams':
/// a listing that includes upstream items claims no longer life (and no
/// wider scope) than any upstream claimed for its part.
fn note_list_hint(up: &Upstream, server: &Server, method: &str, hint: Option<CacheHint>) {
    let mut all = lock(&up.list_hints);
    let key = format!("{} {method}", up.cfg.name);
    match hint {
        Some(h) => all.insert(key, h),
        None => all.remove(&key),
    };
    server.limit_list_cache(all.values().copied().reduce(CacheHint::min));
}

/// Held while an upstream checks which names are free and registers its
/// items, so two upstreams cannot both take the same name.
static REGISTER: Mutex<()> = Mutex::new(());

/// Record `names` as what an upstream has registered in `list`, and
/// `remove` those it registered before and no longer has.
fn retire(list: &Mutex<Vec<String>>, names: &[String], remove: impl Fn(&str)) {
    let old = std::mem::replace(&mut *lock(list), names.to_vec());
    for gone in old.iter().filter(|o| !names.contains(o)) {
        remove(gone);
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
