//! `lmcp::client` used as a library: connect to the `everything` example
//! over stdio, detect its era, list its tools and call one.
#![cfg(feature = "hub")]

mod common;

use lmcp::client::{Era, StdioSpawn};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn stdio_client_connects_lists_and_calls() {
    let spawn = StdioSpawn {
        command: common::everything_path().display().to_string(),
        args: vec!["--stdio".into()],
        ..Default::default()
    };
    let (client, mut child) = spawn.spawn().expect("spawn the example server");
    let limit = Duration::from_secs(60); // against hangs only
    let hello = tokio::time::timeout(limit, client.connect())
        .await
        .expect("connect in time")
        .expect("connect");
    assert!(matches!(hello.era, Era::Modern(_)), "{:?}", hello.era);
    assert!(hello.capabilities.get("tools").is_some(), "{hello:?}");

    let tools = client.list_tools().await.expect("tools/list");
    let echo = tools
        .iter()
        .find(|t| t["name"] == "echo")
        .expect("the example has echo");
    assert_eq!(echo["title"], "Echo");
    assert_eq!(echo["inputSchema"]["type"], "object");

    let r = client
        .call_tool("echo", json!({"text": "from the library"}), limit)
        .await
        .expect("tools/call");
    assert_eq!(r["content"][0]["text"], "from the library");
    assert_ne!(r["isError"], true);

    // A tool error is a result, not an Err.
    let r = client
        .call_tool("fail", json!({}), limit)
        .await
        .expect("tools/call");
    assert_eq!(r["isError"], true);

    drop(client);
    let _ = child.kill().await;
}

#[tokio::test]
async fn stdio_client_speaks_legacy_when_asked() {
    let spawn = StdioSpawn {
        command: common::everything_path().display().to_string(),
        args: vec!["--stdio".into()],
        ..Default::default()
    };
    let (client, mut child) = spawn.spawn().expect("spawn the example server");
    let hello = tokio::time::timeout(Duration::from_secs(60), client.connect_legacy())
        .await
        .expect("initialize in time")
        .expect("initialize");
    assert!(matches!(hello.era, Era::Legacy(_)), "{:?}", hello.era);
    let r = client
        .call_tool("echo", json!({"text": "old"}), Duration::from_secs(60))
        .await
        .expect("tools/call");
    assert_eq!(r["content"][0]["text"], "old");
    drop(client);
    let _ = child.kill().await;
}
