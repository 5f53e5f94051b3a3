//! Resource subscriptions through the hub.
//!
//! Our clients' subscriptions (legacy `resources/subscribe`, modern
//! `subscriptions/listen` with `resourceSubscriptions`) are counted per URI
//! through the server's subscribe hook; the first subscriber of a URI makes
//! the hub follow it on the upstream that serves it, the last one leaving
//! stops that. A legacy upstream gets `resources/subscribe` /
//! `resources/unsubscribe` (when it declares `resources.subscribe`); a modern
//! upstream gets a `subscriptions/listen` stream listing the URIs, reopened
//! when the set changes. The upstream's `notifications/resources/updated`
//! reach our subscribed clients through the server's change broadcast.

use super::{lock, Hub, Upstream};
use crate::client::{Client, ClientError, Era};
use crate::protocol::Method;
use crate::server::features::template_match;
use serde_json::{json, Map};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Weak;
use std::time::Duration;

/// Count one client subscription to `uri` more (`on`) or less.
pub(super) fn on_subscribe(hub: &Weak<Hub>, uri: &str, on: bool) {
    let Some(hub) = hub.upgrade() else { return };
    let first_or_last = {
        let mut counts = lock(&hub.sub_counts);
        let n = counts.entry(uri.to_owned()).or_insert(0);
        if on {
            *n += 1;
            *n == 1
        } else {
            *n = n.saturating_sub(1);
            let last = *n == 0;
            if last {
                counts.remove(uri);
            }
            last
        }
    };
    if !first_or_last {
        return;
    }
    let Some(up) = owner(&hub, uri) else {
        return; // a built-in resource, or none: nothing to forward
    };
    let changed = {
        let mut want = lock(&up.sub_want);
        if on {
            want.insert(uri.to_owned())
        } else {
            want.remove(uri)
        }
    };
    if changed {
        up.sub_changed.notify_one();
    }
}

/// The upstream serving `uri` (a resource of its, else one of its templates).
fn owner(hub: &Hub, uri: &str) -> Option<std::sync::Arc<Upstream>> {
    let exact = hub
        .upstreams
        .iter()
        .find(|u| lock(&u.resources).iter().any(|r| r == uri));
    exact
        .or_else(|| {
            hub.upstreams.iter().find(|u| {
                lock(&u.resources)
                    .iter()
                    .any(|t| t.contains('{') && template_match(t, uri))
            })
        })
        .cloned()
}

/// A modern upstream's `subscriptions/listen` stream for resource URIs.
pub(super) type ListenFuture = Pin<Box<dyn Future<Output = String> + Send>>;

/// Keeps one upstream's subscriptions in line with what our clients want.
pub(super) struct Follower {
    /// What the upstream has been asked to follow (legacy).
    applied: BTreeSet<String>,
    /// Whether the upstream can be asked at all.
    can: bool,
    modern: bool,
}

impl Follower {
    /// For a freshly connected upstream.
    pub(super) fn new(era: Era, capabilities: &serde_json::Value) -> Follower {
        let modern = matches!(era, Era::Modern(_));
        Follower {
            applied: BTreeSet::new(),
            // Modern servers take resourceSubscriptions on any listen stream.
            can: modern || capabilities["resources"]["subscribe"] == true,
            modern,
        }
    }

    /// Bring the upstream in line with `up.sub_want`: a legacy upstream is
    /// asked at once; for a modern one the caller gets the listen stream to
    /// poll instead of its current one (see [`Sync`]).
    pub(super) async fn sync(&mut self, up: &Upstream, client: &Client) -> Sync {
        let want = lock(&up.sub_want).clone();
        if !self.can {
            if !want.is_empty() {
                log::info!(
                    "hub: upstream {} does not offer resource subscriptions; updates of {} URI(s) will not be relayed",
                    up.cfg.name,
                    want.len()
                );
            }
            return Sync::Keep;
        }
        if self.modern {
            if want.is_empty() {
                return Sync::Listen(None);
            }
            let client = client.clone();
            let name = up.cfg.name.clone();
            let uris: Vec<String> = want.into_iter().collect();
            return Sync::Listen(Some(Box::pin(async move {
                let mut p = Map::new();
                p.insert(
                    "notifications".into(),
                    json!({ "resourceSubscriptions": uris }),
                );
                match client
                    .request(Method::Listen.as_str(), p, super::supervisor::LISTEN_FOR)
                    .await
                {
                    Ok(_) => "the upstream ended its resource subscription stream".to_string(),
                    Err(ClientError::Rpc(e)) => {
                        log::info!(
                            "hub: upstream {name} refused resource subscriptions ({}); updates will not be relayed",
                            e.message
                        );
                        std::future::pending::<String>().await
                    }
                    Err(e) => format!("the resource subscription stream failed: {e}"),
                }
            })));
        }
        for uri in want.difference(&self.applied.clone()) {
            if self.ask(up, client, "resources/subscribe", uri).await {
                self.applied.insert(uri.clone());
            }
        }
        for uri in self.applied.clone().difference(&want) {
            self.ask(up, client, "resources/unsubscribe", uri).await;
            self.applied.remove(uri);
        }
        Sync::Keep
    }

    async fn ask(&self, up: &Upstream, client: &Client, method: &str, uri: &str) -> bool {
        let mut p = Map::new();
        p.insert("uri".into(), json!(uri));
        match client.request(method, p, Duration::from_secs(30)).await {
            Ok(_) => true,
            Err(e) => {
                log::warn!("hub: upstream {}: {method} {uri} failed: {e}", up.cfg.name);
                false
            }
        }
    }
}

/// What [`Follower::sync`] asks the caller to do.
pub(super) enum Sync {
    /// Nothing changes on the caller's side.
    Keep,
    /// Replace the modern listen stream (None: close it).
    Listen(Option<ListenFuture>),
}
