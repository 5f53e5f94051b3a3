//! Fixtures the official conformance suite expects from a server under test
//! (tool, resource and prompt names and contents are the suite's).

use lmcp::protocol::ResourceContents;
use lmcp::server::{InputRequest, PromptMessage, ResourceTemplate};
use lmcp::{
    Content, LogLevel, Prompt, PromptResult, Resource, ServerBuilder, Tool, ToolError, ToolResult,
};
use serde_json::{json, Map, Value};
use std::time::Duration;

/// A 1x1 PNG.
pub const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
/// A tiny WAV (44-byte header, 2 samples).
const WAV: &str = "UklGRigAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQQAAAAAAAAA";

fn text(t: &str) -> Content {
    Content::text(t)
}

fn elicit_tool(name: &'static str, description: &'static str, schema: Value) -> Tool {
    Tool::new(name, description, move |_a, ctx| {
        let schema = schema.clone();
        async move {
            let r = ctx.elicit("Please fill in the form", schema).await?;
            Ok(ToolResult::text(format!(
                "Elicitation completed: action={}, content={}",
                r["action"].as_str().unwrap_or(""),
                r.get("content").cloned().unwrap_or(json!({}))
            )))
        }
    })
}

fn tools() -> Vec<Tool> {
    vec![
        Tool::new("test_simple_text", "Returns simple text.", |_a, _c| async {
            Ok(ToolResult::text("This is a simple text response for testing."))
        }),
        Tool::new("test_image_content", "Returns an image.", |_a, _c| async {
            Ok(ToolResult::content(vec![Content::image(PNG, "image/png")]))
        }),
        Tool::new("test_audio_content", "Returns audio.", |_a, _c| async {
            Ok(ToolResult::content(vec![Content::audio(WAV, "audio/wav")]))
        }),
        Tool::new("test_embedded_resource", "Returns an embedded resource.", |_a, _c| async {
            Ok(ToolResult::content(vec![Content::embedded(ResourceContents::Text {
                    uri: "test://embedded-resource".into(),
                    mime_type: Some("text/plain".into()),
                    text: "This is an embedded resource content.".into(),
                    meta: None,
                })]))
        }),
        Tool::new("test_multiple_content_types", "Returns several content kinds.", |_a, _c| async {
            Ok(ToolResult::content(vec![
                text("Multiple content types test:"),
                Content::image(PNG, "image/png"),
                Content::embedded(ResourceContents::Text {
                        uri: "test://mixed-content-resource".into(),
                        mime_type: Some("application/json".into()),
                        text: r#"{"test":"data","value":123}"#.into(),
                        meta: None,
                    }),
            ]))
        }),
        Tool::new("test_tool_with_logging", "Sends three log messages while it runs.", |_a, ctx| async move {
            ctx.log(LogLevel::Info, "conformance", json!("Tool execution started")).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            ctx.log(LogLevel::Info, "conformance", json!("Tool processing data")).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            ctx.log(LogLevel::Info, "conformance", json!("Tool execution completed")).await;
            Ok(ToolResult::text("Logging tool finished"))
        }),
        Tool::new("test_error_handling", "Always fails.", |_a, _c| async {
            Err::<ToolResult, _>(ToolError::msg("This tool intentionally returns an error for testing"))
        }),
        Tool::new("test_tool_with_progress", "Reports progress 0, 50, 100.", |_a, ctx| async move {
            ctx.progress(0.0, Some(100.0), None).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            ctx.progress(50.0, Some(100.0), None).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            ctx.progress(100.0, Some(100.0), None).await;
            Ok(ToolResult::text("Progress tool finished"))
        }),
        Tool::new("test_sampling", "Asks the client's model.", |a: Map<String, Value>, ctx| async move {
            let prompt = a.get("prompt").and_then(Value::as_str).unwrap_or("").to_owned();
            let r = ctx
                .create_message(json!({
                    "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
                    "maxTokens": 100,
                }))
                .await?;
            let answer = r["content"]["text"].as_str().unwrap_or("").to_owned();
            Ok(ToolResult::text(format!("LLM response: {answer}")))
        })
        .input_schema(json!({"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]})),
        Tool::new("test_elicitation", "Asks the user.", |a: Map<String, Value>, ctx| async move {
            let message = a.get("message").and_then(Value::as_str).unwrap_or("").to_owned();
            let r = ctx
                .elicit(
                    &message,
                    json!({"type": "object", "properties": {
                        "username": {"type": "string", "description": "User's response"},
                        "email": {"type": "string", "description": "User's email address"}},
                        "required": ["username", "email"]}),
                )
                .await?;
            Ok(ToolResult::text(format!("User response: {r}")))
        })
        .input_schema(json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]})),
        elicit_tool(
            "test_elicitation_sep1034_defaults",
            "Elicitation with defaults.",
            json!({"type": "object", "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "default": true}}}),
        ),
        elicit_tool(
            "test_elicitation_sep1330_enums",
            "Elicitation with every enum shape.",
            json!({"type": "object", "properties": {
                "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}]},
                "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"]},
                "untitledMulti": {"type": "array", "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                "titledMulti": {"type": "array", "items": {"anyOf": [
                    {"const": "value1", "title": "First Choice"},
                    {"const": "value2", "title": "Second Choice"},
                    {"const": "value3", "title": "Third Choice"}]}}}}),
        ),
        Tool::new("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features", |_a, _c| async {
            Ok(ToolResult::text("ok"))
        })
        .input_schema(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"address": {"$anchor": "addressDef", "type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
            "properties": {
                "name": {"type": "string"},
                "address": {"$ref": "#/$defs/address"},
                "contactMethod": {"type": "string", "enum": ["phone", "email"]},
                "phone": {"type": "string"},
                "email": {"type": "string"}
            },
            "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
            "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
            "then": {"required": ["phone"]},
            "else": {"required": ["email"]},
            "additionalProperties": false
        })),
    ]
}

