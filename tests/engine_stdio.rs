//! The engine over stdio, end to end: the real fixture server driven line by
//! line, every message it writes checked against the official schema.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{meta, modern, Peer, MODERN};

fn code(err: &Value) -> i64 {
    err["code"].as_i64().unwrap()
}

#[test]
fn bad_input_gets_the_right_error_and_the_server_goes_on() {
    let mut p = Peer::everything();
    p.send_raw(b"{not json\n");
    let r = p.next();
    assert_eq!(code(&r["error"]), -32700);
    assert!(r.get("id").is_none() || r["id"].is_null());

    p.send_raw(b"42\n");
    assert_eq!(code(&p.next()["error"]), -32600);

    p.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"\xff\xfe\"}\n");
    assert_eq!(code(&p.next()["error"]), -32700, "invalid UTF-8");

    p.send_raw(b"\n\r\n   \n");
    p.send_raw(b"{\"jsonrpc\":\"2.0\",\"id\":99,\"result\":{}}\n");

    let deep = format!("{}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    p.send_raw(deep.as_bytes());
    assert_eq!(code(&p.next()["error"]), -32600);
    let deep_obj = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"x\",\"params\":{{\"a\":{}1{}}}}}\n",
        "[".repeat(1000),
        "]".repeat(1000)
    );
    p.send_raw(deep_obj.as_bytes());
    let e = p.next()["error"].clone();
    assert_eq!(code(&e), -32600);
    assert!(e["message"].as_str().unwrap().contains("nests"));

    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"x\",\"params\":{{\"s\":\"{}\"}}}}\n",
        "a".repeat(20 * 1024 * 1024)
    );
    p.send_raw(big.as_bytes());
    let e = p.next()["error"].clone();
    assert_eq!(code(&e), -32600);
    assert!(e["message"].as_str().unwrap().contains("exceeds"));

    assert_eq!(
        code(&p.call_err("no/such/method", modern(json!({})))),
        -32601
    );
    assert_eq!(
        code(&p.call_err("tools/call", modern(json!({"name": 5})))),
        -32602
    );
    assert_eq!(
        code(&p.call_err("tools/call", modern(json!({"name": "nope"})))),
        -32602
    );
    let e = p.call_err("tools/call", modern(json!({"name": "panic"})));
    assert_eq!(code(&e), -32603);
    assert!(e["message"].as_str().unwrap().contains("panicked"));
    // Still serving after all of that.
    let r = p.call(
        "tools/call",
        modern(json!({"name": "echo", "arguments": {"text": "alive"}})),
    );
    assert_eq!(r["content"][0]["text"], "alive");
}

#[test]
fn modern_meta_is_validated() {
    let mut p = Peer::everything();
    let e = p.call_err(
        "tools/list",
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}),
    );
    assert_eq!(code(&e), -32602, "missing clientCapabilities");
    let e = p.call_err("tools/list", json!({}));
    assert_eq!(code(&e), -32602, "no _meta and no initialize");
    let e = p.call_err(
        "tools/list",
        json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "1900-01-01", "io.modelcontextprotocol/clientCapabilities": {}}}),
    );
    assert_eq!(code(&e), -32022);
    assert_eq!(e["data"]["requested"], "1900-01-01");
    assert!(e["data"]["supported"]
        .as_array()
        .unwrap()
        .contains(&json!(MODERN)));
    let mut bad_level = modern(json!({}));
    bad_level["_meta"]["io.modelcontextprotocol/logLevel"] = json!("loud");
    assert_eq!(code(&p.call_err("tools/list", bad_level)), -32602);
    let e = p.call_err("tools/call", modern(json!({"name": "ask_name"})));
    assert_eq!(code(&e), -32021, "elicitation without the capability");
    assert!(e["data"]["requiredCapabilities"]
        .get("elicitation")
        .is_some());
    assert_eq!(
        code(&p.call_err("ping", modern(json!({})))),
        -32601,
        "no ping in the modern era"
    );
}

