//! The `lmcp` binary: a thin command line over the library.

#![forbid(unsafe_code)]

use clap::Parser;
use lmcp::cli::config::{self, http_options, server_config, stdio_options, task_limits};
use lmcp::cli::Cli;
#[cfg(feature = "hub")]
use lmcp::cli::{ClientAction, ClientArgs, Command, HubCommand};
#[cfg(feature = "hub")]
use lmcp::hub::{config::HubConfig, Hub};
use lmcp::server::Server;
use lmcp::transport::http::serve_http;
use lmcp::transport::stdio::serve_stdio;
use std::process::ExitCode;
use std::sync::Arc;
#[cfg(feature = "hub")]
use std::time::Duration;

#[cfg(feature = "hub")]
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
    let out = client_action(&client, args.action, link.is_some()).await;
    drop(client);
    if let Some(link) = link {
        // Let a legacy HTTP session end with its DELETE.
        let _ = tokio::time::timeout(Duration::from_secs(2), link.closed()).await;
    }
    out
}

#[cfg(feature = "hub")]
async fn client_action(
    client: &lmcp::client::Client,
    action: ClientAction,
    http: bool,
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
            if http && matches!(hello.era, lmcp::client::Era::Modern(_)) {
                // The transport learns from the listing which arguments the
                // call must repeat in Mcp-Param-* headers.
                client.list_tools().await.map_err(|e| e.to_string())?;
            }
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
    use lmcp::server::state_key_from_secret;
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

/// The hub configuration of --config and --upstream.
#[cfg(feature = "hub")]
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
#[cfg(feature = "hub")]
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
    // The shell sandbox's helper (a sandboxed command's first process) runs
    // nothing of the server: it confines itself and execs the command.
    #[cfg(feature = "tools")]
    if let Some(code) = lmcp::tools::sandbox::run_helper_if_requested() {
        return code;
    }
    let cli = Cli::parse();
    lmcp::logging::init(cli.log_level);
    lmcp::transport::http::raise_open_file_limit();
    // Secrets are read once and then removed from the environment, before
    // any thread or child process exists: no shell command, background job
    // or hub upstream inherits them.
    let token = auth_token(&cli);
    let state_key = state_key(&cli);
    for var in SECRET_VARS {
        std::env::remove_var(var);
    }
    // One thread serves every connection; file tools and searches run on the
    // blocking pool, which tokio lets grow to 512 threads, each keeping its
    // stack and malloc arena while it lives. 64 is above the 40 threads that
    // 64 busy clients grew it to in the soak (RELIABILITY.md) and caps the
    // memory a burst can take; past it, blocking work waits its turn.
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lmcp: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(feature = "hub")]
    if let Some(Command::Hub(HubCommand::Status { json, timeout_ms })) = &cli.command {
        return hub_status(&cli, *json, Duration::from_millis(*timeout_ms), &rt);
    }
    #[cfg(feature = "hub")]
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
    let mut engine_config = server_config(&cli);
    // A testing aid: every built-in tool's structured result checked (always
    // in debug builds).
    engine_config.validate_output |= std::env::var_os("LMCP_VALIDATE_OUTPUT").is_some();
    let token = match token {
        Ok(t) => t,
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    };
    let mut http_opts = match http_options(&cli, token) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    };
    let http_addr = cli.http.clone();
    let use_stdio = cli.stdio || http_addr.is_none();
    // Over HTTP the runtime runs on a thread that is replaced after a burst
    // of connections, which gives the burst's memory back (see
    // `lmcp::transport::block_on_replaceable`).
    let burst_ended = http_addr
        .is_some()
        .then(|| Arc::new(tokio::sync::Notify::new()));
    http_opts.burst_ended = burst_ended.clone();
    let mut builder = Server::builder("lmcp", env!("CARGO_PKG_VERSION"))
        .title("lmcp")
        .description(config::description())
        .instructions(config::instructions())
        .config(engine_config)
        .task_limits(task_limits(&cli));
    for src in &cli.server_icon {
        builder = builder.icon(serde_json::json!({ "src": src }));
    }
    #[cfg(feature = "tools")]
    let (mut builder, jobs) = match lmcp::cli::builtin::builtin(&cli) {
        Ok(b) => (
            builder
                .tools(b.tools)
                .resource_provider(b.file_resources)
                .resource_template(b.file_template),
            b.jobs,
        ),
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    };
    #[cfg(not(feature = "tools"))]
    let mut builder = builder;
    match state_key {
        Ok(Some(key)) => builder = builder.request_state_key(key),
        Ok(None) => {}
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(id) = &cli.instance_id {
        builder = builder.instance_id(id.clone());
    }
    let server = builder.build();
    #[cfg(feature = "hub")]
    let hub_cfg = match hub_config(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    };
    let opts = stdio_options(&cli);
    #[cfg(feature = "hub")]
    let boot_wait = Duration::from_millis(cli.hub_boot_wait_ms);
    let mut failed = false;
    let serving = async {
        #[cfg(feature = "hub")]
        let hub = (!hub_cfg.upstreams.is_empty()).then(|| Hub::start(&server, hub_cfg));
        #[cfg(feature = "hub")]
        if let Some(hub) = &hub {
            hub.wait_started(boot_wait).await;
        }
        // Signals are the binary's business: the library takes a shutdown
        // future (stdio) or token (HTTP) and installs no handlers itself.
        let stop = tokio_util::sync::CancellationToken::new();
        let signals = lmcp::transport::shutdown_signal(stop.clone());
        let http = http_addr.map(|addr| {
            let (server, stop) = (server.clone(), stop.clone());
            tokio::spawn(async move {
                serve_http(server, &addr, http_opts, stop)
                    .await
                    .map_err(|e| format!("cannot serve HTTP on {addr}: {e}"))
            })
        });
        if use_stdio {
            serve_stdio(server, opts, stop.clone().cancelled_owned()).await;
            stop.cancel();
        }
        if let Some(h) = http {
            if let Ok(Err(e)) = h.await {
                eprintln!("lmcp: {e}");
                failed = true;
            }
        }
        signals.abort();
        #[cfg(feature = "hub")]
        if let Some(hub) = hub {
            hub.shutdown();
        }
        #[cfg(feature = "tools")]
        jobs.shutdown().await;
        #[cfg(feature = "tools")]
        if let Some(sandbox) = &jobs.config().sandbox {
            sandbox.cleanup();
        }
    };
    match &burst_ended {
        Some(replace) => lmcp::transport::block_on_replaceable(&rt, serving, replace),
        None => rt.block_on(serving),
    }
    lmcp::logging::flush();
    if failed {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
