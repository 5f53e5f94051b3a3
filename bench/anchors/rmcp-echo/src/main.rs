//! `echo` and `sleep` on rmcp, the official Rust SDK, for the side-by-side
//! benchmark: over stdio, or with `--http ADDR` over rmcp's Streamable HTTP
//! service (stateless, JSON responses) on hyper; `--stateful --http ADDR`
//! serves legacy sessions (2025-11-25 and older) answered as event streams,
//! rmcp's SSE path. Written with rmcp's plain
//! handler trait; one current-thread runtime, like lmcp.

use rmcp::model::{CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::json;
use std::sync::Arc;

struct Echo;

fn schema(v: serde_json::Value) -> Arc<serde_json::Map<String, serde_json::Value>> {
    Arc::new(v.as_object().cloned().unwrap())
}

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(&self, _r: Option<PaginatedRequestParams>, _c: RequestContext<RoleServer>) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![
            Tool::new("echo", "Return the text", schema(json!({"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}))),
            Tool::new("sleep", "Sleep ms milliseconds", schema(json!({"type":"object","properties":{"ms":{"type":"integer"}},"required":["ms"]}))),
        ]))
    }

    async fn call_tool(&self, r: CallToolRequestParams, _c: RequestContext<RoleServer>) -> Result<CallToolResponse, ErrorData> {
        let args = r.arguments.unwrap_or_default();
        match r.name.as_ref() {
            "echo" => {
                let t = args.get("text").and_then(|v| v.as_str()).unwrap_or("").to_owned();
                Ok(CallToolResult::success(vec![ContentBlock::text(t)]).into())
            }
            "sleep" => {
                let ms = args.get("ms").and_then(|v| v.as_u64()).unwrap_or(0);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                Ok(CallToolResult::success(vec![ContentBlock::text(format!("slept {ms} ms"))]).into())
            }
            _ => Err(ErrorData::invalid_params("unknown tool", None)),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(addr) = args.iter().position(|a| a == "--http").and_then(|i| args.get(i + 1)) {
        return serve_http(addr, args.iter().any(|a| a == "--stateful")).await;
    }
    let service = Echo.serve(rmcp::transport::stdio()).await.expect("serve");
    let _ = service.waiting().await;
}

async fn serve_http(addr: &str, stateful: bool) {
    use rmcp::transport::streamable_http_server::session::{local::LocalSessionManager, never::NeverSessionManager};
    use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
    let mut config = StreamableHttpServerConfig::default();
    config.legacy_session_mode = stateful;
    config.json_response = !stateful;
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    eprintln!("rmcp-echo: listening on http://{}/mcp", listener.local_addr().unwrap());
    if stateful {
        accept(listener, StreamableHttpService::new(|| Ok(Echo), Arc::new(LocalSessionManager::default()), config)).await
    } else {
        accept(listener, StreamableHttpService::new(|| Ok(Echo), Arc::new(NeverSessionManager::default()), config)).await
    }
}

async fn accept<M>(listener: tokio::net::TcpListener, service: rmcp::transport::streamable_http_server::StreamableHttpService<Echo, M>)
where
    M: rmcp::transport::streamable_http_server::session::SessionManager,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let svc = hyper_util::service::TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}