fn prompt_text(t: String) -> PromptResult {
    PromptResult {
        description: None,
        messages: vec![PromptMessage {
            role: "user".into(),
            content: Content::text(t),
        }],
    }
}

/// Add the conformance fixtures to a server under construction.
pub fn add(b: ServerBuilder) -> ServerBuilder {
    b.tools(tools())
        .resource(Resource::text("test://static-text", "static-text", "text/plain", "This is the content of the static text resource.").description("Static text"))
        .resource(
            Resource::new("test://static-binary", "static-binary", |uri, _| async move {
                Ok(vec![ResourceContents::Blob { uri, mime_type: Some("image/png".into()), blob: PNG.into(), meta: None }])
            })
            .mime_type("image/png")
            .description("Static binary"),
        )
        .resource(Resource::text("test://watched-resource", "watched-resource", "text/plain", "watched").description("Subscribable"))
        .resource_template(
            ResourceTemplate::new("test://template/{id}/data", "template", |uri, _| async move {
                let id = uri.trim_start_matches("test://template/").trim_end_matches("/data").to_owned();
                let text = json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")}).to_string();
                Ok(vec![ResourceContents::Text { uri, mime_type: Some("application/json".into()), text, meta: None }])
            })
            .description("Template with an id"),
        )
        .prompt(Prompt::new("test_simple_prompt", |_a, _c| async { Ok(prompt_text("This is a simple prompt for testing.".into())) }).description("Simple prompt"))
        .prompt(
            Prompt::new("test_prompt_with_arguments", |a: Map<String, Value>, _c| async move {
                let g = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                Ok(prompt_text(format!("Prompt with arguments: arg1='{}', arg2='{}'", g("arg1"), g("arg2"))))
            })
            .description("Prompt with arguments")
            .argument("arg1", "First test argument", true)
            .argument("arg2", "Second test argument", true)
            .complete(|_arg, value| vec![format!("{value}-completed")]),
        )
        .prompt(
            Prompt::new("test_prompt_with_embedded_resource", |a: Map<String, Value>, _c| async move {
                let uri = a.get("resourceUri").and_then(Value::as_str).unwrap_or("test://example-resource").to_owned();
                Ok(PromptResult {
                    description: None,
                    messages: vec![
                        PromptMessage {
                            role: "user".into(),
                            content: Content::embedded(ResourceContents::Text {
                                    uri,
                                    mime_type: Some("text/plain".into()),
                                    text: "Embedded resource content for testing.".into(),
                                    meta: None,
                                }),
                        },
                        PromptMessage { role: "user".into(), content: Content::text("Please process the embedded resource above.") },
                    ],
                })
            })
            .description("Prompt with an embedded resource")
            .argument("resourceUri", "URI of the resource to embed", true),
        )
        .prompt(
            Prompt::new("test_prompt_with_image", |_a, _c| async {
                Ok(PromptResult {
                    description: None,
                    messages: vec![
                        PromptMessage { role: "user".into(), content: Content::image(PNG, "image/png") },
                        PromptMessage { role: "user".into(), content: Content::text("Please analyze the image above.") },
                    ],
                })
            })
            .description("Prompt with an image"),
        )
}

