//! `subscriptions/listen` (modern): a stream of the changes a client opted
//! into: list changes, resource updates, and the status of tasks
//! (`notifications/tasks`, the Tasks extension).

use super::super::engine::Server;
use super::super::request::{Reply, Req};
use super::super::task_store::{TaskStatus, TaskStore};
use super::super::Change;
use super::lifecycle::{Offers, MAX_RESOURCE_SUBSCRIPTIONS};
use super::tasks;
use crate::jsonrpc::{ErrorObject, Notification};
use crate::protocol::META_SUBSCRIPTION_ID;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

/// Most tasks one stream follows.
const MAX_TASK_SUBSCRIPTIONS: usize = 1024;

/// What a listen stream opted into: its `notifications` parameter.
struct Filter {
    tools: bool,
    prompts: bool,
    resources: bool,
    /// The resources whose updates it follows.
    uris: Vec<String>,
    /// The tasks whose status it follows (`taskIds`): only the caller's
    /// own, known tasks.
    task_ids: Vec<String>,
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
            task_ids: Self::task_ids(r, filter.get("taskIds"))?,
        })
    }

    /// The tasks a `taskIds` filter may follow: the caller's own tasks the
    /// store knows (others are left out of the acknowledgement, as an
    /// unknown id is); the extension must be declared.
    fn task_ids(r: &Req, asked: Option<&Value>) -> Result<Vec<String>, ErrorObject> {
        let Some(asked) = asked else {
            return Ok(Vec::new());
        };
        if !tasks::declared(r) {
            return Err(tasks::missing_capability());
        }
        let Some(asked) = asked.as_array() else {
            return Err(ErrorObject::invalid_params(
                "taskIds must be an array of task ids",
            ));
        };
        if asked.len() > MAX_TASK_SUBSCRIPTIONS {
            return Err(ErrorObject::invalid_params(format!(
                "taskIds names {} tasks; one stream follows at most \
                 {MAX_TASK_SUBSCRIPTIONS}: split them over several listens",
                asked.len()
            )));
        }
        let store = &r.server().tasks;
        let owner = tasks::owner(r);
        let mut ids: Vec<String> = asked
            .iter()
            .filter_map(Value::as_str)
            .filter(|id| store.get(&owner, id).is_some())
            .map(String::from)
            .collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// The acknowledged filter: the opted-in kinds only.
    fn ack(&self) -> Map<String, Value> {
        let Filter {
            tools,
            prompts,
            resources,
            ref uris,
            ref task_ids,
        } = *self;
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
        if !task_ids.is_empty() {
            ack.insert("taskIds".into(), json!(task_ids));
        }
        ack
    }
}

/// `subscriptions/listen` (modern): acknowledge, then forward the opted-in
/// changes until the client cancels or the server shuts down.
pub(super) async fn listen(r: Req) -> Reply {
    let filter = match Filter::parse(&r) {
        Ok(f) => f,
        Err(e) => return Reply::Error(e),
    };
    let ack = filter.ack();
    let Filter {
        tools,
        prompts,
        resources,
        uris,
        mut task_ids,
    } = filter;
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
    let store = r.server().tasks.clone();
    let owner = tasks::owner(&r);
    // Watch before the acknowledgement, so no change after it is missed.
    let mut task_rx = (!task_ids.is_empty()).then(|| store.watch());
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
    // Each followed task's status now, so a change made before the
    // stream opened is not lost; then every change.
    let followed = task_ids.clone();
    for id in &followed {
        if !send_task(&r, &store, &owner, id, &mut task_ids, &tagged).await {
            return Reply::Silent;
        }
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
            t = next_task(&mut task_rx) => {
                let ids = match t {
                    Ok(id) if task_ids.contains(&id) => vec![id],
                    Ok(_) => continue,
                    // Fell behind: look at every followed task again.
                    Err(RecvError::Lagged(_)) => task_ids.clone(),
                    Err(RecvError::Closed) => break,
                };
                for id in &ids {
                    if !send_task(&r, &store, &owner, id, &mut task_ids, &tagged).await {
                        return Reply::Silent;
                    }
                }
                if task_ids.is_empty() {
                    task_rx = None;
                }
                continue;
            }
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
            Err(RecvError::Lagged(_)) => continue,
            Err(_) => break,
        };
        if !r.out.send_notification(&n).await {
            return Reply::Silent;
        }
    }
    Reply::Result(json!({ "_meta": { META_SUBSCRIPTION_ID: sub_id } }))
}

/// The next task status change, or never when the stream follows no task.
async fn next_task(rx: &mut Option<Receiver<String>>) -> Result<String, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends task `id`'s current state as `notifications/tasks` (the detailed
/// task, as `tasks/get` answers it). A task that is gone (expired) or has
/// reached a terminal status is no longer followed. Returns false when the
/// client is gone.
async fn send_task(
    r: &Req,
    store: &TaskStore,
    owner: &str,
    id: &str,
    followed: &mut Vec<String>,
    tagged: &impl Fn(&str, Map<String, Value>) -> Notification,
) -> bool {
    let Some(task) = store.get(owner, id) else {
        followed.retain(|t| t != id);
        return true;
    };
    if !TaskStatus::still_running(&task) {
        followed.retain(|t| t != id);
    }
    let Value::Object(task) = task else {
        return true;
    };
    r.out
        .send_notification(&tagged("notifications/tasks", task))
        .await
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
