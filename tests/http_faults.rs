//! HTTP under hostile or broken clients, over a loopback socket:
//!
//! - a client that stops reading its SSE stream: the server stops producing
//!   (bounded buffers, back-pressure into the handler: no more than twice
//!   what the channels, hyper's buffer and the socket queues hold), and once
//!   the client took nothing for `HttpOptions::sse_stall` the request is
//!   cancelled and the connection closed without a clean end of the stream;
//!   a client that goes away has its request cancelled at once;
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

/// Bytes in the send and receive queues of the loopback TCP socket from
/// `local` to `remote` (`/proc/net/tcp`: `tx_queue:rx_queue`, hex).
fn tcp_queues(local: u16, remote: u16) -> (u64, u64) {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = |a: &str| u16::from_str_radix(a.rsplit(':').next().unwrap_or(""), 16).ok();
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() > 4 && port(f[1]) == Some(local) && port(f[2]) == Some(remote) {
            let (tx, rx) = f[4].split_once(':').unwrap();
            return (
                u64::from_str_radix(tx, 16).unwrap(),
                u64::from_str_radix(rx, 16).unwrap(),
            );
        }
    }
    panic!("no socket 127.0.0.1:{local} -> :{remote} in /proc/net/tcp");
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
    // What the design holds for a client that reads nothing, in messages of
    // 64 KiB: the request's outbound channel (64), one in the SSE pump's
    // hand, the body channel (64), hyper's write buffer (it takes body
    // frames while it holds under 8 KiB + 400 KiB: 7, and one more polled),
    // the two events the client read, and the socket buffers (server send
    // queue + client receive queue, as the kernel reports them now: they
    // grow with loopback autotuning, so they are measured, not assumed).
    let client_port = r.get_ref().local_addr().unwrap().port();
    let (sent_q, _) = tcp_queues(port, client_port);
    let (_, recv_q) = tcp_queues(client_port, port);
    let sockets = usize::try_from((sent_q + recv_q).div_ceil(64 * 1024)).unwrap();
    let design = 64 + 1 + 64 + 8 + 2 + sockets;
    eprintln!(
        "producer halted after {last} messages of 64 KiB; sockets hold {} KiB ({sockets} messages); design bound {design}",
        (sent_q + recv_q) / 1024
    );
    assert!(
        last <= 2 * design,
        "{last} messages of 64 KiB were produced for a client that reads none (design: {design}, 2x margin)"
    );
    // The stalled stream was cut: reading now gets what was buffered, then
    // the end of the connection, without the chunked body's final `0` chunk
    // (the stream does not look complete) and without the tool's result.
    let mut r = r;
    r.get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut rest = Vec::new();
    let read = std::io::Read::read_to_end(&mut r, &mut rest);
    assert!(
        read.is_ok(),
        "no end of stream after the stall cut the stream: {read:?}"
    );
    let events = rest.windows(7).filter(|w| w == b"data: {").count();
    eprintln!(
        "then {} KiB ({events} events) were still buffered, and the connection closed",
        rest.len() / 1024
    );
    assert!(
        !rest.ends_with(b"\r\n0\r\n\r\n"),
        "the cut stream ended as if complete"
    );
    assert!(
        !String::from_utf8_lossy(&rest).contains("\"result\""),
        "the cancelled request's result reached the client"
    );
    assert!(events + 2 <= last, "{events} events read, {last} made");

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
