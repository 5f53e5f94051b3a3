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
//!
//! The flags are not derived: `flags` holds them as a static table that one
//! loop turns into clap arguments, and `matches` maps clap's matches back
//! onto [`Cli`] and implements clap's traits for it, which keeps the code
//! run at every start small (derive generated some 170 KB of it).

#[cfg(feature = "tools")]
pub mod builtin;
#[cfg(feature = "hub")]
mod commands;
pub mod config;
mod examples;
mod flags;
mod matches;
pub mod reference;
#[cfg(feature = "tools")]
mod sandbox;

use clap::CommandFactory;
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

/// The command line of `lmcp`, parsed: `Cli::parse()` (clap's [`Parser`](clap::Parser),
/// implemented by hand over the flag table rather than derived, to keep the
/// start-up code small).
///
/// Each field holds one flag, named like it (`http_path` holds
/// `--http-path`); `lmcp --help` and `docs/configuration.md` describe them.
/// A flag with a default always has a value; one without is an `Option`
/// (or a `Vec` when repeatable).
#[derive(Debug)]
pub struct Cli {
    /// A subcommand; without one, lmcp serves.
    // `lmcp client` and `lmcp hub` are the only subcommands, both `hub`'s.
    #[cfg(feature = "hub")]
    pub command: Option<Command>,

    /// `--stdio`.
    pub stdio: bool,

    /// `--http`.
    pub http: Option<String>,

    /// `--http-path`.
    pub http_path: String,

    /// `--allow-origin`.
    pub allow_origin: Vec<String>,

    /// `--allow-host`.
    pub allow_host: Vec<String>,

    /// `--auth-token-file`.
    pub auth_token_file: Option<std::path::PathBuf>,

    /// `--oauth-issuer`.
    pub oauth_issuer: Option<String>,

    /// `--public-url`.
    pub public_url: Option<String>,

    /// `--oauth-introspection-url`.
    pub oauth_introspection_url: Option<String>,

    /// `--oauth-client-credentials-file`.
    pub oauth_client_credentials_file: Option<std::path::PathBuf>,

    /// `--oauth-ca-file`.
    pub oauth_ca_file: Option<std::path::PathBuf>,

    /// `--max-body-bytes`.
    pub max_body_bytes: usize,

    /// `--max-connections`.
    pub max_connections: usize,

    /// `--reserved-connections`.
    pub reserved_connections: usize,

    /// `--max-connections-per-peer`.
    pub max_connections_per_peer: usize,

    /// `--http-max-in-flight`.
    pub http_max_in_flight: usize,

    /// `--http-body-timeout-secs`.
    pub http_body_timeout_secs: u64,

    /// `--max-sessions`.
    pub max_sessions: usize,

    /// `--session-idle-secs`.
    pub session_idle_secs: u64,

    /// `--sse-replay-secs`.
    pub sse_replay_secs: u64,

    /// `--log-level`.
    pub log_level: log::LevelFilter,

    /// `--timeout-ms`.
    pub timeout_ms: u64,

    /// `--max-message-bytes`.
    pub max_message_bytes: usize,

    /// `--max-depth`.
    pub max_depth: usize,

    /// `--max-in-flight`.
    pub max_in_flight: usize,

    /// `--task-ttl-secs`.
    pub task_ttl_secs: u64,

    /// `--task-poll-interval-ms`.
    pub task_poll_interval_ms: u64,

    /// `--max-tasks`.
    pub max_tasks: usize,

    /// `--max-task-bytes`.
    pub max_task_bytes: usize,

    /// `--root`.
    #[cfg(feature = "tools")]
    pub root: Vec<std::path::PathBuf>,

    /// `--read-only`.
    #[cfg(feature = "tools")]
    pub read_only: bool,

    /// `--trust-client-roots`.
    #[cfg(feature = "tools")]
    pub trust_client_roots: bool,

    /// `--roots-from-client`.
    #[cfg(feature = "tools")]
    pub roots_from_client: bool,

    /// `--image-max-edge`.
    #[cfg(feature = "tools")]
    pub image_max_edge: u32,

