//! What a handler returns besides its value: [`ToolError`], and the boxed
//! future handlers are stored as.

use super::mrtr::PendingInput;
use crate::jsonrpc::ErrorObject;
use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Why a tool call did not produce a normal result.
#[derive(Debug)]
pub enum ToolError {
    /// A failure the model should see: becomes a result with `isError: true`.
    Tool(String),
    /// A protocol-level failure: becomes a JSON-RPC error response.
    Protocol(ErrorObject),
    /// The handler needs input from the client (modern era): the engine
    /// answers with an `InputRequiredResult` and re-runs the handler on the
    /// client's retry. Produced by [`RequestContext::input`](super::RequestContext::input); propagate it
    /// with `?`.
    InputRequired(PendingInput),
}

impl ToolError {
    /// A tool error with a message for the model.
    pub fn msg(message: impl std::fmt::Display) -> Self {
        ToolError::Tool(message.to_string())
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ToolError::Tool(m) => f.write_str(m),
            ToolError::Protocol(e) => write!(f, "{e}"),
            ToolError::InputRequired(_) => f.write_str("the tool needs input from the client"),
        }
    }
}

impl std::error::Error for ToolError {}

impl From<ErrorObject> for ToolError {
    fn from(e: ErrorObject) -> Self {
        ToolError::Protocol(e)
    }
}
impl From<String> for ToolError {
    fn from(s: String) -> Self {
        ToolError::Tool(s)
    }
}
impl From<&str> for ToolError {
    fn from(s: &str) -> Self {
        ToolError::Tool(s.to_owned())
    }
}
impl From<std::io::Error> for ToolError {
    fn from(e: std::io::Error) -> Self {
        ToolError::Tool(e.to_string())
    }
}
impl From<serde_json::Error> for ToolError {
    fn from(e: serde_json::Error) -> Self {
        ToolError::Tool(e.to_string())
    }
}
