//! The `lmcp` binary: a thin command line over the library.

#![forbid(unsafe_code)]

use clap::Parser;
use lmcp::cli::Cli;
#[cfg(feature = "hub")]
use lmcp::cli::{ClientAction, ClientArgs, Command, HubCommand};
#[cfg(feature = "hub")]
use lmcp::hub::{config::HubConfig, Hub};
use lmcp::jsonrpc::Limits;
use lmcp::server::{Server, ServerConfig};
use lmcp::transport::http::{serve_http, HttpOptions};
use lmcp::transport::stdio::{serve_stdio, StdioOptions};
use std::process::ExitCode;
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

/// The OAuth resource server of --oauth-issuer and --public-url (checked
/// here; nothing is fetched before the first token arrives).
#[cfg(feature = "oauth")]
fn oauth_server(
    cli: &Cli,
) -> Result<Option<std::sync::Arc<lmcp::transport::http::oauth::ResourceServer>>, String> {
    use lmcp::transport::http::oauth::{ClientCredentials, OAuthConfig, ResourceServer};
    let (Some(issuer), Some(resource)) = (&cli.oauth_issuer, &cli.public_url) else {
        return Ok(None);
    };
    let client_credentials = cli
        .oauth_client_credentials_file
        .as_deref()
        .map(ClientCredentials::from_file)
        .transpose()?;
    let server = ResourceServer::new(OAuthConfig {
        issuer: issuer.clone(),
        resource: resource.clone(),
        introspection_url: cli.oauth_introspection_url.clone(),
        client_credentials,
        ca_file: cli.oauth_ca_file.clone(),
    })?;
    Ok(Some(std::sync::Arc::new(server)))
}

