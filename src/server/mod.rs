//! The protocol engine: the registry of tools, resources and prompts, and the
//! dispatcher that serves them to clients of both protocol eras.
//!
//! Build a [`Server`] with [`ServerBuilder`]; transports then open a
//! [`Session`] per connection (one per stdio process, one per legacy HTTP
//! session, one shared stateless session for modern HTTP requests) and feed
//! it messages.
//!
//! ## Layout
//!
//! Each module imports only modules listed after it (checked by
//! `scripts/module-cycles.py`); this file only declares and re-exports.
//!
//! - `session`: the runner: admission, one task per request, in-flight
//!   slots, batches, notifications from the client.
//! - `dispatch`: the era of each request and the method's availability in it.
//! - `handlers/`: one file per method family (`lifecycle`, `tools`,
//!   `resources`, `prompts`, `completion`, `listen`, `tasks`); `route` is the one
//!   `match` over [`Method`](crate::protocol::Method).
//! - `request`: the kernel handlers share: `Req`, `Reply`, running a handler
//!   (timeout, panic guard), failures as replies, the pager.
//! - `state`: a [`Session`]'s state (negotiated era, in-flight table,
//!   subscriptions, where legacy notifications go).
//! - `engine`: the [`Server`], its builder and configuration.
//! - `shape`: results shaped for the client's revision.
//! - `tool`, `features`, `provider`: tools, prompts and resources, dynamic
//!   resources and [`Change`]s.
//! - `context`, `outbound`, `error`, `cache`, `mrtr`, `slot`, `roots_cache`,
//!   `task_store`: what a handler gets and returns, and the leaves under
//!   them (`task_store` keeps the Tasks extension's tasks).
//! - [`ids`]: the `--instance-id` tag and the random ids minted with it
//!   (sessions, job handles, tasks), a leaf.

mod cache;
mod context;
mod dispatch;
mod engine;
mod error;
pub(crate) mod features;
mod handlers;
pub mod ids;
mod mrtr;
mod outbound;
mod provider;
mod request;
mod roots_cache;
mod schema;
mod session;
mod shape;
mod slot;
mod state;
mod task_store;
mod tool;

pub use cache::CacheHint;
pub use context::RequestContext;
pub use engine::{ListHook, Server, ServerBuilder, ServerConfig, SubscribeHook};
pub use error::{BoxFuture, ToolError};
pub use features::{
    Prompt, PromptArgument, PromptMessage, PromptResult, Resource, ResourceTemplate,
};
pub use ids::{InstanceId, InstanceIdError};
pub use mrtr::{state_key_from_secret, InputRequest, PendingInput};
pub use outbound::{ClientRequester, Outbound};
pub use provider::{
    Change, ListHandler, Notifier, ResourceInfo, ResourcePage, ResourceProvider, WatchHandler,
};
pub use schema::Schema;
pub use session::BatchRun;
pub use state::Session;
pub use task_store::{TaskLimits, TaskOutcome, TaskStatus, TaskStore};
pub use tool::{schema_for, valid_tool_name, TaskSupport, Tool, ToolHandler, ToolResult};
