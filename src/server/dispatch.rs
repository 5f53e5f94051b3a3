//! Per-request era detection and method routing.
//!
//! A request whose `params._meta` carries
//! `io.modelcontextprotocol/protocolVersion` is modern and validated as such;
//! `initialize` opens a legacy session; any other request is served under
//! the session's negotiated legacy version, or refused with an error that
//! tells the client how to open.

use super::handlers;
use super::outbound::Outbound;
use super::request::{Reply, Req};
use super::shape;
use super::state::Session;
use crate::jsonrpc::{code, ErrorObject, Request};
use crate::protocol::{
    LogLevel, Method, ProtocolVersion, META_CLIENT_CAPABILITIES, META_LOG_LEVEL,
    META_PROTOCOL_VERSION,
};
use crate::sync::RwLockExt;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Handle one request.
pub(crate) async fn handle(
    session: &Arc<Session>,
    req: Request,
    out: Outbound,
    cancel: CancellationToken,
    caller: Option<String>,
) -> Reply {
    let method = Method::parse(&req.method);
    let meta = req.params.get("_meta");
    if let Some(v) = meta.and_then(|m| m.get(META_PROTOCOL_VERSION)) {
        let v = v.clone();
        return modern(session, req, method, &v, out, cancel, caller).await;
    }
    let Some(method) = method else {
        return Reply::Error(ErrorObject::method_not_found(&req.method));
    };
    match method {
        Method::Initialize => {
            if let Some(v) = session.legacy_version() {
                return Reply::Error(ErrorObject::invalid_request(format!(
                    "Already initialized (protocol {v}); a session is initialized once"
                )));
            }
            return handlers::initialize(session, &req).into();
        }
        Method::Ping => return Reply::Result(json!({})),
        _ => {}
    }
    let legacy = session.legacy.read_unpoisoned().clone();
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
    if !method.in_legacy() {
        return Reply::Error(ErrorObject::method_not_found(&req.method));
    }
    let progress_token = progress_token(&req);
    let r = Req {
        method,
        session: session.clone(),
        version: state.version,
        client_capabilities: state.client_capabilities,
        // `.logging(false)`: no notifications/message, whatever was asked.
        log_level: state.log_level.filter(|_| session.server.logging),
        progress_token,
        out,
        cancel,
        caller,
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
    method: Option<Method>,
    version: &Value,
    out: Outbound,
    cancel: CancellationToken,
    caller: Option<String>,
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
    let method = match method {
        Some(m) if m.in_modern() => m,
        Some(m) => {
            let mut e = ErrorObject::method_not_found(&req.method);
            e.message = format!("Method not found: {m} does not exist in protocol {version}");
            return Reply::Error(e);
        }
        None => return Reply::Error(ErrorObject::method_not_found(&req.method)),
    };
    let progress_token = progress_token(&req);
    let server = session.server.clone();
    let r = Req {
        method,
        session: session.clone(),
        version,
        client_capabilities: caps,
        log_level: log_level.filter(|_| server.logging),
        progress_token,
        out,
        cancel,
        caller,
        req,
    };
    match handlers::route(r).await {
        Reply::Result(v) => {
            let cache = shape::cache_hint(method, &server, None);
            Reply::Result(shape::modern_result(v, &server, cache))
        }
        other => other,
    }
}
