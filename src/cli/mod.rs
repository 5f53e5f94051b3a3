//! The `lmcp` command line, defined here rather than in `src/main.rs` so
//! that tools outside the binary can use the same definition: the man page
//! and shell completions (`xtask`, run by `scripts/package.sh`) and the
//! configuration reference `docs/configuration.md` ([`reference`](mod@reference), checked
//! by `tests/docs_config.rs`).
//!
//! The flags are mapped onto the library's configuration here too, so that
//! `src/main.rs` only builds and runs the server from them: [`config`] for
//! the engine and the transports, `builtin` for the built-in tools (feature
//! `tools`; its `--sandbox*` flags gathered by `Cli::sandbox_config`, which
//! checks for flags that need `--sandbox`).
//!
//! A flag or subcommand of a feature compiled out does not exist (clap then
//! refuses it as unknown): the tool and shell flags need `tools`, the hub
//! flags and the `client` and `hub` subcommands need `hub`, the fetch and
//! web_search flags need `web`.

#[cfg(feature = "tools")]
pub mod builtin;
#[cfg(feature = "hub")]
mod commands;
pub mod config;
mod examples;
pub mod reference;
#[cfg(feature = "tools")]
mod sandbox;

use clap::{CommandFactory, Parser};
#[cfg(feature = "hub")]
pub use commands::{ClientAction, ClientArgs, Command, HubCommand};
pub use examples::EXAMPLES;

/// Help headings grouping the flags of `lmcp --help` (and the sections of
/// the configuration reference).
pub mod heading {
    /// How lmcp is reached.
    pub const TRANSPORT: &str = "Transport";
    /// Streamable HTTP options.
    pub const HTTP: &str = "HTTP";
    /// Limits and behaviour of the protocol engine.
    pub const SERVER: &str = "Server";
    /// Choice of built-in tools and the roots of the file tools (feature `tools`).
    pub const TOOLS: &str = "Tools";
    /// The `shell` and `shell_bg` tools (feature `tools`).
    pub const SHELL: &str = "Shell";
    /// The kernel sandbox of `shell` and `shell_bg` (feature `tools`).
    pub const SANDBOX: &str = "Sandbox";
    /// The `fetch` and `web_search` tools, built with the `web` feature only.
    pub const WEB: &str = "Web tools (feature `web`)";
    /// Upstream MCP servers re-exported as tools (feature `hub`).
    pub const HUB: &str = "Hub";
}

/// The clap command of `lmcp`, with every subcommand.
pub fn command() -> clap::Command {
    Cli::command()
}

/// lmcp: a lightweight, fast, secure MCP server.
///
/// Serves the built-in tools over stdio (default) to MCP clients of every
/// protocol revision: modern 2026-07-28 and legacy 2025-11-25, 2025-06-18,
/// 2025-03-26 and 2024-11-05.
#[derive(Parser, Debug)]
#[command(name = "lmcp", version, after_help = EXAMPLES)]
pub struct Cli {
    /// A subcommand; without one, lmcp serves.
    // `lmcp client` and `lmcp hub` are the only subcommands, both `hub`'s.
    #[cfg(feature = "hub")]
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Serve over stdin/stdout (the default when no transport is given).
    #[arg(help_heading = heading::TRANSPORT, long)]
    pub stdio: bool,

    /// Serve Streamable HTTP on ADDR: HOST:PORT (e.g. 127.0.0.1:8080), or a
    /// bare PORT (or :PORT) for loopback 127.0.0.1:PORT.
    #[arg(help_heading = heading::TRANSPORT, long, value_name = "ADDR", value_parser = http_addr)]
    pub http: Option<String>,

    /// HTTP: path of the MCP endpoint.
    #[arg(help_heading = heading::HTTP, long, default_value = "/mcp", value_name = "PATH")]
    pub http_path: String,

    /// HTTP: also allow this browser Origin (loopback origins always are; `*` allows any). Repeatable.
    #[arg(help_heading = heading::HTTP, long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,

