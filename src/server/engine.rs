//! The [`Server`]: the registry of tools, resources and prompts, the
//! engine's configuration, the hooks the hub plugs in, and the broadcast of
//! [`Change`]s; built with [`ServerBuilder`].

use super::cache::CacheHint;
use super::error::BoxFuture;
use super::features::{Prompt, Resource, ResourceTemplate};
use super::ids::InstanceId;
use super::mrtr::StateSigner;
use super::provider::{Change, Notifier, ResourceProvider};
use super::task_store::{TaskLimits, TaskStore};
use super::tool::{valid_tool_name, Tool};
use crate::jsonrpc::Limits;
use crate::protocol::Implementation;
use crate::sync::RwLockExt;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::broadcast;

/// Tunables of the engine.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Message size and nesting limits.
    pub limits: Limits,
    /// Timeout of a tool call when the tool sets none.
    pub default_timeout: Duration,
    /// Largest number of requests handled at once per session.
    pub max_in_flight: usize,
    /// Page size of list results.
    pub page_size: usize,
    /// `ttlMs` of cacheable modern results.
    pub list_ttl_ms: u64,
    /// How long to wait for the client to answer a legacy server-to-client request.
    pub client_request_timeout: Duration,
    /// Lifetime of an MRTR `requestState`, in seconds.
    pub request_state_ttl_secs: u64,
    /// Check each tool's `structuredContent` against its `outputSchema`
    /// before answering; a result that does not match is a bug in the tool
    /// and answers -32603 naming the mismatch. On in debug builds; the
    /// `lmcp` binary also turns it on when `LMCP_VALIDATE_OUTPUT` is set
    /// (its tests do).
    pub validate_output: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            default_timeout: Duration::from_secs(300),
            max_in_flight: 64,
            page_size: 200,
            list_ttl_ms: 60_000,
            client_request_timeout: Duration::from_secs(600),
            request_state_ttl_secs: 900,
            validate_output: cfg!(debug_assertions),
        }
    }
}

#[derive(Default)]
pub(crate) struct Registry {
    pub tools: Vec<Tool>,
    pub tool_index: HashMap<String, usize>,
    pub resources: Vec<Resource>,
    pub templates: Vec<ResourceTemplate>,
    pub provider: Option<ResourceProvider>,
    pub prompts: Vec<Prompt>,
}

impl Registry {
    fn add_tool(&mut self, tool: Tool) {
        match self.tool_index.get(&tool.name) {
            Some(&i) => self.tools[i] = tool,
            None => {
                self.tool_index.insert(tool.name.clone(), self.tools.len());
                self.tools.push(tool);
            }
        }
    }
    fn remove_tool(&mut self, name: &str) -> bool {
        let Some(i) = self.tool_index.remove(name) else {
            return false;
        };
        self.tools.remove(i);
        for (idx, t) in self.tools.iter().enumerate().skip(i) {
            self.tool_index.insert(t.name.clone(), idx);
        }
        true
    }
}

/// An MCP server: what it offers and how it answers. Shared by all sessions.
pub struct Server {
    pub(crate) info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) config: ServerConfig,
    pub(crate) registry: RwLock<Registry>,
    pub(crate) signer: StateSigner,
    pub(crate) changes: broadcast::Sender<Change>,
    pub(crate) logging: bool,
    pub(crate) list_hook: RwLock<Option<ListHook>>,
    subscribe_hook: RwLock<Option<SubscribeHook>>,
    /// Stricter caching hints for list results (see [`Server::limit_list_cache`]).
    list_cache: RwLock<Option<CacheHint>>,
    /// The tasks of task-augmented calls (Tasks extension).
    pub(crate) tasks: Arc<TaskStore>,
    /// The tag of the ids this instance mints (`--instance-id`).
    instance_id: Option<InstanceId>,
}

/// Runs before `server/discover` and each `tools/list`, `prompts/list`,
/// `resources/list` and `resources/templates/list` (the hub uses it to
/// start lazy upstreams on first use).
pub type ListHook = Arc<dyn Fn() -> BoxFuture<()> + Send + Sync>;

