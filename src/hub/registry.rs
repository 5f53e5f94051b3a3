//! Registering an upstream's items in our server: the exported names of its
//! tools (and prompts and resources, see the sibling modules), the names left
//! out because they collide, and the list caching hints the hub passes on.

use super::forward::remote_tool;
use super::{lock, set_status, Upstream};
use crate::client::Client;
use crate::protocol::Method;
use crate::server::{CacheHint, Server};
use serde_json::Value;
use std::sync::{Arc, Mutex, Weak};

/// The re-exported name of `tool` of upstream `server`: only characters the
/// spec allows, at most 128 of them.
pub fn exported_name(prefix: &str, sep: &str, server: &str, tool: &str) -> String {
    let raw = if prefix.is_empty() {
        format!("{server}{sep}{tool}")
    } else {
        format!("{prefix}{sep}{server}{sep}{tool}")
    };
    let mut s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    s.truncate(128);
    s
}

/// Re-list the upstream's tools and bring our registry in line with it.
pub(super) async fn refresh_tools(
    up: &Arc<Upstream>,
    client: &Client,
    server: &Weak<Server>,
) -> Result<(), String> {
    let (tools, hint) = client
        .list_all_hinted(Method::ToolsList.as_str(), "tools")
        .await
        .map_err(|e| format!("tools/list failed: {e}"))?;
    let Some(server) = server.upgrade() else {
        return Ok(());
    };
    note_list_hint(up, &server, Method::ToolsList.as_str(), hint);
    let _one_at_a_time = lock(&REGISTER);
    let registered = lock(&up.registered).clone();
    let taken = |exported: &str| {
        (server.tool(exported).is_some() && !registered.iter().any(|r| r == exported))
            .then_some("another upstream's or a built-in tool has that name")
    };
    let mut names = Vec::new();
    for (name, exported, t) in exports(up, "tool", &tools, taken) {
        server.add_tool(remote_tool(
            up.clone(),
            name.to_owned(),
            exported.clone(),
            t,
        ));
        names.push(exported);
    }
    retire(&up.registered, &names, |gone| {
        server.remove_tool(gone);
    });
    set_status(up, |s| s.tools = names.len());
    Ok(())
}

/// The items of an upstream's list (tools, prompts) that the hub re-exports,
/// with their upstream and exported names: nameless items and items the
/// upstream's allow/deny lists refuse are left out; so are exported names
/// that collide with an earlier item of the list or that `taken` refuses
/// (another upstream's, or a built-in, holds the name: it says why) —
/// those are logged and recorded in the upstream's `skipped` status.
pub(super) fn exports<'a>(
    up: &Upstream,
    kind: &str,
    items: &'a [Value],
    taken: impl Fn(&str) -> Option<&'static str>,
) -> Vec<(&'a str, String, &'a Value)> {
    let mut out: Vec<(&str, String, &Value)> = Vec::new();
    let mut skipped = Vec::new();
    for item in items {
        let Some(name) = item["name"].as_str() else {
            continue;
        };
        if !up.cfg.permits(name) {
            continue;
        }
        let exported = exported_name(&up.prefix, &up.separator, &up.cfg.name, name);
        let why = if out.iter().any(|(_, e, _)| *e == exported) {
            Some("another of its own maps to the same name")
        } else {
            taken(&exported)
        };
        if let Some(why) = why {
            skipped.push(format!("{kind} {name:?} as {exported}: {why}"));
            continue;
        }
        out.push((name, exported, item));
    }
    record_skipped(up, kind, skipped);
    out
}

/// Replace the `skipped` entries of `kind` in the upstream's status (each
/// new one is logged as a warning).
pub(super) fn record_skipped(up: &Upstream, kind: &str, new: Vec<String>) {
    let prefix = format!("{kind} ");
    let mut st = lock(&up.status);
    for s in &new {
        if !st.skipped.contains(s) {
            log::warn!("hub: upstream {}: skipped {s}", up.cfg.name);
        }
    }
    st.skipped.retain(|s| !s.starts_with(&prefix));
    st.skipped.extend(new);
}

/// Remember the caching hints an upstream gave for list `method` (`None`:
/// none) and limit our own lists' hints to the strictest of all upstreams':
/// a listing that includes upstream items claims no longer life (and no
/// wider scope) than any upstream claimed for its part.
pub(super) fn note_list_hint(
    up: &Upstream,
    server: &Server,
    method: &str,
    hint: Option<CacheHint>,
) {
    let mut all = lock(&up.list_hints);
    let key = format!("{} {method}", up.cfg.name);
    match hint {
        Some(h) => all.insert(key, h),
        None => all.remove(&key),
    };
    server.limit_list_cache(all.values().copied().reduce(CacheHint::min));
}

/// Held while an upstream checks which names are free and registers its
/// items, so two upstreams cannot both take the same name.
pub(super) static REGISTER: Mutex<()> = Mutex::new(());

/// Record `names` as what an upstream has registered in `list`, and
/// `remove` those it registered before and no longer has.
pub(super) fn retire(list: &Mutex<Vec<String>>, names: &[String], remove: impl Fn(&str)) {
    let old = std::mem::replace(&mut *lock(list), names.to_vec());
    for gone in old.iter().filter(|o| !names.contains(o)) {
        remove(gone);
    }
}