    /// HTTP: also accept this name in the Host header (on a loopback bind only
    /// loopback names are, against DNS rebinding; `*` accepts any). Repeatable.
    #[arg(help_heading = heading::HTTP, long, value_name = "NAME")]
    pub allow_host: Vec<String>,

    /// HTTP: require `Authorization: Bearer <token>`, the token read from FILE
    /// (or set LMCP_AUTH_TOKEN).
    #[arg(help_heading = heading::HTTP, long, value_name = "FILE")]
    pub auth_token_file: Option<std::path::PathBuf>,

    /// HTTP: accept OAuth 2.1 access tokens issued by this authorization server
    /// (its issuer URL; https://, or http:// on loopback). Needs --public-url.
    #[arg(help_heading = heading::HTTP, long, value_name = "URL", requires = "public_url")]
    pub oauth_issuer: Option<String>,

    /// HTTP: this server's public URL as clients reach it, e.g.
    /// https://mcp.example.com/mcp: the resource tokens must be issued for (audience).
    // The doc comment is --help text, where a bare URL reads best.
    #[allow(rustdoc::bare_urls)]
    #[arg(help_heading = heading::HTTP, long, value_name = "URL", requires = "oauth_issuer")]
    pub public_url: Option<String>,

    /// HTTP: RFC 7662 introspection endpoint for opaque (non-JWT) access tokens.
    #[arg(help_heading = heading::HTTP, long, value_name = "URL", requires = "oauth_client_credentials_file")]
    pub oauth_introspection_url: Option<String>,

    /// HTTP: lmcp's client credentials for introspection, CLIENT_ID:CLIENT_SECRET
    /// in FILE (uses the issuer's introspection endpoint unless --oauth-introspection-url).
    #[arg(help_heading = heading::HTTP, long, value_name = "FILE", requires = "oauth_issuer")]
    pub oauth_client_credentials_file: Option<std::path::PathBuf>,

    /// HTTP: also trust the CA certificates (PEM) in FILE for the authorization server.
    #[arg(help_heading = heading::HTTP, long, value_name = "FILE", requires = "oauth_issuer")]
    pub oauth_ca_file: Option<std::path::PathBuf>,

    /// HTTP: largest accepted request body, in bytes.
    #[arg(help_heading = heading::HTTP, long, default_value_t = 4 * 1024 * 1024, value_name = "BYTES")]
    pub max_body_bytes: usize,

    /// HTTP: most connections open at once. When all are taken, a new
    /// connection ends the oldest one that has had no request accepted (a
    /// request to the MCP endpoint that passed the token check; health
    /// checks and other paths do not count) and is not serving one (a slow
    /// or idle client); 503 when there is none.
    #[arg(help_heading = heading::HTTP, long, default_value_t = 512, value_name = "N")]
    pub max_connections: usize,

    /// HTTP: connection slots kept for clients that have had a request
    /// accepted (at most half of --max-connections): a flood of connections
    /// that send no valid request never takes them.
    #[arg(help_heading = heading::HTTP, long, default_value_t = 64, value_name = "N")]
    pub reserved_connections: usize,

    /// HTTP: most connections open at once from one address (an IPv6 /64
    /// counts as one; loopback clients, such as a local reverse proxy, are
    /// not counted); 503 past it. 0: no cap.
    #[arg(help_heading = heading::HTTP, long, default_value_t = 64, value_name = "N")]
    pub max_connections_per_peer: usize,

    /// HTTP: most requests in flight at once over HTTP, all clients together
    /// (503 past it; a streamed answer counts until its last event).
    #[arg(help_heading = heading::HTTP, long, default_value_t = 1024, value_name = "N")]
    pub http_max_in_flight: usize,

