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

    /// A file holding a secret (at least 16 bytes) that signs MRTR
    /// requestState; give every instance behind one load balancer the same
    /// file (or set LMCP_STATE_KEY). Default: a random key per process.
    #[arg(long, value_name = "FILE")]
    state_key_file: Option<std::path::PathBuf>,

    /// Serve only these built-in tools (comma-separated names, e.g.
    /// `shell,read_file,search_files`); hub tools are not affected.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    tools: Vec<String>,

    /// Leave out these built-in tools (comma-separated names).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    disable: Vec<String>,

    /// shell: the program that runs a command, with its leading arguments
    /// (split like a shell would); the command is appended [default: sh -c].
    #[arg(long, value_name = "PROGRAM")]
    shell: Option<String>,

    /// shell: timeout of a call that gives no timeout_ms [default: 120000].
    #[arg(long, value_name = "MS")]
    shell_timeout_ms: Option<u64>,

    /// shell: the largest timeout_ms a call may ask for; also caps the wait
    /// of shell_bg_output [default: 1800000].
    #[arg(long, value_name = "MS")]
    shell_max_timeout_ms: Option<u64>,

    /// shell: bytes of output kept per stream when a call gives no
    /// max_output_bytes (head and tail are kept) [default: 32768].
    #[arg(long, value_name = "BYTES")]
    shell_output_bytes: Option<usize>,

    /// shell: the largest max_output_bytes a call may ask for [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    shell_max_output_bytes: Option<usize>,

    /// shell_bg: background jobs running at once [default: 16].
    #[arg(long, value_name = "N")]
    max_jobs: Option<usize>,

    /// shell_bg: bytes of output kept per stream of a job (older output is
    /// dropped with a marker) [default: 262144].
    #[arg(long, value_name = "BYTES")]
    job_buffer_bytes: Option<usize>,

    /// shell_bg: how long an ended job's output stays readable, in seconds [default: 1800].
    #[arg(long, value_name = "SECS")]
    job_retention_secs: Option<u64>,

    /// fetch: allow loopback and private addresses (link-local and cloud
    /// metadata addresses stay refused).
    #[cfg(feature = "web")]
    #[arg(long)]
    fetch_allow_private: bool,

    /// fetch: honour robots.txt.
    #[cfg(feature = "web")]
    #[arg(long)]
    fetch_respect_robots: bool,

    /// fetch and web_search: the User-Agent header sent [default: "lmcp/VERSION (MCP fetch tool)"].
    #[cfg(feature = "web")]
    #[arg(long, value_name = "TEXT")]
    fetch_user_agent: Option<String>,

    /// fetch: the largest response body read, in bytes (after decompression);
    /// the rest is not downloaded [default: 5242880].
    #[cfg(feature = "web")]
    #[arg(long, value_name = "BYTES")]
    fetch_max_bytes: Option<usize>,

    /// fetch: the most redirects followed, each re-checked [default: 5].
    #[cfg(feature = "web")]
    #[arg(long, value_name = "N")]
    fetch_max_redirects: Option<usize>,

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
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<std::path::PathBuf>,

    /// Hub: add an upstream, NAME=COMMAND (split like a shell would) or
    /// NAME=URL; its tools appear as remote_NAME_TOOL. Repeatable.
    #[arg(long, value_name = "NAME=CMD", global = true)]
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
    /// Hub tools, on the upstreams of --config / --upstream.
    #[command(subcommand)]
    Hub(HubCommand),
}

#[derive(clap::Subcommand, Debug)]
enum HubCommand {
    /// Connect to every upstream and show its state, era and tool, prompt and
    /// resource counts; exits 1 if any upstream failed.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// How long each upstream may take to connect and list, in milliseconds.
        #[arg(long, default_value_t = 30_000, value_name = "MS")]
        timeout_ms: u64,
    },
}