/// Told each time a client starts (`true`) or stops (`false`) following a
/// resource URI: a legacy `resources/subscribe` / `resources/unsubscribe`
/// (or the end of the session), a modern `subscriptions/listen` stream's
/// `resourceSubscriptions` (when it opens / ends). Calls are balanced per
/// URI; the hook must not block (it may run in a destructor).
pub type SubscribeHook = Arc<dyn Fn(&str, bool) + Send + Sync>;

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Start building a server called `name` at `version`.
    pub fn builder(name: impl Into<String>, version: impl Into<String>) -> ServerBuilder {
        ServerBuilder::new(name, version)
    }

    /// The server's name and version.
    pub fn info(&self) -> &Implementation {
        &self.info
    }

    /// The tag this instance puts on the session and task ids it mints
    /// (see [`ServerBuilder::instance_id`]).
    pub fn instance_id(&self) -> Option<&InstanceId> {
        self.instance_id.as_ref()
    }

    /// The engine's configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Add or replace a tool at run time; clients that asked are told.
    pub fn add_tool(&self, tool: Tool) {
        self.registry.write_unpoisoned().add_tool(tool);
        let _ = self.changes.send(Change::Tools);
    }

    /// Remove a tool at run time; `false` if there was none by that name.
    pub fn remove_tool(&self, name: &str) -> bool {
        let removed = self.registry.write_unpoisoned().remove_tool(name);
        if removed {
            let _ = self.changes.send(Change::Tools);
        }
        removed
    }

    /// Add or replace a prompt at run time; clients that asked are told.
    pub fn add_prompt(&self, prompt: Prompt) {
        {
            let mut reg = self.registry.write_unpoisoned();
            match reg.prompts.iter().position(|p| p.name == prompt.name) {
                Some(i) => reg.prompts[i] = prompt,
                None => reg.prompts.push(prompt),
            }
        }
        let _ = self.changes.send(Change::Prompts);
    }

    /// Make the caching hints of list results (`tools/list`, `prompts/list`,
    /// `resources/list`, `resources/templates/list`) at most as loose as
    /// `hint` (`None`: the configured `list_ttl_ms`, public). The hub sets
    /// this from its upstreams' own list hints.
    pub fn limit_list_cache(&self, hint: Option<CacheHint>) {
        *self.list_cache.write_unpoisoned() = hint;
    }

    pub(crate) fn list_cache_limit(&self) -> Option<CacheHint> {
        *self.list_cache.read_unpoisoned()
    }

    /// Whether a prompt with this name is registered.
    pub fn has_prompt(&self, name: &str) -> bool {
        let reg = self.registry.read_unpoisoned();
        reg.prompts.iter().any(|p| p.name == name)
    }

    /// Remove a prompt at run time; `false` if there was none by that name.
    pub fn remove_prompt(&self, name: &str) -> bool {
        let removed = {
            let mut reg = self.registry.write_unpoisoned();
            let before = reg.prompts.len();
            reg.prompts.retain(|p| p.name != name);
            reg.prompts.len() != before
        };
        if removed {
            let _ = self.changes.send(Change::Prompts);
        }
        removed
    }

    /// Add or replace (by URI) a resource at run time; clients that asked are told.
    pub fn add_resource(&self, r: Resource) {
        {
            let mut reg = self.registry.write_unpoisoned();
            match reg.resources.iter().position(|x| x.uri == r.uri) {
                Some(i) => reg.resources[i] = r,
                None => reg.resources.push(r),
            }
        }
        let _ = self.changes.send(Change::Resources);
    }

    /// Add or replace (by URI template) a resource template at run time.
    pub fn add_resource_template(&self, t: ResourceTemplate) {
        {
            let mut reg = self.registry.write_unpoisoned();
            match reg
                .templates
                .iter()
                .position(|x| x.uri_template == t.uri_template)
            {
                Some(i) => reg.templates[i] = t,
                None => reg.templates.push(t),
            }
        }
        let _ = self.changes.send(Change::Resources);
    }

    /// Remove a resource (by URI) or resource template (by URI template) at
    /// run time; `false` if there was none.
    pub fn remove_resource(&self, uri: &str) -> bool {
        let removed = {
            let mut reg = self.registry.write_unpoisoned();
            let before = reg.resources.len() + reg.templates.len();
            reg.resources.retain(|x| x.uri != uri);
            reg.templates.retain(|x| x.uri_template != uri);
            reg.resources.len() + reg.templates.len() != before
        };
        if removed {
            let _ = self.changes.send(Change::Resources);
        }
        removed
    }

    /// Whether a resource with this URI, or a template with this URI
    /// template, is registered.
    pub fn has_resource(&self, uri: &str) -> bool {
        let reg = self.registry.read_unpoisoned();
        reg.resources.iter().any(|x| x.uri == uri)
            || reg.templates.iter().any(|x| x.uri_template == uri)
    }

    /// Set the hook run before listings (see [`ListHook`]).
    pub fn set_list_hook(&self, hook: ListHook) {
        *self.list_hook.write_unpoisoned() = Some(hook);
    }

    /// Set the hook told about resource subscriptions (see [`SubscribeHook`]).
    pub fn set_subscribe_hook(&self, hook: SubscribeHook) {
        *self.subscribe_hook.write_unpoisoned() = Some(hook);
    }

    pub(crate) fn run_subscribe_hook(&self, uri: &str, on: bool) {
        let hook = self.subscribe_hook.read_unpoisoned().clone();
        if let Some(h) = hook {
            h(uri, on);
        }
    }

    pub(crate) async fn run_list_hook(&self) {
        let hook = self.list_hook.read_unpoisoned().clone();
        if let Some(h) = hook {
            h().await;
        }
    }

    /// Names of the registered tools, in listing order.
    pub fn tool_names(&self) -> Vec<String> {
        self.registry
            .read_unpoisoned()
            .tools
            .iter()
            .map(|t| t.name.clone())
            .collect()
    }

    /// A registered tool by name.
    pub fn tool(&self, name: &str) -> Option<Tool> {
        let reg = self.registry.read_unpoisoned();
        reg.tool_index.get(name).map(|&i| reg.tools[i].clone())
    }

    /// Announce a change (e.g. a resource was updated).
    pub fn notify_change(&self, change: Change) {
        let _ = self.changes.send(change);
    }

    /// Subscribe to the server's change announcements.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }
}

