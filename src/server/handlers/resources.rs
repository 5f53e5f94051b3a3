//! `resources/list` (fixed resources, then the provider's), `resources/templates/list`,
//! `resources/read`, and the legacy `resources/subscribe` / `unsubscribe`.

use super::super::mrtr::MrtrState;
use super::super::provider::{ResourceInfo, ResourceProvider};
use super::super::request::{cursor, feature_error, next_cursor, page, run, Reply, Req};
use super::super::shape;
use super::lifecycle::MAX_RESOURCE_SUBSCRIPTIONS;
use crate::jsonrpc::{code, ErrorObject};
use crate::protocol::Method;
use crate::sync::{MutexExt, RwLockExt};
use serde_json::{json, Value};

pub(super) async fn resources_list(r: &Req) -> Reply {
    let (items, provider): (Vec<Value>, _) = {
        let reg = r.server().registry.read_unpoisoned();
        let items = reg
            .resources
            .iter()
            .map(|x| x.to_value(r.version))
            .collect();
        (items, reg.provider.clone())
    };
    match provider {
        None => page(r, "r", "resources", items).into(),
        Some(p) => list_page(r, p, items).await,
    }
}

pub(super) fn templates_list(r: &Req) -> Result<Value, ErrorObject> {
    let items: Vec<Value> = {
        let reg = r.server().registry.read_unpoisoned();
        reg.templates
            .iter()
            .map(|x| x.to_value(r.version))
            .collect()
    };
    page(r, "rt", "resourceTemplates", items)
}

pub(super) async fn resources_read(r: &Req) -> Reply {
    let uri = match r.str_param("uri") {
        Ok(u) => u.to_owned(),
        Err(e) => return Reply::Error(e),
    };
    let reader = {
        let reg = r.server().registry.read_unpoisoned();
        reg.resources
            .iter()
            .find(|x| x.uri == uri)
            .map(|x| x.read.clone())
            .or_else(|| {
                reg.templates
                    .iter()
                    .find(|t| t.matches(&uri))
                    .map(|t| t.read.clone())
            })
    };
    let Some(reader) = reader else {
        let code = if r.version.is_modern() {
            code::INVALID_PARAMS
        } else {
            code::RESOURCE_NOT_FOUND_LEGACY
        };
        return Reply::Error(
            ErrorObject::new(code, format!("Resource not found: {uri}"))
                .with_data(json!({"uri": uri})),
        );
    };
    let mrtr = match r.mrtr_state() {
        Ok(s) => s,
        Err(e) => return Reply::Error(e),
    };
    let ctx = r.context(mrtr);
    match run(reader(uri, ctx.clone()), r.server().config.default_timeout).await {
        Ok(contents) => {
            let mut v = json!({ "contents": contents });
            if let (true, Some(limit)) = (r.version.is_modern(), ctx.cache_limit()) {
                if let Some(h) = shape::cache_hint(Method::ResourcesRead, r.server(), Some(limit)) {
                    v["ttlMs"] = json!(h.ttl_ms);
                    v["cacheScope"] = json!(if h.private { "private" } else { "public" });
                }
            }
            Reply::Result(v)
        }
        Err(e) => feature_error(r, &ctx, "Reading the resource", e),
    }
}

pub(super) fn subscribe(r: &Req, on: bool) -> Result<Value, ErrorObject> {
    let uri = r.str_param("uri")?.to_owned();
    let mut set = r.session.subscribed.lock_unpoisoned();
    if on && set.len() >= MAX_RESOURCE_SUBSCRIPTIONS && !set.contains(&uri) {
        return Err(ErrorObject::invalid_params(format!(
            "this session already follows {MAX_RESOURCE_SUBSCRIPTIONS} resources, the most it may: \
             unsubscribe (resources/unsubscribe) from ones you no longer need first"
        )));
    }
    let changed = if on {
        set.insert(uri.clone())
    } else {
        set.remove(&uri)
    };
    drop(set);
    if changed {
        r.server().watch_resource(&uri, on);
    }
    Ok(json!({}))
}

/// One page of `resources/list`: the fixed resources (`fixed`), then the
/// provider's, under one cursor (the position in that joined list).
async fn list_page(r: &Req, p: ResourceProvider, fixed: Vec<Value>) -> Reply {
    let start = match cursor(r, "r") {
        Ok(s) => s,
        Err(e) => return Reply::Error(e),
    };
    let size = r.page_size();
    let mut items: Vec<Value> = fixed.iter().skip(start).take(size).cloned().collect();
    // A page filled by fixed resources says more follow: the provider's may.
    let mut more = items.len() == size;
    if items.len() < size {
        let offset = start.saturating_sub(fixed.len());
        let ctx = r.context(MrtrState::default());
        let timeout = r.server().config.default_timeout;
        match run((p.list)(offset, size - items.len(), ctx.clone()), timeout).await {
            Ok(page) => {
                items.extend(page.resources.iter().map(ResourceInfo::to_value));
                more = page.more;
            }
            Err(e) => return feature_error(r, &ctx, "Listing resources", e),
        }
    }
    let mut v = json!({ "resources": items });
    if more {
        v["nextCursor"] = next_cursor("r", start + items.len());
    }
    Reply::Result(v)
}