    /// HTTP: longest wait for a request body once its headers are in, in
    /// seconds (408 and the connection closes past it).
    #[arg(help_heading = heading::HTTP, long, default_value_t = 30, value_name = "SECS")]
    pub http_body_timeout_secs: u64,

    /// HTTP: most legacy sessions open at once; past it a new `initialize`
    /// ends the least recently used idle session (503 when none is idle).
    #[arg(help_heading = heading::HTTP, long, default_value_t = 4096, value_name = "N")]
    pub max_sessions: usize,

    /// HTTP: legacy sessions idle this long are ended, in seconds.
    #[arg(help_heading = heading::HTTP, long, default_value_t = 1800, value_name = "SECS")]
    pub session_idle_secs: u64,

    /// HTTP: how long a legacy request's event stream stays resumable
    /// (GET + Last-Event-ID) after its connection drops, in seconds; the
    /// request is cancelled when nobody resumes it by then.
    #[arg(help_heading = heading::HTTP, long, default_value_t = 60, value_name = "SECS")]
    pub sse_replay_secs: u64,

    /// Log level on stderr: off, error, warn, info, debug, trace.
    #[arg(help_heading = heading::SERVER, long, default_value = "warn", value_name = "LEVEL")]
    pub log_level: log::LevelFilter,

    /// Default timeout of a tool call, in milliseconds.
    #[arg(help_heading = heading::SERVER, long, default_value_t = 300_000, value_name = "MS")]
    pub timeout_ms: u64,

    /// Largest accepted message, in bytes.
    #[arg(help_heading = heading::SERVER, long, default_value_t = 16 * 1024 * 1024, value_name = "BYTES")]
    pub max_message_bytes: usize,

    /// Deepest accepted JSON nesting.
    #[arg(help_heading = heading::SERVER, long, default_value_t = 64, value_name = "N")]
    pub max_depth: usize,

    /// Most requests handled at once per session (stdio: the process; HTTP:
    /// each legacy session, and all modern requests together); further
    /// requests wait. Over HTTP, --http-max-in-flight answers 503 past its cap.
    #[arg(help_heading = heading::SERVER, long, default_value_t = 64, value_name = "N")]
    pub max_in_flight: usize,

    /// Tasks (task-augmented calls): how long a task and its result are kept
    /// from its creation, in seconds (the `ttlMs` clients are told); an
    /// expired task's work is cancelled.
    #[arg(help_heading = heading::SERVER, long, default_value_t = 3600, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub task_ttl_secs: u64,

    /// Tasks: the polling interval suggested to clients (`pollIntervalMs`),
    /// in milliseconds.
    #[arg(help_heading = heading::SERVER, long, default_value_t = 500, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub task_poll_interval_ms: u64,

