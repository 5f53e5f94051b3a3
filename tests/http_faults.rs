//! HTTP under hostile or broken clients, over a loopback socket:
//!
//! - a client that stops reading its SSE stream: the server stops producing
//!   (bounded buffers, back-pressure into the handler), and once the client
//!   took nothing for `HttpOptions::sse_stall` the request is cancelled; a
//!   client that goes away has its request cancelled at once;
//! - the bearer token (from `LMCP_AUTH_TOKEN`) never shows up in answers or
//!   in the debug log, `401` carries `WWW-Authenticate`, legacy session ids
//!   are 128-bit random hex and differ.
//!
//! Every JSON-RPC message read is validated against the official schema.

mod support;

use lmcp::server::{Server, Tool, ToolResult};
use lmcp::transport::http::{serve, HttpOptions};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::raw_http::{self, ACCEPT, JSON};
use support::{check, meta, MODERN};

fn valid(rev: &str, msg: &Value) {
    let errors = check(rev, "JSONRPCMessage", msg);
    assert!(errors.is_empty(), "{msg} violates {rev}: {errors:?}");
}

/// A POST of `body` with the JSON and Accept headers and `headers`.
fn request(port: u16, headers: &[(&str, &str)], body: &str) -> TcpStream {
    let mut h = vec![JSON, ACCEPT];
    h.extend_from_slice(headers);
    raw_http::open(port, "POST", &h, body)
}

/// A POST (see [`request`]) and its whole response.
fn exchange(port: u16, headers: &[(&str, &str)], body: &str) -> raw_http::Reply {
    raw_http::read_reply(request(port, headers, body))
}

/// A tool producing 64 KiB progress messages until cancelled.
fn flood_server(made: Arc<AtomicUsize>, dropped: Arc<AtomicBool>) -> Arc<Server> {
    struct OnDrop(Arc<AtomicBool>);
    impl Drop for OnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    Server::builder("flood", "0")
        .tool(Tool::new("flood", "Endless progress.", move |_a, ctx| {
            let (made, dropped) = (made.clone(), dropped.clone());
            async move {
                let _guard = OnDrop(dropped);
                let text = "p".repeat(64 * 1024);
                let mut i = 0.0;
                while !ctx.is_cancelled() {
                    ctx.progress(i, None, Some(&text)).await;
                    made.fetch_add(1, Ordering::SeqCst);
                    i += 1.0;
                }
                Ok(ToolResult::text("cancelled"))
            }
        }))
        .build()
}

/// Open a flood SSE stream; read its head and first two events (validated).
fn open_flood(port: u16) -> BufReader<TcpStream> {
    let mut m = meta(json!({}));
    m["progressToken"] = json!("t1");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "flood", "arguments": {}, "_meta": m}})
    .to_string();
    let s = request(
        port,
        &[
            ("MCP-Protocol-Version", MODERN),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "flood"),
        ],
        &body,
    );
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_lowercase().contains("text/event-stream"), "{head}");
    let mut events = 0;
    while events < 2 {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if let Some(data) = line.trim_end().strip_prefix("data: ") {
            let v: Value = serde_json::from_str(data).unwrap();
            valid(MODERN, &v);
            assert_eq!(v["method"], "notifications/progress");
            events += 1;
        }
    }
    r
}

fn wait_until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_client_that_stops_reading_sse_gets_back_pressure_then_cancellation() {
    let made = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicBool::new(false));
    let server = flood_server(made.clone(), dropped.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let stop = tokio_util::sync::CancellationToken::new();
    let opts = HttpOptions {
        sse_stall: Duration::from_secs(2),
        ..HttpOptions::default()
    };
    rt.spawn(serve(listener, server, opts, stop.clone()));

    // 1. The client keeps the connection but reads nothing more: the
    // producer is held back by full queues, and once nothing was taken for
    // `sse_stall` the request is cancelled.
    let r = open_flood(port);
    wait_until(
        "the request of a client that stopped reading was not cancelled",
        Duration::from_secs(30),
        || dropped.load(Ordering::SeqCst),
    );
    let last = made.load(Ordering::SeqCst);
    eprintln!("producer halted after {last} messages of 64 KiB");
    // Queues (64 + 64 messages) plus socket buffers: a few hundred at most.
    assert!(
        last < 1000,
        "{last} messages of 64 KiB were produced for a client that reads none"
    );
    drop(r);

    // 2. The client goes away: the request is cancelled at once.
    dropped.store(false, Ordering::SeqCst);
    let r = open_flood(port);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!dropped.load(Ordering::SeqCst));
    drop(r);
    wait_until(
        "the request was not cancelled after its client left",
        Duration::from_secs(15),
        || dropped.load(Ordering::SeqCst),
    );
    stop.cancel();
}

const TOKEN: &str = "tok-ab12cd34-secret-value";

#[test]
fn the_token_leaks_nowhere_and_session_ids_are_random() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_lmcp"))
        .args(["--http", "127.0.0.1:0", "--log-level", "debug"])
        .env("LMCP_AUTH_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let log = Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let port: u16 = rest.split('/').next().unwrap_or("0").parse().unwrap_or(0);
                let _ = tx.send(port);
            }
            sink.lock().unwrap().push_str(&line);
            sink.lock().unwrap().push('\n');
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let bearer = format!("Bearer {TOKEN}");
    let modern = [
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "read_file"),
    ];
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": {"name": "read_file", "arguments": {"path": "/proc/self/environ"},
                                 "_meta": meta(json!({}))}})
    .to_string();

    // No token, a wrong one, a truncated one: 401 with a challenge.
    let truncated = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
    for auth in [None, Some("Bearer nope"), Some(truncated.as_str())] {
        let mut h = modern.to_vec();
        if let Some(a) = auth {
            h.push(("Authorization", a));
        }
        let r = exchange(port, &h, &call);
        assert_eq!(r.status, 401, "{:?}", r.headers);
        let challenge = r.header("www-authenticate").unwrap_or("");
        assert!(
            challenge.to_lowercase().starts_with("bearer"),
            "{:?}",
            r.headers
        );
        valid(MODERN, &r.json());
        assert!(!r.body.contains(TOKEN) && !format!("{:?}", r.headers).contains(TOKEN));
    }
    // The right token: served. Reading lmcp's own environment is refused
    // (outside the roots), so the token does not come back that way either.
    let mut h = modern.to_vec();
    h.push(("Authorization", &bearer));
    let r = exchange(port, &h, &call);
    assert_eq!(r.status, 200, "{}", r.body);
    valid(MODERN, &r.json());
    assert!(!r.body.contains(TOKEN), "{}", r.body);

    // Legacy sessions: 128-bit ids from the OS CSPRNG, hex, all different.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                      "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                                 "clientInfo": {"name": "t", "version": "1"}}})
    .to_string();
    let mut ids = std::collections::HashSet::new();
    for _ in 0..8 {
        let r = exchange(port, &[("Authorization", &bearer)], &init);
        assert_eq!(r.status, 200, "{}", r.body);
        valid(support::LEGACY_SCHEMA, &r.json());
        let id = r.header("mcp-session-id").expect("a session id").to_owned();
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert!(ids.insert(id), "a session id came twice");
    }

    let _ = child.kill();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(200));
    let log = log.lock().unwrap().clone();
    assert!(log.contains("DEBUG"), "debug logging is on: {log}");
    assert!(
        !log.contains(TOKEN),
        "the token leaked into the log:\n{log}"
    );
}
