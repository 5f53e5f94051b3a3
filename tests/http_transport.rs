//! The Streamable HTTP transport, spoken raw over a loopback socket: every
//! error path of both eras, and every JSON body and SSE event validated
//! against the official schema.

mod support;

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;
use support::raw_http::{
    modern_list, send, shell_call, Reply, ACCEPT, JSON, LIST_HEADERS, SHELL_HEADERS,
};
use support::{check, meta, start_http, HttpServer, TokenFile, MODERN};

fn everything() -> HttpServer {
    start_http(support::example("everything"), &[])
}

fn modern_call(port: u16, id: i64, method: &str, params: Value, extra: &[(&str, &str)]) -> Reply {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
    let mut h = vec![
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", method),
    ];
    h.extend_from_slice(extra);
    send(port, "POST", &h, &body)
}

fn valid(rev: &str, msg: &Value) {
    let errors = check(rev, "JSONRPCMessage", msg);
    assert!(errors.is_empty(), "{msg} violates {rev}: {errors:?}");
}

#[test]
fn modern_json_and_sse() {
    let s = everything();
    let mut p = json!({"name": "echo", "arguments": {"text": "hi"}, "_meta": meta(json!({}))});
    let r = modern_call(s.port, 1, "tools/call", p.clone(), &[("Mcp-Name", "echo")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    valid(MODERN, &v);
    assert!(check(MODERN, "CallToolResult", &v["result"]).is_empty());
    assert_eq!(v["result"]["content"][0]["text"], "hi");

    // A progress token makes the answer an event stream.
    p = json!({"name": "sleep", "arguments": {"ms": 250}, "_meta": meta(json!({}))});
    p["_meta"]["progressToken"] = json!("t");
    let r = modern_call(s.port, 2, "tools/call", p, &[("Mcp-Name", "sleep")]);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert_eq!(r.header("x-accel-buffering"), Some("no"));
    let events = r.events();
    assert!(events.len() >= 3, "{events:?}");
    for e in &events {
        valid(MODERN, e);
    }
    assert_eq!(events.last().unwrap()["id"], 2);

    // Base64 sentinel in Mcp-Name.
    let r = modern_call(
        s.port,
        3,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "x"}, "_meta": meta(json!({}))}),
        &[("Mcp-Name", "=?base64?ZWNobw==?=")],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.checked(MODERN)["result"]["content"][0]["text"], "x");
}

#[test]
fn modern_errors_map_to_http_status() {
    let s = everything();
    let m = meta(json!({}));
    let call = json!({"name": "echo", "arguments": {"text": "x"}, "_meta": m});
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}).to_string();
    // Missing MCP-Protocol-Version.
    let r = send(
        s.port,
        "POST",
        &[
            JSON,
            ACCEPT,
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "echo"),
        ],
        &body,
    );
    assert_eq!(r.status_code(MODERN), (400, Some(-32020)));
    // Mcp-Method disagrees with the body.
    let r = send(
        s.port,
        "POST",
        &[
            JSON,
            ACCEPT,
            ("MCP-Protocol-Version", MODERN),
            ("Mcp-Method", "tools/list"),
            ("Mcp-Name", "echo"),
        ],
        &body,
    );
    assert_eq!(r.status_code(MODERN), (400, Some(-32020)));
    // Mcp-Name disagrees.
    let r = modern_call(
        s.port,
        1,
        "tools/call",
        call.clone(),
        &[("Mcp-Name", "sleep")],
    );
    assert_eq!(r.status_code(MODERN), (400, Some(-32020)));
    // Mcp-Name missing.
    let r = modern_call(s.port, 1, "tools/call", call, &[]);
    assert_eq!(r.status_code(MODERN), (400, Some(-32020)));
    // Unknown method → 404 + -32601.
    let r = modern_call(
        s.port,
        2,
        "nope/nothing",
        json!({"_meta": meta(json!({}))}),
        &[],
    );
    assert_eq!(r.status_code(MODERN), (404, Some(-32601)));
    // Unsupported version → 400 + -32022.
    let bad = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "1900-01-01", "io.modelcontextprotocol/clientCapabilities": {}}});
    let body =
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": bad}).to_string();
    let r = send(
        s.port,
        "POST",
        &[
            JSON,
            ACCEPT,
            ("MCP-Protocol-Version", "1900-01-01"),
            ("Mcp-Method", "tools/list"),
        ],
        &body,
    );
    assert_eq!(r.status_code(MODERN), (400, Some(-32022)));
    // Missing capability → 400 + -32021.
    let r = modern_call(
        s.port,
        4,
        "tools/call",
        json!({"name": "ask_name", "_meta": meta(json!({}))}),
        &[("Mcp-Name", "ask_name")],
    );
    assert_eq!(r.status_code(MODERN), (400, Some(-32021)));
    // A notification → 202.
    let r = send(
        s.port,
        "POST",
        &[JSON, ACCEPT],
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
    );
    assert_eq!(r.status, 202);
    // Not JSON → 400 + -32700; wrong content type → 415.
    assert_eq!(
        send(s.port, "POST", &[JSON, ACCEPT], "{oops").status_code(MODERN),
        (400, Some(-32700))
    );
    let r = send(s.port, "POST", &[("Content-Type", "text/plain")], "{}");
    assert_eq!(r.status_code(MODERN), (415, Some(-32600)));
    // Oversize body → 413.
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(5 * 1024 * 1024));
    let r = send(s.port, "POST", &[JSON, ACCEPT], &big);
    assert_eq!(r.status_code(MODERN), (413, Some(-32600)));
    // A browser on another origin → 403; a loopback origin is fine and gets CORS headers.
    let r = send(
        s.port,
        "POST",
        &[JSON, ACCEPT, ("Origin", "http://evil.example")],
        "{}",
    );
    assert_eq!(r.status_code(MODERN), (403, Some(-32600)));
    let r = send(
        s.port,
        "OPTIONS",
        &[("Origin", "http://localhost:3000")],
        "",
    );
    assert_eq!(r.status, 204);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    // GET without a session is not a modern thing.
    assert_eq!(
        send(s.port, "GET", &[("Accept", "text/event-stream")], "").status,
        405
    );
}

