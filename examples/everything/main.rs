//! A fixture server exercising every feature of the library: tools (echo,
//! sleep with progress, structured output, errors, client input), a
//! resource, a resource template, a prompt with completion.
//!
//! `cargo run --example everything -- --stdio` (or `--http ADDR`).

mod conformance;
mod tasks;

use lmcp::protocol::ResourceContents;
use lmcp::server::{PromptMessage, ResourceTemplate};
use lmcp::transport::http::{serve_http, HttpOptions};
use lmcp::transport::stdio::{serve_stdio, StdioOptions};
use lmcp::{
    Content, LogLevel, Prompt, PromptResult, Resource, Server, Tool, ToolError, ToolResult,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// Text to return.
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct SleepArgs {
    /// How long to sleep, in milliseconds.
    ms: u64,
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// First addend.
    a: f64,
    /// Second addend.
    b: f64,
}

fn tools() -> Vec<Tool> {
    vec![
        Tool::typed("echo", "Return the given text unchanged.", |a: EchoArgs, _ctx| async move {
            Ok(ToolResult::text(a.text))
        })
        .title("Echo")
        .read_only()
        .idempotent(),
        Tool::typed("sleep", "Sleep for `ms` milliseconds, reporting progress every 100 ms.", |a: SleepArgs, ctx| async move {
            let start = tokio::time::Instant::now();
            let total = Duration::from_millis(a.ms);
            let step = Duration::from_millis(100);
            while start.elapsed() < total {
                let left = total - start.elapsed();
                tokio::time::sleep(left.min(step)).await;
                let done = start.elapsed().min(total).as_millis() as f64;
                ctx.progress(done, Some(a.ms as f64), Some("sleeping")).await;
                ctx.log(LogLevel::Debug, "sleep", json!({"elapsed_ms": done})).await;
            }
            Ok(ToolResult::text(format!("slept {} ms", a.ms)))
        })
        .title("Sleep")
        .read_only(),
        Tool::typed("add", "Add two numbers; structured result.", |a: AddArgs, _ctx| async move {
            Ok(ToolResult::structured(json!({"sum": a.a + a.b})))
        })
        .output_schema(json!({"type":"object","properties":{"sum":{"type":"number"}},"required":["sum"]}))
        .read_only(),
        Tool::new("fail", "Always fails with a tool error.", |_a, _ctx| async move {
            Err::<ToolResult, _>(ToolError::msg("this tool always fails"))
        }),
        Tool::new("panic", "Panics (to test that the server survives).", |_a, _ctx| async move {
            if std::env::var_os("LMCP_NEVER_SET_THIS").is_none() {
                panic!("deliberate panic");
            }
            Ok(ToolResult::text("unreachable"))
        }),
        Tool::new("ask_name", "Ask the user for their name (elicitation) and greet them.", |_a, ctx| async move {
            let answer = ctx
                .elicit("What is your name?", json!({"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}))
                .await?;
            let name = answer["content"]["name"].as_str().unwrap_or("stranger").to_owned();
            Ok(ToolResult::text(format!("Hello, {name}!")))
        }),
        Tool::new("image", "Return a 1x1 PNG image.", |_a, _ctx| async move {
            Ok(ToolResult::content(vec![Content::image("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==", "image/png")]))
        })
        .read_only(),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    lmcp::logging::init(log::LevelFilter::Warn);
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: everything [--stdio] [--http ADDR] [--max-in-flight N] [--state-key-file FILE] [--task-ttl-ms N]\nA fixture MCP server for lmcp's tests and benchmarks.");
        return;
    }
    let http = args.iter().position(|a| a == "--http").map(|i| {
        args.get(i + 1)
            .cloned()
            .unwrap_or_else(|| "127.0.0.1:8080".into())
    });
    let stdio = args.iter().any(|a| a == "--stdio") || http.is_none();
    let mut config = lmcp::server::ServerConfig::default();
    if let Some(n) = args
        .iter()
        .position(|a| a == "--max-in-flight")
        .and_then(|i| args.get(i + 1)?.parse().ok())
    {
        config.max_in_flight = n;
    }
    let mut builder = Server::builder("everything", env!("CARGO_PKG_VERSION")).config(config);
    if let Some(ms) = args
        .iter()
        .position(|a| a == "--task-ttl-ms")
        .and_then(|i| args.get(i + 1)?.parse().ok())
    {
        builder = builder.task_limits(lmcp::server::TaskLimits {
            ttl: std::time::Duration::from_millis(ms),
            ..Default::default()
        });
    }
    if let Some(path) = args
        .iter()
        .position(|a| a == "--state-key-file")
        .and_then(|i| args.get(i + 1))
    {
        let secret = std::fs::read(path).expect("--state-key-file: readable file");
        let key = lmcp::server::state_key_from_secret(&secret).expect("--state-key-file");
        builder = builder.request_state_key(key);
    }
    let server = builder
        .instructions("Fixture server for lmcp's tests and benchmarks.")
        .tools(tools())
        .resource(
            Resource::text(
                "test://static/hello",
                "hello",
                "text/plain",
                "Hello, resource!",
            )
            .description("A static text resource"),
        )
        .resource_template(
            ResourceTemplate::new("test://items/{id}", "item", |uri, _ctx| async move {
                let id = uri.rsplit('/').next().unwrap_or("").to_owned();
                Ok(vec![ResourceContents::Text {
                    uri,
                    mime_type: Some("text/plain".into()),
                    text: format!("Item {id}"),
                    meta: None,
                }])
            })
            .description("Items by id")
            .complete(|_arg, value| {
                ["1", "2", "10", "42"]
                    .iter()
                    .filter(|v| v.starts_with(value))
                    .map(|v| v.to_string())
                    .collect()
            }),
        )
        .prompt(
            Prompt::new("greet", |args, _ctx| async move {
                let name = args
                    .get("name")
                    .and_then(|v| v.as_str())
                    .unwrap_or("world")
                    .to_owned();
                Ok(PromptResult {
                    description: Some("A greeting".into()),
                    messages: vec![PromptMessage {
                        role: "user".into(),
                        content: Content::text(format!("Please greet {name}.")),
                    }],
                })
            })
            .description("Greet someone")
            .argument("name", "Who to greet", true)
            .complete(|_arg, value| {
                ["alice", "bob", "carol"]
                    .iter()
                    .filter(|v| v.starts_with(value))
                    .map(|v| v.to_string())
                    .collect()
            }),
        );
    let server = tasks::add(conformance::add_modern(conformance::add(server))).build();
    let _ = conformance::SERVER.set(std::sync::Arc::downgrade(&server));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let stop = CancellationToken::new();
        let signals = lmcp::transport::shutdown_signal(stop.clone());
        let web = http.map(|addr| {
            let (server, stop) = (server.clone(), stop.clone());
            tokio::spawn(async move {
                if let Err(e) = serve_http(server, &addr, HttpOptions::default(), stop).await {
                    eprintln!("everything: cannot serve HTTP on {addr}: {e}");
                    std::process::exit(2);
                }
            })
        });
        if stdio {
            serve_stdio(
                server,
                StdioOptions::default(),
                stop.clone().cancelled_owned(),
            )
            .await;
            stop.cancel();
        }
        if let Some(w) = web {
            let _ = w.await;
        }
        signals.abort();
    });
}
