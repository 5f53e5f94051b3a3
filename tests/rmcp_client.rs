//! The official Rust SDK (`rmcp`) as a client of `lmcp --stdio` and of the
//! `everything` example: legacy handshake and modern discovery, tools/list,
//! tools/call, and a fast call answered while a slow one is in flight.
//!
//! The server runs behind `sh -c 'tee IN | server --stdio | tee OUT'` so the
//! test can read what rmcp sent (which protocol version it asks for) and
//! validate every line the server wrote against the official schemas.
//!
//! Finding: rmcp 3.11's `ServiceExt::serve` opens with a legacy `initialize`
//! naming `protocolVersion: "2026-07-28"` (its `LATEST`, although that
//! revision has no `initialize`); lmcp treats it as unknown for a handshake and
//! answers `2025-11-25`, which rmcp accepts. With
//! `ClientLifecycleMode::Discover` it sends `server/discover` and then
//! requests carrying `_meta["io.modelcontextprotocol/protocolVersion"] =
//! "2026-07-28"`. Both are asserted below.

mod common;

use common::{everything_path, lmcp_path, Checker};
use rmcp::model::{CallToolRequestParams, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(30);

/// A transcript of one client session: what the client sent and what the
/// server wrote.
struct Transcript {
    dir: PathBuf,
}

impl Transcript {
    fn new(name: &str) -> Transcript {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("rmcp-client")
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("transcript dir");
        Transcript { dir }
    }

    fn command(&self, server: &Path) -> tokio::process::Command {
        let script = format!(
            "tee '{}' | '{}' --stdio | tee '{}'",
            self.dir.join("in.jsonl").display(),
            server.display(),
            self.dir.join("out.jsonl").display()
        );
        tokio::process::Command::new("sh").configure(|c| {
            c.arg("-c").arg(script);
        })
    }

    fn lines(&self, file: &str) -> Vec<Vec<u8>> {
        std::fs::read(self.dir.join(file))
            .unwrap_or_default()
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// The messages the client sent.
    fn sent(&self) -> Vec<Value> {
        self.lines("in.jsonl")
            .iter()
            .map(|l| serde_json::from_slice(l).expect("rmcp sends JSON lines"))
            .collect()
    }

    /// Validate every line the server wrote; returns them.
    fn validate_server_output(&self) -> Vec<Value> {
        let mut checker = Checker::default();
        for m in self.sent() {
            checker.register(&m);
        }
        let out = self.lines("out.jsonl");
        assert!(!out.is_empty(), "the server wrote nothing");
        out.iter()
            .map(|l| checker.check_line(l).unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }
}

async fn timed<T, F: std::future::Future<Output = T>>(what: &str, f: F) -> T {
    match tokio::time::timeout(DEADLINE, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what} did not finish within {DEADLINE:?}"),
    }
}

fn call(name: &'static str, args: Value) -> CallToolRequestParams {
    let mut p = CallToolRequestParams::new(name);
    p.arguments = args.as_object().cloned();
    p
}

fn text_of(r: &rmcp::model::CallToolResult) -> String {
    let v = serde_json::to_value(r).expect("serialise result");
    v["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn connect_legacy(t: &Transcript, server: &Path) -> RunningService<RoleClient, ()> {
    let transport = TokioChildProcess::new(t.command(server)).expect("spawn");
    timed("rmcp initialize", ().serve(transport))
        .await
        .expect("rmcp handshake")
}

async fn connect_modern(t: &Transcript, server: &Path) -> RunningService<RoleClient, ()> {
    let transport = TokioChildProcess::new(t.command(server)).expect("spawn");
    let mode = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    timed("rmcp discover", ().serve_with_lifecycle(transport, mode))
        .await
        .expect("rmcp discover")
}

/// echo answered while sleep 3000 runs; both complete.
async fn echo_while_sleeping(client: &RunningService<RoleClient, ()>) {
    let peer = client.peer().clone();
    let slow =
        tokio::spawn(async move { peer.call_tool(call("sleep", json!({"ms": 3000}))).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    let r = timed(
        "echo",
        client.call_tool(call("echo", json!({"text": "fast"}))),
    )
    .await
    .expect("echo");
    let took = start.elapsed();
    assert_eq!(text_of(&r), "fast");
    assert!(
        took < Duration::from_secs(1),
        "echo took {took:?} behind a sleep"
    );
    assert!(!slow.is_finished(), "the sleep cannot be done yet");
    let r = timed("sleep", slow).await.expect("join").expect("sleep");
    assert_eq!(text_of(&r), "slept 3000 ms");
}

fn sent_initialize_version(t: &Transcript) -> String {
    let sent = t.sent();
    let init = sent
        .iter()
        .find(|m| m["method"] == json!("initialize"))
        .unwrap_or_else(|| panic!("rmcp sent no initialize: {sent:?}"));
    init["params"]["protocolVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_legacy_client_against_lmcp() {
    let t = Transcript::new("legacy-lmcp");
    let client = connect_legacy(&t, &lmcp_path()).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("lmcp")
    );
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    let tools = timed("list", client.list_all_tools())
        .await
        .expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "ping"), "{tools:?}");
    let r = timed("ping", client.call_tool(call("ping", json!({}))))
        .await
        .expect("ping");
    assert!(text_of(&r).starts_with("pong"), "{}", text_of(&r));
    timed("cancel", client.cancel()).await.expect("close");
    // rmcp asks for its latest revision; the handshake settles on 2025-11-25.
    assert_eq!(sent_initialize_version(&t), "2026-07-28");
    t.validate_server_output();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_legacy_client_against_everything() {
    let t = Transcript::new("legacy-everything");
    let client = connect_legacy(&t, &everything_path()).await;
    let info = client.peer_info().expect("server info");
    assert_eq!(
        info.server_info.as_ref().map(|i| i.name.as_str()),
        Some("everything")
    );
    assert_eq!(info.protocol_version, ProtocolVersion::V_2025_11_25);
    let tools = timed("list", client.list_all_tools())
        .await
        .expect("tools/list");
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for n in ["echo", "sleep", "add"] {
        assert!(names.contains(&n), "{names:?}");
    }
    let r = timed(
        "echo",
        client.call_tool(call("echo", json!({"text": "héllo"}))),
    )
    .await
    .expect("echo");
    assert_eq!(text_of(&r), "héllo");
    let r = timed(
        "add",
        client.call_tool(call("add", json!({"a": 1, "b": 2}))),
    )
    .await
    .expect("add");
    assert_eq!(r.structured_content, Some(json!({"sum": 3.0})));
    echo_while_sleeping(&client).await;
    timed("cancel", client.cancel()).await.expect("close");
    // rmcp asks for its latest revision; the handshake settles on 2025-11-25.
    assert_eq!(sent_initialize_version(&t), "2026-07-28");
    t.validate_server_output();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_modern_client_against_everything() {
    let t = Transcript::new("modern-everything");
    let client = connect_modern(&t, &everything_path()).await;
    let tools = timed("list", client.list_all_tools())
        .await
        .expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "echo"), "{tools:?}");
    let r = timed(
        "echo",
        client.call_tool(call("echo", json!({"text": "modern"}))),
    )
    .await
    .expect("echo");
    assert_eq!(text_of(&r), "modern");
    echo_while_sleeping(&client).await;
    timed("cancel", client.cancel()).await.expect("close");
    let sent = t.sent();
    assert_eq!(
        sent[0]["method"],
        json!("server/discover"),
        "rmcp opens with discover: {:?}",
        sent[0]
    );
    assert!(
        sent.iter().all(|m| m["method"] != json!("initialize")),
        "no initialize in the modern lifecycle"
    );
    for m in sent
        .iter()
        .filter(|m| m.get("id").is_some() && m.get("method").is_some())
    {
        assert_eq!(
            m["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"],
            json!("2026-07-28"),
            "every modern request carries the version: {m}"
        );
    }
    let out = t.validate_server_output();
    assert!(out
        .iter()
        .filter(|m| m.get("result").is_some())
        .all(|m| m["result"]["resultType"].is_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rmcp_modern_client_against_lmcp() {
    let t = Transcript::new("modern-lmcp");
    let client = connect_modern(&t, &lmcp_path()).await;
    let r = timed("ping", client.call_tool(call("ping", json!({}))))
        .await
        .expect("ping");
    assert!(text_of(&r).starts_with("pong"), "{}", text_of(&r));
    timed("cancel", client.cancel()).await.expect("close");
    t.validate_server_output();
}
