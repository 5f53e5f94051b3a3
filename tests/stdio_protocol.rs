//! Acceptance tests of issue 2 over stdio: error handling, robustness,
//! modern (2026-07-28) and legacy (2025-11-25 .. 2024-11-05) rules,
//! MRTR and legacy elicitation, concurrency, cancellation, progress, shutdown.
//!
//! Every line the server writes is validated against the official schema of
//! its era by the harness (tests/common). The `everything` example must be
//! built first: `cargo build --examples`.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn everything() -> Peer {
    Peer::everything()
}

fn is_response_to(m: &Value, id: i64) -> bool {
    m.get("id") == Some(&json!(id)) && m.get("method").is_none()
}

/// The server still answers a modern request after whatever came before.
fn assert_still_serving(p: &mut Peer) {
    let r = p.modern(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "still here"}}),
    );
    assert_eq!(first_text(&r), "still here", "{r}");
}

/// The next message must be an error without a usable id; returns its code.
fn next_idless_error(p: &mut Peer) -> i64 {
    let m = p.next();
    assert!(
        m.get("id").is_none() || m["id"].is_null(),
        "expected an error without id, got {m}"
    );
    error_code(&m)
}

// ------------------------------------------------------------ JSON-RPC layer --

#[test]
fn invalid_json_is_a_parse_error_with_null_id() {
    let mut p = everything();
    p.send_line(r#"{"jsonrpc":"2.0","id":1,"method":"#);
    assert_eq!(next_idless_error(&mut p), -32700);
    p.send_line("not json at all");
    assert_eq!(next_idless_error(&mut p), -32700);
    assert_still_serving(&mut p);
}

#[test]
fn integer_ids_beyond_i64_and_negative_ids_are_answered_verbatim() {
    let mut p = everything();
    for id in [
        json!(18446744073709551615u64),
        json!(-9223372036854775808i64),
        json!("s-1"),
    ] {
        p.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": modern_params(json!({}))}));
        let m = p.next();
        assert_eq!(m["id"], id, "{m}");
        assert!(m.get("result").is_some(), "{m}");
    }
    assert_still_serving(&mut p);
}

#[test]
fn non_object_messages_are_invalid_requests() {
    let mut p = everything();
    for line in ["42", r#""a string""#, "true", "null"] {
        p.send_line(line);
        assert_eq!(next_idless_error(&mut p), -32600, "for {line}");
    }
    // An object without "jsonrpc": "2.0" keeps its id in the error.
    p.send_line(r#"{"id":77,"method":"tools/list"}"#);
    let m = p.response(77);
    assert_eq!(error_code(&m), -32600, "{m}");
    // A null id is not allowed.
    p.send_line(r#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#);
    assert_eq!(next_idless_error(&mut p), -32600);
    // Neither request nor response.
    p.send_line(r#"{"jsonrpc":"2.0","id":78}"#);
    assert_eq!(error_code(&p.response(78)), -32600);
    assert_still_serving(&mut p);
}

#[test]
fn unknown_method_is_method_not_found_in_both_eras() {
    let mut p = everything();
    let r = p.modern("no/such/method", json!({}));
    assert_eq!(error_code(&r), -32601, "{r}");
    // Legacy-only methods do not exist in the modern era.
    for m in ["initialize", "ping", "logging/setLevel"] {
        let r = p.modern(m, json!({}));
        assert_eq!(error_code(&r), -32601, "modern {m}: {r}");
    }
    p.initialize(LATEST_LEGACY, json!({}));
    let r = p.call("no/such/method", json!({}));
    assert_eq!(error_code(&r), -32601, "{r}");
    assert_still_serving(&mut p);
}

#[test]
fn bad_params_are_invalid_params() {
    let mut p = everything();
    // tools/call without a name.
    let r = p.modern("tools/call", json!({"arguments": {}}));
    assert_eq!(error_code(&r), -32602, "{r}");
    // A name that is not a string.
    let r = p.modern("tools/call", json!({"name": 5}));
    assert_eq!(error_code(&r), -32602, "{r}");
    // Unknown tool.
    let r = p.modern("tools/call", json!({"name": "nope", "arguments": {}}));
    assert_eq!(error_code(&r), -32602, "{r}");
    // Arguments not an object.
    let r = p.modern("tools/call", json!({"name": "echo", "arguments": [1, 2]}));
    assert_eq!(error_code(&r), -32602, "{r}");
    // params not an object at all.
    p.send_line(r#"{"jsonrpc":"2.0","id":900,"method":"tools/list","params":[1]}"#);
    assert_eq!(error_code(&p.response(900)), -32602);
    // Unknown prompt / missing required prompt argument.
    let r = p.modern("prompts/get", json!({"name": "nope"}));
    assert_eq!(error_code(&r), -32602, "{r}");
    let r = p.modern("prompts/get", json!({"name": "greet", "arguments": {}}));
    assert_eq!(error_code(&r), -32602, "{r}");
    assert_still_serving(&mut p);
}

#[test]
fn invalid_tool_arguments_are_a_tool_error_the_model_can_read() {
    let mut p = everything();
    let r = p.modern(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": 5}}),
    );
    let res = result(&r);
    assert_eq!(res["isError"], json!(true), "{r}");
    assert!(first_text(&r).contains("text"), "{r}");
    let r = p.modern("tools/call", json!({"name": "sleep", "arguments": {}}));
    assert_eq!(result(&r)["isError"], json!(true), "{r}");
}

#[test]
fn failing_tool_is_an_error_result_and_panicking_tool_is_internal_error() {
    let mut p = everything();
    let r = p.modern("tools/call", json!({"name": "fail", "arguments": {}}));
    assert_eq!(result(&r)["isError"], json!(true), "{r}");
    assert!(first_text(&r).contains("always fails"), "{r}");
    for _ in 0..3 {
        let r = p.modern("tools/call", json!({"name": "panic", "arguments": {}}));
        assert_eq!(error_code(&r), -32603, "{r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("panic"),
            "the message should say what happened: {r}"
        );
    }
    assert_still_serving(&mut p);
    // Same in a legacy session.
    p.initialize(LATEST_LEGACY, json!({}));
    let r = p.call("tools/call", json!({"name": "panic", "arguments": {}}));
    assert_eq!(error_code(&r), -32603, "{r}");
    let r = p.call(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "ok"}}),
    );
    assert_eq!(first_text(&r), "ok");
}

#[test]
fn multi_megabyte_line_within_the_limit_is_served() {
    let mut p = everything();
    let text = "x".repeat(5 * 1024 * 1024);
    let r = p.modern(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": text}}),
    );
    assert_eq!(first_text(&r).len(), text.len());
    assert_still_serving(&mut p);
}

#[test]
fn line_over_the_size_limit_is_refused_and_server_keeps_serving() {
    // Default limit (16 MiB): a 17 MiB line.
    let mut p = everything();
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{}"}}}}}}"#,
        "y".repeat(17 * 1024 * 1024)
    );
    p.send_line(&big);
    let code = next_idless_error(&mut p);
    assert_eq!(code, -32600);
    assert_still_serving(&mut p);

    // Configured limit on the binary.
    let mut p = Peer::lmcp_with(&["--max-message-bytes", "65536"]);
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{{"pad":"{}"}}}}"#,
        "z".repeat(3 * 1024 * 1024)
    );
    p.send_line(&big);
    assert_eq!(next_idless_error(&mut p), -32600);
    let r = p.modern("tools/call", json!({"name": "ping", "arguments": {}}));
    assert!(first_text(&r).starts_with("pong"), "{r}");
}

