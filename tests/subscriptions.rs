//! Resource subscriptions in both eras (issues 19 and 23): what the
//! capabilities announce, what a `subscriptions/listen` acknowledgement may
//! echo (only what the server can send), and the per-session cap on the
//! resources one session follows.
//!
//! Every line the server writes is validated against the official schema of
//! its era by the harness (tests/common).

mod common;

use common::*;
use serde_json::{json, Value};

/// Resource URIs one session may follow (lmcp's MAX_RESOURCE_SUBSCRIPTIONS).
const CAP: usize = 1024;

/// A server with one tool and nothing else: no prompts, no resources.
fn tools_only() -> std::sync::Arc<lmcp::Server> {
    lmcp::Server::builder("tools-only", "1.0")
        .tool(lmcp::Tool::new("t", "a tool", |_a, _c| async {
            Ok(lmcp::ToolResult::text("x"))
        }))
        .build()
}

#[test]
fn discover_and_initialize_announce_resource_subscriptions() {
    let mut p = Peer::everything();
    let d = p.modern("server/discover", json!({}));
    assert_eq!(
        result(&d)["capabilities"]["resources"]["subscribe"],
        json!(true),
        "{d}"
    );
    let i = p.initialize(LATEST_LEGACY, json!({}));
    assert_eq!(
        result(&i)["capabilities"]["resources"]["subscribe"],
        json!(true),
        "{i}"
    );
}

#[test]
fn a_server_without_resources_or_prompts_acknowledges_only_tools() {
    let mut p = Peer::in_process(tools_only());
    let d = p.modern("server/discover", json!({}));
    assert!(result(&d)["capabilities"].get("resources").is_none(), "{d}");
    let id = p.modern_request(
        "subscriptions/listen",
        json!({"notifications": {
            "toolsListChanged": true,
            "promptsListChanged": true,
            "resourcesListChanged": true,
            "resourceSubscriptions": ["file:///a"],
        }}),
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
}

#[test]
fn a_listen_echoes_each_uri_once() {
    let mut p = Peer::everything();
    p.modern_request(
        "subscriptions/listen",
        json!({"notifications": {
            "promptsListChanged": true,
            "resourceSubscriptions": ["demo://b", "demo://a", "demo://b"],
        }}),
    );
    let ack = p.next();
    assert_eq!(
        ack["params"]["notifications"],
        json!({"promptsListChanged": true, "resourceSubscriptions": ["demo://a", "demo://b"]})
    );
}

#[test]
fn a_listen_with_too_many_uris_is_refused() {
    let mut p = Peer::everything();
    let uris: Vec<Value> = (0..=CAP).map(|i| json!(format!("demo://r{i}"))).collect();
    let r = p.modern(
        "subscriptions/listen",
        json!({"notifications": {"resourceSubscriptions": uris}}),
    );
    assert_eq!(error_code(&r), -32602, "{r}");
    let msg = r["error"]["message"].as_str().unwrap();
    assert!(msg.contains("at most 1024"), "{msg}");
    // Exactly the cap is fine.
    let id = p.modern_request(
        "subscriptions/listen",
        json!({"notifications": {"resourceSubscriptions": uris[..CAP]}}),
    );
    let ack = p.next();
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        id
    );
    assert_eq!(
        ack["params"]["notifications"]["resourceSubscriptions"]
            .as_array()
            .unwrap()
            .len(),
        CAP
    );
}

#[test]
fn a_legacy_session_follows_at_most_the_cap() {
    let mut p = Peer::everything();
    p.initialize(LATEST_LEGACY, json!({}));
    // Pipelined: the cap's worth of subscriptions, then one more.
    let ids: Vec<i64> = (0..CAP)
        .map(|i| {
            p.request(
                "resources/subscribe",
                json!({"uri": format!("demo://r{i}")}),
            )
        })
        .collect();
    for id in ids {
        let r = p.response(id);
        assert!(r.get("result").is_some(), "{r}");
    }
    let over = p.call("resources/subscribe", json!({"uri": "demo://one-more"}));
    assert_eq!(error_code(&over), -32602, "{over}");
    assert!(over["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unsubscribe"));
    // Subscribing again to a URI already followed is not a new one.
    let again = p.call("resources/subscribe", json!({"uri": "demo://r0"}));
    assert!(again.get("result").is_some(), "{again}");
    // Unsubscribing makes room.
    let off = p.call("resources/unsubscribe", json!({"uri": "demo://r0"}));
    assert!(off.get("result").is_some(), "{off}");
    let room = p.call("resources/subscribe", json!({"uri": "demo://one-more"}));
    assert!(room.get("result").is_some(), "{room}");
}
