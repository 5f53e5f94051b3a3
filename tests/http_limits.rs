//! Issue 23's HTTP limits, spoken raw over loopback: `--max-in-flight`
//! applies to modern requests over HTTP, `--max-sessions` evicts the least
//! recently used idle legacy session, the bearer scheme is case-insensitive,
//! ambiguous `Origin` headers are refused; and (issue 19) a streamed
//! request that fails up front keeps its HTTP status, a foreign `Host` is
//! refused, and -32022 never offers the version asked for.

mod support;

use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Instant;
use support::raw_http::{send, ACCEPT, JSON};
use support::{meta, start_http, TokenFile, MODERN};

const LEGACY: &str = "2025-11-25";

fn call_body(id: i64, name: &str, args: Value, meta: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": args, "_meta": meta}})
    .to_string()
}

fn modern_headers(name: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", name),
    ]
}

#[test]
fn max_in_flight_caps_modern_requests_over_http() {
    // Two slots, four 300 ms calls at once: two waves, so at least 600 ms.
    let s = start_http(support::example("everything"), &["--max-in-flight", "2"]);
    let port = s.port;
    let started = Instant::now();
    let calls: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let body = call_body(i, "sleep", json!({"ms": 300}), meta(json!({})));
                send(port, "POST", &modern_headers("sleep"), &body)
            })
        })
        .collect();
    for c in calls {
        let r = c.join().unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.checked(MODERN)["result"]["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("slept")));
    }
    let took = started.elapsed();
    assert!(
        took.as_millis() >= 580,
        "four 300 ms calls under --max-in-flight 2 finished in {took:?}: the cap was not applied"
    );
}

fn initialize(port: u16) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let r = send(port, "POST", &[JSON, ACCEPT], &init.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    r.checked(LEGACY);
    r.header("mcp-session-id").expect("a session id").to_owned()
}

fn ping(port: u16, sid: &str) -> u16 {
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
    send(
        port,
        "POST",
        &[
            JSON,
            ACCEPT,
            ("MCP-Protocol-Version", LEGACY),
            ("Mcp-Session-Id", sid),
        ],
        &body,
    )
    .status
}

#[test]
fn max_sessions_evicts_the_least_recently_used_idle_session() {
    let s = start_http(
        PathBuf::from(env!("CARGO_BIN_EXE_lmcp")),
        &["--max-sessions", "2"],
    );
    let a = initialize(s.port);
    let b = initialize(s.port);
    // a is used after b: b is now the least recently used.
    assert_eq!(ping(s.port, &a), 200);
    let c = initialize(s.port);
    assert_eq!(
        ping(s.port, &b),
        404,
        "the least recently used session is ended"
    );
    assert_eq!(ping(s.port, &a), 200);
    assert_eq!(ping(s.port, &c), 200);
}

#[test]
fn the_bearer_scheme_is_case_insensitive() {
    let token = TokenFile::new("bearer", "s3cret-token-of-16+bytes");
    let s = start_http(
        PathBuf::from(env!("CARGO_BIN_EXE_lmcp")),
        &["--auth-token-file", token.path()],
    );
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "ping", "arguments": {}, "_meta": meta(json!({}))}})
    .to_string();
    for (auth, want) in [
        ("bearer s3cret-token-of-16+bytes", 200),
        ("BEARER s3cret-token-of-16+bytes", 200),
        ("Bearer s3cret-token-of-16+bytes", 200),
        ("bearer wrong", 401),
        ("Basic s3cret-token-of-16+bytes", 401),
    ] {
        let mut h = modern_headers("ping");
        h.push(("Authorization", auth));
        let r = send(s.port, "POST", &h, &body);
        assert_eq!(r.status, want, "{auth}: {}", r.body);
    }
}

#[test]
fn two_origins_or_a_non_ascii_origin_are_refused() {
    let s = start_http(support::example("everything"), &[]);
    let body = call_body(1, "echo", json!({"text": "x"}), meta(json!({})));
    let mut h = modern_headers("echo");
    h.push(("Origin", "http://localhost:3000"));
    assert_eq!(send(s.port, "POST", &h, &body).status, 200);
    h.push(("Origin", "http://evil.example"));
    let r = send(s.port, "POST", &h, &body);
    assert_eq!(r.status, 403, "{}", r.body);
    r.checked(MODERN);
    // A non-ASCII value, sent as raw bytes.
    let mut raw = support::raw_http::open(
        s.port,
        "POST",
        &[
            JSON,
            ACCEPT,
            ("MCP-Protocol-Version", MODERN),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", "echo"),
            ("Origin", "http://\u{e9}vil.example"),
        ],
        &body,
    );
    let _ = &mut raw;
    let r = support::raw_http::read_reply(raw);
    assert_eq!(r.status, 403, "{}", r.body);
}

