//! Shaping results for the revision a client speaks: modern decoration
//! (`resultType`, server identity, caching hints) and per-revision field
//! filtering of tools and tool results.

use super::cache::CacheHint;
use super::tool::{TaskSupport, Tool, ToolResult};
use super::Server;
use crate::protocol::{Method, ProtocolVersion, META_SERVER_INFO};
use serde_json::{json, Map, Value};

/// The caching hints of a complete modern result of `method`, if it has
/// any: the configured `list_ttl_ms`, public — for lists made no looser
/// than [`Server::limit_list_cache`], for a read no looser than what its
/// handler asked ([`crate::server::RequestContext::limit_cache`], `extra`).
pub(crate) fn cache_hint(
    method: Method,
    server: &Server,
    extra: Option<CacheHint>,
) -> Option<CacheHint> {
    if !method.is_cacheable() {
        return None;
    }
    let mut h = CacheHint {
        ttl_ms: server.config.list_ttl_ms,
        private: false,
    };
    if method.is_list() {
        if let Some(l) = server.list_cache_limit() {
            h = h.min(l);
        }
    }
    if let Some(e) = extra {
        h = h.min(e);
    }
    Some(h)
}

/// Add the modern per-result fields to a result object.
pub(crate) fn modern_result(mut v: Value, server: &Server, cache: Option<CacheHint>) -> Value {
    let Value::Object(m) = &mut v else { return v };
    let complete = !m.contains_key("resultType");
    if complete {
        m.insert("resultType".into(), json!("complete"));
    }
    let meta = m.entry("_meta").or_insert_with(|| json!({}));
    if let Value::Object(meta) = meta {
        meta.entry(META_SERVER_INFO)
            .or_insert_with(|| serde_json::to_value(&server.info).unwrap_or_default());
    }
    if let (true, Some(c)) = (complete, cache) {
        m.entry("ttlMs").or_insert_with(|| json!(c.ttl_ms));
        m.entry("cacheScope")
            .or_insert_with(|| json!(if c.private { "private" } else { "public" }));
    }
    v
}

/// A tool's listing as `version` may see it.
pub(crate) fn tool_for(tool: &Tool, version: ProtocolVersion) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(tool.name));
    if version.has_structured_content() {
        if let Some(t) = &tool.title {
            m.insert("title".into(), json!(t));
        }
    }
    m.insert("description".into(), json!(tool.description));
    m.insert("inputSchema".into(), tool.input_schema.to_value());
    if version.has_structured_content() {
        if let Some(s) = &tool.output_schema {
            m.insert("outputSchema".into(), s.to_value());
        }
    }
    if version.has_annotations() && !tool.annotations.is_empty() {
        let mut a = tool.annotations.clone();
        if !version.has_structured_content() && a.title.is_none() {
            a.title = tool.title.clone();
        }
        m.insert(
            "annotations".into(),
            serde_json::to_value(a).unwrap_or_default(),
        );
    }
    if version.has_icons() && !tool.icons.is_empty() {
        m.insert("icons".into(), Value::Array(tool.icons.clone()));
    }
    if let Some(meta) = &tool.meta {
        m.insert("_meta".into(), Value::Object(meta.clone()));
    }
    // 2025-11-25 tasks: which calls may (or must) be task-augmented.
    let support = match tool.task_support {
        TaskSupport::Forbidden => None,
        TaskSupport::Optional => Some("optional"),
        TaskSupport::Required => Some("required"),
    };
    if let (true, Some(s)) = (version == ProtocolVersion::V2025_11_25, support) {
        m.insert("execution".into(), json!({ "taskSupport": s }));
    }
    Value::Object(m)
}

/// A tool result as `version` may see it.
pub(crate) fn tool_result_for(r: &ToolResult, version: ProtocolVersion) -> Value {
    let content: Vec<Value> = r.content.iter().map(|c| c.to_value_for(version)).collect();
    let mut m = Map::new();
    m.insert("content".into(), Value::Array(content));
    if version.has_structured_content() {
        if let Some(s) = &r.structured {
            m.insert("structuredContent".into(), s.clone());
        }
    }
    if r.is_error {
        m.insert("isError".into(), json!(true));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::Tool;

    fn tool() -> Tool {
        Tool::new("t", "d", |_, _| async { Ok(ToolResult::text("x")) })
            .title("T")
            .output_schema(json!({"type": "object"}))
            .read_only()
            .icon(json!({"src": "data:image/png;base64,AA=="}))
    }

    #[test]
    fn tools_are_shaped_per_revision() {
        let t = tool();
        let v = tool_for(&t, ProtocolVersion::V2024_11_05);
        assert!(
            v.get("title").is_none()
                && v.get("outputSchema").is_none()
                && v.get("annotations").is_none()
        );
        let v = tool_for(&t, ProtocolVersion::V2025_03_26);
        assert_eq!(v["annotations"]["title"], "T");
        assert!(v.get("outputSchema").is_none());
        let v = tool_for(&t, ProtocolVersion::V2025_06_18);
        assert_eq!(v["title"], "T");
        assert!(v.get("outputSchema").is_some() && v.get("icons").is_none());
        let v = tool_for(&t, ProtocolVersion::V2025_11_25);
        assert!(v.get("icons").is_some());
    }

    #[test]
    fn cache_hints_merge_to_the_stricter() {
        let ours = CacheHint {
            ttl_ms: 60_000,
            private: false,
        };
        let up = CacheHint::of(&json!({"ttlMs": 5000, "cacheScope": "private"})).unwrap();
        assert_eq!(
            ours.min(up),
            CacheHint {
                ttl_ms: 5000,
                private: true
            }
        );
        let longer = CacheHint::of(&json!({"ttlMs": 600_000, "cacheScope": "public"})).unwrap();
        assert_eq!(ours.min(longer), ours);
        let scope_only = CacheHint::of(&json!({"cacheScope": "private"})).unwrap();
        assert_eq!(
            ours.min(scope_only),
            CacheHint {
                ttl_ms: 60_000,
                private: true
            }
        );
        assert_eq!(CacheHint::of(&json!({"contents": []})), None);
        let server = crate::server::ServerBuilder::new("t", "1").build();
        assert_eq!(cache_hint(Method::ToolsCall, &server, None), None);
        assert_eq!(cache_hint(Method::ToolsList, &server, None), Some(ours));
        server.limit_list_cache(Some(up));
        assert_eq!(
            cache_hint(Method::ToolsList, &server, None),
            Some(ours.min(up))
        );
        // Only lists are limited by the list hint; a read by its own.
        assert_eq!(cache_hint(Method::ResourcesRead, &server, None), Some(ours));
        assert_eq!(
            cache_hint(Method::ResourcesRead, &server, Some(up)),
            Some(ours.min(up))
        );
        let v = modern_result(json!({"contents": []}), &server, Some(ours.min(up)));
        assert_eq!(
            (v["ttlMs"].clone(), v["cacheScope"].clone()),
            (json!(5000), json!("private"))
        );
    }

    #[test]
    fn structured_content_only_from_2025_06_18() {
        let r = ToolResult::structured(json!({"a": 1}));
        assert!(tool_result_for(&r, ProtocolVersion::V2025_03_26)
            .get("structuredContent")
            .is_none());
        assert_eq!(
            tool_result_for(&r, ProtocolVersion::V2025_06_18)["structuredContent"]["a"],
            1
        );
    }
}
