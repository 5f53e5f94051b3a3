//! `Parsers::in_process()`: an embedder who ships no `lmcp-extract` still
//! reads documents with `read_file`, while the default (the helper) says
//! where it looked for the missing helper.
#![cfg(feature = "docs")]

use lmcp::server::{Tool, ToolResult};
use lmcp::tools::extract_helper::{Parsers, HELPER_ENV};
use lmcp::tools::fs::FsConfig;
use lmcp::tools::roots::Roots;
use lmcp::{Content, RequestContext};
use serde_json::{json, Value};
use std::sync::Arc;

/// `read_file` over a root holding `t.csv`, with `parsers`.
fn read_file(root: &std::path::Path, parsers: Parsers) -> Tool {
    let cfg = FsConfig {
        parsers,
        ..FsConfig::with_roots(Roots::new(vec![root.to_path_buf()]).unwrap())
    };
    lmcp::tools::fs::tools(Arc::new(cfg))
        .into_iter()
        .find(|t| t.name == "read_file")
        .unwrap()
}

async fn call(tool: &Tool) -> ToolResult {
    let Value::Object(args) = json!({"path": "t.csv"}) else {
        unreachable!()
    };
    match (tool.handler)(args, RequestContext::detached()).await {
        Ok(r) => r,
        Err(e) => ToolResult::error(format!("{e:?}")),
    }
}

fn text(r: &ToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| match c {
            Content::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn documents_are_read_in_process_without_the_helper() {
    // No helper anywhere: LMCP_EXTRACT names a file that does not exist
    // (this test binary is the only one that reads the variable).
    std::env::set_var(HELPER_ENV, "/nonexistent/lmcp-extract");
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::write(root.join("t.csv"), "name,size\nalpha,1\nbeta,2\n").unwrap();

    assert!(Parsers::in_process().is_in_process());
    let r = call(&read_file(&root, Parsers::in_process())).await;
    let out = text(&r);
    assert!(!r.is_error, "{out}");
    assert!(out.contains("alpha") && out.contains("beta"), "{out}");

    // The default parses in the helper, which is missing here: the error
    // says where it was looked for and what to do.
    assert!(!FsConfig::default().parsers.is_in_process());
    let r = call(&read_file(&root, Parsers::helper())).await;
    let out = text(&r);
    assert!(r.is_error, "{out}");
    assert!(
        out.contains("/nonexistent/lmcp-extract (set by LMCP_EXTRACT)"),
        "{out}"
    );
}
