//! The official Rust SDK (`rmcp`) as a Streamable HTTP client of the fixture,
//! legacy (`initialize`, `Mcp-Session-Id`) and modern (`server/discover`,
//! stateless requests): tools/list, calls, an error result, and a fast call
//! answered while a slow one runs.
//!
//! rmcp talks to the server through a recording TCP proxy in this test, so
//! every HTTP response the server wrote (JSON bodies and SSE events alike)
//! is validated afterwards against the official schema of its era.

mod support;

use rmcp::model::{CallToolRequestParams, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Map, Value};
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Fixture(Child);

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the fixture on an ephemeral port; returns it and its port.
fn fixture() -> (Fixture, u16) {
    let mut child = Command::new(support::example("everything"))
        .args(["--http", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let _ = tx.send(rest.split('/').next().unwrap_or("0").parse().unwrap_or(0));
            }
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(10)).expect("port");
    (Fixture(child), port)
}

/// Bytes the server sent, one buffer per proxied connection.
type Recording = Arc<Mutex<Vec<Arc<Mutex<Vec<u8>>>>>>;

/// A TCP proxy to `port` that keeps every byte the server sent, per connection.
async fn recording_proxy(port: u16) -> (u16, Recording) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = listener.local_addr().unwrap().port();
    let log: Recording = Arc::default();
    let conns = log.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let record: Arc<Mutex<Vec<u8>>> = Arc::default();
            conns.lock().unwrap().push(record.clone());
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut cr, &mut sw).await;
                let _ = sw.shutdown().await;
            });
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                loop {
                    match sr.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            record.lock().unwrap().extend_from_slice(&buf[..n]);
                            if cw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = cw.shutdown().await;
            });
        }
    });
    (local, log)
}

/// The JSON-RPC messages in one connection's server-to-client bytes:
/// consecutive HTTP/1.1 responses, bodies by Content-Length or chunked,
/// each a JSON document or an SSE stream.
fn messages(raw: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    let mut rest = raw;
    while let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&rest[..end]).to_ascii_lowercase();
        rest = &rest[end + 4..];
        let mut body = Vec::new();
        if let Some(len) = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
        {
            let n = len.min(rest.len());
            body.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        } else if head.contains("transfer-encoding: chunked") {
            loop {
                let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                    rest = &[];
                    break;
                };
                let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16)
                    .unwrap_or(0);
                rest = &rest[eol + 2..];
                if size == 0 {
                    rest = rest.get(2..).unwrap_or(&[]);
                    break;
                }
                let n = size.min(rest.len());
                body.extend_from_slice(&rest[..n]);
                rest = rest.get(n + 2..).unwrap_or(&[]);
            }
        }
        let text = String::from_utf8_lossy(&body);
        if head.contains("text/event-stream") {
            for data in text.lines().filter_map(|l| l.strip_prefix("data:")) {
                if let Ok(v) = serde_json::from_str(data.trim()) {
                    out.push(v);
                }
            }
        } else if let Ok(v) = serde_json::from_str(&text) {
            out.push(v);
        }
    }
    out
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn text(r: &rmcp::model::CallToolResult) -> String {
    let v = serde_json::to_value(r).unwrap();
    v["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn exercise(client: RunningService<RoleClient, ()>) {
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "echo"), "{tools:?}");
    let r = client
        .call_tool(
            CallToolRequestParams::new("echo").with_arguments(args(json!({"text": "over http"}))),
        )
        .await
        .expect("echo");
    assert_eq!(text(&r), "over http");
    let r = client
        .call_tool(CallToolRequestParams::new("fail").with_arguments(args(json!({}))))
        .await
        .expect("fail answers with an error result");
    assert_eq!(r.is_error, Some(true));
    let slow = client
        .call_tool(CallToolRequestParams::new("sleep").with_arguments(args(json!({"ms": 1500}))));
    let fast = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let t = Instant::now();
        let r = client
            .call_tool(
                CallToolRequestParams::new("echo").with_arguments(args(json!({"text": "fast"}))),
            )
            .await
            .expect("echo during sleep");
        (t.elapsed(), r)
    };
    let (slow, (took, fast)) = tokio::join!(slow, fast);
    assert_eq!(text(&fast), "fast");
    assert!(
        took < Duration::from_millis(1000),
        "echo waited for sleep: {took:?}"
    );
    assert_eq!(text(&slow.expect("sleep")), "slept 1500 ms");
    client.cancel().await.expect("close");
}

async fn run(mode: Option<ClientLifecycleMode>, schema: &str) {
    // reqwest is built without a default TLS provider; plain http:// still asks for one.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (_server, port) = fixture();
    let (proxy, log) = recording_proxy(port).await;
    let transport =
        StreamableHttpClientTransport::from_uri(format!("http://127.0.0.1:{proxy}/mcp"));
    let client = match mode {
        None => ().serve(transport).await.expect("rmcp legacy handshake over HTTP"),
        Some(m) => ().serve_with_lifecycle(transport, m).await.expect("rmcp lifecycle over HTTP"),
    };
    exercise(client).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let all: Vec<Value> = log
        .lock()
        .unwrap()
        .iter()
        .flat_map(|c| messages(&c.lock().unwrap()))
        .collect();
    assert!(all.len() >= 5, "too few server messages recorded: {all:?}");
    for m in &all {
        let errors = support::check(schema, "JSONRPCMessage", m);
        assert!(errors.is_empty(), "{m} violates {schema}: {errors:?}");
        if let Some(r) = m.get("result") {
            if schema == support::MODERN {
                assert!(
                    r.get("resultType").is_some(),
                    "modern results carry resultType: {m}"
                );
            }
        }
    }
}

#[tokio::test]
async fn rmcp_http_legacy_session() {
    run(None, support::LEGACY_SCHEMA).await;
}

#[tokio::test]
async fn rmcp_http_modern_discover() {
    let mode = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    run(Some(mode), support::MODERN).await;
}
