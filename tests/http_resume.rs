//! Issue 19: resumable legacy streams, spoken raw over loopback. A legacy
//! request's SSE events carry ids (a 2025-11-25 stream opens with a priming
//! event and `retry:`); a client that loses its connection mid-call GETs
//! the endpoint with `Last-Event-ID` and receives the rest of that stream,
//! final result included: the dropped connection did not cancel the call.

mod support;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;
use support::raw_http::{send, ACCEPT, JSON};
use support::{check, start_http};

const REV: &str = "2025-11-25";

fn initialize(port: u16) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": REV, "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}});
    let r = send(port, "POST", &[JSON, ACCEPT], &init.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let sid = r.header("mcp-session-id").unwrap().to_owned();
    let h = [
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", REV),
        ("Mcp-Session-Id", &sid),
    ];
    let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(send(port, "POST", &h, &done.to_string()).status, 202);
    sid
}

/// Send a raw request and read its status line and headers; the body is
/// left to read. Returns the status and the reader.
fn open(port: u16, head: &str, body: &str) -> (u16, BufReader<TcpStream>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(
        s,
        "{head}Host: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let status = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    for _ in 0..100 {
        line.clear();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" {
            break;
        }
    }
    (status, r)
}

/// One SSE event: its id, `retry:` and JSON data (each when present).
#[derive(Debug, Default)]
struct Event {
    id: Option<String>,
    retry: Option<u64>,
    data: Option<Value>,
}

/// The next event on a chunked event stream (keep-alive comments and chunk
/// sizes skipped); `None` at its end.
fn next_event(r: &mut BufReader<TcpStream>) -> Option<Event> {
    let mut e = Event::default();
    let mut seen = false;
    let mut line = String::new();
    for _ in 0..10_000 {
        line.clear();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if let Some(id) = l.strip_prefix("id: ") {
            e.id = Some(id.to_owned());
            seen = true;
        } else if let Some(n) = l.strip_prefix("retry: ") {
            e.retry = n.parse().ok();
            seen = true;
        } else if let Some(d) = l.strip_prefix("data:") {
            let d = d.trim_start();
            if !d.is_empty() {
                e.data = Some(serde_json::from_str(d).unwrap());
            }
            seen = true;
        } else if l.is_empty() && line == "\n" && seen {
            return Some(e);
        }
    }
    panic!("no event in 10000 lines");
}

fn valid(msg: &Value) {
    let errors = check(REV, "JSONRPCMessage", msg);
    assert!(errors.is_empty(), "{msg} violates {REV}: {errors:?}");
}

#[test]
fn a_resumed_legacy_stream_gets_its_result_after_the_first_connection_dropped() {
    let s = start_http(support::example("everything"), &[]);
    let sid = initialize(s.port);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "sleep", "arguments": {"ms": 1200},
                   "_meta": {"progressToken": "p"}}});
    let head = format!(
        "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: {REV}\r\nMcp-Session-Id: {sid}\r\n"
    );
    let (status, mut first) = open(s.port, &head, &call.to_string());
    assert_eq!(status, 200);
    // The priming event: an id, a retry delay, no data.
    let prime = next_event(&mut first).expect("a priming event");
    assert!(prime.id.is_some() && prime.data.is_none(), "{prime:?}");
    assert!(prime.retry.is_some(), "{prime:?}");
    // One progress notification, then the connection is lost mid-call.
    let progress = next_event(&mut first).expect("a progress event");
    let data = progress.data.expect("a message");
    valid(&data);
    assert_eq!(data["method"], "notifications/progress", "{data}");
    let last_id = progress.id.expect("events carry ids");
    first.get_ref().shutdown(Shutdown::Both).unwrap();
    drop(first);

    let get = format!(
        "GET /mcp HTTP/1.1\r\nConnection: close\r\nAccept: text/event-stream\r\nMCP-Protocol-Version: {REV}\r\nMcp-Session-Id: {sid}\r\nLast-Event-ID: {last_id}\r\n"
    );
    let (status, mut resumed) = open(s.port, &get, "");
    assert_eq!(status, 200);
    let mut ids = vec![last_id.clone()];
    let result = loop {
        let e = next_event(&mut resumed).expect("the resumed stream ended without the result");
        let id = e.id.expect("events carry ids");
        assert!(!ids.contains(&id), "{id} replayed twice");
        ids.push(id);
        let Some(data) = e.data else { continue };
        valid(&data);
        if data.get("id") == Some(&json!(2)) {
            break data;
        }
    };
    assert_eq!(
        result["result"]["content"][0]["text"], "slept 1200 ms",
        "{result}"
    );
    // The stream ends after its result.
    assert!(next_event(&mut resumed).is_none());

    // Ids this server never handed out.
    for (id, want) in [("nonsense", 400), ("99-0", 410)] {
        let get = format!(
            "GET /mcp HTTP/1.1\r\nConnection: close\r\nAccept: text/event-stream\r\nMCP-Protocol-Version: {REV}\r\nMcp-Session-Id: {sid}\r\nLast-Event-ID: {id}\r\n"
        );
        let (status, _) = open(s.port, &get, "");
        assert_eq!(status, want, "{id}");
    }
}

/// A dropped legacy stream nobody resumes within `--sse-replay-secs` has its
/// request cancelled (the `shell` command would run 30 s) and its events
/// dropped: a late resume is refused with 410.
#[test]
fn a_stream_nobody_resumes_within_the_window_is_cancelled() {
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    let mut child = Command::new(env!("CARGO_BIN_EXE_lmcp"))
        .args(["--http", "127.0.0.1:0", "--sse-replay-secs", "1"])
        .args(["--log-level", "debug"])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let next = |what: &str| loop {
        let line = lines
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no stderr line {what:?}"));
        if line.contains(what) {
            break line;
        }
    };
    let port: u16 = next("listening on http://127.0.0.1:")
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap();
    let sid = initialize(port);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "shell", "arguments": {"command": "sleep 30"},
                   "_meta": {"progressToken": "p"}}});
    let head = format!(
        "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMCP-Protocol-Version: {REV}\r\nMcp-Session-Id: {sid}\r\n"
    );
    let (status, mut first) = open(port, &head, &call.to_string());
    assert_eq!(status, 200);
    let prime = next_event(&mut first).expect("a priming event");
    let id = prime.id.expect("an id");
    first.get_ref().shutdown(Shutdown::Both).unwrap();
    drop(first);
    next("not resumed within 1s: its request was cancelled");
    let get = format!(
        "GET /mcp HTTP/1.1\r\nConnection: close\r\nAccept: text/event-stream\r\nMCP-Protocol-Version: {REV}\r\nMcp-Session-Id: {sid}\r\nLast-Event-ID: {id}\r\n"
    );
    assert_eq!(open(port, &get, "").0, 410);
    let _ = child.kill();
    let _ = child.wait();
}