#[test]
fn legacy_sessions() {
    let s = everything();
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let r = send(s.port, "POST", &[JSON, ACCEPT], &init.to_string());
    assert_eq!(r.status, 200);
    valid("2025-11-25", &r.json());
    let sid = r.header("mcp-session-id").expect("a session id").to_owned();
    assert!(
        sid.len() >= 32,
        "session ids carry at least 128 random bits: {sid}"
    );
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}).to_string();
    fn with(sid: &str) -> Vec<(&str, &str)> {
        vec![
            JSON,
            ACCEPT,
            ("MCP-Protocol-Version", "2025-11-25"),
            ("Mcp-Session-Id", sid),
        ]
    }
    let r = send(s.port, "POST", &with(&sid), &list);
    assert_eq!(r.status, 200);
    valid("2025-11-25", &r.json());
    assert!(r.json()["result"]["tools"].is_array());
    // No session → 400 (the engine explains); unknown session → 404.
    let r = send(s.port, "POST", &[JSON, ACCEPT], &list);
    assert_eq!(r.status, 400);
    r.checked("2025-11-25");
    let r = send(
        s.port,
        "POST",
        &with("0123456789abcdef0123456789abcdef"),
        &list,
    );
    assert_eq!(r.status_code("2025-11-25"), (404, Some(-32600)));
    // MCP-Protocol-Version: absent → the session's negotiated version
    // serves; so does another legacy revision we serve (the official
    // conformance suite's server-sse-multiple-streams sends 2025-03-26 on a
    // 2025-11-25 session and expects 200); a revision we do not serve or a
    // modern one → 400.
    let mut bare = with(&sid);
    bare.retain(|(k, _)| *k != "MCP-Protocol-Version");
    let r = send(s.port, "POST", &bare, &list);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.checked("2025-11-25")["result"]["tools"].is_array());
    for other in ["2025-03-26", "2025-06-18"] {
        let mut h = bare.clone();
        h.push(("MCP-Protocol-Version", other));
        let r = send(s.port, "POST", &h, &list);
        assert_eq!(r.status, 200, "{other}: {}", r.body);
        assert!(r.checked("2025-11-25")["result"]["tools"].is_array());
    }
    for bad in ["1999-01-01", "garbage", MODERN] {
        let mut h = bare.clone();
        h.push(("MCP-Protocol-Version", bad));
        let r = send(s.port, "POST", &h, &list);
        assert_eq!(r.status_code("2025-11-25"), (400, Some(-32600)), "{bad}");
    }
    // DELETE ends it.
    assert_eq!(
        send(s.port, "DELETE", &[("Mcp-Session-Id", sid.as_str())], "").status,
        204
    );
    assert_eq!(send(s.port, "POST", &with(&sid), &list).status, 404);
}