#[test]
fn deeply_nested_json_is_refused_without_crashing() {
    let mut p = everything();
    let n = 100_000;
    let arrays = format!("{}{}", "[".repeat(n), "]".repeat(n));
    p.send_line(&arrays);
    let code = next_idless_error(&mut p);
    assert!(code == -32600 || code == -32700, "code {code}");
    let objects = format!(
        r#"{{"jsonrpc":"2.0","id":5,"method":"tools/list","params":{{"x":{}1{}}}}}"#,
        r#"{"a":"#.repeat(n),
        "}".repeat(n)
    );
    p.send_line(&objects);
    let m = p.next();
    let code = error_code(&m);
    assert!(code == -32600 || code == -32700, "{m}");
    // Unterminated nesting too.
    p.send_line(&"[".repeat(n));
    let code = next_idless_error(&mut p);
    assert!(code == -32600 || code == -32700, "code {code}");
    assert_still_serving(&mut p);
}

#[test]
fn invalid_utf8_is_refused_without_crashing() {
    let mut p = everything();
    let mut line = br#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"x":""#.to_vec();
    line.extend_from_slice(&[0xff, 0xfe, 0xc3]);
    line.extend_from_slice(b"\"}}\n");
    p.send_bytes(line);
    let m = p.next();
    assert_eq!(error_code(&m), -32700, "{m}");
    p.send_bytes(vec![0x80, 0x81, 0xff, b'\n']);
    assert_eq!(next_idless_error(&mut p), -32700);
    assert_still_serving(&mut p);
}

#[test]
fn empty_and_blank_lines_are_ignored() {
    let mut p = everything();
    p.send_bytes(b"\n\n   \n\r\n\t\n".to_vec());
    let id = p.modern_request("tools/list", json!({}));
    let m = p.next();
    assert!(
        is_response_to(&m, id),
        "blank lines must get no answer; got {m}"
    );
}

