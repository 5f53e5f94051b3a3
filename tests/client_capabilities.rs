//! Sub-capabilities of client input (issue 19): a URL-mode elicitation goes
//! only to clients that declare `elicitation.url`, sampling that offers
//! tools only to clients that declare `sampling.tools`. Otherwise the call
//! fails with -32021 naming the sub-capability (modern) or with a tool error
//! the model can read (legacy, which has no -32021). Form elicitation and
//! plain sampling still need only the top-level capability.
//!
//! Every line the server writes is validated against the official schema of
//! its era by the harness (tests/common).

mod common;

use common::*;
use lmcp::server::InputRequest;
use lmcp::{Tool, ToolResult};
use serde_json::{json, Value};

fn url_elicitation() -> Value {
    json!({
        "mode": "url",
        "message": "Sign in to continue",
        "url": "https://example.test/sign-in",
        "elicitationId": "e-1",
    })
}

fn sampling_with_tools() -> Value {
    json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": "weather?"}}],
        "maxTokens": 50,
        "tools": [{"name": "get_weather", "inputSchema": {"type": "object"}}],
    })
}

fn sampling_plain() -> Value {
    json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}],
        "maxTokens": 50,
    })
}

/// One tool per kind of input, each answering with what the client sent.
fn server() -> std::sync::Arc<lmcp::Server> {
    let asking = |name: &'static str, make: fn() -> InputRequest| {
        Tool::new(name, "asks the client", move |_a, ctx| async move {
            let answer = ctx.input(make()).await?;
            Ok(ToolResult::text(answer.to_string()))
        })
    };
    lmcp::Server::builder("caps", "1.0")
        .tool(asking("url", || InputRequest::Elicit(url_elicitation())))
        .tool(asking("sample_tools", || {
            InputRequest::Sampling(sampling_with_tools())
        }))
        .tool(asking(
            "sample",
            || InputRequest::Sampling(sampling_plain()),
        ))
        .build()
}

fn call(name: &str) -> Value {
    json!({"name": name, "arguments": {}})
}

#[test]
fn modern_url_elicitation_needs_elicitation_url() {
    let mut p = Peer::in_process(server());
    let r = p.call(
        "tools/call",
        with_meta(call("url"), meta_with(json!({"elicitation": {}}))),
    );
    assert_eq!(error_code(&r), -32021, "{r}");
    assert_eq!(
        r["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {"url": {}}}),
        "{r}"
    );
    assert!(r["error"]["message"]
        .as_str()
        .unwrap()
        .contains("elicitation.url"));
    let r = p.call(
        "tools/call",
        with_meta(call("url"), meta_with(json!({"elicitation": {"url": {}}}))),
    );
    let res = result(&r);
    assert_eq!(res["resultType"], json!("input_required"), "{r}");
    let (_, req) = res["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    assert_eq!(req["params"]["mode"], json!("url"), "{r}");
}

#[test]
fn modern_sampling_with_tools_needs_sampling_tools() {
    let mut p = Peer::in_process(server());
    let r = p.call(
        "tools/call",
        with_meta(call("sample_tools"), meta_with(json!({"sampling": {}}))),
    );
    assert_eq!(error_code(&r), -32021, "{r}");
    assert_eq!(
        r["error"]["data"]["requiredCapabilities"],
        json!({"sampling": {"tools": {}}}),
        "{r}"
    );
    // Plain sampling needs only `sampling`.
    let r = p.call(
        "tools/call",
        with_meta(call("sample"), meta_with(json!({"sampling": {}}))),
    );
    assert_eq!(result(&r)["resultType"], json!("input_required"), "{r}");
    let r = p.call(
        "tools/call",
        with_meta(
            call("sample_tools"),
            meta_with(json!({"sampling": {"tools": {}}})),
        ),
    );
    assert_eq!(result(&r)["resultType"], json!("input_required"), "{r}");
}

#[test]
fn legacy_url_elicitation_only_to_clients_that_declare_it() {
    let mut p = Peer::in_process(server());
    p.initialize(LATEST_LEGACY, json!({"elicitation": {}}));
    let r = p.call("tools/call", call("url"));
    assert_eq!(result(&r)["isError"], json!(true), "{r}");
    assert!(first_text(&r).contains("elicitation.url"), "{r}");
    assert!(
        p.seen_where(|m| m["method"] == "elicitation/create")
            .is_empty(),
        "no request may reach a client that cannot take it"
    );

    let mut p = Peer::in_process(server());
    p.initialize(
        LATEST_LEGACY,
        json!({"elicitation": {"form": {}, "url": {}}}),
    );
    let id = p.request("tools/call", call("url"));
    let asked = p
        .wait_for(READ_TIMEOUT, |m| m["method"] == "elicitation/create")
        .expect("the server asks with elicitation/create");
    assert_eq!(asked["params"]["mode"], json!("url"), "{asked}");
    assert_eq!(asked["params"]["elicitationId"], json!("e-1"), "{asked}");
    p.send(&json!({"jsonrpc": "2.0", "id": asked["id"], "result": {"action": "accept"}}));
    let r = p.response(id);
    assert!(first_text(&r).contains("accept"), "{r}");
}

#[test]
fn a_url_elicitation_without_an_id_gets_one_for_a_legacy_client() {
    let server = lmcp::Server::builder("caps", "1.0")
        .tool(Tool::new("url", "asks", |_a, ctx| async move {
            // As a modern upstream relayed by the hub would ask: no id.
            let mut p = url_elicitation();
            p.as_object_mut().unwrap().remove("elicitationId");
            let answer = ctx.input(InputRequest::Elicit(p)).await?;
            Ok(ToolResult::text(answer.to_string()))
        }))
        .build();
    let mut p = Peer::in_process(server);
    p.initialize(LATEST_LEGACY, json!({"elicitation": {"url": {}}}));
    let id = p.request("tools/call", call("url"));
    let asked = p
        .wait_for(READ_TIMEOUT, |m| m["method"] == "elicitation/create")
        .expect("the server asks with elicitation/create");
    let eid = asked["params"]["elicitationId"]
        .as_str()
        .unwrap_or_default();
    assert!(eid.len() >= 16, "{asked}");
    p.send(&json!({"jsonrpc": "2.0", "id": asked["id"], "result": {"action": "decline"}}));
    let r = p.response(id);
    assert!(first_text(&r).contains("decline"), "{r}");
}

#[test]
fn legacy_sampling_with_tools_only_to_clients_that_declare_it() {
    let mut p = Peer::in_process(server());
    p.initialize(LATEST_LEGACY, json!({"sampling": {}}));
    let r = p.call("tools/call", call("sample_tools"));
    assert_eq!(result(&r)["isError"], json!(true), "{r}");
    assert!(first_text(&r).contains("sampling.tools"), "{r}");
    assert!(p
        .seen_where(|m| m["method"] == "sampling/createMessage")
        .is_empty());
}
