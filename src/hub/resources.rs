//! Upstream resources and resource templates re-exported by the hub.
//!
//! URIs are kept as the upstream gives them, so resource links in forwarded
//! tool results stay readable through the hub; names are namespaced like
//! tools (`remote_<server>_<name>`). A URI (or URI template) another upstream
//! or a built-in resource already holds is skipped with a warning.

use super::registry::{exported_name, note_list_hint, record_skipped, retire, REGISTER};
use super::{lock, Upstream};
use crate::client::Client;
use crate::protocol::Method;
use crate::protocol::ResourceContents;
use crate::server::{CacheHint, RequestContext, Resource, ResourceTemplate, Server, ToolError};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Weak};

/// Re-list the upstream's resources and templates (when it declares the
/// capability) and bring our registry in line.
pub(super) async fn refresh(
    up: &Arc<Upstream>,
    client: &Client,
    server: &Weak<Server>,
    has_resources: bool,
) -> Result<(), String> {
    let ((resources, r_hint), (templates, t_hint)) = if has_resources {
        let r = client
            .list_all_hinted(Method::ResourcesList.as_str(), "resources")
            .await
            .map_err(|e| format!("resources/list failed: {e}"))?;
        // Templates are optional for a server with resources.
        let t = client
            .list_all_hinted("resources/templates/list", "resourceTemplates")
            .await
            .unwrap_or_default();
        (r, t)
    } else {
        Default::default()
    };
    let Some(server) = server.upgrade() else {
        return Ok(());
    };
    note_list_hint(up, &server, Method::ResourcesList.as_str(), r_hint);
    note_list_hint(up, &server, "resources/templates/list", t_hint);
    let _one_at_a_time = lock(&REGISTER);
    let mine = lock(&up.resources).clone();
    let mut uris = Vec::new();
    let mut skipped = Vec::new();
    let name_of = |v: &Value| {
        let n = v["name"].as_str().unwrap_or("resource");
        exported_name(&up.prefix, &up.separator, &up.cfg.name, n)
    };
    for r in &resources {
        let Some(uri) = r["uri"].as_str() else {
            continue;
        };
        if uris.iter().any(|u| u == uri)
            || (server.has_resource(uri) && !mine.iter().any(|u| u == uri))
        {
            skipped.push(format!("resource {uri}: the URI is already served"));
            continue;
        }
        let up2 = up.clone();
        let mut res = Resource::new(uri, name_of(r), move |uri, ctx| {
            let up = up2.clone();
            async move { read(&up, &uri, &ctx).await }
        });
        res.title = r["title"].as_str().map(String::from);
        res.description = r["description"].as_str().map(String::from);
        res.mime_type = r["mimeType"].as_str().map(String::from);
        res.icons = r["icons"].as_array().cloned().unwrap_or_default();
        res.annotations = r.get("annotations").filter(|a| a.is_object()).cloned();
        res.meta = r.get("_meta").and_then(Value::as_object).cloned();
        server.add_resource(res);
        uris.push(uri.to_owned());
    }
    for t in &templates {
        let Some(tpl) = t["uriTemplate"].as_str() else {
            continue;
        };
        if uris.iter().any(|u| u == tpl)
            || (server.has_resource(tpl) && !mine.iter().any(|u| u == tpl))
        {
            skipped.push(format!(
                "resource template {tpl}: the URI template is already served"
            ));
            continue;
        }
        let up2 = up.clone();
        let mut rt = ResourceTemplate::new(tpl, name_of(t), move |uri, ctx| {
            let up = up2.clone();
            async move { read(&up, &uri, &ctx).await }
        });
        rt.title = t["title"].as_str().map(String::from);
        rt.description = t["description"].as_str().map(String::from);
        rt.mime_type = t["mimeType"].as_str().map(String::from);
        rt.icons = t["icons"].as_array().cloned().unwrap_or_default();
        rt.annotations = t.get("annotations").filter(|a| a.is_object()).cloned();
        rt.meta = t.get("_meta").and_then(Value::as_object).cloned();
        server.add_resource_template(rt);
        uris.push(tpl.to_owned());
    }
    retire(&up.resources, &uris, |gone| {
        server.remove_resource(gone);
    });
    record_skipped(up, "resource", skipped);
    Ok(())
}

async fn read(
    up: &Upstream,
    uri: &str,
    ctx: &RequestContext,
) -> Result<Vec<ResourceContents>, ToolError> {
    let mut p = Map::new();
    p.insert("uri".into(), json!(uri));
    let r = super::forward::relay(up, Method::ResourcesRead.as_str(), p, None, ctx).await?;
    // The upstream's caching hints, made no looser by ours.
    if let Some(h) = CacheHint::of(&r) {
        ctx.limit_cache(h);
    }
    Ok(contents_from(&r))
}

/// An upstream `ReadResourceResult`'s contents as ours (entries that are
/// neither text nor blob are dropped).
fn contents_from(r: &Value) -> Vec<ResourceContents> {
    r["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| serde_json::from_value(c.clone()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_convert() {
        let c = contents_from(&json!({"contents": [
            {"uri": "a://x", "text": "hi", "mimeType": "text/plain"},
            {"uri": "a://y", "blob": "AAE="},
            {"uri": "a://z"}]}));
        assert_eq!(c.len(), 2);
        assert!(matches!(&c[0], ResourceContents::Text { text, .. } if text == "hi"));
        assert!(matches!(&c[1], ResourceContents::Blob { blob, .. } if blob == "AAE="));
    }
}
