//! `list_roots`: the directories the file tools may touch, as the agent
//! should use them.

use super::{roots_with_source, FsConfig, RootsSource};
use crate::server::{Tool, ToolResult};
use serde_json::json;
use std::sync::Arc;

/// The `list_roots` tool.
pub(crate) fn tool(cfg: Arc<FsConfig>) -> Tool {
    Tool::new(
        "list_roots",
        "List the directories the file tools may touch (absolute paths). The first is the base of relative paths; \
         `~/` expands to the home directory. Also says whether the server is read-only and where the roots came \
         from (command line or client).",
        move |_args, ctx| {
            let cfg = cfg.clone();
            async move {
                let (roots, source) = roots_with_source(&cfg, &ctx).await?;
                let (source, source_id) = match source {
                    RootsSource::Server => ("command line", "command_line"),
                    RootsSource::ClientNarrowed => ("client (narrowing the command line's roots)", "client_narrowed"),
                    RootsSource::Client => ("client", "client"),
                };
                let paths: Vec<String> = roots
                    .paths()
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                let mut text = String::new();
                for (i, p) in paths.iter().enumerate() {
                    let note = if i == 0 { " (first: relative paths start here)" } else { "" };
                    text.push_str(&format!("{}{note}\n", super::escape_name(p)));
                }
                if paths.is_empty() {
                    text.push_str("(no roots: every path is refused)\n");
                }
                text.push_str(&format!(
                    "Source: {source}. {}",
                    if cfg.read_only {
                        "Read-only: the writing tools are not offered."
                    } else {
                        "Writable."
                    }
                ));
                let roots_json: Vec<_> = paths
                    .iter()
                    .enumerate()
                    .map(|(i, p)| json!({"path": p, "first": i == 0}))
                    .collect();
                Ok(ToolResult::text(text).with_structured(json!({
                    "roots": roots_json,
                    "read_only": cfg.read_only,
                    "source": source_id,
                })))
            }
        },
    )
    .title("List roots")
    .read_only()
    .idempotent()
    .open_world(false)
    .output_schema(crate::tools::schemas::stored!("list_roots.output" => json!({
        "type": "object",
        "properties": {
            "roots": {"type": "array", "items": {"type": "object", "properties": {
                "path": {"type": "string", "description": "Absolute path of the root."},
                "first": {"type": "boolean", "description": "Whether relative paths start here."}
            }, "required": ["path", "first"]}},
            "read_only": {"type": "boolean"},
            "source": {"type": "string", "enum": ["command_line", "client_narrowed", "client"]}
        },
        "required": ["roots", "read_only", "source"]
    })))
}
