//! The MCP methods, one file per family (mini-redis keeps one file per
//! command): each parses its parameters from a [`Req`], applies it and
//! renders the result. [`route`] is the one `match` over [`Method`].

mod completion;
mod lifecycle;
mod listen;
mod prompts;
mod resources;
mod tasks;
mod tasks_legacy;
mod tools;

pub(crate) use lifecycle::initialize;

use super::request::{Reply, Req};
use crate::jsonrpc::ErrorObject;
use crate::protocol::Method;
use serde_json::json;

/// Route a validated request to its method.
pub(crate) async fn route(r: Req) -> Reply {
    if r.method.reads_lists() {
        r.server().run_list_hook().await;
    }
    match r.method {
        Method::Discover => Ok(lifecycle::discover(&r)).into(),
        Method::ToolsList => tools::tools_list(&r).into(),
        Method::ToolsCall => tools::tools_call(&r).await,
        Method::ResourcesList => resources::resources_list(&r).await,
        Method::ResourceTemplatesList => resources::templates_list(&r).into(),
        Method::ResourcesRead => resources::resources_read(&r).await,
        Method::ResourcesSubscribe => resources::subscribe(&r, true).into(),
        Method::ResourcesUnsubscribe => resources::subscribe(&r, false).into(),
        Method::PromptsList => prompts::prompts_list(&r).into(),
        Method::PromptsGet => prompts::prompts_get(&r).await,
        Method::Complete => completion::complete(&r).into(),
        Method::SetLogLevel => lifecycle::set_level(&r).into(),
        Method::Listen => listen::listen(r).await,
        Method::TasksGet if !r.version.is_modern() => tasks_legacy::get(&r).into(),
        Method::TasksCancel if !r.version.is_modern() => tasks_legacy::cancel(&r).into(),
        Method::TasksResult => tasks_legacy::result(&r).await,
        Method::TasksList => tasks_legacy::list(&r).into(),
        Method::TasksGet => tasks::get(&r).into(),
        Method::TasksUpdate => tasks::update(&r).into(),
        Method::TasksCancel => tasks::cancel(&r).into(),
        Method::Ping => Reply::Result(json!({})),
        // Answered by the dispatcher, which holds the session.
        Method::Initialize => Reply::Error(ErrorObject::method_not_found(r.method.as_str())),
    }
}
