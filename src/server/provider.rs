//! Dynamic resources: a [`ResourceProvider`] lists resources page by page
//! (e.g. the files under some directories, which change while the server
//! runs) and hears which URIs clients subscribe to, so it can watch them and
//! announce changes through a [`Notifier`]. Reading goes through resource
//! templates as usual ([`ResourceTemplate`](super::ResourceTemplate)).
//!
//! The static resources registered with
//! [`ServerBuilder::resource`](super::ServerBuilder::resource) come first in
//! `resources/list`, then the provider's.

use super::context::RequestContext;
use super::tool::{BoxFuture, ToolError};
use super::Change;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::Arc;
use tokio::sync::broadcast;

/// A resource as `resources/list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// Its URI.
    pub uri: String,
    /// Programmatic name.
    pub name: String,
    /// MIME type, when known.
    pub mime_type: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<u64>,
}

impl ResourceInfo {
    pub(crate) fn to_value(&self) -> Value {
        let mut v = json!({"uri": self.uri, "name": self.name});
        if let Some(m) = &self.mime_type {
            v["mimeType"] = json!(m);
        }
        if let Some(s) = self.size {
            v["size"] = json!(s);
        }
        v
    }
}

/// One page of a provider's list: the entries from `offset`, and whether
/// more follow.
#[derive(Debug, Clone, Default)]
pub struct ResourcePage {
    /// The entries.
    pub resources: Vec<ResourceInfo>,
    /// Whether entries follow this page.
    pub more: bool,
}

/// Announces changes to the clients that asked for them.
#[derive(Clone)]
pub struct Notifier(pub(crate) broadcast::Sender<Change>);

impl Notifier {
    /// Announce that the resource at `uri` changed; sessions subscribed to it
    /// (legacy `resources/subscribe`, modern `subscriptions/listen`) get
    /// `notifications/resources/updated`.
    pub fn resource_updated(&self, uri: &str) {
        let _ = self.0.send(Change::ResourceUpdated(uri.to_owned()));
    }
}

/// Lists a page: (offset, page size, context).
pub type ListHandler = Arc<
    dyn Fn(usize, usize, RequestContext) -> BoxFuture<Result<ResourcePage, ToolError>>
        + Send
        + Sync,
>;
/// Hears subscriptions: (URI, subscribed or not, notifier for changes).
pub type WatchHandler = Arc<dyn Fn(&str, bool, &Notifier) + Send + Sync>;

/// A source of resources that are not known up front.
#[derive(Clone)]
pub struct ResourceProvider {
    pub(crate) list: ListHandler,
    pub(crate) watch: Option<WatchHandler>,
}

impl ResourceProvider {
    /// A provider whose `list(offset, limit, ctx)` returns one page.
    pub fn new<F, Fut>(list: F) -> Self
    where
        F: Fn(usize, usize, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ResourcePage, ToolError>> + Send + 'static,
    {
        ResourceProvider {
            list: Arc::new(move |o, l, c| Box::pin(list(o, l, c))),
            watch: None,
        }
    }

    /// Be told when a client subscribes to a URI (`true`) and when the last
    /// interest in it ends (`false`); calls come once per subscription, so
    /// count them if several clients may watch the same URI.
    pub fn on_watch(mut self, f: impl Fn(&str, bool, &Notifier) + Send + Sync + 'static) -> Self {
        self.watch = Some(Arc::new(f));
        self
    }
}

impl super::Server {
    /// Tell the resource provider (if any) and the subscribe hook (the hub)
    /// that `uri` gained or lost a subscriber: a legacy `resources/subscribe`
    /// or a modern listen stream; sessions and streams that end let go.
    pub(crate) fn watch_resource(&self, uri: &str, on: bool) {
        let watch = {
            let reg = self.registry.read().unwrap_or_else(|e| e.into_inner());
            reg.provider.as_ref().and_then(|p| p.watch.clone())
        };
        if let Some(w) = watch {
            w(uri, on, &Notifier(self.changes.clone()));
        }
        // The hub follows upstream resources through the same events.
        self.run_subscribe_hook(uri, on);
    }
}

/// Unwatches the URIs of a `subscriptions/listen` stream when it ends,
/// however it ends.
pub(crate) struct WatchGuard {
    pub server: Arc<super::Server>,
    pub uris: Vec<String>,
}

impl WatchGuard {
    pub(crate) fn new(server: Arc<super::Server>, mut uris: Vec<String>) -> Self {
        // One stream follows a URI once, however often its filter names it.
        uris.sort();
        uris.dedup();
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