#[test]
fn bearer_token_and_healthz() {
    let token = TokenFile::new("token", "s3cret-token");
    let s = start_http(
        PathBuf::from(env!("CARGO_BIN_EXE_lmcp")),
        &["--auth-token-file", token.path()],
    );
    let (body, h) = (modern_list(1), LIST_HEADERS);
    let r = send(s.port, "POST", &h, &body);
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|v| v.starts_with("Bearer")));
    assert!(
        !r.body.contains("s3cret"),
        "the token must not leak into errors"
    );
    let mut wrong = h.to_vec();
    wrong.push(("Authorization", "Bearer nope"));
    assert_eq!(send(s.port, "POST", &wrong, &body).status, 401);
    let mut right = h.to_vec();
    right.push(("Authorization", "Bearer s3cret-token"));
    let r = send(s.port, "POST", &right, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "ping"));
    let mut hz = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    hz.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    hz.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
}

/// Scale-out: two instances given the same --state-key-file accept each
/// other's MRTR requestState, so a retry may land on either; an instance
/// with another key refuses it.
#[test]
fn mrtr_state_crosses_instances_that_share_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let (k1, k2) = (dir.path().join("k1"), dir.path().join("k2"));
    std::fs::write(&k1, "a shared secret of enough length\n").unwrap();
    std::fs::write(&k2, "a different secret, also long enough").unwrap();
    let (k1s, k2s) = (k1.display().to_string(), k2.display().to_string());
    let a = start_http(support::example("everything"), &["--state-key-file", &k1s]);
    let b = start_http(support::example("everything"), &["--state-key-file", &k1s]);
    let c = start_http(support::example("everything"), &["--state-key-file", &k2s]);
    let meta = json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {}},
    });
    let first = modern_call(
        a.port,
        1,
        "tools/call",
        json!({"name": "ask_name", "arguments": {}, "_meta": meta}),
        &[("Mcp-Name", "ask_name")],
    );
    let r = first.json();
    valid(MODERN, &r);
    assert_eq!(r["result"]["resultType"], "input_required", "{r}");
    let key = r["result"]["inputRequests"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    let retry = json!({
        "name": "ask_name",
        "arguments": {},
        "_meta": meta,
        "requestState": r["result"]["requestState"],
        "inputResponses": {key: {"action": "accept", "content": {"name": "Lin"}}},
    });
    let on_b = modern_call(
        b.port,
        2,
        "tools/call",
        retry.clone(),
        &[("Mcp-Name", "ask_name")],
    );
    let r = on_b.json();
    valid(MODERN, &r);
    assert_eq!(r["result"]["content"][0]["text"], "Hello, Lin!", "{r}");
    let on_c = modern_call(c.port, 3, "tools/call", retry, &[("Mcp-Name", "ask_name")]);
    let r = on_c.json();
    valid(MODERN, &r);
    assert_eq!(
        r["error"]["code"], -32602,
        "another key must refuse the state: {r}"
    );
}

/// Idle legacy sessions expire, but not while the client listens on their
/// GET stream.
#[test]
fn an_open_get_stream_keeps_a_legacy_session_alive() {
    let s = start_http(
        PathBuf::from(env!("CARGO_BIN_EXE_lmcp")),
        &["--session-idle-secs", "1"],
    );
    let open_session = || {
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        let r = send(s.port, "POST", &[JSON, ACCEPT], &init.to_string());
        assert_eq!(r.status, 200);
        r.header("mcp-session-id").unwrap().to_owned()
    };
    let ping = |sid: &str| {
        let body = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
        let h = [
            JSON,
            ACCEPT,
            ("MCP-Protocol-Version", "2025-11-25"),
            ("Mcp-Session-Id", sid),
        ];
        send(s.port, "POST", &h, &body).status
    };
    let (listened, idle) = (open_session(), open_session());
    let mut stream = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    write!(
        stream,
        "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nMCP-Protocol-Version: 2025-11-25\r\nMcp-Session-Id: {listened}\r\n\r\n"
    )
    .unwrap();
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // The reaper runs every second here; give it several rounds.
    std::thread::sleep(Duration::from_millis(3500));
    assert_eq!(ping(&idle), 404, "an idle session without a stream expires");
    assert_eq!(
        ping(&listened),
        200,
        "a session with an open GET stream stays"
    );
    drop(stream);
}

