//! `completion/complete`: argument completions of prompts and resource templates.

use super::super::request::Req;
use crate::jsonrpc::ErrorObject;
use crate::sync::RwLockExt;
use serde_json::{json, Value};

pub(super) fn complete(r: &Req) -> Result<Value, ErrorObject> {
    let reference = r.obj_param("ref")?;
    let argument = r.obj_param("argument")?;
    let arg_name = argument
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ErrorObject::invalid_params(
                "completion/complete needs \"argument\": {\"name\", \"value\"}",
            )
        })?;
    let arg_value = argument.get("value").and_then(Value::as_str).unwrap_or("");
    let reg = r.server().registry.read_unpoisoned();
    let completer = match reference.get("type").and_then(Value::as_str) {
        Some("ref/prompt") => {
            let name = reference.get("name").and_then(Value::as_str).unwrap_or("");
            let p =
                reg.prompts.iter().find(|p| p.name == name).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown prompt: {name}"))
                })?;
            p.complete.clone()
        }
        Some("ref/resource") => {
            let uri = reference.get("uri").and_then(Value::as_str).unwrap_or("");
            let t = reg
                .templates
                .iter()
                .find(|t| t.uri_template == uri)
                .ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown resource template: {uri}"))
                })?;
            t.complete.clone()
        }
        _ => {
            return Err(ErrorObject::invalid_params(
                "\"ref.type\" must be \"ref/prompt\" or \"ref/resource\"",
            ))
        }
    };
    drop(reg);
    let mut values = completer
        .map(|c| c(arg_name, arg_value))
        .unwrap_or_default();
    let total = values.len();
    values.truncate(100);
    Ok(json!({"completion": {"values": values, "total": total, "hasMore": total > 100}}))
}
