//! What a server says about itself and its features (issue 19): `_meta`
//! on tools, resources, templates, prompts and content blocks (MCP Apps'
//! `_meta.ui`), prompt icons, and `serverInfo`'s description, icons and
//! website, each only to the revisions that have them.
//!
//! Every line the server writes is validated against the official schema of
//! its era by the harness (tests/common).

mod common;

use common::*;
use lmcp::protocol::ResourceContents;
use lmcp::{Content, Prompt, PromptResult, Resource, ResourceTemplate, Tool, ToolResult};
use serde_json::{json, Map, Value};

fn meta(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn icon() -> Value {
    json!({"src": "data:image/png;base64,iVBORw0KGgo=", "mimeType": "image/png", "sizes": ["16x16"]})
}

fn server() -> std::sync::Arc<lmcp::Server> {
    lmcp::Server::builder("described", "1.2.3")
        .title("Described")
        .description("A server that says what it is")
        .icon(icon())
        .website_url("https://example.test/described")
        .tool(
            Tool::new("view", "has an app view", |_a, _c| async {
                let mut block = Content::text("shown");
                if let Content::Text { meta, .. } = &mut block {
                    *meta = Some(json!({"app.example/hint": 1}));
                }
                Ok(ToolResult::content(vec![block]))
            })
            .meta(meta(json!({"ui": {"resourceUri": "ui://view/app.html"}}))),
        )
        .resource(
            Resource::new("ui://view/app.html", "app", |uri, _c| async move {
                Ok(vec![ResourceContents::Text {
                    uri,
                    mime_type: Some("text/html;profile=mcp-app".into()),
                    text: "<p>app</p>".into(),
                    meta: Some(json!({"ui": {"prefersBorder": true}})),
                }])
            })
            .meta(meta(json!({"ui": {"csp": {"connectDomains": []}}}))),
        )
        .resource_template(
            ResourceTemplate::new("note://{id}", "note", |uri, _c| async move {
                Ok(vec![ResourceContents::Text {
                    uri,
                    mime_type: None,
                    text: "n".into(),
                    meta: None,
                }])
            })
            .meta(meta(json!({"app.example/kind": "note"}))),
        )
        .prompt(
            Prompt::new("hello", |_a, _c| async { Ok(PromptResult::default()) })
                .icon(icon())
                .meta(meta(json!({"app.example/kind": "greeting"}))),
        )
        .build()
}

#[test]
fn listings_carry_meta_and_prompt_icons() {
    let mut p = Peer::in_process(server());
    for modern in [true, false] {
        let call = |p: &mut Peer, m: &str| {
            if modern {
                p.modern(m, json!({}))
            } else {
                p.call(m, json!({}))
            }
        };
        if !modern {
            p.initialize(LATEST_LEGACY, json!({}));
        }
        let t = call(&mut p, "tools/list");
        assert_eq!(
            result(&t)["tools"][0]["_meta"],
            json!({"ui": {"resourceUri": "ui://view/app.html"}}),
            "{t}"
        );
        let r = call(&mut p, "resources/list");
        assert_eq!(
            result(&r)["resources"][0]["_meta"]["ui"]["csp"],
            json!({"connectDomains": []}),
            "{r}"
        );
        let rt = call(&mut p, "resources/templates/list");
        assert_eq!(
            result(&rt)["resourceTemplates"][0]["_meta"],
            json!({"app.example/kind": "note"}),
            "{rt}"
        );
        let pr = call(&mut p, "prompts/list");
        let hello = &result(&pr)["prompts"][0];
        assert_eq!(hello["icons"], json!([icon()]), "{pr}");
        assert_eq!(hello["_meta"], json!({"app.example/kind": "greeting"}));
    }
}

#[test]
fn prompt_icons_only_to_revisions_that_have_them() {
    let mut p = Peer::in_process(server());
    p.initialize("2025-06-18", json!({}));
    let pr = p.call("prompts/list", json!({}));
    let hello = &result(&pr)["prompts"][0];
    assert!(hello.get("icons").is_none(), "{pr}");
}

#[test]
fn content_and_resource_contents_keep_their_meta() {
    let mut p = Peer::in_process(server());
    let r = p.modern("tools/call", json!({"name": "view", "arguments": {}}));
    assert_eq!(
        result(&r)["content"][0]["_meta"],
        json!({"app.example/hint": 1}),
        "{r}"
    );
    let r = p.modern("resources/read", json!({"uri": "ui://view/app.html"}));
    assert_eq!(
        result(&r)["contents"][0]["_meta"],
        json!({"ui": {"prefersBorder": true}}),
        "{r}"
    );
}

#[test]
fn server_info_describes_the_server_where_the_revision_allows() {
    let mut p = Peer::in_process(server());
    let want = json!({
        "name": "described",
        "version": "1.2.3",
        "title": "Described",
        "description": "A server that says what it is",
        "icons": [icon()],
        "websiteUrl": "https://example.test/described",
    });
    let d = p.modern("server/discover", json!({}));
    assert_eq!(
        result(&d)["_meta"]["io.modelcontextprotocol/serverInfo"],
        want,
        "{d}"
    );
    let i = p.initialize(LATEST_LEGACY, json!({}));
    assert_eq!(result(&i)["serverInfo"], want, "{i}");

    let mut p = Peer::in_process(server());
    let i = p.initialize("2025-06-18", json!({}));
    assert_eq!(
        result(&i)["serverInfo"],
        json!({"name": "described", "version": "1.2.3", "title": "Described"}),
        "{i}"
    );
    let mut p = Peer::in_process(server());
    let i = p.initialize("2025-03-26", json!({}));
    assert_eq!(
        result(&i)["serverInfo"],
        json!({"name": "described", "version": "1.2.3"}),
        "{i}"
    );
}
