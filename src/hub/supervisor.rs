//! The life of one upstream: its supervisor task starts it (a stdio child or
//! an HTTP endpoint), connects, registers its items, follows its list changes
//! and resource subscriptions, restarts it with backoff when it dies and stops
//! it when it has been idle.

use super::config::{UpstreamConfig, UpstreamTransport};
use super::registry::refresh_tools;
use super::{lock, prompts, resources, set_status, subscriptions, Upstream};
use crate::client::{Client, ClientError, Era, HttpConnect, StdioSpawn};
use crate::protocol::Method;
use crate::server::Server;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

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

pub(super) async fn supervise(up: Arc<Upstream>, server: Weak<Server>, stop: CancellationToken) {
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
pub(super) enum Link {
    /// A child process (killed when dropped).
    Child(tokio::process::Child),
    /// An HTTP endpoint; its `dead` token is cancelled when it is found unreachable.
    Http(crate::client::HttpLink),
}

impl Link {
    pub(super) async fn died(&mut self) -> String {
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
pub(super) fn open(cfg: &UpstreamConfig) -> Result<(Client, Link), String> {
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
pub(super) const LISTEN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// One life of an upstream: start, connect, serve until it dies.
async fn run_once(
    up: &Arc<Upstream>,
    server: &Weak<Server>,
    stop: &CancellationToken,
) -> Result<Ended, String> {
    let (client, mut link) = open(&up.cfg)?;
    // Legacy upstreams may then ask during calls; the hub relays to our client.
    // `tasks` lets a 2025-11-25 upstream show and run its tools as tasks.
    client.declare_legacy_capabilities(
        json!({"elicitation": {}, "sampling": {}, "roots": {}, "tasks": {}}),
    );
    let mut notes = client.notifications();
    let hello = tokio::select! {
        r = async {
            if up.cfg.legacy { client.connect_legacy().await } else { client.connect().await }
        } => r.map_err(|e| format!("connect failed: {e}"))?,
        why = link.died() => return Err(why),
    };
    up.legacy_tasks.store(
        matches!(hello.era, Era::Legacy(_))
            && hello.capabilities["tasks"]["requests"]["tools"]["call"].is_object(),
        std::sync::atomic::Ordering::Relaxed,
    );
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
        match client.request(Method::Listen.as_str(), p, LISTEN_FOR).await {
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
