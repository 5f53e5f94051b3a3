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
use super::error::{BoxFuture, ToolError};
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

/// A change the server announces to interested clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The tool list changed.
    Tools,
    /// The prompt list changed.
    Prompts,
    /// The resource list changed.
    Resources,
    /// The resource with this URI changed.
    ResourceUpdated(String),
}
