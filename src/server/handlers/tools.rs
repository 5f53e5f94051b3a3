//! `tools/list` and `tools/call`.

use super::super::error::ToolError;
use super::super::request::{input_required, page, run, NamedCall, Reply, Req, RunError};
use super::super::shape;
use super::super::tool::ToolResult;
use super::tasks::{Inline, Mode};
use crate::jsonrpc::ErrorObject;
use crate::sync::RwLockExt;
use serde_json::Value;
use tokio::sync::oneshot;

pub(super) fn tools_list(r: &Req) -> Result<Value, ErrorObject> {
    let items: Vec<Value> = {
        let reg = r.server().registry.read_unpoisoned();
        reg.tools
            .iter()
            .map(|t| shape::tool_for(t, r.version))
            .collect()
    };
    page(r, "t", "tools", items)
}

pub(super) async fn tools_call(r: &Req) -> Reply {
    let NamedCall {
        name,
        arguments: args,
    } = match NamedCall::parse(r) {
        Ok(c) => c,
        Err(e) => return Reply::Error(e),
    };
    let Some(tool) = r.server().tool(&name) else {
        return Reply::Error(ErrorObject::invalid_params(format!("Unknown tool: {name}")));
    };
    if let Err(msg) = tool.validate(&args) {
        return Reply::Result(shape::tool_result_for(&ToolResult::error(msg), r.version));
    }
    let mode = if super::tasks_legacy::has_tasks(r) {
        super::tasks_legacy::mode(r, &tool)
    } else {
        super::tasks::mode(r, &tool)
    };
    let mode = match mode {
        Ok(Mode::Task) => {
            return super::tasks::start(r, &tool, args)
                .map(super::tasks::created)
                .into()
        }
        Ok(Mode::LegacyTask) => return super::tasks_legacy::start(r, &tool, args).into(),
        Ok(m) => m,
        Err(e) => return Reply::Error(e),
    };
    let mrtr = match r.mrtr_state() {
        Ok(s) => s,
        Err(e) => return Reply::Error(e),
    };
    let ctx = r.context(mrtr);
    let timeout = tool.timeout.unwrap_or(r.server().config.default_timeout);
    let res = if mode == Mode::InlineFirst {
        let (tx, rx) = oneshot::channel();
        ctx.arm_escalation(tx);
        let work = Box::pin(run((tool.handler)(args, ctx.clone()), timeout));
        match super::tasks::inline_first(r, &name, work, rx).await {
            Inline::Task(created) => return created.into(),
            Inline::Done(res) => res,
        }
    } else {
        run((tool.handler)(args, ctx.clone()), timeout).await
    };
    let result = match res {
        Ok(res) => res,
        Err(RunError::Handler(ToolError::Tool(m))) => ToolResult::error(m),
        Err(RunError::Handler(ToolError::Protocol(e))) => return Reply::Error(e),
        Err(RunError::Handler(ToolError::InputRequired(p))) => {
            if r.version.is_modern() {
                return Reply::Result(input_required(r, &ctx, p));
            }
            return Reply::Error(ErrorObject::internal(
                "tool asked for input in a way this protocol cannot carry",
            ));
        }
        Err(RunError::Timeout(d)) => ToolResult::error(format!(
            "Tool '{name}' timed out after {} ms and was stopped",
            d.as_millis()
        )),
        Err(RunError::Panic(m)) => {
            log::error!("tool {name} panicked: {m}");
            return Reply::Error(ErrorObject::internal(format!(
                "Tool '{name}' failed: handler panicked: {m}"
            )));
        }
    };
    if r.server().config.validate_output && !result.is_error {
        if let Some(structured) = &result.structured {
            if let Err(msg) = tool.validate_output(structured) {
                log::error!("{msg}");
                return Reply::Error(ErrorObject::internal(msg));
            }
        }
    }
    Reply::Result(shape::tool_result_for(&result, r.version))
}
