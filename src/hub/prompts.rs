//! Upstream prompts re-exported as `remote_<server>_<prompt>` (same naming
//! and allow/deny rules as tools), rendered by the upstream on `prompts/get`.

use super::registry::{exports, note_list_hint, retire, REGISTER};
use super::{lock, Upstream};
use crate::client::Client;
use crate::protocol::Content;
use crate::protocol::Method;
use crate::server::{
    Prompt, PromptArgument, PromptMessage, PromptResult, RequestContext, Server, ToolError,
};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Weak};

/// Re-list the upstream's prompts (when it declares the capability) and
/// bring our registry in line.
pub(super) async fn refresh(
    up: &Arc<Upstream>,
    client: &Client,
    server: &Weak<Server>,
    has_prompts: bool,
) -> Result<(), String> {
    let (prompts, hint) = if has_prompts {
        client
            .list_all_hinted(Method::PromptsList.as_str(), "prompts")
            .await
            .map_err(|e| format!("prompts/list failed: {e}"))?
    } else {
        (Vec::new(), None)
    };
    let Some(server) = server.upgrade() else {
        return Ok(());
    };
    note_list_hint(up, &server, Method::PromptsList.as_str(), hint);
    let _one_at_a_time = lock(&REGISTER);
    let mine = lock(&up.prompts).clone();
    let taken = |exported: &str| {
        (server.has_prompt(exported) && !mine.iter().any(|m| m == exported))
            .then_some("another upstream's or a built-in prompt has that name")
    };
    let mut names = Vec::new();
    for (name, exported, p) in exports(up, "prompt", &prompts, taken) {
        server.add_prompt(remote_prompt(
            up.clone(),
            name.to_owned(),
            exported.clone(),
            p,
        ));
        names.push(exported);
    }
    retire(&up.prompts, &names, |gone| {
        server.remove_prompt(gone);
    });
    Ok(())
}

fn remote_prompt(
    up: Arc<Upstream>,
    upstream_name: String,
    exported: String,
    def: &Value,
) -> Prompt {
    let mut prompt = Prompt::new(exported, move |args, ctx| {
        let up = up.clone();
        let name = upstream_name.clone();
        async move { get(&up, &name, args, &ctx).await }
    });
    prompt.title = def["title"].as_str().map(String::from);
    prompt.description = def["description"].as_str().map(String::from);
    prompt.icons = def["icons"].as_array().cloned().unwrap_or_default();
    prompt.meta = def.get("_meta").and_then(Value::as_object).cloned();
    prompt.arguments = def["arguments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| {
            Some(PromptArgument {
                name: a["name"].as_str()?.to_owned(),
                description: a["description"].as_str().map(String::from),
                required: a["required"].as_bool().unwrap_or(false),
            })
        })
        .collect();
    prompt
}

async fn get(
    up: &Upstream,
    name: &str,
    args: Map<String, Value>,
    ctx: &RequestContext,
) -> Result<PromptResult, ToolError> {
    let mut p = Map::new();
    p.insert("name".into(), json!(name));
    p.insert("arguments".into(), Value::Object(args));
    let r = super::forward::relay(up, Method::PromptsGet.as_str(), p, None, ctx).await?;
    Ok(prompt_result_from(&r))
}

/// An upstream `GetPromptResult` as ours; unknown content kinds become text.
fn prompt_result_from(r: &Value) -> PromptResult {
    PromptResult {
        description: r["description"].as_str().map(String::from),
        messages: r["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| PromptMessage {
                role: m["role"].as_str().unwrap_or("user").to_owned(),
                content: serde_json::from_value::<Content>(m["content"].clone())
                    .unwrap_or_else(|_| Content::text(m["content"].to_string())),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_results_convert() {
        let r = prompt_result_from(&json!({"description": "d", "messages": [
            {"role": "assistant", "content": {"type": "text", "text": "hi"}},
            {"role": "user", "content": {"type": "odd"}}]}));
        assert_eq!(r.description.as_deref(), Some("d"));
        assert_eq!(r.messages[0].role, "assistant");
        assert_eq!(r.messages[0].content, Content::text("hi"));
        assert!(
            matches!(&r.messages[1].content, Content::Text { text, .. } if text.contains("odd"))
        );
    }
}
