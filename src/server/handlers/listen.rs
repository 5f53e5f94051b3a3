//! `subscriptions/listen` (modern): a stream of the changes a client opted into.

use super::super::engine::Server;
use super::super::request::{Reply, Req};
use super::super::Change;
use super::lifecycle::{Offers, MAX_RESOURCE_SUBSCRIPTIONS};
use crate::jsonrpc::{ErrorObject, Notification};
use crate::protocol::META_SUBSCRIPTION_ID;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What a listen stream opted into: its `notifications` parameter.
struct Filter {
    tools: bool,
    prompts: bool,
    resources: bool,
    /// The resources whose updates it follows.
    uris: Vec<String>,
}

impl Filter {
    fn parse(r: &Req) -> Result<Self, ErrorObject> {
        let filter = r.obj_param("notifications")?;
        if !r.params().contains_key("notifications") {
            return Err(ErrorObject::invalid_params(
                "Missing required parameter \"notifications\"",
            ));
        }
        let flag = |k: &str| filter.get(k).and_then(Value::as_bool).unwrap_or(false);
        let mut uris: Vec<String> = filter
            .get("resourceSubscriptions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        // One stream follows a URI once, however often its filter names it.
        uris.sort();
        uris.dedup();
        if uris.len() > MAX_RESOURCE_SUBSCRIPTIONS {
            return Err(ErrorObject::invalid_params(format!(
                "resourceSubscriptions names {} resources; one stream follows at most \
                 {MAX_RESOURCE_SUBSCRIPTIONS}: split them over several listens or follow fewer",
                uris.len()
            )));
        }
        // Only what this server can send is honoured (and acknowledged).
        let offers = Offers::of(r.server());
        if !offers.resources {
            uris.clear();
        }
        Ok(Filter {
            tools: flag("toolsListChanged"),
            prompts: offers.prompts && flag("promptsListChanged"),
            resources: offers.resources && flag("resourcesListChanged"),
            uris,
        })
    }

    /// The acknowledged filter: the opted-in kinds only.
    fn ack(tools: bool, prompts: bool, resources: bool, uris: &[String]) -> Map<String, Value> {
        let mut ack = Map::new();
        for (on, key) in [
            (tools, "toolsListChanged"),
            (prompts, "promptsListChanged"),
            (resources, "resourcesListChanged"),
        ] {
            if on {
                ack.insert(key.into(), json!(true));
            }
        }
        if !uris.is_empty() {
            ack.insert("resourceSubscriptions".into(), json!(uris));
        }
        ack
    }
}

/// `subscriptions/listen` (modern): acknowledge, then forward the opted-in
/// changes until the client cancels or the server shuts down.
pub(super) async fn listen(r: Req) -> Reply {
    let Filter {
        tools,
        prompts,
        resources,
        uris,
    } = match Filter::parse(&r) {
        Ok(f) => f,
        Err(e) => return Reply::Error(e),
    };
    let ack = Filter::ack(tools, prompts, resources, &uris);
    let sub_id = serde_json::to_value(&r.req.id).unwrap_or_default();
    let tagged = |method: &str, mut params: Map<String, Value>| Notification {
        method: method.into(),
        params: {
            params.insert(
                "_meta".into(),
                json!({ META_SUBSCRIPTION_ID: sub_id.clone() }),
            );
            params
        },
    };
    let mut rx = r.server().subscribe_changes();
    let _watching = WatchGuard::new(r.session.server.clone(), uris.clone());
    let mut ack_params = Map::new();
    ack_params.insert("notifications".into(), Value::Object(ack));
    if !r
        .out
        .send_notification(&tagged(
            "notifications/subscriptions/acknowledged",
            ack_params,
        ))
        .await
    {
        return Reply::Silent;
    }
    let shutdown = r.session.subscriptions_ended().clone();
    // Tell the subscribe hook while the stream lives (also when it is dropped).
    loop {
        let change = tokio::select! {
            _ = shutdown.cancelled() => {
                if r.session.is_one_channel() {
                    // On stdio the stream is also ended with a cancellation
                    // naming the listen request (the spec's one server use).
                    let mut p = Map::new();
                    p.insert("requestId".into(), sub_id.clone());
                    p.insert("reason".into(), json!("the server ended the subscription"));
                    let n = Notification { method: "notifications/cancelled".into(), params: p };
                    r.out.send_notification(&n).await;
                }
                break;
            }
            c = rx.recv() => c,
        };
        let n = match change {
            Ok(Change::Tools) if tools => tagged("notifications/tools/list_changed", Map::new()),
            Ok(Change::Prompts) if prompts => {
                tagged("notifications/prompts/list_changed", Map::new())
            }
            Ok(Change::Resources) if resources => {
                tagged("notifications/resources/list_changed", Map::new())
            }
            Ok(Change::ResourceUpdated(u)) if uris.contains(&u) => {
                let mut p = Map::new();
                p.insert("uri".into(), json!(u));
                tagged("notifications/resources/updated", p)
            }
            Ok(_) => continue,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
            Err(_) => break,
        };
        if !r.out.send_notification(&n).await {
            return Reply::Silent;
        }
    }
    Reply::Result(json!({ "_meta": { META_SUBSCRIPTION_ID: sub_id } }))
}

/// Unwatches the URIs of a `subscriptions/listen` stream when it ends,
/// however it ends.
struct WatchGuard {
    server: Arc<Server>,
    uris: Vec<String>,
}

impl WatchGuard {
    fn new(server: Arc<Server>, uris: Vec<String>) -> Self {
        for u in &uris {
            server.watch_resource(u, true);
        }
        WatchGuard { server, uris }
    }
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        for u in &self.uris {
            self.server.watch_resource(u, false);
        }
    }
}