#[test]
fn response_with_unknown_id_is_ignored() {
    let mut p = everything();
    p.send_line(r#"{"jsonrpc":"2.0","id":4242,"result":{}}"#);
    p.send_line(r#"{"jsonrpc":"2.0","id":"nope","error":{"code":-1,"message":"x"}}"#);
    let id = p.modern_request("tools/list", json!({}));
    let m = p.next();
    assert!(
        is_response_to(&m, id),
        "a stray response must get no answer; got {m}"
    );
}

#[test]
fn unknown_notifications_get_no_answer() {
    let mut p = everything();
    p.notify("notifications/whatever", json!({}));
    p.notify("notifications/cancelled", json!({"requestId": 12345}));
    let id = p.modern_request("tools/list", json!({}));
    let m = p.next();
    assert!(is_response_to(&m, id), "{m}");
}

#[test]
fn duplicate_in_flight_id_is_refused() {
    let mut p = everything();
    let params = modern_params(json!({"name": "sleep", "arguments": {"ms": 500}}));
    p.send(&json!({"jsonrpc":"2.0","id":"dup","method":"tools/call","params": params}));
    p.send(&json!({"jsonrpc":"2.0","id":"dup","method":"tools/call","params": params}));
    let first = p.response("dup");
    let second = p.response("dup");
    let errors = [&first, &second]
        .iter()
        .filter(|m| m.get("error").is_some())
        .count();
    assert_eq!(errors, 1, "one of them is refused: {first} / {second}");
}

// ------------------------------------------------------------------ modern --

#[test]
fn modern_missing_protocol_version_is_invalid_params() {
    let mut p = everything();
    let r = p.call("tools/list", json!({"_meta": {CAPS: {}}}));
    assert_eq!(error_code(&r), -32602, "{r}");
    let r = p.call("tools/list", json!({}));
    assert_eq!(error_code(&r), -32602, "{r}");
}

#[test]
fn modern_missing_client_capabilities_is_invalid_params() {
    let mut p = everything();
    let r = p.call("tools/list", json!({"_meta": {PV: MODERN}}));
    assert_eq!(error_code(&r), -32602, "{r}");
    let r = p.call("tools/list", json!({"_meta": {PV: MODERN, CAPS: "x"}}));
    assert_eq!(error_code(&r), -32602, "{r}");
    let r = p.call("tools/list", json!({"_meta": {PV: 20260728, CAPS: {}}}));
    assert_eq!(error_code(&r), -32602, "{r}");
}

#[test]
fn modern_unknown_version_is_unsupported_protocol_version() {
    let mut p = everything();
    for v in ["2099-01-01", "banana"] {
        let r = p.call("tools/list", json!({"_meta": {PV: v, CAPS: {}}}));
        assert_eq!(error_code(&r), -32022, "{r}");
        let data = &r["error"]["data"];
        assert_eq!(data["requested"], json!(v), "{r}");
        let supported: Vec<&str> = data["supported"]
            .as_array()
            .expect("data.supported")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(supported.contains(&MODERN), "{r}");
    }
}

#[test]
fn modern_elicitation_without_client_capability_is_missing_capability() {
    let mut p = everything();
    let r = p.modern("tools/call", json!({"name": "ask_name", "arguments": {}}));
    assert_eq!(error_code(&r), -32021, "{r}");
    assert!(
        r["error"]["data"]["requiredCapabilities"]["elicitation"].is_object(),
        "{r}"
    );
}

/// Every modern method of the fixture, with valid params.
fn modern_calls() -> Vec<(&'static str, Value)> {
    vec![
        ("server/discover", json!({})),
        ("tools/list", json!({})),
        (
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        ),
        (
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
        ),
        ("tools/call", json!({"name": "image", "arguments": {}})),
        ("tools/call", json!({"name": "fail", "arguments": {}})),
        ("resources/list", json!({})),
        ("resources/templates/list", json!({})),
        ("resources/read", json!({"uri": "test://static/hello"})),
        ("resources/read", json!({"uri": "test://items/42"})),
        ("prompts/list", json!({})),
        (
            "prompts/get",
            json!({"name": "greet", "arguments": {"name": "Ada"}}),
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "a"}}),
        ),
    ]
}

#[test]
fn modern_results_carry_result_type_and_server_info() {
    let mut p = everything();
    for (method, params) in modern_calls() {
        let r = p.modern(method, params);
        let res = result(&r);
        assert_eq!(res["resultType"], json!("complete"), "{method}: {r}");
        let info = &res["_meta"][SERVER_INFO];
        assert_eq!(info["name"], json!("everything"), "{method}: {r}");
        assert!(info["version"].is_string(), "{method}: {r}");
    }
}

#[test]
fn modern_cacheable_results_carry_ttl_and_cache_scope() {
    let mut p = everything();
    for (method, params) in modern_calls() {
        let r = p.modern(method, params);
        let res = result(&r);
        let cacheable = matches!(
            method,
            "server/discover"
                | "tools/list"
                | "prompts/list"
                | "resources/list"
                | "resources/templates/list"
                | "resources/read"
        );
        if cacheable {
            assert!(res["ttlMs"].as_u64().is_some(), "{method}: {r}");
            let scope = res["cacheScope"].as_str().unwrap_or("");
            assert!(scope == "public" || scope == "private", "{method}: {r}");
        } else {
            assert!(res.get("ttlMs").is_none(), "{method} is not cacheable: {r}");
        }
    }
}

#[test]
fn modern_features_answer_correctly() {
    let mut p = everything();
    let r = p.modern(
        "tools/call",
        json!({"name": "add", "arguments": {"a": 2, "b": 3.5}}),
    );
    assert_eq!(result(&r)["structuredContent"]["sum"], json!(5.5), "{r}");
    let r = p.modern("resources/read", json!({"uri": "test://static/hello"}));
    assert_eq!(result(&r)["contents"][0]["text"], json!("Hello, resource!"));
    let r = p.modern("resources/read", json!({"uri": "test://items/7"}));
    assert_eq!(result(&r)["contents"][0]["text"], json!("Item 7"));
    // Resource not found is -32602 in the modern era.
    let r = p.modern("resources/read", json!({"uri": "test://nothing"}));
    assert_eq!(error_code(&r), -32602, "{r}");
    let r = p.modern(
        "prompts/get",
        json!({"name": "greet", "arguments": {"name": "Ada"}}),
    );
    assert_eq!(
        result(&r)["messages"][0]["content"]["text"],
        json!("Please greet Ada.")
    );
    let r = p.modern(
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "b"}}),
    );
    assert_eq!(result(&r)["completion"]["values"], json!(["bob"]), "{r}");
    let r = p.modern(
        "completion/complete",
        json!({"ref": {"type": "ref/resource", "uri": "test://items/{id}"}, "argument": {"name": "id", "value": "4"}}),
    );
    assert_eq!(result(&r)["completion"]["values"], json!(["42"]), "{r}");
}