/// The server, for fixtures that change the tool or prompt list.
pub static SERVER: std::sync::OnceLock<std::sync::Weak<lmcp::Server>> = std::sync::OnceLock::new();

fn form(message: &str, props: Value, required: &[&str]) -> InputRequest {
    InputRequest::Elicit(json!({
        "mode": "form",
        "message": message,
        "requestedSchema": {"type": "object", "properties": props, "required": required},
    }))
}

fn sampling(text: &str) -> InputRequest {
    InputRequest::Sampling(json!({
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
        "maxTokens": 100,
    }))
}

/// Fixtures of the 2026-07-28 conformance scenarios (MRTR, stateless server, headers).
fn modern_tools() -> Vec<Tool> {
    vec![
        Tool::new(
            "test_input_required_result_elicitation",
            "MRTR: asks the user's name.",
            |_a, ctx| async move {
                let r = ctx
                    .input_keyed(
                        "user_name",
                        form(
                            "What is your name?",
                            json!({"name": {"type": "string"}}),
                            &["name"],
                        ),
                    )
                    .await?;
                Ok(ToolResult::text(format!(
                    "Hello, {}!",
                    r["content"]["name"].as_str().unwrap_or("stranger")
                )))
            },
        ),
        Tool::new(
            "test_input_required_result_sampling",
            "MRTR: asks the client's model.",
            |_a, ctx| async move {
                let r = ctx
                    .input_keyed(
                        "capital_question",
                        sampling("What is the capital of France?"),
                    )
                    .await?;
                Ok(ToolResult::text(format!(
                    "LLM said: {}",
                    r["content"]["text"].as_str().unwrap_or("")
                )))
            },
        ),
        Tool::new(
            "test_input_required_result_list_roots",
            "MRTR: asks for the client's roots.",
            |_a, ctx| async move {
                let r = ctx.input_keyed("client_roots", InputRequest::Roots).await?;
                let n = r["roots"].as_array().map(|a| a.len()).unwrap_or(0);
                Ok(ToolResult::text(format!("The client has {n} root(s)")))
            },
        ),
        Tool::new(
            "test_input_required_result_request_state",
            "MRTR: confirms through requestState.",
            |_a, ctx| async move {
                let r = ctx
                    .input_keyed(
                        "confirm",
                        form(
                            "Please confirm",
                            json!({"ok": {"type": "boolean"}}),
                            &["ok"],
                        ),
                    )
                    .await?;
                Ok(ToolResult::text(format!(
                    "state-ok: confirmed={}",
                    r["content"]["ok"]
                )))
            },
        ),
        Tool::new(
            "test_input_required_result_multiple_inputs",
            "MRTR: three inputs in one round.",
            |_a, ctx| async move {
                let answers = ctx
                    .inputs(vec![
                        (
                            "user_name".into(),
                            form(
                                "What is your name?",
                                json!({"name": {"type": "string"}}),
                                &["name"],
                            ),
                        ),
                        ("greeting".into(), sampling("Say hello")),
                        ("client_roots".into(), InputRequest::Roots),
                    ])
                    .await?;
                Ok(ToolResult::text(format!(
                    "Got {} answers; name={}",
                    answers.len(),
                    answers[0]["content"]["name"]
                )))
            },
        ),
        Tool::new(
            "test_input_required_result_multi_round",
            "MRTR: two rounds.",
            |_a, ctx| async move {
                let first = ctx
                    .input_keyed(
                        "step1",
                        form(
                            "Step 1: What is your name?",
                            json!({"name": {"type": "string"}}),
                            &["name"],
                        ),
                    )
                    .await?;
                let second = ctx
                    .input_keyed(
                        "step2",
                        form(
                            "Step 2: What is your favorite color?",
                            json!({"color": {"type": "string"}}),
                            &["color"],
                        ),
                    )
                    .await?;
                Ok(ToolResult::text(format!(
                    "{} likes {}",
                    first["content"]["name"], second["content"]["color"]
                )))
            },
        ),
        Tool::new(
            "test_input_required_result_tampered_state",
            "MRTR: integrity-checked requestState.",
            |_a, ctx| async move {
                ctx.input_keyed(
                    "confirm",
                    form(
                        "Please confirm",
                        json!({"ok": {"type": "boolean"}}),
                        &["ok"],
                    ),
                )
                .await?;
                Ok(ToolResult::text("state verified"))
            },
        ),
        Tool::new(
            "test_input_required_result_capabilities",
            "MRTR: asks only for what the client supports.",
            |_a, ctx| async move {
                let mut wanted = Vec::new();
                if ctx.has_client_capability("elicitation") {
                    wanted.push((
                        "user_name".to_owned(),
                        form(
                            "What is your name?",
                            json!({"name": {"type": "string"}}),
                            &["name"],
                        ),
                    ));
                }
                if ctx.has_client_capability("sampling") {
                    wanted.push(("greeting".to_owned(), sampling("Say hello")));
                }
                if ctx.has_client_capability("roots") {
                    wanted.push(("client_roots".to_owned(), InputRequest::Roots));
                }
                if wanted.is_empty() {
                    return Ok(ToolResult::text("the client supports no input requests"));
                }
                let n = ctx.inputs(wanted).await?.len();
                Ok(ToolResult::text(format!("received {n} answer(s)")))
            },
        ),
        Tool::new(
            "test_missing_capability",
            "Needs the client's sampling capability.",
            |_a, ctx| async move {
                let r = ctx.create_message(json!({"messages": [{"role": "user", "content": {"type": "text", "text": "hi"}}], "maxTokens": 10})).await?;
                Ok(ToolResult::text(format!("sampled: {r}")))
            },
        ),
        Tool::new(
            "test_streaming_elicitation",
            "Streams progress, then asks the user.",
            |_a, ctx| async move {
                ctx.progress(1.0, Some(2.0), Some("about to ask")).await;
                let r = ctx
                    .input_keyed(
                        "user_name",
                        form(
                            "What is your name?",
                            json!({"name": {"type": "string"}}),
                            &["name"],
                        ),
                    )
                    .await?;
                Ok(ToolResult::text(format!(
                    "Hello, {}!",
                    r["content"]["name"].as_str().unwrap_or("stranger")
                )))
            },
        ),
        Tool::new(
            "test_logging_tool",
            "Logs at info while it runs.",
            |_a, ctx| async move {
                ctx.log(LogLevel::Info, "conformance", json!("logging tool started"))
                    .await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                ctx.log(
                    LogLevel::Info,
                    "conformance",
                    json!("logging tool finished"),
                )
                .await;
                Ok(ToolResult::text("logged"))
            },
        ),
        Tool::new(
            "test_trigger_tool_change",
            "Adds or removes a tool (tools/list_changed).",
            |_a, _ctx| async move {
                let Some(server) = SERVER.get().and_then(|w| w.upgrade()) else {
                    return Ok(ToolResult::error("no server"));
                };
                if !server.remove_tool("test_dynamic_tool") {
                    server.add_tool(Tool::new(
                        "test_dynamic_tool",
                        "A tool added at run time.",
                        |_a, _c| async { Ok(ToolResult::text("dynamic")) },
                    ));
                }
                Ok(ToolResult::text("tool list changed"))
            },
        ),
        Tool::new(
            "test_trigger_prompt_change",
            "Adds or removes a prompt (prompts/list_changed).",
            |_a, _ctx| async move {
                let Some(server) = SERVER.get().and_then(|w| w.upgrade()) else {
                    return Ok(ToolResult::error("no server"));
                };
                if !server.remove_prompt("test_dynamic_prompt") {
                    server.add_prompt(
                        Prompt::new("test_dynamic_prompt", |_a, _c| async {
                            Ok(prompt_text("dynamic".into()))
                        })
                        .description("Added at run time"),
                    );
                }
                Ok(ToolResult::text("prompt list changed"))
            },
        ),
        Tool::new(
            "test_custom_headers_server",
            "Mirrors region and priority into Mcp-Param headers.",
            |a: Map<String, Value>, _c| async move {
                Ok(ToolResult::text(format!(
                    "region={} priority={}",
                    a.get("region").cloned().unwrap_or_default(),
                    a.get("priority").cloned().unwrap_or_default()
                )))
            },
        )
        .input_schema(json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
            "query": {"type": "string"}}, "required": ["region"]})),
    ]
}

/// Add the 2026-07-28 fixtures.
pub fn add_modern(b: ServerBuilder) -> ServerBuilder {
    b.tools(modern_tools()).prompt(
        Prompt::new("test_input_required_result_prompt", |_a, ctx| async move {
            let r = ctx
                .input_keyed(
                    "user_context",
                    form(
                        "What context should the prompt use?",
                        json!({"context": {"type": "string"}}),
                        &["context"],
                    ),
                )
                .await?;
            Ok(prompt_text(format!(
                "Prompt with context: {}",
                r["content"]["context"].as_str().unwrap_or("")
            )))
        })
        .description("A prompt that needs input first"),
    )
}