/// SIGTERM drains (issue 21): `/healthz` answers 503 at once and new
/// stateless work is refused with 503 before it starts (a balancer retries
/// it elsewhere), while a request in flight still gets its answer.
#[test]
// SIGTERM is sent with nix, a dependency of the `tools` feature.
#[cfg(feature = "tools")]
fn sigterm_drains_and_finishes_requests_in_flight() {
    let mut s = start_http(
        PathBuf::from(env!("CARGO_BIN_EXE_lmcp")),
        &["--shutdown-grace-ms", "5000"],
    );
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "shell", "arguments": {"command": "sleep 1; echo finished"}, "_meta": meta(json!({}))}})
    .to_string();
    let mut conn = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    write!(
        conn,
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: application/json\r\nMCP-Protocol-Version: {MODERN}\r\nMcp-Method: tools/call\r\nMcp-Name: shell\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(s.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let health = |port| {
        let mut hz = TcpStream::connect(("127.0.0.1", port)).ok()?;
        hz.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .ok()?;
        let mut out = String::new();
        let _ = hz.read_to_string(&mut out);
        Some(out)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let draining = loop {
        match health(s.port) {
            Some(out) if out.starts_with("HTTP/1.1 503") => break out,
            _ if std::time::Instant::now() > deadline => panic!("/healthz never said draining"),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert!(draining.contains("draining"), "{draining}");
    assert!(draining.contains("connection: close"), "{draining}");
    let refused = modern_call(
        s.port,
        2,
        "tools/call",
        json!({"name": "ping", "arguments": {}, "_meta": meta(json!({}))}),
        &[("Mcp-Name", "ping")],
    );
    assert_eq!(refused.status, 503, "new work during shutdown");
    let r = refused.json();
    valid(MODERN, &r);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("shutting down"),
        "{r}"
    );
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut raw = String::new();
    let _ = conn.read_to_string(&mut raw);
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    assert!(raw.contains("finished"), "{raw}");
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// SIGTERM while a request streams its answer (a progress token makes it
/// SSE): the stream runs to its result within the grace, then the process
/// exits. Streamed requests count as in flight until their last event.
#[test]
// SIGTERM is sent with nix, a dependency of the `tools` feature.
#[cfg(feature = "tools")]
fn sigterm_lets_a_streamed_request_finish() {
    let mut s = everything();
    let mut m = meta(json!({}));
    m["progressToken"] = json!("p1");
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "sleep", "arguments": {"ms": 1500}, "_meta": m}})
    .to_string();
    let conn = support::raw_http::open(
        s.port,
        "POST",
        &[
            JSON,
            ACCEPT,
            ("MCP-Protocol-Version", MODERN),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "sleep"),
        ],
        &body,
    );
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(s.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let r = support::raw_http::read_reply(conn);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    let events = r.events();
    for e in &events {
        valid(MODERN, e);
    }
    let last = events.last().expect("events");
    assert_eq!(last["id"], 7, "{events:?}");
    assert_eq!(
        last["result"]["content"][0]["text"], "slept 1500 ms",
        "{last}"
    );
    let status = s.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

/// `x-mcp-header` parameters (the fixture's `test_custom_headers_server`
/// mirrors `region`, `priority` and `verbose`): a header that disagrees with
/// the body, or is missing while the argument is present → 400 + -32020; a
/// browser's CORS preflight asking for them is allowed.
#[test]
fn mcp_param_headers_are_checked_and_allowed_by_cors() {
    let s = everything();
    let call = json!({"name": "test_custom_headers_server",
        "arguments": {"region": "eu-west1", "priority": 3, "query": "q"},
        "_meta": meta(json!({}))});
    let name = ("Mcp-Name", "test_custom_headers_server");
    let r = modern_call(
        s.port,
        1,
        "tools/call",
        call.clone(),
        &[
            name,
            ("Mcp-Param-Region", "eu-west1"),
            ("Mcp-Param-Priority", "3"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.checked(MODERN)["result"]["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("eu-west1"));
    // Disagrees with the body (either parameter).
    for (id, region, priority) in [(2, "us-east1", "3"), (3, "eu-west1", "4")] {
        let r = modern_call(
            s.port,
            id,
            "tools/call",
            call.clone(),
            &[
                name,
                ("Mcp-Param-Region", region),
                ("Mcp-Param-Priority", priority),
            ],
        );
        assert_eq!(r.status_code(MODERN), (400, Some(-32020)), "{}", r.body);
    }
    // Missing while the argument is present.
    let r = modern_call(
        s.port,
        4,
        "tools/call",
        call,
        &[name, ("Mcp-Param-Priority", "3")],
    );
    assert_eq!(r.status_code(MODERN), (400, Some(-32020)), "{}", r.body);

    // CORS preflight from an allowed origin: the requested Mcp-Param-*
    // headers are allowed along with the protocol's own; others are not.
    let r = send(
        s.port,
        "OPTIONS",
        &[
            ("Origin", "http://localhost:3000"),
            ("Access-Control-Request-Method", "POST"),
            (
                "Access-Control-Request-Headers",
                "content-type,mcp-method,mcp-name,Mcp-Param-Region,mcp-param-priority,x-evil",
            ),
        ],
        "",
    );
    assert_eq!(r.status, 204);
    let allowed: Vec<String> = r
        .header("access-control-allow-headers")
        .unwrap_or("")
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for h in [
        "content-type",
        "mcp-method",
        "mcp-name",
        "mcp-protocol-version",
        "mcp-param-region",
        "mcp-param-priority",
    ] {
        assert!(allowed.iter().any(|a| a == h), "{h} not in {allowed:?}");
    }
    assert!(!allowed.iter().any(|a| a == "x-evil"), "{allowed:?}");
    // A disallowed origin gets no preflight at all.
    let r = send(
        s.port,
        "OPTIONS",
        &[
            ("Origin", "http://evil.example"),
            ("Access-Control-Request-Headers", "mcp-param-region"),
        ],
        "",
    );
    assert_eq!(r.status, 403);
    assert_eq!(r.header("access-control-allow-headers"), None);
}

fn lmcp_http(extra: &[&str]) -> HttpServer {
    start_http(PathBuf::from(env!("CARGO_BIN_EXE_lmcp")), extra)
}

/// Slowloris bodies: a client that sends its headers and then trickles (or
/// withholds) the body gets 408 once `--http-body-timeout-secs` has passed,
/// and the connection closes.
#[test]
fn a_body_that_does_not_arrive_times_out() {
    let s = lmcp_http(&["--http-body-timeout-secs", "1"]);
    let body = shell_call(1, "echo hi", false);
    let mut conn = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in SHELL_HEADERS {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes()).unwrap();
    // A few bytes of the body, slowly; then nothing.
    for b in body.as_bytes()[..3].iter() {
        conn.write_all(&[*b]).unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    let started = std::time::Instant::now();
    let r = support::raw_http::read_reply(conn);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "no answer within a generous bound"
    );
    assert_eq!(r.status_code(MODERN), (408, Some(-32600)), "{}", r.body);
    // A body sent at once is unaffected.
    let r = send(s.port, "POST", &SHELL_HEADERS, &body);
    assert_eq!(r.status, 200, "{}", r.body);
    r.checked(MODERN);
}

/// A legacy request answered as plain JSON (its client's Accept has no
/// text/event-stream) has no stream of its own for a server-to-client
/// request: the tool is told at once instead of waiting for an answer that
/// cannot come, and (issue 19) the request never goes on the session's GET
/// stream, which is for messages unrelated to running requests.
#[test]
fn legacy_server_requests_of_json_answers_never_use_the_get_stream() {
    use std::io::{BufRead, BufReader};
    let s = everything();
    let rev = "2025-11-25";
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": rev, "capabilities": {"elicitation": {}},
                   "clientInfo": {"name": "t", "version": "1"}}});
    let r = send(s.port, "POST", &[JSON, ACCEPT], &init.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    r.checked(rev);
    let sid = r.header("mcp-session-id").unwrap().to_owned();
    let h = [
        JSON,
        ("Accept", "application/json"),
        ("MCP-Protocol-Version", rev),
        ("Mcp-Session-Id", sid.as_str()),
    ];
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_eq!(
        send(s.port, "POST", &h, &initialized.to_string()).status,
        202
    );
    let ask = |id: i64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
               "params": {"name": "ask_name", "arguments": {}}})
        .to_string()
    };

    // No GET stream: answered promptly, as a failure.
    let started = std::time::Instant::now();
    let r = send(s.port, "POST", &h, &ask(2));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.checked(rev);
    assert!(
        v.get("error").is_some() || v["result"]["isError"] == true,
        "the tool should have failed: {v}"
    );

    // Issue 19: a GET stream open changes nothing. The elicitation belongs
    // to a running request, and the GET stream is for unrelated messages:
    // the call fails as promptly (under the old routing it went to the GET
    // stream and the tool waited for an answer), and once the session ends
    // the GET stream has carried no elicitation.
    let mut get = TcpStream::connect(("127.0.0.1", s.port)).unwrap();
    get.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(
        get,
        "GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nMCP-Protocol-Version: {rev}\r\nMcp-Session-Id: {sid}\r\n\r\n"
    )
    .unwrap();
    let mut get = BufReader::new(get);
    let mut line = String::new();
    get.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    let started = std::time::Instant::now();
    let r = send(s.port, "POST", &h, &ask(3));
    assert!(started.elapsed() < Duration::from_secs(10));
    let v = r.checked(rev);
    assert!(
        v.get("error").is_some() || v["result"]["isError"] == true,
        "the tool should have failed: {v}"
    );
    assert!(v.to_string().contains("Accept"), "{v}");
    let end = send(
        s.port,
        "DELETE",
        &[
            ("MCP-Protocol-Version", rev),
            ("Mcp-Session-Id", sid.as_str()),
        ],
        "",
    );
    assert_eq!(end.status, 204);
    let mut rest = String::new();
    for _ in 0..10_000 {
        line.clear();
        match get.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => rest.push_str(&line),
        }
    }
    assert!(!rest.contains("elicitation/create"), "{rest}");
}