fn tool_names(resp: &Value) -> Vec<String> {
    result(resp)["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {resp}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn tools_list_order_is_deterministic() {
    let mut p = everything();
    let first = tool_names(&p.modern("tools/list", json!({})));
    assert_eq!(
        first[..7],
        ["echo", "sleep", "add", "fail", "panic", "ask_name", "image"],
        "registration order (the conformance fixtures follow)"
    );
    for _ in 0..5 {
        assert_eq!(tool_names(&p.modern("tools/list", json!({}))), first);
    }
    let mut q = everything();
    assert_eq!(tool_names(&q.modern("tools/list", json!({}))), first);
    q.initialize(LATEST_LEGACY, json!({}));
    assert_eq!(tool_names(&q.call("tools/list", json!({}))), first);
}

fn paged_server() -> std::sync::Arc<lmcp::Server> {
    let config = lmcp::ServerConfig {
        page_size: 2,
        ..lmcp::ServerConfig::default()
    };
    let mut b = lmcp::Server::builder("paged", "1.0").config(config);
    for i in 0..5 {
        b = b.tool(lmcp::Tool::new(
            format!("t{i}"),
            format!("tool {i}"),
            |_a, _c| async { Ok(lmcp::ToolResult::text("x")) },
        ));
    }
    b.build()
}

fn all_pages(p: &mut Peer, modern: bool) -> Vec<String> {
    let mut names = Vec::new();
    let mut cursor: Option<Value> = None;
    for _ in 0..10 {
        let mut params = json!({});
        if let Some(c) = &cursor {
            params["cursor"] = c.clone();
        }
        let r = if modern {
            p.modern("tools/list", params)
        } else {
            p.call("tools/list", params)
        };
        names.extend(tool_names(&r));
        match result(&r).get("nextCursor") {
            Some(c) => cursor = Some(c.clone()),
            None => return names,
        }
    }
    panic!("pagination did not end after 10 pages: {names:?}");
}

#[test]
fn pagination_round_trips_opaque_cursors() {
    let mut p = Peer::in_process(paged_server());
    let first = p.modern("tools/list", json!({}));
    assert_eq!(tool_names(&first).len(), 2, "page size 2: {first}");
    assert!(result(&first)["nextCursor"].is_string(), "{first}");
    let expected = ["t0", "t1", "t2", "t3", "t4"];
    assert_eq!(all_pages(&mut p, true), expected);
    p.initialize(LATEST_LEGACY, json!({}));
    assert_eq!(all_pages(&mut p, false), expected);
}

#[test]
fn bad_cursor_is_invalid_params() {
    let mut p = Peer::in_process(paged_server());
    for c in [json!("garbage!"), json!(""), json!(12), json!("dDo5OTk5")] {
        let r = p.modern("tools/list", json!({"cursor": c}));
        assert_eq!(error_code(&r), -32602, "cursor {c}: {r}");
    }
    // A tools/list cursor is not a prompts/list cursor.
    let first = p.modern("tools/list", json!({}));
    let c = result(&first)["nextCursor"].clone();
    let r = p.modern("prompts/list", json!({"cursor": c}));
    assert_eq!(error_code(&r), -32602, "{r}");
    assert_eq!(all_pages(&mut p, true).len(), 5);
}

#[test]
fn discover_is_answered_before_any_initialize() {
    for mut p in [everything(), Peer::lmcp()] {
        let r = p.modern("server/discover", json!({}));
        let res = result(&r);
        let versions: Vec<&str> = res["supportedVersions"]
            .as_array()
            .expect("supportedVersions")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(versions.contains(&MODERN), "{r}");
        for v in LEGACY_VERSIONS {
            assert!(versions.contains(&v), "{v} missing: {r}");
        }
        assert!(res["capabilities"]["tools"].is_object(), "{r}");
        assert!(res["instructions"].is_string(), "{r}");
        assert!(res["_meta"][SERVER_INFO]["name"].is_string(), "{r}");
        // The same process still opens a legacy session afterwards.
        let init = p.initialize(LATEST_LEGACY, json!({}));
        assert_eq!(result(&init)["protocolVersion"], json!(LATEST_LEGACY));
    }
}

#[test]
fn modern_requests_still_work_inside_a_legacy_session() {
    let mut p = everything();
    p.initialize("2025-06-18", json!({}));
    let r = p.modern("tools/list", json!({}));
    assert_eq!(result(&r)["resultType"], json!("complete"));
    let r = p.call("tools/list", json!({}));
    assert!(result(&r).get("resultType").is_none(), "legacy shape: {r}");
}

#[test]
fn modern_log_level_controls_log_notifications() {
    let mut p = everything();
    let params = with_meta(
        json!({"name": "sleep", "arguments": {"ms": 250}}),
        json!({"io.modelcontextprotocol/logLevel": "debug"}),
    );
    let id = p.modern_request("tools/call", params);
    p.response(id);
    let logs = p.take_stashed(|m| m["method"] == json!("notifications/message"));
    assert!(!logs.is_empty(), "debug logs were asked for");
    let id = p.modern_request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 250}}),
    );
    p.response(id);
    let logs = p.take_stashed(|m| m["method"] == json!("notifications/message"));
    assert!(logs.is_empty(), "no log level, no logs: {logs:?}");
}

// ------------------------------------------------------------------ legacy --