    /// `--state-key-file`.
    pub state_key_file: Option<std::path::PathBuf>,

    /// `--instance-id`.
    pub instance_id: Option<crate::server::InstanceId>,

    /// `--server-icon`.
    pub server_icon: Vec<String>,

    /// `--max-result-bytes`.
    #[cfg(feature = "tools")]
    pub max_result_bytes: Option<usize>,

    /// `--tools`.
    #[cfg(feature = "tools")]
    pub tools: Vec<String>,

    /// `--disable`.
    #[cfg(feature = "tools")]
    pub disable: Vec<String>,

    /// `--shell`.
    #[cfg(feature = "tools")]
    pub shell: Option<String>,

    /// `--shell-timeout-ms`.
    #[cfg(feature = "tools")]
    pub shell_timeout_ms: Option<u64>,

    /// `--shell-max-timeout-ms`.
    #[cfg(feature = "tools")]
    pub shell_max_timeout_ms: Option<u64>,

    /// `--shell-output-bytes`.
    #[cfg(feature = "tools")]
    pub shell_output_bytes: Option<usize>,

    /// `--shell-on-timeout`.
    #[cfg(feature = "tools")]
    pub shell_on_timeout: Option<String>,

    /// `--shell-max-output-bytes`.
    #[cfg(feature = "tools")]
    pub shell_max_output_bytes: Option<usize>,

    /// `--max-jobs`.
    #[cfg(feature = "tools")]
    pub max_jobs: Option<usize>,

    /// `--job-buffer-bytes`.
    #[cfg(feature = "tools")]
    pub job_buffer_bytes: Option<usize>,

    /// `--job-retention-secs`.
    #[cfg(feature = "tools")]
    pub job_retention_secs: Option<u64>,

    /// `--sandbox`.
    #[cfg(feature = "tools")]
    pub sandbox: Option<String>,

    /// `--sandbox-allow-read`.
    #[cfg(feature = "tools")]
    pub sandbox_allow_read: Vec<std::path::PathBuf>,

    /// `--sandbox-allow-write`.
    #[cfg(feature = "tools")]
    pub sandbox_allow_write: Vec<std::path::PathBuf>,

    /// `--sandbox-net`.
    #[cfg(feature = "tools")]
    pub sandbox_net: Option<crate::tools::sandbox::Net>,

    /// `--sandbox-limits`.
    #[cfg(feature = "tools")]
    pub sandbox_limits: Option<crate::tools::sandbox::Limits>,

    /// `--fetch-allow-private`.
    #[cfg(feature = "web")]
    pub fetch_allow_private: bool,

    /// `--fetch-respect-robots`.
    #[cfg(feature = "web")]
    pub fetch_respect_robots: bool,

    /// `--fetch-user-agent`.
    #[cfg(feature = "web")]
    pub fetch_user_agent: Option<String>,

    /// `--fetch-max-bytes`.
    #[cfg(feature = "web")]
    pub fetch_max_bytes: Option<usize>,

    /// `--fetch-max-redirects`.
    #[cfg(feature = "web")]
    pub fetch_max_redirects: Option<usize>,

    /// `--search-backend`.
    #[cfg(feature = "web")]
    pub search_backend: Option<crate::tools::web::SearchBackend>,

    /// `--searxng-url`.
    #[cfg(feature = "web")]
    pub searxng_url: Option<String>,

    /// `--brave-key-file`.
    #[cfg(feature = "web")]
    pub brave_key_file: Option<std::path::PathBuf>,

    /// `--search-url`.
    #[cfg(feature = "web")]
    pub search_url: Option<String>,

    /// `--config`.
    #[cfg(feature = "hub")]
    pub config: Option<std::path::PathBuf>,

    /// `--upstream`.
    #[cfg(feature = "hub")]
    pub upstream: Vec<String>,

    /// `--hub-boot-wait-ms`.
    #[cfg(feature = "hub")]
    pub hub_boot_wait_ms: u64,

    /// `--shutdown-grace-ms`.
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
    use clap::Parser;

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