#[test]
fn a_streamed_request_that_fails_up_front_keeps_its_status() {
    let s = start_http(support::example("everything"), &[]);
    let mut m = meta(json!({}));
    m["progressToken"] = json!("p");
    // Unknown method: 404; unknown tool: 400 — as JSON, not a 200 stream.
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "no/such", "params": {"_meta": m.clone()}})
            .to_string();
    let h = [
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", "no/such"),
    ];
    let r = send(s.port, "POST", &h, &body);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.status_code(MODERN), (404, Some(-32601)));
    // Unknown tool: -32602 (invalid params), 400.
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "no_such_tool", "arguments": {}, "_meta": m}})
    .to_string();
    let r = send(s.port, "POST", &modern_headers("no_such_tool"), &body);
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{}",
        r.body
    );
    assert_eq!(r.status, 400, "{}", r.body);
    r.checked(MODERN);
    // A log level streams as well as a progress token does.
    let mut logged = meta(json!({}));
    logged["io.modelcontextprotocol/logLevel"] = json!("debug");
    // Issue 19: -32022, -32021 and -32602 keep their 400 however the
    // handler gets there (the version check, an input request, a prompt
    // that does not exist).
    let mut old = m.clone();
    old["io.modelcontextprotocol/protocolVersion"] = json!("1900-01-01");
    let tool = |name: &str, meta: &Value| json!({"name": name, "arguments": {}, "_meta": meta});
    let cases = [
        ("tools/call", "echo", tool("echo", &old), -32022),
        ("tools/call", "ask_name", tool("ask_name", &m), -32021),
        ("tools/call", "ask_name", tool("ask_name", &logged), -32021),
        (
            "prompts/get",
            "no_such_prompt",
            tool("no_such_prompt", &m),
            -32602,
        ),
        (
            "prompts/get",
            "no_such_prompt",
            tool("no_such_prompt", &logged),
            -32602,
        ),
    ];
    for (i, (method, name, params, code)) in cases.into_iter().enumerate() {
        let version = params["_meta"]["io.modelcontextprotocol/protocolVersion"]
            .as_str()
            .unwrap()
            .to_owned();
        let h = [
            JSON,
            ACCEPT,
            ("MCP-Protocol-Version", version.as_str()),
            ("Mcp-Method", method),
            ("Mcp-Name", name),
        ];
        let body = json!({"jsonrpc": "2.0", "id": 10 + i, "method": method, "params": params});
        let r = send(s.port, "POST", &h, &body.to_string());
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{method} {name} ({code}): {}",
            r.body
        );
        assert_eq!(r.status_code(MODERN), (400, Some(code)), "{}", r.body);
    }
}

/// POST a notification with this `Host` header; the status.
fn status_with_host(port: u16, host: &str) -> u16 {
    use std::io::Write;
    let body = r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#;
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    raw.set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    write!(
        raw,
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let r = support::raw_http::read_reply(raw);
    if r.status == 403 {
        assert_eq!(r.status_code(MODERN), (403, Some(-32600)), "{}", r.body);
        assert!(r.body.contains("--allow-host"), "{}", r.body);
    }
    r.status
}

/// Issue 19: DNS rebinding. On a loopback bind a foreign `Host` is refused
/// (403); loopback names pass on any port; `--allow-host` adds a name.
#[test]
fn a_foreign_host_is_refused_on_a_loopback_bind() {
    let lmcp = PathBuf::from(env!("CARGO_BIN_EXE_lmcp"));
    let s = start_http(lmcp.clone(), &[]);
    for host in [
        "127.0.0.1",
        "localhost:9",
        "LOCALHOST",
        "[::1]:8080",
        "app.localhost:3000",
        "127.0.0.2:1",
    ] {
        assert_eq!(status_with_host(s.port, host), 202, "{host}");
    }
    for host in [
        "evil.example",
        "evil.example:80",
        "localhost.evil.example",
        "10.0.0.1",
        "mcp.internal:8080",
    ] {
        assert_eq!(status_with_host(s.port, host), 403, "{host}");
    }
    let s = start_http(lmcp, &["--allow-host", "MCP.internal"]);
    assert_eq!(status_with_host(s.port, "mcp.internal:8080"), 202);
    assert_eq!(status_with_host(s.port, "localhost"), 202);
    assert_eq!(status_with_host(s.port, "evil.example"), 403);
}

/// Issue 19: a request whose handler awaits before failing (lmcp reads a
/// file resource on a blocking thread) still keeps its status when it asked
/// for a stream: resources/read of a missing file with a progress token is
/// 400 + -32602 as JSON, not a 200 event stream.
#[test]
fn a_streamed_request_that_fails_after_an_await_keeps_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let lmcp = PathBuf::from(env!("CARGO_BIN_EXE_lmcp"));
    let s = start_http(lmcp, &["--root", root.to_str().unwrap()]);
    let uri = format!("file://{}/missing.txt", root.display());
    let mut m = meta(json!({}));
    m["progressToken"] = json!("p");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read",
        "params": {"uri": uri, "_meta": m}});
    let h = [
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", "resources/read"),
        ("Mcp-Name", uri.as_str()),
    ];
    let r = send(s.port, "POST", &h, &body.to_string());
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{}",
        r.body
    );
    assert_eq!(r.status_code(MODERN), (400, Some(-32602)), "{}", r.body);
}

/// Issue 19: a stateless request naming a legacy revision is refused with
/// -32022 whose `supported` does not list that revision (it is served only
/// through `initialize`).
#[test]
fn unsupported_version_never_lists_the_version_asked_for() {
    let s = start_http(support::example("everything"), &[]);
    let mut m = meta(json!({}));
    m["io.modelcontextprotocol/protocolVersion"] = json!(LEGACY);
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": m}});
    let h = [
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", LEGACY),
        ("Mcp-Method", "tools/list"),
    ];
    let r = send(s.port, "POST", &h, &body.to_string());
    assert_eq!(r.status_code(MODERN), (400, Some(-32022)), "{}", r.body);
    let data = &r.json()["error"]["data"];
    assert_eq!(data["requested"], LEGACY, "{data}");
    let supported = data["supported"].as_array().expect("a list");
    assert!(supported.contains(&json!(MODERN)), "{data}");
    assert!(!supported.contains(&json!(LEGACY)), "{data}");
}
