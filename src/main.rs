//! The `lmcp` binary: a thin command line over the library.

use clap::Parser;
use lmcp::hub::{config::HubConfig, Hub};
use lmcp::jsonrpc::Limits;
use lmcp::server::{Server, ServerConfig};
use lmcp::transport::http::{serve_http, HttpOptions};
use lmcp::transport::stdio::{serve_stdio, StdioOptions};
use std::process::ExitCode;
use std::time::Duration;

/// lmcp: a lightweight, fast, secure MCP server.
///
/// Serves the built-in tools over stdio (default) to MCP clients of every
/// protocol revision: modern 2026-07-28 and legacy 2025-11-25, 2025-06-18,
/// 2025-03-26 and 2024-11-05.
#[derive(Parser, Debug)]
#[command(name = "lmcp", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Serve over stdin/stdout (the default when no transport is given).
    #[arg(long)]
    stdio: bool,

    /// Serve Streamable HTTP on ADDR (e.g. 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    http: Option<String>,

    /// HTTP: path of the MCP endpoint.
    #[arg(long, default_value = "/mcp", value_name = "PATH")]
    http_path: String,

    /// HTTP: also allow this browser Origin (loopback origins always are; `*` allows any). Repeatable.
    #[arg(long, value_name = "ORIGIN")]
    allow_origin: Vec<String>,

    /// HTTP: require `Authorization: Bearer <token>`, the token read from FILE
    /// (or set LMCP_AUTH_TOKEN).
    #[arg(long, value_name = "FILE")]
    auth_token_file: Option<std::path::PathBuf>,

    /// HTTP: largest accepted request body, in bytes.
    #[arg(long, default_value_t = 4 * 1024 * 1024, value_name = "BYTES")]
    max_body_bytes: usize,

    /// HTTP: most connections served at once (503 past it).
    #[arg(long, default_value_t = 512, value_name = "N")]
    max_connections: usize,

    /// HTTP: legacy sessions idle this long are ended, in seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECS")]
    session_idle_secs: u64,

    /// Log level on stderr: off, error, warn, info, debug, trace.
    #[arg(long, default_value = "warn", value_name = "LEVEL")]
    log_level: log::LevelFilter,

    /// Default timeout of a tool call, in milliseconds.
    #[arg(long, default_value_t = 300_000, value_name = "MS")]
    timeout_ms: u64,

    /// Largest accepted message, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    max_message_bytes: usize,

    /// Deepest accepted JSON nesting.
    #[arg(long, default_value_t = 64, value_name = "N")]
    max_depth: usize,

    /// Most requests handled at once (per session); further requests wait.
    #[arg(long, default_value_t = 64, value_name = "N")]
    max_in_flight: usize,

    /// File tools: a directory the tools may touch (repeatable; default the
    /// current directory). Paths outside every root are refused, symlinks included.
    #[arg(long, value_name = "DIR")]
    root: Vec<std::path::PathBuf>,

    /// Leave out every tool that writes (write_file, edit_file, make_dir, move_file).
    #[arg(long)]
    read_only: bool,

    /// Legacy era: narrow the roots to those the client lists (roots/list).
    #[arg(long)]
    trust_client_roots: bool,

    /// fetch: allow loopback and private addresses (link-local and cloud
    /// metadata addresses stay refused).
    #[cfg(feature = "web")]
    #[arg(long)]
    fetch_allow_private: bool,

    /// fetch: honour robots.txt.
    #[cfg(feature = "web")]
    #[arg(long)]
    fetch_respect_robots: bool,

    /// web_search backend: duckduckgo (default, keyless), searxng or brave.
    #[cfg(feature = "web")]
    #[arg(long, value_name = "BACKEND")]
    search_backend: Option<lmcp::tools::web::SearchBackend>,

    /// web_search: base URL of a SearXNG instance (with --search-backend searxng).
    #[cfg(feature = "web")]
    #[arg(long, value_name = "URL")]
    searxng_url: Option<String>,

    /// web_search: file holding the Brave Search API key (else $BRAVE_API_KEY).
    #[cfg(feature = "web")]
    #[arg(long, value_name = "FILE")]
    brave_key_file: Option<std::path::PathBuf>,

    /// Hub: read upstream MCP servers from FILE (JSON or TOML, the
    /// `mcpServers` shape desktop clients use).
    #[arg(long, value_name = "FILE")]
    config: Option<std::path::PathBuf>,

    /// Hub: add an upstream, NAME=COMMAND (split like a shell would) or
    /// NAME=URL; its tools appear as remote_NAME_TOOL. Repeatable.
    #[arg(long, value_name = "NAME=CMD")]
    upstream: Vec<String>,

    /// Hub: how long to wait at start-up for upstreams to list their tools, in milliseconds.
    #[arg(long, default_value_t = 5_000, value_name = "MS")]
    hub_boot_wait_ms: u64,

    /// How long in-flight requests may finish at shutdown, in milliseconds.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    shutdown_grace_ms: u64,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Talk to an MCP server as a client (either era, detected automatically).
    Client(ClientArgs),
}