/// `--log-level debug` writes one access line per request (status and
/// method, never a body); at `info` there is none.
#[test]
fn the_access_log_has_a_line_per_request_at_debug_only() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    for (level, expect) in [("debug", true), ("info", false)] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lmcp"))
            .args(["--http", "0", "--log-level", level])
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let port: u16 = loop {
            let line = rx.recv_timeout(Duration::from_secs(10)).unwrap();
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                break rest.split('/').next().unwrap().parse().unwrap();
            }
        };
        let r = send(port, "POST", &LIST_HEADERS, &modern_list(1));
        assert_eq!(r.status, 200, "{}", r.body);
        r.checked(MODERN);
        // Give the log line a generous while to show up; then stop.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let mut found = None;
        while found.is_none() && std::time::Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                if line.contains("access ") && line.contains("status=") {
                    found = Some(line);
                }
            } else if !expect {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        match (expect, found) {
            (true, Some(line)) => {
                assert!(line.contains("status=200"), "{line}");
                assert!(line.contains("method=POST"), "{line}");
                assert!(line.contains("mcp_method=\"tools/list\""), "{line}");
                assert!(line.contains("path=\"/mcp\""), "{line}");
                assert!(!line.contains("jsonrpc"), "no body in the log: {line}");
            }
            (true, None) => panic!("no access line at debug"),
            (false, Some(line)) => panic!("an access line at info: {line}"),
            (false, None) => {}
        }
    }
}

/// `--stdio --http`: one process, one engine, two transports used at once.
/// A slow call on stdio does not hold up HTTP; both answers validate;
/// closing stdin ends the process (HTTP included).
#[test]
fn stdio_and_http_in_one_process() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_lmcp"))
        .args(["--stdio", "--http", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                let _ = tx.send(rest.split('/').next().unwrap().parse::<u16>().unwrap());
            }
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // A slow modern call on stdio...
    writeln!(
        stdin,
        "{}",
        shell_call(1, "sleep 1; echo from-stdio", false)
    )
    .unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // ...while HTTP answers.
    let started = std::time::Instant::now();
    let r = send(
        port,
        "POST",
        &SHELL_HEADERS,
        &shell_call(2, "echo from-http", false),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.checked(MODERN);
    assert!(v["result"].to_string().contains("from-http"), "{v}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "HTTP waited for stdio"
    );
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let v: Value = serde_json::from_str(&line).unwrap();
    valid(MODERN, &v);
    assert_eq!(v["id"], 1);
    assert!(v["result"].to_string().contains("from-stdio"), "{v}");
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}
