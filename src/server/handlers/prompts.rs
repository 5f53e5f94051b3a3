//! `prompts/list` and `prompts/get`.

use super::super::features::PromptResult;
use super::super::request::{feature_error, page, run, NamedCall, Reply, Req};
use crate::jsonrpc::ErrorObject;
use crate::protocol::ProtocolVersion;
use crate::sync::RwLockExt;
use serde_json::{json, Value};

pub(super) fn prompts_list(r: &Req) -> Result<Value, ErrorObject> {
    let items: Vec<Value> = {
        let reg = r.server().registry.read_unpoisoned();
        reg.prompts.iter().map(|x| x.to_value(r.version)).collect()
    };
    page(r, "p", "prompts", items)
}

pub(super) async fn prompts_get(r: &Req) -> Reply {
    let NamedCall {
        name,
        arguments: args,
    } = match NamedCall::parse(r) {
        Ok(c) => c,
        Err(e) => return Reply::Error(e),
    };
    let prompt = {
        let reg = r.server().registry.read_unpoisoned();
        reg.prompts.iter().find(|p| p.name == name).cloned()
    };
    let Some(prompt) = prompt else {
        return Reply::Error(ErrorObject::invalid_params(format!(
            "Unknown prompt: {name}"
        )));
    };
    for a in prompt.arguments.iter().filter(|a| a.required) {
        if !args.get(&a.name).is_some_and(|v| v.is_string()) {
            return Reply::Error(ErrorObject::invalid_params(format!(
                "Prompt '{name}' needs the argument '{}' (a string)",
                a.name
            )));
        }
    }
    let mrtr = match r.mrtr_state() {
        Ok(s) => s,
        Err(e) => return Reply::Error(e),
    };
    let ctx = r.context(mrtr);
    match run(
        (prompt.get)(args, ctx.clone()),
        r.server().config.default_timeout,
    )
    .await
    {
        Ok(p) => Reply::Result(prompt_value(&p, r.version)),
        Err(e) => feature_error(r, &ctx, "Rendering the prompt", e),
    }
}

fn prompt_value(p: &PromptResult, version: ProtocolVersion) -> Value {
    let messages: Vec<Value> = p
        .messages
        .iter()
        .map(|m| json!({"role": m.role, "content": m.content.to_value_for(version)}))
        .collect();
    let mut v = json!({ "messages": messages });
    if let Some(d) = &p.description {
        v["description"] = json!(d);
    }
    v
}