    /// Tasks: most tasks kept at once, all clients together; past it a new
    /// task evicts the oldest finished one, and is refused when none has finished.
    #[arg(help_heading = heading::SERVER, long, default_value_t = 1024, value_name = "N",
          value_parser = at_least_one())]
    pub max_tasks: usize,

    /// Tasks: most bytes of results and errors kept, all tasks together; past
    /// it the oldest finished tasks are evicted, and a result that still does
    /// not fit is replaced by an error.
    #[arg(help_heading = heading::SERVER, long, default_value_t = 64 * 1024 * 1024,
          value_name = "BYTES", value_parser = at_least_one())]
    pub max_task_bytes: usize,

    /// File tools: a directory the tools may touch (repeatable; default the
    /// current directory). Paths outside every root are refused, symlinks included.
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::TOOLS, long, value_name = "DIR")]
    pub root: Vec<std::path::PathBuf>,

    /// Serve only the tools that change nothing (annotated read-only): no shell,
    /// shell_bg*, write_file, edit_file, make_dir, move_file, copy_file or
    /// delete_file.
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::TOOLS, long)]
    pub read_only: bool,

    /// Legacy era: narrow the roots to those the client lists (roots/list).
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::TOOLS, long)]
    pub trust_client_roots: bool,

    /// Take the file tools' roots from the client's roots (roots/list, both
    /// eras; notifications/roots/list_changed updates them). Without --root
    /// the client's roots are the roots; with --root they only narrow them.
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::TOOLS, long)]
    pub roots_from_client: bool,

    /// read_file and fetch: downscale images so their longest edge is at
    /// most this many pixels (feature docs).
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::TOOLS, long, value_name = "PIXELS", default_value_t = 1568,
          value_parser = clap::value_parser!(u32).range(16..=16384))]
    pub image_max_edge: u32,

    /// A file holding a secret (at least 16 bytes) that signs MRTR
    /// requestState; give every instance behind one load balancer the same
    /// file (or set LMCP_STATE_KEY). Default: a random key per process.
    #[arg(help_heading = heading::SERVER, long, value_name = "FILE")]
    pub state_key_file: Option<std::path::PathBuf>,

    /// Tag the legacy HTTP session ids, job handles and task ids this
    /// instance mints with ID (`ID.<random>`, `job_ID.<random>`), so a load
    /// balancer routes each to its instance: 1-63 of a-z, 0-9 and `-`.
    #[arg(help_heading = heading::SERVER, long, value_name = "ID")]
    pub instance_id: Option<crate::server::InstanceId>,

    /// An icon clients may show for this server (serverInfo.icons, protocol
    /// 2025-11-25 and later): an https:// URL or a data: URI; repeatable.
    #[arg(help_heading = heading::SERVER, long, value_name = "SRC", value_parser = icon_src)]
    pub server_icon: Vec<String>,

    /// The output budget: most bytes of text one read_file, search_files or
    /// list_dir answer carries (calls may ask for less with max_bytes; more
    /// is reached by offset or cursor) [default: 65536].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::TOOLS, long, value_name = "BYTES")]
    pub max_result_bytes: Option<usize>,

    /// Serve only these built-in tools (comma-separated names, e.g.
    /// `shell,read_file,search_files`); hub tools are not affected.
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::TOOLS, long, value_name = "LIST", value_delimiter = ',')]
    pub tools: Vec<String>,

    /// Leave out these built-in tools (comma-separated names).
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::TOOLS, long, value_name = "LIST", value_delimiter = ',')]
    pub disable: Vec<String>,

    /// shell: the program that runs a command, with its leading arguments
    /// (split like a shell would); the command is appended [default: sh -c].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SHELL, long, value_name = "PROGRAM")]
    pub shell: Option<String>,

    /// shell: timeout of a call that gives no timeout_ms [default: 120000].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SHELL, long, value_name = "MS")]
    pub shell_timeout_ms: Option<u64>,

    /// shell: the largest timeout_ms a call may ask for; also caps the wait
    /// of shell_bg_output [default: 1800000].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SHELL, long, value_name = "MS")]
    pub shell_max_timeout_ms: Option<u64>,

    /// shell: bytes of output kept per stream when a call gives no
    /// max_output_bytes (head and tail are kept) [default: 32768].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SHELL, long, value_name = "BYTES")]
    pub shell_output_bytes: Option<usize>,

    /// shell: what a call that gives no on_timeout does at its timeout: kill
    /// the command, or leave it running as a shell_bg job [default: kill].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SHELL, long, value_name = "WHAT", value_parser = ["kill", "background"])]
    pub shell_on_timeout: Option<String>,

    /// shell: the largest max_output_bytes a call may ask for [default: 1048576].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SHELL, long, value_name = "BYTES")]
    pub shell_max_output_bytes: Option<usize>,

    /// shell_bg: background jobs running at once [default: 16].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SHELL, long, value_name = "N")]
    pub max_jobs: Option<usize>,

    /// shell_bg: bytes of output kept per stream of a job (older output is
    /// dropped with a marker) [default: 262144].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SHELL, long, value_name = "BYTES")]
    pub job_buffer_bytes: Option<usize>,

    /// shell_bg: how long an ended job's output stays readable, in seconds [default: 1800].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SHELL, long, value_name = "SECS")]
    pub job_retention_secs: Option<u64>,

    /// shell and shell_bg: confine every command with the kernel (Landlock):
    /// it may write only in the roots, --sandbox-allow-write and a private
    /// TMPDIR, read the system directories, not signal lmcp; refuses to start
    /// where the kernel cannot enforce it, unless `--sandbox best-effort`.
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SANDBOX, long, value_name = "MODE", num_args = 0..=1,
          default_missing_value = "on", value_parser = ["on", "best-effort"])]
    pub sandbox: Option<String>,

    /// --sandbox: another directory commands may read and execute (repeatable).
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SANDBOX, long, value_name = "DIR")]
    pub sandbox_allow_read: Vec<std::path::PathBuf>,

    /// --sandbox: another directory commands may write (repeatable).
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SANDBOX, long, value_name = "DIR")]
    pub sandbox_allow_write: Vec<std::path::PathBuf>,

    /// --sandbox: TCP for commands: all, none (no connect or bind), or the
    /// ports they may connect to, e.g. 443,8080 [default: all].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SANDBOX, long, value_name = "all|none|PORTS")]
    pub sandbox_net: Option<crate::tools::sandbox::Net>,

    /// --sandbox: limits per command, KEY=VALUE by commas (keys left out keep
    /// their default; 0 or unlimited lifts one) [default:
    /// as=16G,nproc=512,nofile=4096,cpu=unlimited,fsize=8G].
    #[cfg(feature = "tools")]
    #[arg(help_heading = heading::SANDBOX, long, value_name = "LIST")]
    pub sandbox_limits: Option<crate::tools::sandbox::Limits>,

    /// fetch: allow loopback and private addresses (link-local and cloud
    /// metadata addresses stay refused).
    #[cfg(feature = "web")]
    #[arg(help_heading = heading::WEB, long)]
    pub fetch_allow_private: bool,

    /// fetch: honour robots.txt.
    #[cfg(feature = "web")]
    #[arg(help_heading = heading::WEB, long)]
    pub fetch_respect_robots: bool,

    /// fetch and web_search: the User-Agent header sent [default: "lmcp/VERSION (MCP fetch tool)"].
    #[cfg(feature = "web")]
    #[arg(help_heading = heading::WEB, long, value_name = "TEXT")]
    pub fetch_user_agent: Option<String>,

    /// fetch: the largest response body read, in bytes (after decompression);
    /// the rest is not downloaded [default: 5242880].
    #[cfg(feature = "web")]
    #[arg(help_heading = heading::WEB, long, value_name = "BYTES")]
    pub fetch_max_bytes: Option<usize>,

    /// fetch: the most redirects followed, each re-checked [default: 5].
    #[cfg(feature = "web")]
    #[arg(help_heading = heading::WEB, long, value_name = "N")]
    pub fetch_max_redirects: Option<usize>,

    /// web_search backend: duckduckgo (default, keyless), searxng or brave.
    #[cfg(feature = "web")]
    #[arg(help_heading = heading::WEB, long, value_name = "BACKEND")]
    pub search_backend: Option<crate::tools::web::SearchBackend>,

    /// web_search: base URL of a SearXNG instance (with --search-backend searxng).
    #[cfg(feature = "web")]
    #[arg(help_heading = heading::WEB, long, value_name = "URL")]
    pub searxng_url: Option<String>,

    /// web_search: file holding the Brave Search API key (else $BRAVE_API_KEY).
    #[cfg(feature = "web")]
    #[arg(help_heading = heading::WEB, long, value_name = "FILE")]
    pub brave_key_file: Option<std::path::PathBuf>,

    /// web_search: endpoint of the duckduckgo or brave backend, to reach it
    /// through a mirror or a proxy [default: the service's public endpoint].
    #[cfg(feature = "web")]
    #[arg(help_heading = heading::WEB, long, value_name = "URL")]
    pub search_url: Option<String>,

    /// Hub: read upstream MCP servers from FILE (JSON or TOML, the
    /// `mcpServers` shape desktop clients use).
    #[cfg(feature = "hub")]
    #[arg(help_heading = heading::HUB, long, value_name = "FILE", global = true)]
    pub config: Option<std::path::PathBuf>,

    /// Hub: add an upstream, NAME=COMMAND (split like a shell would) or
    /// NAME=URL; its tools appear as remote_NAME_TOOL. Repeatable.
    #[cfg(feature = "hub")]
    #[arg(help_heading = heading::HUB, long, value_name = "NAME=CMD", global = true)]
    pub upstream: Vec<String>,

    /// Hub: how long to wait at start-up for upstreams to list their tools, in milliseconds.
    #[cfg(feature = "hub")]
    #[arg(help_heading = heading::HUB, long, default_value_t = 5_000, value_name = "MS")]
    pub hub_boot_wait_ms: u64,

    /// How long in-flight requests may finish at shutdown, in milliseconds.
    #[arg(help_heading = heading::SERVER, long, default_value_t = 10_000, value_name = "MS")]
    pub shutdown_grace_ms: u64,
}