#[cfg(not(feature = "oauth"))]
fn oauth_server(cli: &Cli) -> Result<Option<()>, String> {
    match cli.oauth_issuer {
        Some(_) => Err("--oauth-issuer: this lmcp was built without the oauth feature".into()),
        None => Ok(None),
    }
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
    let oauth = match oauth_server(&cli) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("lmcp: {e}");
            return ExitCode::from(2);
        }
    };
    #[cfg(not(feature = "oauth"))]
    let _ = oauth;
    let http_opts = HttpOptions {
        #[cfg(feature = "oauth")]
        oauth,
        path: cli.http_path.clone(),
        allowed_origins: cli.allow_origin.clone(),
        auth_token: token,
        max_body_bytes: cli.max_body_bytes,
        max_connections: cli.max_connections,
        max_in_flight: cli.http_max_in_flight,
        max_sessions: cli.max_sessions,
        body_timeout: Duration::from_secs(cli.http_body_timeout_secs),
        session_idle: Duration::from_secs(cli.session_idle_secs),
        shutdown_grace: Duration::from_millis(cli.shutdown_grace_ms),
        ..HttpOptions::default()
    };
    let http_addr = cli.http.clone();
    let use_stdio = cli.stdio || http_addr.is_none();
    let builder = Server::builder("lmcp", env!("CARGO_PKG_VERSION"))
        .title("lmcp")
        .instructions("lmcp: a lightweight MCP server with built-in tools.")
        .config(config);
    #[cfg(feature = "tools")]
    let (mut builder, jobs) = match builtin(&cli) {
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
    let server = builder.build();
    #[cfg(feature = "hub")]
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
    #[cfg(feature = "hub")]
    let boot_wait = Duration::from_millis(cli.hub_boot_wait_ms);
    let mut failed = false;
    rt.block_on(async {
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
    });
    lmcp::logging::flush();
    if failed {
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// The built-in tools the flags ask for, with the file resources and the
/// job manager the shell_bg tools share (shut down at exit).
#[cfg(feature = "tools")]
struct Builtin {
    tools: Vec<lmcp::Tool>,
    file_resources: lmcp::server::ResourceProvider,
    file_template: lmcp::ResourceTemplate,
    jobs: std::sync::Arc<lmcp::tools::jobs::JobManager>,
}

/// Builds the built-in tools from the tool, shell (and web) flags.
#[cfg(feature = "tools")]
fn builtin(cli: &Cli) -> Result<Builtin, String> {
    // --read-only is applied with --tools/--disable (select_tools), by annotation.
    let mut fs_config = lmcp::tools::fs::FsConfig {
        read_only: cli.read_only,
        trust_client_roots: cli.trust_client_roots,
        roots_from_client: cli.roots_from_client,
        roots_given: !cli.root.is_empty(),
        image_max_edge: cli.image_max_edge,
        ..Default::default()
    };
    if !cli.root.is_empty() {
        fs_config.roots =
            lmcp::tools::roots::Roots::new(cli.root.clone()).map_err(|e| e.to_string())?;
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
    apply_shell_flags(cli, &mut shell_config)?;
    if let Some(config) = cli.sandbox_config()? {
        let sandbox = lmcp::tools::sandbox::Sandbox::new(config, fs_config.roots.paths());
        shell_config.sandbox = Some(sandbox.map_err(|e| e.to_string())?);
    }
    let shell_config = std::sync::Arc::new(shell_config);
    let jobs = lmcp::tools::jobs::JobManager::new(shell_config.clone());
    let mut tools = lmcp::tools::builtin();
    tools.extend(lmcp::tools::shell::tools(shell_config, jobs.clone()));
    #[cfg(feature = "web")]
    tools.extend(lmcp::tools::web::tools(std::sync::Arc::new(web_config(
        cli,
    )?)));
    let fs_config = std::sync::Arc::new(fs_config);
    let (file_resources, file_template) = lmcp::tools::fs::resources(fs_config.clone());
    tools.extend(lmcp::tools::fs::tools(fs_config.clone()));
    if cli.read_only {
        // The writers too, so --tools/--disable know their names; select_tools
        // leaves them out. The others come from `fs_config` (list_roots says
        // read-only).
        let writable = lmcp::tools::fs::FsConfig {
            read_only: false,
            ..(*fs_config).clone()
        };
        let all = lmcp::tools::fs::tools(std::sync::Arc::new(writable));
        tools.extend(
            all.into_iter()
                .filter(|t| t.annotations.read_only_hint != Some(true)),
        );
    }
    Ok(Builtin {
        tools: select_tools(tools, &cli.tools, &cli.disable, cli.read_only)?,
        file_resources,
        file_template,
        jobs,
    })
}

/// The configuration of the fetch and web_search tools from their flags.
#[cfg(feature = "web")]
fn web_config(cli: &Cli) -> Result<lmcp::tools::web::WebConfig, String> {
    use lmcp::tools::web::SearchBackend;
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
    if let Some(url) = &cli.search_url {
        match web.search_backend {
            SearchBackend::DuckDuckGo => web.duckduckgo_url = url.clone(),
            SearchBackend::Brave => web.brave_url = url.clone(),
            SearchBackend::Searxng => {
                return Err(
                    "--search-url is for duckduckgo and brave; SearXNG takes --searxng-url".into(),
                )
            }
        }
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
    Ok(web)
}

/// Applies the shell and job flags to `cfg`.
#[cfg(feature = "tools")]
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
/// `--disable` names; with `read_only`, only those annotated read-only. An
/// unknown name, or one --read-only leaves out named in --tools, is an error.
#[cfg(feature = "tools")]
fn select_tools(
    tools: Vec<lmcp::Tool>,
    only: &[String],
    disable: &[String],
    read_only: bool,
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
    let changes = |t: &lmcp::Tool| t.annotations.read_only_hint != Some(true);
    if let Some(t) = tools
        .iter()
        .find(|t| read_only && changes(t) && only.iter().any(|o| o.trim() == t.name))
    {
        return Err(format!(
            "--tools names {}, which changes things, and --read-only leaves out such tools; drop one of the two",
            t.name
        ));
    }
    let mut kept: Vec<lmcp::Tool> = tools
        .into_iter()
        .filter(|t| wanted(&t.name) && !(read_only && changes(t)))
        .collect();
    // The shell_bg_* companions act on jobs only shell_bg starts.
    if !kept.iter().any(|t| t.name == "shell_bg") {
        if let Some(n) = only.iter().find(|o| o.trim().starts_with("shell_bg_")) {
            return Err(format!(
                "--tools names {n}, which acts on jobs that shell_bg starts; add shell_bg (and leave out --read-only)"
            ));
        }
        kept.retain(|t| !t.name.starts_with("shell_bg_"));
    }
    Ok(kept)
}