#[derive(clap::Args, Debug)]
struct ClientArgs {
    /// Start the server with this command line (split like a shell would).
    #[arg(
        long,
        value_name = "CMD",
        required_unless_present = "http",
        conflicts_with = "http"
    )]
    stdio: Option<String>,
    /// Talk Streamable HTTP to this endpoint (http://HOST:PORT/PATH).
    #[arg(long, value_name = "URL")]
    http: Option<String>,
    /// Extra HTTP header, NAME=VALUE (repeatable; with --http).
    #[arg(long = "header", value_name = "NAME=VALUE", requires = "http")]
    headers: Vec<String>,
    /// With an https:// URL: also trust the certificates in this PEM file.
    #[arg(long, value_name = "FILE", requires = "http")]
    ca_file: Option<std::path::PathBuf>,
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
    use lmcp::client::{HttpConnect, StdioSpawn};
    let (client, _child, link) = if let Some(url) = &args.http {
        let mut headers = Vec::new();
        for h in &args.headers {
            let (k, v) = h.split_once('=').ok_or("--header: expected NAME=VALUE")?;
            headers.push((k.to_owned(), v.to_owned()));
        }
        let http = HttpConnect {
            url: url.clone(),
            headers,
            ca_file: args.ca_file.clone(),
        };
        let (client, link) = http.connect().map_err(|e| e.to_string())?;
        (client, None, Some(link))
    } else {
        let line = args.stdio.as_deref().unwrap_or_default();
        let mut words =
            shlex::split(line).ok_or("--stdio: unbalanced quotes in the command line")?;
        if words.is_empty() {
            return Err("--stdio: empty command line".into());
        }
        let command = words.remove(0);
        let spawn = StdioSpawn {
            command,
            args: words,
            ..Default::default()
        };
        let (client, child) = spawn.spawn().map_err(|e| e.to_string())?;
        (client, Some(child), None)
    };
    let out = client_action(&client, args.action).await;
    drop(client);
    if let Some(link) = link {
        // Let a legacy HTTP session end with its DELETE.
        let _ = tokio::time::timeout(Duration::from_secs(2), link.closed()).await;
    }
    out
}

async fn client_action(
    client: &lmcp::client::Client,
    action: ClientAction,
) -> Result<serde_json::Value, String> {
    let hello = client.connect().await.map_err(|e| e.to_string())?;
    match action {
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

/// Environment variables holding secrets, removed at start-up.
const SECRET_VARS: [&str; 2] = ["LMCP_AUTH_TOKEN", "LMCP_STATE_KEY"];

/// The requestState key from --state-key-file or LMCP_STATE_KEY.
fn state_key(cli: &Cli) -> Result<Option<[u8; 32]>, String> {
    use lmcp::server::mrtr::state_key_from_secret;
    if let Some(path) = &cli.state_key_file {
        let secret = std::fs::read(path)
            .map_err(|e| format!("cannot read the state key file {}: {e}", path.display()))?;
        return state_key_from_secret(&secret)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display()));
    }
    match std::env::var("LMCP_STATE_KEY") {
        Ok(v) if !v.trim().is_empty() => state_key_from_secret(v.as_bytes())
            .map(Some)
            .map_err(|e| format!("LMCP_STATE_KEY: {e}")),
        _ => Ok(None),
    }
}

const EXAMPLES: &str = "Examples:
  lmcp                          serve the built-in tools on stdio
  lmcp --stdio --log-level info
  lmcp --http 127.0.0.1:8080    serve Streamable HTTP at http://127.0.0.1:8080/mcp
  lmcp --root ~/project --read-only   file tools confined to ~/project, nothing written
  lmcp client --stdio lmcp tools
  lmcp client --stdio \"python3 server.py\" call echo '{\"text\": \"hi\"}'
  lmcp client --http http://127.0.0.1:8080/mcp tools
