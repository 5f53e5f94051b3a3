//! The official Rust SDK (`rmcp`) as a client of the fixture over stdio, in all three
//! lifecycle modes it offers: legacy `initialize` and modern `server/discover`.

mod support;

use support::rmcp_calls::{args, fast_call_answered_during_slow_one, text};

use rmcp::model::{CallToolRequestParams, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{RoleClient, ServiceExt};
use serde_json::json;

async fn connect(mode: Option<ClientLifecycleMode>) -> RunningService<RoleClient, ()> {
    let mut cmd = tokio::process::Command::new(support::example("everything"));
    cmd.arg("--stdio");
    let transport = TokioChildProcess::new(cmd).expect("spawn the fixture server");
    match mode {
        None => ().serve(transport).await.expect("rmcp legacy handshake"),
        Some(m) => ().serve_with_lifecycle(transport, m).await.expect("rmcp lifecycle"),
    }
}

async fn exercise(client: RunningService<RoleClient, ()>) {
    let tools = client.list_all_tools().await.expect("tools/list");
    let names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    assert!(
        names.contains(&"echo".to_string()) && names.contains(&"sleep".to_string()),
        "{names:?}"
    );

    let r = client
        .call_tool(
            CallToolRequestParams::new("echo").with_arguments(args(json!({"text": "from rmcp"}))),
        )
        .await
        .expect("echo");
    assert_eq!(text(&r), "from rmcp");

    // A fast call is answered while a slow one runs.
    fast_call_answered_during_slow_one(&client, 2000).await;

    let r = client
        .call_tool(
            CallToolRequestParams::new("add").with_arguments(args(json!({"a": 1.5, "b": 2}))),
        )
        .await
        .expect("add");
    assert_eq!(
        serde_json::to_value(&r).unwrap()["structuredContent"]["sum"],
        3.5
    );
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn rmcp_legacy_initialize() {
    exercise(connect(None).await).await;
}

#[tokio::test]
async fn rmcp_modern_discover() {
    let mode = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    exercise(connect(Some(mode)).await).await;
}

#[tokio::test]
async fn rmcp_auto_picks_modern() {
    let mode = ClientLifecycleMode::Auto {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        legacy_version: None,
    };
    exercise(connect(Some(mode)).await).await;
}