#[derive(clap::Args, Debug)]
struct ClientArgs {
    /// Start the server with this command line (split like a shell would).
    #[arg(long, value_name = "CMD")]
    stdio: String,
    /// What to do.
    #[command(subcommand)]
    action: ClientAction,
}

#[derive(clap::Subcommand, Debug)]
enum ClientAction {
    /// Show the server's era, identity and capabilities.
    Discover,
    /// List the server's tools.
    Tools,
    /// Call a tool with JSON arguments.
    Call {
        /// Tool name.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(default_value = "{}")]
        arguments: String,
        /// Timeout in milliseconds.
        #[arg(long, default_value_t = 60_000)]
        timeout_ms: u64,
    },
}

async fn run_client(args: ClientArgs) -> Result<serde_json::Value, String> {
    use lmcp::client::StdioSpawn;
    let mut words =
        shlex::split(&args.stdio).ok_or("--stdio: unbalanced quotes in the command line")?;
    if words.is_empty() {
        return Err("--stdio: empty command line".into());
    }
    let command = words.remove(0);
    let spawn = StdioSpawn {
        command,
        args: words,
        ..Default::default()
    };
    let (client, _child) = spawn.spawn().map_err(|e| e.to_string())?;
    let hello = client.connect().await.map_err(|e| e.to_string())?;
    match args.action {
        ClientAction::Discover => Ok(serde_json::json!({
            "era": format!("{:?}", hello.era),
            "serverInfo": hello.server_info,
            "capabilities": hello.capabilities,
            "instructions": hello.instructions,
        })),
        ClientAction::Tools => client
            .list_tools()
            .await
            .map(serde_json::Value::Array)
            .map_err(|e| e.to_string()),
        ClientAction::Call {
            tool,
            arguments,
            timeout_ms,
        } => {
            let args: serde_json::Value = serde_json::from_str(&arguments)
                .map_err(|e| format!("arguments are not valid JSON: {e}"))?;
            client
                .call_tool(&tool, args, Duration::from_millis(timeout_ms))
                .await
                .map_err(|e| e.to_string())
        }
    }
}