Client configuration (e.g. for a desktop client's mcpServers):
  {\"command\": \"lmcp\", \"args\": [\"--stdio\"]}";

/// The hub configuration of --config and --upstream.
fn hub_config(cli: &Cli) -> Result<HubConfig, lmcp::hub::config::ConfigError> {
    let mut cfg = match &cli.config {
        Some(path) => HubConfig::load(path)?,
        None => HubConfig::default(),
    };
    for spec in &cli.upstream {
        cfg.add_shortcut(spec)?;
    }
    Ok(cfg)
}

/// `lmcp hub status`.
fn hub_status(cli: &Cli, json: bool, timeout: Duration, rt: &tokio::runtime::Runtime) -> ExitCode {
    use lmcp::hub::status;
    let cfg = match hub_config(cli) {
        Ok(c) if c.upstreams.is_empty() => {
            eprintln!("lmcp hub status: no upstreams; give --config FILE or --upstream NAME=CMD");
            return ExitCode::from(2);
        }
        Ok(c) => c,
        Err(e) => {
            eprintln!("lmcp hub status: {e}");
            return ExitCode::from(2);
        }
    };
    let reports = rt.block_on(status::check(&cfg, timeout));
    if json {
        let v = serde_json::json!({ "upstreams": reports });
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else {
        print!("{}", status::table(&reports));
    }
    if reports.iter().all(|r| r.state == "up") {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    lmcp::logging::init(cli.log_level);
    // Secrets are read once and then removed from the environment, before
    // any thread or child process exists: no shell command, background job
    // or hub upstream inherits them.
    let token = auth_token(&cli);
    let state_key = state_key(&cli);
    for var in SECRET_VARS {
        std::env::remove_var(var);
    }
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
    if let Some(Command::Hub(HubCommand::Status { json, timeout_ms })) = &cli.command {
        return hub_status(&cli, *json, Duration::from_millis(*timeout_ms), &rt);
    }
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
    let token = match token {
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
    let mut shell_config = lmcp::tools::shell::ShellConfig {
        cwd: std::sync::Arc::new(move |dir: Option<&str>| {
            roots.resolve_dir(dir).map_err(|e| e.to_string())
        }),
        ..Default::default()
    };
    if let Err(e) = apply_shell_flags(&cli, &mut shell_config) {
        eprintln!("lmcp: {e}");
        return ExitCode::from(2);
    }
    let shell_config = std::sync::Arc::new(shell_config);
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
        if let Some(ua) = &cli.fetch_user_agent {
            web.user_agent = ua.clone();
        }
        if let Some(n) = cli.fetch_max_bytes {
            web.max_body_bytes = n;
        }
        if let Some(n) = cli.fetch_max_redirects {
            web.max_redirects = n;
        }
        tools.extend(lmcp::tools::web::tools(std::sync::Arc::new(web)));
    }
    tools.extend(lmcp::tools::fs::tools(std::sync::Arc::new(fs_config)));
    let tools = match select_tools(tools, &cli.tools, &cli.disable) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    };
    let mut builder = Server::builder("lmcp", env!("CARGO_PKG_VERSION"))
        .title("lmcp")
        .instructions("lmcp: a lightweight MCP server with built-in tools.")
        .config(config)
        .tools(tools);
    match state_key {
        Ok(Some(key)) => builder = builder.request_state_key(key),
        Ok(None) => {}
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    }
    let server = builder.build();
    let hub_cfg = match hub_config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    };
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

/// Applies the shell and job flags to `cfg`.
fn apply_shell_flags(cli: &Cli, cfg: &mut lmcp::tools::shell::ShellConfig) -> Result<(), String> {
    if let Some(program) = &cli.shell {
        let words = shlex::split(program)
            .filter(|w| !w.is_empty())
            .ok_or_else(|| {
                format!("--shell {program:?}: give a program, e.g. --shell 'bash -c'")
            })?;
        cfg.shell = words;
    }
    let ms = Duration::from_millis;
    if let Some(v) = cli.shell_max_timeout_ms {
        cfg.max_timeout = ms(v);
    }
    if let Some(v) = cli.shell_timeout_ms {
        cfg.default_timeout = ms(v);
    }
    if cfg.default_timeout > cfg.max_timeout {
        return Err(format!(
            "--shell-timeout-ms ({} ms) exceeds --shell-max-timeout-ms ({} ms)",
            cfg.default_timeout.as_millis(),
            cfg.max_timeout.as_millis()
        ));
    }
    if let Some(v) = cli.shell_max_output_bytes {
        cfg.max_output_cap = v;
    }
    if let Some(v) = cli.shell_output_bytes {
        cfg.output_cap = v;
    }
    if cfg.output_cap > cfg.max_output_cap {
        return Err(format!(
            "--shell-output-bytes ({}) exceeds --shell-max-output-bytes ({})",
            cfg.output_cap, cfg.max_output_cap
        ));
    }
    if let Some(v) = cli.max_jobs {
        cfg.max_jobs = v.max(1);
        cfg.max_job_records = cfg.max_job_records.max(cfg.max_jobs);
    }
    if let Some(v) = cli.job_buffer_bytes {
        cfg.job_buffer_bytes = v.max(1024);
    }
    if let Some(v) = cli.job_retention_secs {
        cfg.job_retention = Duration::from_secs(v);
    }
    Ok(())
}

/// Keeps the built-in tools `--tools` names (all when empty), minus those
/// `--disable` names. An unknown name is an error listing the known ones.
fn select_tools(
    tools: Vec<lmcp::Tool>,
    only: &[String],
    disable: &[String],
) -> Result<Vec<lmcp::Tool>, String> {
    let known: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    for name in only.iter().chain(disable) {
        if !known.contains(&name.trim()) {
            return Err(format!(
                "unknown tool {name:?} in --tools/--disable; the built-in tools here are: {}",
                known.join(", ")
            ));
        }
    }
    let wanted = |n: &str| {
        (only.is_empty() || only.iter().any(|o| o.trim() == n))
            && !disable.iter().any(|d| d.trim() == n)
    };
    Ok(tools.into_iter().filter(|t| wanted(&t.name)).collect())
}