#[test]
fn modern_results_carry_result_type_server_info_and_cache_hints() {
    let mut p = Peer::everything();
    let d = p.call("server/discover", modern(json!({})));
    assert!(d["supportedVersions"]
        .as_array()
        .unwrap()
        .contains(&json!(MODERN)));
    assert_eq!(d["resultType"], "complete");
    assert_eq!(
        d["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "everything"
    );
    assert!(d["ttlMs"].as_u64().is_some() && d["cacheScope"].is_string());
    for m in [
        "tools/list",
        "resources/list",
        "resources/templates/list",
        "prompts/list",
    ] {
        let r = p.call(m, modern(json!({})));
        assert_eq!(r["resultType"], "complete", "{m}");
        assert!(
            r["ttlMs"].is_u64() && r["cacheScope"] == "public",
            "{m}: {r}"
        );
    }
    let r = p.call(
        "resources/read",
        modern(json!({"uri": "test://static/hello"})),
    );
    assert_eq!(r["contents"][0]["text"], "Hello, resource!");
    assert!(r["ttlMs"].is_u64());
    let r = p.call("resources/read", modern(json!({"uri": "test://items/42"})));
    assert_eq!(r["contents"][0]["text"], "Item 42");
    let e = p.call_err("resources/read", modern(json!({"uri": "test://nothing"})));
    assert_eq!(code(&e), -32602, "modern resource-not-found is -32602");
    let r = p.call(
        "prompts/get",
        modern(json!({"name": "greet", "arguments": {"name": "Ada"}})),
    );
    assert!(r["messages"][0]["content"]["text"]
        .as_str()
        .unwrap()
        .contains("Ada"));
    assert_eq!(
        code(&p.call_err("prompts/get", modern(json!({"name": "greet"})))),
        -32602
    );
    let r = p.call("completion/complete", modern(json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "a"}})));
    assert_eq!(r["completion"]["values"], json!(["alice"]));
    let r = p.call(
        "tools/call",
        modern(json!({"name": "add", "arguments": {"a": 1, "b": 2}})),
    );
    assert_eq!(r["structuredContent"]["sum"], 3.0);
    let r = p.call(
        "tools/call",
        modern(json!({"name": "echo", "arguments": {"text": 5}})),
    );
    assert_eq!(
        r["isError"], true,
        "invalid arguments are a tool error the model can read"
    );
    let r = p.call("tools/call", modern(json!({"name": "fail"})));
    assert_eq!(r["isError"], true);
}

#[test]
fn tools_list_is_deterministic() {
    let mut p = Peer::everything();
    let a = p.call("tools/list", modern(json!({})));
    let b = p.call("tools/list", modern(json!({})));
    let names = |v: &Value| {
        v["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&a), names(&b));
    assert_eq!(names(&a)[0], "echo");
    assert_eq!(
        code(&p.call_err("tools/list", modern(json!({"cursor": "bm9wZQ"})))),
        -32602
    );
    assert_eq!(
        code(&p.call_err("tools/list", modern(json!({"cursor": 5})))),
        -32602
    );
}

#[test]
fn mrtr_round_trip_and_tampered_state() {
    let mut p = Peer::everything();
    let caps = json!({"elicitation": {}});
    let first = p.call(
        "tools/call",
        json!({"name": "ask_name", "_meta": meta(caps.clone())}),
    );
    assert_eq!(first["resultType"], "input_required");
    let (key, req) = first["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .map(|(k, v)| (k.clone(), v.clone()))
        .unwrap();
    assert_eq!(req["method"], "elicitation/create");
    let state = first["requestState"].as_str().unwrap().to_owned();
    let answer = json!({key.clone(): {"action": "accept", "content": {"name": "Ada"}}});
    let done = p.call(
        "tools/call",
        json!({"name": "ask_name", "_meta": meta(caps.clone()), "inputResponses": answer, "requestState": state}),
    );
    assert_eq!(done["resultType"], "complete");
    assert_eq!(done["content"][0]["text"], "Hello, Ada!");
    let mut tampered = state.clone();
    tampered.insert(2, 'x');
    let e = p.call_err(
        "tools/call",
        json!({"name": "ask_name", "_meta": meta(caps), "inputResponses": answer, "requestState": tampered}),
    );
    assert_eq!(code(&e), -32602);
}

#[test]
fn legacy_handshake_for_every_version() {
    for v in ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"] {
        let mut p = Peer::everything();
        let r = p.initialize(v, json!({}));
        assert_eq!(r["protocolVersion"], v);
        assert!(r["capabilities"]["tools"].is_object());
        assert!(
            r.get("resultType").is_none(),
            "no resultType in the legacy era"
        );
        assert_eq!(p.call("ping", json!({})), json!({}));
        assert_eq!(
            p.call("logging/setLevel", json!({"level": "info"})),
            json!({})
        );
        let tools = p.call("tools/list", json!({}));
        let add = tools["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == "add")
            .unwrap()
            .clone();
        let r = p.call(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 1}}),
        );
        if v < "2025-06-18" {
            assert!(add.get("outputSchema").is_none(), "{v}");
            assert!(r.get("structuredContent").is_none(), "{v}");
        } else {
            assert!(add.get("outputSchema").is_some(), "{v}");
            assert_eq!(r["structuredContent"]["sum"], 2.0);
        }
        let e = p.call_err("resources/read", json!({"uri": "test://nothing"}));
        assert_eq!(code(&e), -32002, "legacy resource-not-found");
    }
    let mut p = Peer::everything();
    assert_eq!(
        p.initialize("2099-01-01", json!({}))["protocolVersion"],
        "2025-11-25"
    );
}

