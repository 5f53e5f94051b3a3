//! Issue 15: an answer sent as an event stream costs what the same answer
//! sent as JSON costs. Measured as a ratio of medians in one run, over one
//! keep-alive connection with JSON and streamed calls interleaved, so a
//! busy machine slows both alike; a stall on every stream (a millisecond
//! timer before the first event, a flush that waits) shows as a ratio of
//! three or more, the healthy path as about one.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::raw_http::{KeepAlive, Reply, ACCEPT, JSON};
use support::{check, meta, start_http, MODERN};

/// Calls of each kind.
const CALLS: usize = 200;
/// Streamed median over JSON median above this fails.
const MAX_RATIO: f64 = 2.0;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed(c: &mut KeepAlive, headers: &[(&str, &str)], body: &str) -> (Duration, Reply) {
    let t = Instant::now();
    let r = c.post(headers, body);
    (t.elapsed(), r)
}

/// `(json, streamed)` medians of `CALLS` interleaved calls of each, after
/// checking the first answer of each kind against the schema.
fn compare(
    c: &mut KeepAlive,
    rev: &str,
    json_call: (&[(&str, &str)], &str),
    sse_call: (&[(&str, &str)], &str),
) -> (Duration, Duration) {
    let (mut js, mut ss) = (Vec::new(), Vec::new());
    for i in 0..CALLS + 10 {
        let (tj, rj) = timed(c, json_call.0, json_call.1);
        let (ts, rs) = timed(c, sse_call.0, sse_call.1);
        if i == 0 {
            assert_eq!(rj.header("content-type"), Some("application/json"));
            assert_eq!(rs.header("content-type"), Some("text/event-stream"));
            let (jv, events) = (rj.json(), rs.events());
            for m in std::iter::once(&jv).chain(&events) {
                let errors = check(rev, "JSONRPCMessage", m);
                assert!(errors.is_empty(), "{m} violates {rev}: {errors:?}");
            }
            assert!(jv.get("result").is_some(), "{jv}");
            assert!(
                events.last().is_some_and(|e| e.get("result").is_some()),
                "{events:?}"
            );
        }
        // The first ten of each warm up (allocator, caches).
        if i >= 10 {
            js.push(tj);
            ss.push(ts);
        }
    }
    (median(js), median(ss))
}

fn assert_close(what: &str, (json, sse): (Duration, Duration)) {
    let ratio = sse.as_secs_f64() / json.as_secs_f64();
    eprintln!("{what}: JSON p50 {json:?}, streamed p50 {sse:?}, ratio {ratio:.2}");
    assert!(
        ratio < MAX_RATIO,
        "{what}: a streamed answer took {ratio:.2}x the JSON answer (p50 {sse:?} against {json:?}): a stall on the event-stream path"
    );
}

fn call_body(id: i64, name: &str, args: Value, meta: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": name, "arguments": args, "_meta": meta}})
    .to_string()
}

#[test]
fn a_modern_streamed_answer_costs_what_its_json_answer_costs() {
    let s = start_http(support::example("everything"), &[]);
    let mut c = KeepAlive::connect(s.port);
    let h = [
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", MODERN),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "echo"),
    ];
    let plain = call_body(1, "echo", json!({"text": "hi"}), meta(json!({})));
    let mut m = meta(json!({}));
    m["progressToken"] = json!("p");
    let streamed = call_body(2, "echo", json!({"text": "hi"}), m);
    assert_close(
        "modern tools/call",
        compare(&mut c, MODERN, (&h, &plain), (&h, &streamed)),
    );
}

#[test]
fn a_legacy_streamed_tool_call_costs_what_a_json_ping_costs() {
    let rev = "2025-11-25";
    let s = start_http(support::example("everything"), &[]);
    let mut c = KeepAlive::connect(s.port);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": rev, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let r = c.post(&[JSON, ACCEPT], &init.to_string());
    assert_eq!(r.status, 200, "{}", r.body);
    let sid = r.header("mcp-session-id").expect("a session id").to_owned();
    let h = [
        JSON,
        ACCEPT,
        ("MCP-Protocol-Version", rev),
        ("Mcp-Session-Id", sid.as_str()),
    ];
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    assert_eq!(c.post(&h, &note).status, 202);
    // ping is answered as JSON; a tools/call is streamed (Accept has both).
    let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hi"}}})
    .to_string();
    assert_close(
        "legacy tools/call against ping",
        compare(&mut c, rev, (&h, &ping), (&h, &call)),
    );
}