#[test]
fn legacy_initialize_negotiates_each_version() {
    for v in LEGACY_VERSIONS {
        let mut p = everything();
        let r = p.initialize(v, json!({}));
        let res = result(&r);
        assert_eq!(res["protocolVersion"], json!(v), "{r}");
        assert_eq!(res["serverInfo"]["name"], json!("everything"), "{r}");
        assert!(res["capabilities"]["tools"].is_object(), "{r}");
        assert!(res["capabilities"]["resources"].is_object(), "{r}");
        assert!(res["capabilities"]["prompts"].is_object(), "{r}");
        assert!(res.get("resultType").is_none(), "{r}");
        let tools = p.call("tools/list", json!({}));
        assert!(tool_names(&tools).contains(&"echo".to_owned()));
        let r = p.call(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": v}}),
        );
        assert_eq!(first_text(&r), v);
    }
}

#[test]
fn legacy_initialize_with_unknown_version_answers_latest_legacy() {
    for v in ["1999-01-01", "2026-07-28", "2030-01-01"] {
        let mut p = everything();
        let r = p.initialize(v, json!({}));
        assert_eq!(
            result(&r)["protocolVersion"],
            json!(LATEST_LEGACY),
            "{v}: {r}"
        );
    }
}

#[test]
fn legacy_requests_before_initialize_are_refused() {
    let mut p = everything();
    let r = p.call("tools/list", json!({}));
    assert!(r.get("error").is_some(), "{r}");
    assert_still_serving(&mut p);
}

#[test]
fn legacy_ping_and_set_level() {
    let mut p = everything();
    p.initialize(LATEST_LEGACY, json!({}));
    let r = p.call("ping", json!({}));
    assert_eq!(result(&r), &json!({}));
    let r = p.call("logging/setLevel", json!({"level": "debug"}));
    assert_eq!(result(&r), &json!({}));
    let r = p.call("logging/setLevel", json!({"level": "loud"}));
    assert_eq!(error_code(&r), -32602, "{r}");
    // debug level: the sleep tool's debug logs come through.
    let id = p.request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 250}}),
    );
    p.response(id);
    let logs = p.take_stashed(|m| m["method"] == json!("notifications/message"));
    assert!(
        !logs.is_empty(),
        "logging/setLevel debug should let debug logs through"
    );
    p.call("logging/setLevel", json!({"level": "error"}));
    let id = p.request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 250}}),
    );
    p.response(id);
    let logs = p.take_stashed(|m| m["method"] == json!("notifications/message"));
    assert!(logs.is_empty(), "error level filters debug logs: {logs:?}");
}

#[test]
fn legacy_ping_works_before_initialize() {
    let mut p = everything();
    let r = p.call("ping", json!({}));
    assert_eq!(result(&r), &json!({}));
}

fn add_tool(list: &Value) -> Value {
    result(list)["tools"]
        .as_array()
        .and_then(|a| a.iter().find(|t| t["name"] == json!("add")).cloned())
        .unwrap_or_else(|| panic!("no add tool in {list}"))
}

#[test]
fn legacy_structured_content_only_from_2025_06_18() {
    for v in LEGACY_VERSIONS {
        let mut p = everything();
        p.initialize(v, json!({}));
        let add = add_tool(&p.call("tools/list", json!({})));
        let r = p.call(
            "tools/call",
            json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
        );
        let res = result(&r);
        let modern_enough = v >= "2025-06-18";
        assert_eq!(
            add.get("outputSchema").is_some(),
            modern_enough,
            "{v}: {add}"
        );
        assert!(add.get("title").is_none(), "add has no title");
        assert_eq!(
            res.get("structuredContent").is_some(),
            modern_enough,
            "{v}: {r}"
        );
        // Without structuredContent the result must still carry the value as text.
        assert!(!res["content"].as_array().unwrap().is_empty(), "{v}: {r}");
        let echo = result(&p.call("tools/list", json!({})))["tools"][0].clone();
        assert_eq!(echo.get("title").is_some(), modern_enough, "{v}: {echo}");
        assert_eq!(
            echo.get("annotations").is_some(),
            v >= "2025-03-26",
            "{v}: {echo}"
        );
    }
}

#[test]
fn legacy_resource_not_found_is_32002() {
    let mut p = everything();
    p.initialize(LATEST_LEGACY, json!({}));
    let r = p.call("resources/read", json!({"uri": "test://nothing"}));
    assert_eq!(error_code(&r), -32002, "{r}");
}

#[test]
fn batches_only_under_2025_03_26() {
    // Before any session: refused.
    let mut p = everything();
    p.send(&json!([{"jsonrpc":"2.0","id":1,"method":"ping"}]));
    let m = p.next();
    let m = if m.is_array() { m[0].clone() } else { m };
    assert_eq!(error_code(&m), -32600, "{m}");

    let mut p = everything();
    p.initialize("2025-03-26", json!({}));
    p.send(&json!([
        {"jsonrpc":"2.0","id":"b1","method":"ping"},
        {"jsonrpc":"2.0","id":"b2","method":"tools/call","params":{"name":"echo","arguments":{"text":"in batch"}}},
        {"jsonrpc":"2.0","method":"notifications/whatever"}
    ]));
    let m = p.next();
    let arr = m
        .as_array()
        .unwrap_or_else(|| panic!("a batch answer is an array: {m}"));
    assert_eq!(arr.len(), 2, "{m}");
    let b2 = arr.iter().find(|r| r["id"] == json!("b2")).expect("b2");
    assert_eq!(first_text(b2), "in batch");

    for v in ["2025-11-25", "2025-06-18", "2024-11-05"] {
        let mut p = everything();
        p.initialize(v, json!({}));
        p.send(&json!([{"jsonrpc":"2.0","id":1,"method":"ping"}]));
        let m = p.next();
        let m = if m.is_array() { m[0].clone() } else { m };
        assert_eq!(error_code(&m), -32600, "{v}: {m}");
        assert_eq!(result(&p.call("ping", json!({}))), &json!({}));
    }
}