#[test]
fn batches_only_under_2025_03_26() {
    let mut p = Peer::everything();
    p.initialize("2025-06-18", json!({}));
    p.send_raw(b"[{\"jsonrpc\":\"2.0\",\"id\":50,\"method\":\"ping\"}]\n");
    let r = p.next();
    assert_eq!(code(&r["error"]), -32600);

    let mut p = Peer::everything();
    p.initialize("2025-03-26", json!({}));
    p.send_raw(b"[{\"jsonrpc\":\"2.0\",\"id\":50,\"method\":\"ping\"},{\"jsonrpc\":\"2.0\",\"id\":51,\"method\":\"tools/list\"}]\n");
    let r = p.next();
    let arr = r.as_array().expect("a batch answer is an array");
    assert_eq!(arr.len(), 2);
}

#[test]
fn discover_answered_before_initialize_then_legacy_works() {
    let mut p = Peer::everything();
    let d = p.call("server/discover", modern(json!({})));
    assert_eq!(d["resultType"], "complete");
    p.initialize("2025-11-25", json!({}));
    assert!(p.call("tools/list", json!({}))["tools"].is_array());
}

#[test]
fn legacy_elicitation_is_a_server_request() {
    let mut p = Peer::everything();
    p.initialize("2025-11-25", json!({"elicitation": {}}));
    let id = p.request("tools/call", json!({"name": "ask_name"}));
    let req = p.next();
    assert_eq!(req["method"], "elicitation/create");
    p.send(&json!({"jsonrpc": "2.0", "id": req["id"], "result": {"action": "accept", "content": {"name": "Grace"}}}));
    let (r, _) = p.response(id);
    assert_eq!(r["result"]["content"][0]["text"], "Hello, Grace!");
}

#[test]
fn a_fast_call_is_answered_while_a_slow_one_runs() {
    let mut p = Peer::everything();
    let slow = p.request(
        "tools/call",
        modern(json!({"name": "sleep", "arguments": {"ms": 3000}})),
    );
    let t = Instant::now();
    let fast = p.request(
        "tools/call",
        modern(json!({"name": "echo", "arguments": {"text": "quick"}})),
    );
    let (r, _) = p.response(fast);
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "echo waited for sleep: {:?}",
        t.elapsed()
    );
    assert_eq!(r["result"]["content"][0]["text"], "quick");
    let (r, _) = p.response(slow);
    assert_eq!(r["result"]["content"][0]["text"], "slept 3000 ms");
}

