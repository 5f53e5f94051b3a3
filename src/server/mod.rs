//! The protocol engine: the registry of tools, resources and prompts, and the
//! dispatcher that serves them to clients of both protocol eras.
//!
//! Build a [`Server`] with [`ServerBuilder`]; transports then open a
//! [`Session`] per connection (one per stdio process, one per legacy HTTP
//! session, one shared stateless session for modern HTTP requests) and feed
//! it messages.

mod cache;
mod context;
mod dispatch;
mod engine;
mod error;
pub(crate) mod features;
mod handlers;
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
mod tool;

pub use cache::CacheHint;
pub use context::RequestContext;
pub use engine::{ListHook, Server, ServerBuilder, ServerConfig, SubscribeHook};
pub use error::{BoxFuture, ToolError};
pub use features::{
    Prompt, PromptArgument, PromptMessage, PromptResult, Resource, ResourceTemplate,
};
pub use mrtr::{state_key_from_secret, InputRequest, PendingInput};
pub use outbound::{ClientRequester, Outbound};
pub use provider::{
    Change, ListHandler, Notifier, ResourceInfo, ResourcePage, ResourceProvider, WatchHandler,
};
pub use schema::Schema;
pub use session::BatchRun;
pub use state::Session;
pub use tool::{schema_for, valid_tool_name, Tool, ToolHandler, ToolResult};
