//! The hub: upstream MCP servers re-exported as `remote_<server>_<tool>`
//! tools of this server.
//!
//! Each upstream has a supervisor task: it starts the upstream (stdio child),
//! detects its era with [`crate::client::Client::connect`], registers its
//! tools, follows its tool-list changes, and restarts it with exponential
//! backoff when it dies. While an upstream is down its tools stay listed and
//! answer a clear error. A failing upstream never blocks another.

pub mod config;

use crate::client::{Client, ClientError, StdioSpawn};
use crate::protocol::{Content, ToolAnnotations};
use crate::server::{RequestContext, Server, Tool, ToolError, ToolResult};
use config::{HubConfig, UpstreamConfig, UpstreamTransport};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// State of one upstream, for `hub_status`.
#[derive(Debug, Clone, Default)]
struct Status {
    state: &'static str,
    era: Option<String>,
    tools: usize,
    last_error: Option<String>,
    restarts: u32,
}

struct Upstream {
    cfg: UpstreamConfig,
    prefix: String,
    separator: String,
    status: Mutex<Status>,
    client: Mutex<Option<Client>>,
    registered: Mutex<Vec<String>>,
}

/// A running hub.
pub struct Hub {
    upstreams: Vec<Arc<Upstream>>,
    stop: CancellationToken,
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
        let upstreams: Vec<Arc<Upstream>> = cfg
            .upstreams
            .into_iter()
            .map(|u| {
                Arc::new(Upstream {
                    cfg: u,
                    prefix: cfg.prefix.clone(),
                    separator: cfg.separator.clone(),
                    status: Mutex::new(Status {
                        state: "starting",
                        ..Default::default()
                    }),
                    client: Mutex::new(None),
                    registered: Mutex::new(Vec::new()),
                })
            })
            .collect();
        let hub = Arc::new(Hub { upstreams, stop });
        for up in &hub.upstreams {
            tokio::spawn(supervise(
                up.clone(),
                Arc::downgrade(server),
                hub.stop.clone(),
            ));
        }
        server.add_tool(status_tool(Arc::downgrade(&hub)));
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
                })
            })
            .collect()
    }

    /// Wait until every upstream has made its first connection attempt, or
    /// `limit` has passed.
    pub async fn wait_started(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        while self
            .upstreams
            .iter()
            .any(|u| lock(&u.status).state == "starting")
        {
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stop every upstream (children are killed).
    pub fn shutdown(&self) {
        self.stop.cancel();
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

async fn supervise(up: Arc<Upstream>, server: Weak<Server>, stop: CancellationToken) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = Instant::now();
        let outcome = tokio::select! {
            _ = stop.cancelled() => break,
            r = run_once(&up, &server, &stop) => r,
        };
        *lock(&up.client) = None;
        if stop.is_cancelled() {
            break;
        }
        let msg = match outcome {
            Ok(()) => "the upstream exited".to_string(),
            Err(e) => e,
        };
        log::warn!(
            "hub: upstream {} is down: {msg}; restarting in {} s",
            up.cfg.name,
            backoff.as_secs()
        );
        set_status(&up, |s| {
            s.state = "down";
            s.last_error = Some(msg);
            s.restarts += 1;
        });
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_secs(1);
        }
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
    set_status(&up, |s| s.state = "stopped");
}

/// One life of an upstream: start, connect, serve until it dies.
async fn run_once(
    up: &Arc<Upstream>,
    server: &Weak<Server>,
    stop: &CancellationToken,
) -> Result<(), String> {
    let (client, mut child) = match &up.cfg.transport {
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
            spawn.spawn().map_err(|e| e.to_string())?
        }
        UpstreamTransport::Http { url, .. } => {
            // Stay down without busy-restarting: report the limitation.
            let msg = format!("HTTP upstreams ({url}) are not supported yet; use a stdio command");
            set_status(up, |s| {
                s.state = "unsupported";
                s.last_error = Some(msg.clone());
            });
            stop.cancelled().await;
            return Err(msg);
        }
    };
    let mut notes = client.notifications();
    let hello = client
        .connect()
        .await
        .map_err(|e| format!("connect failed: {e}"))?;
    let era = format!("{:?}", hello.era);
    *lock(&up.client) = Some(client.clone());
    refresh_tools(up, &client, server).await?;
    set_status(up, |s| {
        s.state = "up";
        s.era = Some(era);
    });
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                let _ = child.kill().await;
                return Ok(());
            }
            status = child.wait() => {
                return Err(match status {
                    Ok(s) => format!("the upstream process exited ({s})"),
                    Err(e) => format!("waiting for the upstream failed: {e}"),
                });
            }
            n = notes.recv() => match n {
                Some(n) if n.method == "notifications/tools/list_changed" => refresh_tools(up, &client, server).await?,
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
    let tools = client
        .list_tools()
        .await
        .map_err(|e| format!("tools/list failed: {e}"))?;
    let Some(server) = server.upgrade() else {
        return Ok(());
    };
    let mut names = Vec::new();
    for t in tools {
        let Some(name) = t["name"].as_str() else {
            continue;
        };
        if up
            .cfg
            .allow
            .as_ref()
            .is_some_and(|a| !a.iter().any(|x| x == name))
            || up.cfg.deny.iter().any(|x| x == name)
        {
            continue;
        }
        let exported = exported_name(&up.prefix, &up.separator, &up.cfg.name, name);
        if names.contains(&exported) {
            log::warn!(
                "hub: upstream {} tool {name:?} collides with another as {exported}; skipped",
                up.cfg.name
            );
            continue;
        }
        if server.tool(&exported).is_some() && !lock(&up.registered).contains(&exported) {
            log::warn!("hub: {exported} would shadow an existing tool; skipped");
            continue;
        }
        server.add_tool(remote_tool(
            up.clone(),
            name.to_owned(),
            exported.clone(),
            &t,
        ));
        names.push(exported);
    }
    let old = std::mem::replace(&mut *lock(&up.registered), names.clone());
    for gone in old.iter().filter(|o| !names.contains(o)) {
        server.remove_tool(gone);
    }
    set_status(up, |s| s.tools = names.len());
    Ok(())
}