/// Builds a [`Server`].
///
/// ```
/// use lmcp::{Server, Tool, ToolResult};
/// let server = Server::builder("demo", "1.0")
///     .instructions("A demo server.")
///     .tool(Tool::new("hello", "Say hello", |_args, _ctx| async { Ok(ToolResult::text("hello")) }))
///     .build();
/// assert_eq!(server.tool_names(), ["hello"]);
/// ```
pub struct ServerBuilder {
    info: Implementation,
    instructions: Option<String>,
    config: ServerConfig,
    registry: Registry,
    signer: Option<StateSigner>,
    logging: bool,
    task_limits: TaskLimits,
    instance_id: Option<InstanceId>,
}

impl ServerBuilder {
    /// A builder for a server called `name` at `version`.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        ServerBuilder {
            info: Implementation {
                name: name.into(),
                version: version.into(),
                title: None,
                description: None,
                icons: Vec::new(),
                website_url: None,
            },
            instructions: None,
            config: ServerConfig::default(),
            registry: Registry::default(),
            signer: None,
            logging: true,
            task_limits: TaskLimits::default(),
            instance_id: None,
        }
    }
    /// Natural-language guidance for the model about this server.
    pub fn instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions = Some(text.into());
        self
    }
    /// Set the display title of the server.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.info.title = Some(title.into());
        self
    }
    /// Set the server's description for people (`serverInfo.description`).
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.info.description = Some(text.into());
        self
    }
    /// Add an icon of the server (an `Icon` object: `src`, optional
    /// `mimeType`, `sizes`, `theme`).
    pub fn icon(mut self, icon: serde_json::Value) -> Self {
        self.info.icons.push(icon);
        self
    }
    /// Set the server's home page (`serverInfo.websiteUrl`).
    pub fn website_url(mut self, url: impl Into<String>) -> Self {
        self.info.website_url = Some(url.into());
        self
    }
    /// Replace the configuration.
    pub fn config(mut self, config: ServerConfig) -> Self {
        self.config = config;
        self
    }
    /// Register a tool (a later tool of the same name replaces the earlier).
    ///
    /// # Panics
    /// If the name breaks the spec's rules (1–128 of `A-Za-z0-9_-.`): a
    /// programming error best caught at start-up.
    pub fn tool(mut self, tool: Tool) -> Self {
        assert!(
            valid_tool_name(&tool.name),
            "invalid tool name {:?}: use 1-128 of A-Z a-z 0-9 _ - .",
            tool.name
        );
        self.registry.add_tool(tool);
        self
    }
    /// Register several tools.
    pub fn tools(self, tools: impl IntoIterator<Item = Tool>) -> Self {
        tools.into_iter().fold(self, |b, t| b.tool(t))
    }
    /// Register a resource.
    pub fn resource(mut self, r: Resource) -> Self {
        self.registry.resources.push(r);
        self
    }
    /// Register a resource template.
    pub fn resource_template(mut self, t: ResourceTemplate) -> Self {
        self.registry.templates.push(t);
        self
    }
    /// Add resources listed on demand (after the fixed ones) and hear of
    /// subscriptions to them; replaces an earlier provider.
    pub fn resource_provider(mut self, p: ResourceProvider) -> Self {
        self.registry.provider = Some(p);
        self
    }
    /// Register a prompt.
    pub fn prompt(mut self, p: Prompt) -> Self {
        self.registry.prompts.push(p);
        self
    }
    /// Use a fixed key for MRTR `requestState` (to share state across instances).
    pub fn request_state_key(mut self, key: [u8; 32]) -> Self {
        self.signer = Some(StateSigner::with_key(
            key,
            self.config.request_state_ttl_secs,
        ));
        self
    }
    /// Whether to advertise the (deprecated in 2026-07-28) logging capability.
    pub fn logging(mut self, on: bool) -> Self {
        self.logging = on;
        self
    }
    /// How long the tasks of task-augmented calls live and how many tasks
    /// and result bytes the server keeps (Tasks extension).
    pub fn task_limits(mut self, limits: TaskLimits) -> Self {
        self.task_limits = limits;
        self
    }
    /// Tag the legacy HTTP session ids and task ids this server mints with
    /// `id` (`id.<random>`), so that a load balancer in front of several
    /// instances can send each request to the instance that knows its id.
    pub fn instance_id(mut self, id: InstanceId) -> Self {
        self.instance_id = Some(id);
        self
    }
    /// Finish.
    pub fn build(self) -> Arc<Server> {
        let ttl = self.config.request_state_ttl_secs;
        Arc::new(Server {
            info: self.info,
            instructions: self.instructions,
            config: self.config,
            registry: RwLock::new(self.registry),
            signer: self.signer.unwrap_or_else(|| StateSigner::random(ttl)),
            changes: broadcast::channel(64).0,
            logging: self.logging,
            list_hook: RwLock::new(None),
            subscribe_hook: RwLock::new(None),
            list_cache: RwLock::new(None),
            tasks: Arc::new(
                TaskStore::new(self.task_limits).with_instance(self.instance_id.clone()),
            ),
            instance_id: self.instance_id,
        })
    }
}

impl Server {
    /// Tell the resource provider (if any) and the subscribe hook (the hub)
    /// that `uri` gained or lost a subscriber: a legacy `resources/subscribe`
    /// or a modern listen stream; sessions and streams that end let go.
    pub(crate) fn watch_resource(&self, uri: &str, on: bool) {
        let watch = {
            let reg = self.registry.read_unpoisoned();
            reg.provider.as_ref().and_then(|p| p.watch.clone())
        };
        if let Some(w) = watch {
            w(uri, on, &Notifier(self.changes.clone()));
        }
        // The hub follows upstream resources through the same events.
        self.run_subscribe_hook(uri, on);
    }
}