/// `--http`'s value: `HOST:PORT` as given, or a bare `PORT` / `:PORT` for
/// `127.0.0.1:PORT` (loopback unless asked otherwise).
fn http_addr(s: &str) -> Result<String, String> {
    let port = s.strip_prefix(':').unwrap_or(s);
    if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) {
        return port
            .parse::<u16>()
            .map(|p| format!("127.0.0.1:{p}"))
            .map_err(|_| format!("{port} is not a port number (0-65535)"));
    }
    if s.is_empty() || s.starts_with(':') {
        return Err(format!("{s:?}: give HOST:PORT, PORT or :PORT"));
    }
    Ok(s.to_owned())
}

/// A count or size of at least 1 (0 would make the limit useless).
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

/// An icon source for `--server-icon`: an http:// or https:// URL (the
/// client fetches it; https is what the help suggests) or a data:image/ URI.
fn icon_src(s: &str) -> Result<String, String> {
    if s.starts_with("https://") || s.starts_with("http://") || s.starts_with("data:image/") {
        Ok(s.to_owned())
    } else {
        Err("give an https:// URL or a data:image/... URI".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http_of(args: &[&str]) -> Result<Option<String>, clap::Error> {
        let mut argv = vec!["lmcp"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv).map(|c| c.http)
    }

    #[test]
    fn a_bare_port_binds_loopback() {
        assert_eq!(
            http_of(&["--http", "8080"]).unwrap().as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            http_of(&["--http", ":8080"]).unwrap().as_deref(),
            Some("127.0.0.1:8080")
        );
        assert_eq!(
            http_of(&["--http", "0"]).unwrap().as_deref(),
            Some("127.0.0.1:0")
        );
        assert_eq!(
            http_of(&["--http", "0.0.0.0:9000"]).unwrap().as_deref(),
            Some("0.0.0.0:9000")
        );
        assert_eq!(
            http_of(&["--http", "[::1]:9000"]).unwrap().as_deref(),
            Some("[::1]:9000")
        );
        assert!(http_of(&["--http", "70000"]).is_err());
        assert!(http_of(&["--http", ":"]).is_err());
        assert!(http_of(&["--http", ""]).is_err());
        assert_eq!(http_of(&[]).unwrap(), None);
    }

    #[test]
    fn http_caps_have_flags() {
        let c = Cli::try_parse_from([
            "lmcp",
            "--http",
            "0",
            "--http-max-in-flight",
            "3",
            "--http-body-timeout-secs",
            "2",
        ])
        .unwrap();
        assert_eq!((c.http_max_in_flight, c.http_body_timeout_secs), (3, 2));
    }
}