// -------------------------------------------------------- client input --

#[test]
fn mrtr_round_trip_with_ask_name() {
    let mut p = everything();
    let caps = meta_with(json!({"elicitation": {}}));
    let call = json!({"name": "ask_name", "arguments": {}});
    let r = p.call("tools/call", with_meta(call.clone(), caps.clone()));
    let res = result(&r);
    assert_eq!(res["resultType"], json!("input_required"), "{r}");
    let requests = res["inputRequests"].as_object().expect("inputRequests");
    assert_eq!(requests.len(), 1, "{r}");
    let (key, req) = requests.iter().next().unwrap();
    assert_eq!(req["method"], json!("elicitation/create"), "{r}");
    assert!(req["params"]["requestedSchema"].is_object(), "{r}");
    let state = res["requestState"]
        .as_str()
        .expect("requestState")
        .to_owned();

    let mut retry = call.clone();
    retry["inputResponses"] =
        json!({ key.clone(): {"action": "accept", "content": {"name": "Ada"}} });
    retry["requestState"] = json!(state);
    let r = p.call("tools/call", with_meta(retry.clone(), caps.clone()));
    assert_eq!(result(&r)["resultType"], json!("complete"), "{r}");
    assert_eq!(first_text(&r), "Hello, Ada!");

    // A tampered requestState is refused.
    let mut bad = retry.clone();
    let mut chars: Vec<char> = state.chars().collect();
    let i = chars.len() / 3;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    bad["requestState"] = json!(chars.into_iter().collect::<String>());
    let r = p.call("tools/call", with_meta(bad, caps.clone()));
    assert_eq!(error_code(&r), -32602, "{r}");
    // A state minted for other arguments is refused.
    let mut other = retry.clone();
    other["arguments"] = json!({"x": 1});
    let r = p.call("tools/call", with_meta(other, caps.clone()));
    assert_eq!(error_code(&r), -32602, "{r}");
    // Garbage.
    let mut garbage = retry;
    garbage["requestState"] = json!("not-a-state");
    let r = p.call("tools/call", with_meta(garbage, caps));
    assert_eq!(error_code(&r), -32602, "{r}");
}

#[test]
fn legacy_elicitation_is_a_server_request() {
    let mut p = everything();
    p.initialize(LATEST_LEGACY, json!({"elicitation": {}}));
    let id = p.request("tools/call", json!({"name": "ask_name", "arguments": {}}));
    let req = p
        .wait_for(READ_TIMEOUT, |m| m["method"] == json!("elicitation/create"))
        .expect("the server asks with elicitation/create");
    let rid = req["id"].clone();
    assert!(!rid.is_null(), "{req}");
    assert!(req["params"]["message"].is_string(), "{req}");
    p.send(
        &json!({"jsonrpc":"2.0","id": rid,"result":{"action":"accept","content":{"name":"Bob"}}}),
    );
    let r = p.response(id);
    assert_eq!(first_text(&r), "Hello, Bob!", "{r}");
}

#[test]
fn handlers_waiting_for_the_client_do_not_hold_the_in_flight_slots() {
    // One slot: ask_name takes it, then waits for our answer. The next
    // request must still be read and run (the slot is lent while waiting),
    // and our answer, written after it, must still reach ask_name.
    let mut p = Peer::spawn(everything_path(), &["--stdio", "--max-in-flight", "1"]);
    p.initialize(LATEST_LEGACY, json!({"elicitation": {}}));
    let ask = p.request("tools/call", json!({"name": "ask_name", "arguments": {}}));
    let req = p
        .wait_for(READ_TIMEOUT, |m| m["method"] == json!("elicitation/create"))
        .expect("elicitation/create");
    let echo = p.request(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "meanwhile"}}),
    );
    let r = p.response(echo);
    assert_eq!(first_text(&r), "meanwhile", "{r}");
    p.send(
        &json!({"jsonrpc":"2.0","id": req["id"],"result":{"action":"accept","content":{"name":"Ann"}}}),
    );
    let r = p.response(ask);
    assert_eq!(first_text(&r), "Hello, Ann!", "{r}");
}

#[test]
fn legacy_elicitation_declined_or_failed_still_answers() {
    let mut p = everything();
    p.initialize(LATEST_LEGACY, json!({"elicitation": {}}));
    let id = p.request("tools/call", json!({"name": "ask_name", "arguments": {}}));
    let req = p
        .wait_for(READ_TIMEOUT, |m| m["method"] == json!("elicitation/create"))
        .expect("elicitation/create");
    p.send(
        &json!({"jsonrpc":"2.0","id": req["id"],"error":{"code":-1,"message":"user went away"}}),
    );
    let r = p.response(id);
    assert!(
        r.get("error").is_some() || r["result"]["isError"] == json!(true),
        "a failed elicitation ends the call: {r}"
    );
    assert_still_serving(&mut p);
}

// ----------------------------------------------------------- concurrency --