/// The bearer token from --auth-token-file or LMCP_AUTH_TOKEN.
fn auth_token(cli: &Cli) -> Result<Option<String>, String> {
    if let Some(path) = &cli.auth_token_file {
        let t = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
        let t = t.trim().to_owned();
        if t.is_empty() {
            return Err(format!("the token file {} is empty", path.display()));
        }
        return Ok(Some(t));
    }
    Ok(std::env::var("LMCP_AUTH_TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty()))
}

const EXAMPLES: &str = "Examples:
  lmcp                          serve the built-in tools on stdio
  lmcp --stdio --log-level info
  lmcp --http 127.0.0.1:8080    serve Streamable HTTP at http://127.0.0.1:8080/mcp
  lmcp --root ~/project --read-only   file tools confined to ~/project, nothing written
  lmcp client --stdio lmcp tools
  lmcp client --stdio \"python3 server.py\" call echo '{\"text\": \"hi\"}'
Client configuration (e.g. for a desktop client's mcpServers):
  {\"command\": \"lmcp\", \"args\": [\"--stdio\"]}";

fn main() -> ExitCode {
    let cli = Cli::parse();
    lmcp::logging::init(cli.log_level);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lmcp: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(Command::Client(args)) = cli.command {
        return match rt.block_on(run_client(args)) {
            Ok(v) => {
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("lmcp client: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let config = ServerConfig {
        limits: Limits {
            max_message_bytes: cli.max_message_bytes,
            max_depth: cli.max_depth,
        },
        default_timeout: Duration::from_millis(cli.timeout_ms),
        max_in_flight: cli.max_in_flight,
        ..ServerConfig::default()
    };
    let token = match auth_token(&cli) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    };
    let http_opts = HttpOptions {
        path: cli.http_path.clone(),
        allowed_origins: cli.allow_origin.clone(),
        auth_token: token,
        max_body_bytes: cli.max_body_bytes,
        max_connections: cli.max_connections,
        session_idle: Duration::from_secs(cli.session_idle_secs),
        shutdown_grace: Duration::from_millis(cli.shutdown_grace_ms),
        ..HttpOptions::default()
    };
    let http_addr = cli.http.clone();
    let use_stdio = cli.stdio || http_addr.is_none();
    let mut fs_config = lmcp::tools::fs::FsConfig {
        read_only: cli.read_only,
        trust_client_roots: cli.trust_client_roots,
        ..Default::default()
    };
    if !cli.root.is_empty() {
        fs_config.roots = match lmcp::tools::roots::Roots::new(cli.root.clone()) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("lmcp: {e}");
                return ExitCode::from(2);
            }
        };
    }
    lmcp::tools::system::mark_start();
    if let Err(e) = lmcp::tools::shell::exec::become_subreaper() {
        log::debug!(
            "cannot become a child subreaper ({e}); orphaned grandchildren are reaped by init"
        );
    }
    let roots = fs_config.roots.clone();
    let shell_config = std::sync::Arc::new(lmcp::tools::shell::ShellConfig {
        cwd: std::sync::Arc::new(move |dir: Option<&str>| {
            roots.resolve_dir(dir).map_err(|e| e.to_string())
        }),
        ..Default::default()
    });
    let jobs = lmcp::tools::jobs::JobManager::new(shell_config.clone());
    let mut tools = lmcp::tools::builtin();
    if !cli.read_only {
        tools.extend(lmcp::tools::shell::tools(shell_config, jobs.clone()));
    }
    #[cfg(feature = "web")]
    {
        let mut web = lmcp::tools::web::WebConfig {
            allow_private: cli.fetch_allow_private,
            respect_robots: cli.fetch_respect_robots,
            searxng_url: cli.searxng_url.clone(),
            brave_key_file: cli.brave_key_file.clone(),
            ..Default::default()
        };
        if let Some(b) = cli.search_backend {
            web.search_backend = b;
        }
        tools.extend(lmcp::tools::web::tools(std::sync::Arc::new(web)));
    }
    let fs_config = std::sync::Arc::new(fs_config);
    let (file_resources, file_template) = lmcp::tools::fs::resources(fs_config.clone());
    let server = Server::builder("lmcp", env!("CARGO_PKG_VERSION"))
        .title("lmcp")
        .instructions("lmcp: a lightweight MCP server with built-in tools.")
        .config(config)
        .tools(tools)
        .tools(lmcp::tools::fs::tools(fs_config))
        .resource_provider(file_resources)
        .resource_template(file_template)
        .build();
    let mut hub_cfg = match &cli.config {
        Some(path) => match HubConfig::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("lmcp: {e}");
                return ExitCode::from(2);
            }
        },
        None => HubConfig::default(),
    };
    for spec in &cli.upstream {
        if let Err(e) = hub_cfg.add_shortcut(spec) {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    }
    let opts = StdioOptions {
        shutdown_grace: Duration::from_millis(cli.shutdown_grace_ms),
        ..StdioOptions::default()
    };
    let boot_wait = Duration::from_millis(cli.hub_boot_wait_ms);
    rt.block_on(async move {
        let hub = (!hub_cfg.upstreams.is_empty()).then(|| Hub::start(&server, hub_cfg));
        if let Some(hub) = &hub {
            hub.wait_started(boot_wait).await;
        }
        let stop = tokio_util::sync::CancellationToken::new();
        let http = http_addr.map(|addr| {
            let (server, stop) = (server.clone(), stop.clone());
            tokio::spawn(async move {
                if let Err(e) = serve_http(server, &addr, http_opts, stop).await {
                    eprintln!("lmcp: cannot serve HTTP on {addr}: {e}");
                    std::process::exit(2);
                }
            })
        });
        if use_stdio {
            serve_stdio(server, opts).await;
            stop.cancel();
        }
        if let Some(h) = http {
            let _ = h.await;
        }
        if let Some(hub) = hub {
            hub.shutdown();
        }
        jobs.shutdown().await;
    });
    ExitCode::SUCCESS
}
