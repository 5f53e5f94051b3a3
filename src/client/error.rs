//! The client's error type.

use crate::jsonrpc::ErrorObject;
use std::time::Duration;

/// Why a client operation failed.
#[derive(Debug)]
pub enum ClientError {
    /// The transport could not be started or broke.
    Transport(String),
    /// The server answered with a JSON-RPC error.
    Rpc(ErrorObject),
    /// No answer in time.
    Timeout(Duration),
    /// The server answered something that is not MCP.
    Protocol(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Transport(m) => write!(f, "transport error: {m}"),
            ClientError::Rpc(e) => write!(f, "server error {}: {}", e.code, e.message),
            ClientError::Timeout(d) => write!(f, "no answer within {} ms", d.as_millis()),
            ClientError::Protocol(m) => write!(f, "protocol error: {m}"),
        }
    }
}

impl std::error::Error for ClientError {}