#[test]
fn cancellation_sends_no_response() {
    let mut p = Peer::everything();
    let slow = p.request(
        "tools/call",
        modern(json!({"name": "sleep", "arguments": {"ms": 1500}})),
    );
    std::thread::sleep(Duration::from_millis(200));
    p.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": slow, "reason": "test"}}));
    let deadline = Instant::now() + Duration::from_millis(2500);
    while let Some(m) = p.next_within(deadline.saturating_duration_since(Instant::now())) {
        assert_ne!(
            m.get("id"),
            Some(&json!(slow)),
            "a cancelled request was answered: {m}"
        );
    }
    let r = p.call(
        "tools/call",
        modern(json!({"name": "echo", "arguments": {"text": "after"}})),
    );
    assert_eq!(r["content"][0]["text"], "after");
}

#[test]
fn progress_notifications_for_a_progress_token() {
    let mut p = Peer::everything();
    let mut params = modern(json!({"name": "sleep", "arguments": {"ms": 350}}));
    params["_meta"]["progressToken"] = json!("tok");
    let id = p.request("tools/call", params);
    let (_, before) = p.response(id);
    let progress: Vec<_> = before
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert!(
        progress.len() >= 2,
        "expected progress notifications, got {before:?}"
    );
    assert!(progress
        .iter()
        .all(|m| m["params"]["progressToken"] == "tok"));
}

#[test]
fn log_messages_only_when_asked() {
    let mut p = Peer::everything();
    let id = p.request(
        "tools/call",
        modern(json!({"name": "sleep", "arguments": {"ms": 250}})),
    );
    let (_, before) = p.response(id);
    assert!(
        before.is_empty(),
        "no notifications without a token or log level: {before:?}"
    );
    let mut params = modern(json!({"name": "sleep", "arguments": {"ms": 250}}));
    params["_meta"]["io.modelcontextprotocol/logLevel"] = json!("debug");
    let id = p.request("tools/call", params);
    let (_, before) = p.response(id);
    assert!(
        before
            .iter()
            .any(|m| m["method"] == "notifications/message"),
        "{before:?}"
    );
}

#[test]
fn subscriptions_listen_acknowledges_and_ends_gracefully() {
    let mut p = Peer::everything();
    let id = p.request(
        "subscriptions/listen",
        modern(json!({"notifications": {"toolsListChanged": true, "bogus": true}})),
    );
    let ack = p.next();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        id
    );
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true})
    );
    p.close_stdin();
    let (r, before) = p.response(id);
    assert_eq!(
        r["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        id
    );
    // On stdio a stream the server ends is also closed with a cancellation
    // naming the listen request.
    let cancelled: Vec<Value> = before
        .into_iter()
        .filter(|m| m["method"] == "notifications/cancelled")
        .collect();
    assert_eq!(cancelled.len(), 1, "{cancelled:?}");
    assert_eq!(cancelled[0]["params"]["requestId"], id);
    assert_eq!(p.wait_exit(), Some(0));
}

#[test]
fn eof_lets_in_flight_requests_finish_then_exits() {
    let mut p = Peer::everything();
    let ids: Vec<i64> = (0..20)
        .map(|i| {
            p.request(
                "tools/call",
                modern(json!({"name": "sleep", "arguments": {"ms": 100 + i * 10}})),
            )
        })
        .collect();
    p.close_stdin();
    for id in ids {
        let (r, _) = p.response(id);
        assert!(r["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("slept"));
    }
    assert_eq!(p.wait_exit(), Some(0));
}

#[test]
fn sigterm_exits_cleanly() {
    let mut p = Peer::everything();
    p.call("server/discover", modern(json!({})));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &p.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(p.wait_exit(), Some(0));
}

#[test]
fn many_pipelined_calls_all_answered() {
    let mut p = Peer::everything();
    let mut buf = Vec::new();
    for i in 0..2000 {
        let m = json!({"jsonrpc": "2.0", "id": 10_000 + i, "method": "tools/call", "params": modern(json!({"name": "echo", "arguments": {"text": i.to_string()}}))});
        buf.extend(serde_json::to_vec(&m).unwrap());
        buf.push(b'\n');
    }
    p.send_raw(&buf);
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 2000 {
        let m = p.next();
        let id = m["id"].as_i64().unwrap();
        assert_eq!(m["result"]["content"][0]["text"], (id - 10_000).to_string());
        seen.insert(id);
    }
}
