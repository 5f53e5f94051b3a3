//! Per-request era detection and method routing.
//!
//! A request whose `params._meta` carries
//! `io.modelcontextprotocol/protocolVersion` is modern and validated as such;
//! `initialize` opens a legacy session; any other request is served under
//! the session's negotiated legacy version, or refused with an error that
//! tells the client how to open.

use super::handlers::{self, Req};
use super::outbound::Outbound;
use super::session::Session;
use super::shape;
use crate::jsonrpc::{code, ErrorObject, Request};
use crate::protocol::{
    LogLevel, ProtocolVersion, META_CLIENT_CAPABILITIES, META_LOG_LEVEL, META_PROTOCOL_VERSION,
};
use serde_json::{json, Value};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What to answer.
pub(crate) enum Reply {
    /// A result object.
    Result(Value),
    /// An error.
    Error(ErrorObject),
    /// No response (e.g. a subscription ended by cancellation).
    Silent,
}

impl From<Result<Value, ErrorObject>> for Reply {
    fn from(r: Result<Value, ErrorObject>) -> Self {
        match r {
            Ok(v) => Reply::Result(v),
            Err(e) => Reply::Error(e),
        }
    }
}

const MODERN_METHODS: &[&str] = &[
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "subscriptions/listen",
];

const LEGACY_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
];

/// Handle one request.
pub(crate) async fn handle(
    session: &Arc<Session>,
    req: Request,
    out: Outbound,
    cancel: CancellationToken,
) -> Reply {
    let meta = req.params.get("_meta");
    if let Some(v) = meta.and_then(|m| m.get(META_PROTOCOL_VERSION)) {
        let v = v.clone();
        return modern(session, req, &v, out, cancel).await;
    }
    if !MODERN_METHODS.contains(&req.method.as_str())
        && !LEGACY_METHODS.contains(&req.method.as_str())
    {
        return Reply::Error(ErrorObject::method_not_found(&req.method));
    }
    match req.method.as_str() {
        "initialize" => {
            if let Some(v) = session.legacy_version() {
                return Reply::Error(ErrorObject::invalid_request(format!(
                    "Already initialized (protocol {v}); a session is initialized once"
                )));
            }
            return handlers::initialize(session, &req).into();
        }
        "ping" => return Reply::Result(json!({})),
        _ => {}
    }
    let legacy = session
        .legacy
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let Some(state) = legacy else {
        return Reply::Error(
            ErrorObject::invalid_params(format!(
                "Missing _meta[\"{META_PROTOCOL_VERSION}\"]: modern (2026-07-28) requests must carry \
                 protocolVersion and clientCapabilities in params._meta; legacy clients must send \
                 initialize first"
            ))
            .with_data(json!({"supported": ProtocolVersion::supported_strings()})),
        );
    };
    if !LEGACY_METHODS.contains(&req.method.as_str()) {
        return Reply::Error(ErrorObject::method_not_found(&req.method));
    }
    let progress_token = progress_token(&req);
    let r = Req {
        session: session.clone(),
        version: state.version,
        client_capabilities: state.client_capabilities,
        // `.logging(false)`: no notifications/message, whatever was asked.
        log_level: state.log_level.filter(|_| session.server.logging),
        progress_token,
        out,
        cancel,
        req,
    };
    handlers::route(r).await
}

fn progress_token(req: &Request) -> Option<Value> {
    req.params
        .get("_meta")
        .and_then(|m| m.get("progressToken"))
        .filter(|t| t.is_string() || t.is_i64() || t.is_u64())
        .cloned()
}

async fn modern(
    session: &Arc<Session>,
    req: Request,
    version: &Value,
    out: Outbound,
    cancel: CancellationToken,
) -> Reply {
    let meta = &req.params["_meta"];
    let Some(requested) = version.as_str() else {
        return Reply::Error(ErrorObject::invalid_params(format!(
            "_meta[\"{META_PROTOCOL_VERSION}\"] must be a string such as \"2026-07-28\""
        )));
    };
    let version = match ProtocolVersion::parse(requested) {
        Some(v) if v.is_modern() => v,
        _ => {
            return Reply::Error(
                ErrorObject::new(
                    code::UNSUPPORTED_PROTOCOL_VERSION,
                    if ProtocolVersion::parse(requested).is_some() {
                        format!(
                            "Unsupported protocol version for a stateless request: {requested} is served through the initialize handshake"
                        )
                    } else {
                        "Unsupported protocol version".to_owned()
                    },
                )
                .with_data(json!({
                    // Never the version asked for: a legacy one is served,
                    // but only through initialize, not statelessly.
                    "supported": ProtocolVersion::supported_strings()
                        .into_iter()
                        .filter(|v| *v != requested)
                        .collect::<Vec<_>>(),
                    "requested": requested,
                })),
            );
        }
    };
    let caps = match meta.get(META_CLIENT_CAPABILITIES) {
        Some(c @ Value::Object(_)) => c.clone(),
        Some(_) => {
            return Reply::Error(ErrorObject::invalid_params(format!(
                "_meta[\"{META_CLIENT_CAPABILITIES}\"] must be an object"
            )))
        }
        None => {
            return Reply::Error(ErrorObject::invalid_params(format!(
                "Missing required _meta[\"{META_CLIENT_CAPABILITIES}\"] (use {{}} when the client has none)"
            )))
        }
    };
    let log_level = match meta.get(META_LOG_LEVEL) {
        None => None,
        Some(v) => match v.as_str().and_then(LogLevel::parse) {
            Some(l) => Some(l),
            None => {
                return Reply::Error(ErrorObject::invalid_params(format!(
                    "_meta[\"{META_LOG_LEVEL}\"] must be one of debug, info, notice, warning, error, critical, alert, emergency"
                )))
            }
        },
    };
    if !MODERN_METHODS.contains(&req.method.as_str()) {
        let mut e = ErrorObject::method_not_found(&req.method);
        if LEGACY_METHODS.contains(&req.method.as_str()) {
            e.message = format!(
                "Method not found: {} does not exist in protocol {version}",
                req.method
            );
        }
        return Reply::Error(e);
    }
    let progress_token = progress_token(&req);
    let server = session.server.clone();
    let method = req.method.clone();
    let r = Req {
        session: session.clone(),
        version,
        client_capabilities: caps,
        log_level: log_level.filter(|_| server.logging),
        progress_token,
        out,
        cancel,
        req,
    };
    match handlers::route(r).await {
        Reply::Result(v) => {
            let cache = shape::cache_hint(&method, &server, None);
            Reply::Result(shape::modern_result(v, &server, cache))
        }
        other => other,
    }
}