fn concurrent_echo(p: &mut Peer, modern: bool) {
    let (sleep_params, echo_params) = (
        json!({"name": "sleep", "arguments": {"ms": 3000}}),
        json!({"name": "echo", "arguments": {"text": "quick"}}),
    );
    let (s, e) = if modern {
        (modern_params(sleep_params), modern_params(echo_params))
    } else {
        (sleep_params, echo_params)
    };
    let sleep_id = p.request("tools/call", s);
    std::thread::sleep(Duration::from_millis(100));
    let start = Instant::now();
    let echo_id = p.request("tools/call", e);
    let r = p.response(echo_id);
    let took = start.elapsed();
    assert_eq!(first_text(&r), "quick");
    assert!(
        took < Duration::from_secs(1),
        "echo took {took:?} behind a sleep"
    );
    assert!(
        p.seen_where(|m| is_response_to(m, sleep_id)).is_empty(),
        "the sleep cannot be done yet"
    );
    let r = p.response_within(sleep_id, Duration::from_secs(30));
    assert_eq!(first_text(&r), "slept 3000 ms");
}

#[test]
fn echo_is_answered_while_a_sleep_is_in_flight_modern() {
    let mut p = everything();
    concurrent_echo(&mut p, true);
}

#[test]
fn echo_is_answered_while_a_sleep_is_in_flight_legacy() {
    let mut p = everything();
    p.initialize(LATEST_LEGACY, json!({}));
    concurrent_echo(&mut p, false);
}

fn cancel_sleep(p: &mut Peer, modern: bool) {
    let params = json!({"name": "sleep", "arguments": {"ms": 2000}});
    let params = if modern {
        modern_params(params)
    } else {
        params
    };
    let start = Instant::now();
    let id = p.request("tools/call", params);
    std::thread::sleep(Duration::from_millis(300));
    p.notify(
        "notifications/cancelled",
        json!({"requestId": id, "reason": "test"}),
    );
    assert_still_serving(p);
    // Wait until 1 s past the sleep's natural end.
    let until = Duration::from_millis(3000).saturating_sub(start.elapsed());
    p.collect_for(until);
    let answers = p.seen_where(|m| is_response_to(m, id));
    assert!(
        answers.is_empty(),
        "a cancelled request gets no response: {answers:?}"
    );
    assert_still_serving(p);
}

#[test]
fn cancelled_request_gets_no_response_modern() {
    let mut p = everything();
    cancel_sleep(&mut p, true);
}

#[test]
fn cancelled_request_gets_no_response_legacy() {
    let mut p = everything();
    p.initialize(LATEST_LEGACY, json!({}));
    cancel_sleep(&mut p, false);
}

fn progress_for_sleep(p: &mut Peer, modern: bool) {
    let params =
        json!({"name": "sleep", "arguments": {"ms": 500}, "_meta": {"progressToken": "tok-1"}});
    let params = if modern {
        modern_params(params)
    } else {
        params
    };
    let id = p.request("tools/call", params);
    let r = p.response(id);
    assert_eq!(first_text(&r), "slept 500 ms");
    let progress = p.take_stashed(|m| m["method"] == json!("notifications/progress"));
    assert!(!progress.is_empty(), "progress notifications expected");
    let mut last = -1.0;
    for n in &progress {
        assert_eq!(n["params"]["progressToken"], json!("tok-1"), "{n}");
        let v = n["params"]["progress"].as_f64().expect("progress");
        assert!(v > last, "progress increases: {progress:?}");
        last = v;
        assert_eq!(n["params"]["total"], json!(500.0), "{n}");
    }
    // Progress comes before the response.
    let pos_resp = p.seen.iter().position(|m| is_response_to(m, id)).unwrap();
    let pos_last = p
        .seen
        .iter()
        .rposition(|m| m["method"] == json!("notifications/progress"))
        .unwrap();
    assert!(pos_last < pos_resp, "no progress after the response");
    // Without a token: no progress.
    let params = json!({"name": "sleep", "arguments": {"ms": 250}});
    let params = if modern {
        modern_params(params)
    } else {
        params
    };
    let id = p.request("tools/call", params);
    p.response(id);
    let progress = p.take_stashed(|m| m["method"] == json!("notifications/progress"));
    assert!(progress.is_empty(), "no token, no progress: {progress:?}");
}

#[test]
fn progress_notifications_for_sleep_modern() {
    let mut p = everything();
    progress_for_sleep(&mut p, true);
}

#[test]
fn progress_notifications_for_sleep_legacy() {
    let mut p = everything();
    p.initialize(LATEST_LEGACY, json!({}));
    progress_for_sleep(&mut p, false);
}

// --------------------------------------------------------------- shutdown --

#[test]
fn eof_with_requests_in_flight_answers_them_then_exits_zero() {
    let mut p = everything();
    let a = p.modern_request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 800}}),
    );
    let b = p.modern_request(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "e"}}),
    );
    std::thread::sleep(Duration::from_millis(50));
    p.close_stdin();
    let ra = p.response_within(a, Duration::from_secs(20));
    assert_eq!(first_text(&ra), "slept 800 ms");
    let rb = p.response(b);
    assert_eq!(first_text(&rb), "e");
    p.read_to_end(Duration::from_secs(20));
    let st = p.wait_exit(Duration::from_secs(20));
    assert!(st.success(), "exit status {st:?}");
}

#[test]
fn eof_when_idle_exits_zero() {
    for mut p in [everything(), Peer::lmcp()] {
        p.modern("server/discover", json!({}));
        p.close_stdin();
        p.read_to_end(Duration::from_secs(20));
        let st = p.wait_exit(Duration::from_secs(20));
        assert!(st.success(), "exit status {st:?}");
    }
}

