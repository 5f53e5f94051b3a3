//! `initialize` (legacy), `server/discover` (modern), the capabilities
//! both announce, and `logging/setLevel` (legacy).

use super::super::request::Req;
use super::super::state::{LegacyState, Session};
use super::super::Server;
use super::super::TaskSupport;
use super::tasks::TASKS_EXTENSION;
use crate::jsonrpc::{ErrorObject, Request};
use crate::protocol::{LogLevel, ProtocolVersion};
use crate::sync::RwLockExt;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Most resource URIs one session follows at once: through legacy
/// `resources/subscribe`, and in each modern `subscriptions/listen` filter.
/// Past it a subscription is refused (-32602), so a client cannot grow a
/// session without bound.
pub(crate) const MAX_RESOURCE_SUBSCRIPTIONS: usize = 1024;

/// Which kinds of change notification `server` can send: what
/// `capabilities` announces and what a listen acknowledgement may echo.
#[derive(Clone, Copy)]
pub(super) struct Offers {
    /// Resources (and so `resources/list_changed` and resource updates).
    pub(super) resources: bool,
    /// Prompts (and so `prompts/list_changed`).
    pub(super) prompts: bool,
}

impl Offers {
    pub(super) fn of(server: &Server) -> Offers {
        let reg = server.registry.read_unpoisoned();
        Offers {
            resources: !reg.resources.is_empty()
                || !reg.templates.is_empty()
                || reg.provider.is_some(),
            prompts: !reg.prompts.is_empty(),
        }
    }
}

fn capabilities(server: &Server, version: ProtocolVersion, client: &Value) -> Value {
    let offers = Offers::of(server);
    let reg = server.registry.read_unpoisoned();
    let mut caps = Map::new();
    caps.insert("tools".into(), json!({"listChanged": true}));
    if offers.resources {
        // Legacy clients subscribe with resources/subscribe, modern ones
        // with subscriptions/listen's resourceSubscriptions.
        caps.insert(
            "resources".into(),
            json!({"listChanged": true, "subscribe": true}),
        );
    }
    if offers.prompts {
        caps.insert("prompts".into(), json!({"listChanged": true}));
    }
    if server.logging {
        caps.insert("logging".into(), json!({}));
    }
    if version >= ProtocolVersion::V2025_03_26 {
        caps.insert("completions".into(), json!({}));
    }
    if version.is_modern()
        && reg
            .tools
            .iter()
            .any(|t| t.task_support != TaskSupport::Forbidden)
    {
        caps.insert("extensions".into(), json!({ TASKS_EXTENSION: {} }));
    }
    // 2025-11-25 tasks, for a client that declared them.
    if version == ProtocolVersion::V2025_11_25
        && client.get("tasks").is_some_and(Value::is_object)
        && reg
            .tools
            .iter()
            .any(|t| t.task_support != TaskSupport::Forbidden)
    {
        caps.insert("tasks".into(), super::tasks_legacy::capability());
    }
    Value::Object(caps)
}

/// `initialize` (legacy): negotiate the version and open the session.
pub(crate) fn initialize(session: &Arc<Session>, req: &Request) -> Result<Value, ErrorObject> {
    let requested = match req.params.get("protocolVersion") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(ErrorObject::invalid_params(
                "initialize needs a string \"protocolVersion\"",
            ))
        }
    };
    let caps = match req.params.get("capabilities") {
        None => json!({}),
        Some(c @ Value::Object(_)) => c.clone(),
        Some(_) => {
            return Err(ErrorObject::invalid_params(
                "\"capabilities\" must be an object",
            ))
        }
    };
    let version = match ProtocolVersion::parse(&requested) {
        Some(v) if !v.is_modern() => v,
        _ => ProtocolVersion::LATEST_LEGACY,
    };
    if let Some(info) = req.params.get("clientInfo") {
        log::info!("legacy client {} connected with protocol {version}", info);
    }
    let server_caps = capabilities(&session.server, version, &caps);
    *session.legacy.write_unpoisoned() = Some(LegacyState {
        version,
        client_capabilities: caps,
        log_level: None,
    });
    session.watch_changes();
    let server = &session.server;
    let mut info = serde_json::to_value(&server.info).unwrap_or_default();
    if let Value::Object(m) = &mut info {
        if !version.has_icons() {
            // description, icons and websiteUrl arrived in 2025-11-25.
            m.remove("description");
            m.remove("icons");
            m.remove("websiteUrl");
        }
        if !version.has_structured_content() {
            m.remove("title");
        }
    }
    let mut result = json!({
        "protocolVersion": version.as_str(),
        "capabilities": server_caps,
        "serverInfo": info,
    });
    if let Some(i) = &server.instructions {
        result["instructions"] = json!(i);
    }
    Ok(result)
}

pub(super) fn discover(r: &Req) -> Value {
    let server = r.server();
    let mut v = json!({
        "supportedVersions": ProtocolVersion::supported_strings(),
        "capabilities": capabilities(server, r.version, &r.client_capabilities),
    });
    if let Some(i) = &server.instructions {
        v["instructions"] = json!(i);
    }
    v
}

pub(super) fn set_level(r: &Req) -> Result<Value, ErrorObject> {
    let level = r
        .params()
        .get("level")
        .and_then(Value::as_str)
        .and_then(LogLevel::parse)
        .ok_or_else(|| ErrorObject::invalid_params("\"level\" must be one of debug, info, notice, warning, error, critical, alert, emergency"))?;
    if let Some(state) = r.session.legacy.write_unpoisoned().as_mut() {
        state.log_level = Some(level);
    }
    Ok(json!({}))
}