fn remote_tool(up: Arc<Upstream>, upstream_name: String, exported: String, def: &Value) -> Tool {
    let description = def["description"].as_str().unwrap_or("").to_owned();
    let description = format!("[{}] {description}", up.cfg.name);
    let timeout = up.cfg.timeout;
    let mut tool = Tool::new(exported, description, move |args, ctx| {
        let up = up.clone();
        let name = upstream_name.clone();
        async move { forward(&up, &name, args, &ctx).await }
    })
    .input_schema(
        def.get("inputSchema")
            .cloned()
            .unwrap_or_else(|| json!({"type": "object"})),
    )
    .timeout(timeout + Duration::from_secs(1))
    .skip_validation();
    if let Some(t) = def["title"].as_str() {
        tool = tool.title(t);
    }
    if let Some(s) = def.get("outputSchema") {
        tool = tool.output_schema(s.clone());
    }
    if let Some(a) = def
        .get("annotations")
        .and_then(|a| serde_json::from_value::<ToolAnnotations>(a.clone()).ok())
    {
        tool = tool.annotations(a);
    }
    for icon in def["icons"].as_array().into_iter().flatten() {
        tool = tool.icon(icon.clone());
    }
    tool
}

async fn forward(
    up: &Upstream,
    name: &str,
    args: serde_json::Map<String, Value>,
    ctx: &RequestContext,
) -> Result<ToolResult, ToolError> {
    let client = lock(&up.client).clone();
    let Some(client) = client else {
        let s = lock(&up.status).clone();
        return Err(ToolError::Tool(format!(
            "upstream '{}' is {} ({}); try again later",
            up.cfg.name,
            s.state,
            s.last_error.unwrap_or_else(|| "starting".into())
        )));
    };
    let (ptx, mut prx) = mpsc::unbounded_channel();
    let progress = ctx.wants_progress().then_some(ptx);
    let call = client.call_tool_with_progress(name, Value::Object(args), up.cfg.timeout, progress);
    tokio::pin!(call);
    let result = loop {
        tokio::select! {
            r = &mut call => break r,
            Some(n) = prx.recv() => {
                let p = n.params.get("progress").and_then(Value::as_f64).unwrap_or(0.0);
                let total = n.params.get("total").and_then(Value::as_f64);
                ctx.progress(p, total, n.params.get("message").and_then(Value::as_str)).await;
            }
        }
    };
    match result {
        Ok(v) => Ok(tool_result_from(&v)),
        Err(ClientError::Rpc(e)) => Err(ToolError::Protocol(e)),
        Err(e) => Err(ToolError::Tool(format!("upstream '{}': {e}", up.cfg.name))),
    }
}

/// Turn an upstream `CallToolResult` into ours; unknown content kinds become text.
fn tool_result_from(v: &Value) -> ToolResult {
    let content = v["content"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            serde_json::from_value::<Content>(c.clone())
                .unwrap_or_else(|_| Content::text(c.to_string()))
        })
        .collect();
    ToolResult {
        content,
        structured: v.get("structuredContent").cloned(),
        is_error: v["isError"].as_bool().unwrap_or(false),
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

    #[test]
    fn results_convert() {
        let r = tool_result_from(
            &json!({"content": [{"type": "text", "text": "hi"}, {"type": "weird"}], "isError": true, "structuredContent": {"a": 1}}),
        );
        assert!(r.is_error);
        assert_eq!(r.content[0], Content::text("hi"));
        assert!(matches!(&r.content[1], Content::Text { text, .. } if text.contains("weird")));
        assert_eq!(r.structured, Some(json!({"a": 1})));
    }
}