#[test]
fn sigterm_exits_zero() {
    for mut p in [everything(), Peer::lmcp()] {
        p.modern("server/discover", json!({}));
        p.signal("TERM");
        let st = p.wait_exit(Duration::from_secs(20));
        assert!(st.success(), "exit status {st:?}");
    }
}

#[test]
fn sigterm_with_a_request_in_flight_exits_zero_within_the_grace() {
    let mut p = everything();
    let id = p.modern_request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 500}}),
    );
    std::thread::sleep(Duration::from_millis(100));
    p.signal("TERM");
    let st = p.wait_exit(Duration::from_secs(20));
    assert!(st.success(), "exit status {st:?}");
    p.read_to_end(Duration::from_secs(5));
    let r = p.response(id);
    assert_eq!(
        first_text(&r),
        "slept 500 ms",
        "in-flight work finishes in the grace period"
    );
}

// ------------------------------------------------------------- the binary --

#[test]
fn lmcp_binary_serves_its_ping_tool_in_both_eras() {
    let mut p = Peer::lmcp();
    let r = p.modern("tools/list", json!({}));
    assert!(tool_names(&r).contains(&"ping".to_owned()), "{r}");
    let r = p.modern("tools/call", json!({"name": "ping", "arguments": {}}));
    assert!(first_text(&r).starts_with("pong"), "{r}");
    assert_eq!(result(&r)["structuredContent"]["pong"], json!(true));
    assert!(result(&r)["structuredContent"]["uptime_ms"].is_u64(), "{r}");
    let init = p.initialize("2024-11-05", json!({}));
    assert_eq!(result(&init)["serverInfo"]["name"], json!("lmcp"));
    let r = p.call("tools/call", json!({"name": "ping", "arguments": {}}));
    assert!(first_text(&r).starts_with("pong"), "{r}");
    assert!(result(&r).get("structuredContent").is_none(), "{r}");
}

#[test]
fn lmcp_binary_help_explains_flags() {
    let out = std::process::Command::new(lmcp_path())
        .arg("--help")
        .output()
        .expect("lmcp --help");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--stdio",
        "--log-level",
        "--max-message-bytes",
        "--max-depth",
    ] {
        assert!(text.contains(flag), "--help mentions {flag}");
    }
}

// ------------------------------------------------------- harness self-check --

#[test]
fn harness_schema_validation_catches_violations() {
    // Official examples pass.
    let ex = spec_dir().join("2026-07-28/examples");
    let read = |p: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(ex.join(p)).unwrap()).unwrap()
    };
    let list = read("ListToolsResult/tools-list-with-cursor-and-ttl.json");
    assert!(schema_errors(Era::Modern, "ListToolsResult", &list).is_empty());
    let upv = read("UnsupportedProtocolVersionError/unsupported-version.json");
    assert!(schema_errors(Era::Modern, "UnsupportedProtocolVersionError", &upv).is_empty());
    // A modern result without resultType does not.
    let mut bad = list.clone();
    bad.as_object_mut().unwrap().remove("resultType");
    assert!(!schema_errors(Era::Modern, "ListToolsResult", &bad).is_empty());
    // ... but is fine for the legacy schema.
    assert!(schema_errors(Era::Legacy, "ListToolsResult", &bad).is_empty());
    // A null id is not a JSON-RPC message of either schema.
    let null_id = json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}});
    assert!(!schema_errors(Era::Modern, "JSONRPCMessage", &null_id).is_empty());
    assert!(!schema_errors(Era::Legacy, "JSONRPCMessage", &null_id).is_empty());
    // -32022 without data.supported is not an UnsupportedProtocolVersionError.
    let mut no_data = upv;
    no_data["error"].as_object_mut().unwrap().remove("data");
    assert!(!schema_errors(Era::Modern, "UnsupportedProtocolVersionError", &no_data).is_empty());
    // A tool result whose content block lacks its type.
    let r = json!({"resultType":"complete","content":[{"text":"x"}]});
    assert!(!schema_errors(Era::Modern, "CallToolResult", &r).is_empty());
}

/// Issue 19: `.logging(false)` stops `notifications/message` too, in both
/// eras, whatever level the client asks for (the messages would precede
/// the response on stdout: none seen by then means none sent).
#[test]
fn logging_off_sends_no_log_messages() {
    let server = lmcp::Server::builder("quiet", "1.0")
        .logging(false)
        .tool(lmcp::Tool::new("chatty", "logs", |_a, ctx| async move {
            ctx.log(lmcp::LogLevel::Error, "chatty", json!("hello"))
                .await;
            Ok(lmcp::ToolResult::text("done"))
        }))
        .build();
    let mut p = Peer::in_process(server);
    let mut meta = meta_with(json!({}));
    meta["io.modelcontextprotocol/logLevel"] = json!("debug");
    let r = p.modern(
        "tools/call",
        json!({"name": "chatty", "arguments": {}, "_meta": meta}),
    );
    assert_eq!(first_text(&r), "done", "{r}");
    p.initialize(LATEST_LEGACY, json!({}));
    let _ = p.call("logging/setLevel", json!({"level": "debug"}));
    let r = p.call("tools/call", json!({"name": "chatty", "arguments": {}}));
    assert_eq!(first_text(&r), "done", "{r}");
    let logged = p.seen_where(|m| m["method"] == "notifications/message");
    assert!(logged.is_empty(), "{logged:?}");
}
