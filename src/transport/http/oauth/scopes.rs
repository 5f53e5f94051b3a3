//! What a token may do: the `lmcp:*` scopes, which tools each one opens,
//! and the per-request checks and `tools/list` filter built on them.
//!
//! The scopes nest: `lmcp:read` < `lmcp:write` < `lmcp:exec`. A token's
//! level is the highest it holds. `lmcp:read` opens the tools that change
//! nothing (file reading and search, `systeminfo`, `ping`, `hub_status`, and
//! the web tools `fetch` and `web_search`, which read the network), the
//! resources and the prompts; `lmcp:write` adds the tools that change files;
//! `lmcp:exec` adds the shell and its background jobs, and every tool this
//! table does not know (the hub's re-exported tools, an embedder's own),
//! since lmcp cannot tell what those do.

use crate::protocol::Method;
use serde_json::Value;

/// The scope that reads.
pub const SCOPE_READ: &str = "lmcp:read";
/// The scope that adds file writers.
pub const SCOPE_WRITE: &str = "lmcp:write";
/// The scope that adds the shell, jobs and unknown (e.g. hub) tools.
pub const SCOPE_EXEC: &str = "lmcp:exec";
/// Every scope, for `scopes_supported` and challenges.
pub const ALL_SCOPES: [&str; 3] = [SCOPE_READ, SCOPE_WRITE, SCOPE_EXEC];

/// How much a token may do; the levels nest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// No `lmcp:*` scope: only `initialize`, `ping` and an empty tool list.
    None,
    /// `lmcp:read`.
    Read,
    /// `lmcp:write`.
    Write,
    /// `lmcp:exec`.
    Exec,
}

impl Level {
    /// The highest level among space-separated scope names.
    pub fn from_scopes<'a>(scopes: impl IntoIterator<Item = &'a str>) -> Level {
        scopes
            .into_iter()
            .map(|s| match s {
                SCOPE_READ => Level::Read,
                SCOPE_WRITE => Level::Write,
                SCOPE_EXEC => Level::Exec,
                _ => Level::None,
            })
            .max()
            .unwrap_or(Level::None)
    }

    /// The scope to ask for to reach this level.
    pub fn scope(self) -> &'static str {
        match self {
            Level::None | Level::Read => SCOPE_READ,
            Level::Write => SCOPE_WRITE,
            Level::Exec => SCOPE_EXEC,
        }
    }
}

const READ_TOOLS: &[&str] = &[
    "read_file",
    "list_dir",
    "search_files",
    "file_info",
    "systeminfo",
    "ping",
    "hub_status",
    "fetch",
    "web_search",
];
const WRITE_TOOLS: &[&str] = &["write_file", "edit_file", "make_dir", "move_file"];

/// The level a tool needs. The shell and job tools, and every tool not
/// built into lmcp (hub tools), need `lmcp:exec`.
pub fn tool_level(name: &str) -> Level {
    if READ_TOOLS.contains(&name) {
        Level::Read
    } else if WRITE_TOOLS.contains(&name) {
        Level::Write
    } else {
        Level::Exec
    }
}

/// The level a request needs: its tool's for `tools/call`, `lmcp:read` for
/// resources, prompts, completions and tasks, none for the rest (`tools/list` is
/// filtered instead).
pub fn request_level(method: Option<Method>, tool: Option<&str>) -> Level {
    use Method::*;
    match method {
        Some(ToolsCall) => tool_level(tool.unwrap_or("")),
        Some(
            Complete
            | Listen
            | ResourcesList
            | ResourceTemplatesList
            | ResourcesRead
            | ResourcesSubscribe
            | ResourcesUnsubscribe
            | PromptsList
            | PromptsGet
            // A task's state: its call was authorised when it was created.
            | TasksGet
            | TasksUpdate
            | TasksCancel
            | TasksResult
            | TasksList,
        ) => Level::Read,
        Some(Initialize | Ping | Discover | ToolsList | SetLogLevel) | None => Level::None,
    }
}

/// Drop the tools above `level` from a `tools/list` result.
pub fn filter_tool_list(result: &mut Value, level: Level) {
    if let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) {
        tools.retain(|t| {
            t.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| tool_level(n) <= level)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use Method::*;

    #[test]
    fn levels_nest() {
        assert_eq!(
            Level::from_scopes("openid lmcp:read".split(' ')),
            Level::Read
        );
        assert_eq!(Level::from_scopes(["lmcp:exec", "lmcp:read"]), Level::Exec);
        assert_eq!(Level::from_scopes(["profile"]), Level::None);
        assert_eq!(Level::from_scopes([]), Level::None);
        assert!(Level::Exec > Level::Write && Level::Write > Level::Read);
    }

    #[test]
    fn tools_and_methods() {
        assert_eq!(tool_level("read_file"), Level::Read);
        assert_eq!(tool_level("write_file"), Level::Write);
        assert_eq!(tool_level("shell"), Level::Exec);
        assert_eq!(tool_level("shell_bg_kill"), Level::Exec);
        assert_eq!(tool_level("remote_ev_echo"), Level::Exec);
        assert_eq!(
            request_level(Some(ToolsCall), Some("edit_file")),
            Level::Write
        );
        assert_eq!(request_level(Some(ResourcesRead), None), Level::Read);
        assert_eq!(request_level(Some(PromptsGet), None), Level::Read);
        assert_eq!(request_level(Some(ToolsList), None), Level::None);
        assert_eq!(request_level(Some(ToolsCall), None), Level::Exec);
    }

    #[test]
    fn list_filter() {
        let mut r =
            json!({"tools": [{"name": "shell"}, {"name": "read_file"}, {"name": "write_file"}]});
        filter_tool_list(&mut r, Level::Write);
        assert_eq!(
            r,
            json!({"tools": [{"name": "read_file"}, {"name": "write_file"}]})
        );
        filter_tool_list(&mut r, Level::None);
        assert_eq!(r, json!({"tools": []}));
    }
}
