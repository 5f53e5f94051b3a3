//! From the parsed command line to the library's configuration: the
//! [`ServerConfig`] and [`TaskLimits`] of the engine and the [`StdioOptions`] and
//! [`HttpOptions`] of the transports that a [`Cli`] asks for, and the words
//! the server introduces itself with ([`description`], [`instructions`]).
//!
//! `src/main.rs` hands these to [`Server::builder`](crate::Server::builder)
//! and the transports and stays a shell; keeping the mapping in the library
//! lets the unit tests here parse real argument vectors and check every
//! field. Nothing here reads the environment or installs anything: only the
//! OAuth flags read files (`--oauth-client-credentials-file`).

use super::Cli;
use crate::jsonrpc::Limits;
use crate::server::{ServerConfig, TaskLimits};
use crate::transport::http::HttpOptions;
use crate::transport::stdio::StdioOptions;
use std::fmt;
use std::time::Duration;

/// What lmcp is, in the one wording its `serverInfo.description`
/// ([`description`]) and its `instructions` ([`instructions`]) share.
pub const SUMMARY: &str = "lightweight MCP server with built-in tools";

/// `serverInfo.description`, for people choosing a server: "A " and
/// [`SUMMARY`].
pub fn description() -> String {
    format!("A {SUMMARY}")
}

/// `instructions`, for the model: the server's name and [`SUMMARY`].
pub fn instructions() -> String {
    format!("lmcp: a {SUMMARY}.")
}

/// Why the flags cannot be turned into a configuration (clap has already
/// refused what it can check alone).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `--oauth-issuer` given to an lmcp built without the `oauth` feature.
    OAuthNotBuilt,
    /// The OAuth flags were refused (a bad or insecure URL, an unreadable
    /// credentials file); the message names the flag.
    OAuth(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::OAuthNotBuilt => {
                f.write_str("--oauth-issuer: this lmcp was built without the oauth feature")
            }
            ConfigError::OAuth(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The engine's configuration: message limits (`--max-message-bytes`,
/// `--max-depth`), the default tool timeout (`--timeout-ms`) and the
/// per-session concurrency (`--max-in-flight`); the rest keeps
/// [`ServerConfig::default`].
pub fn server_config(cli: &Cli) -> ServerConfig {
    ServerConfig {
        limits: Limits {
            max_message_bytes: cli.max_message_bytes,
            max_depth: cli.max_depth,
        },
        default_timeout: Duration::from_millis(cli.timeout_ms),
        max_in_flight: cli.max_in_flight,
        ..ServerConfig::default()
    }
}

/// The task store's limits (Tasks extension): `--task-ttl-secs`,
/// `--task-poll-interval-ms`, `--max-tasks` and `--max-task-bytes`, whose
/// defaults are [`TaskLimits::default`]'s. For
/// [`ServerBuilder::task_limits`](crate::ServerBuilder::task_limits).
pub fn task_limits(cli: &Cli) -> TaskLimits {
    TaskLimits {
        ttl: Duration::from_secs(cli.task_ttl_secs),
        poll_interval: Duration::from_millis(cli.task_poll_interval_ms),
        max_tasks: cli.max_tasks,
        max_bytes: cli.max_task_bytes,
    }
}

/// The stdio transport's options: the shutdown grace (`--shutdown-grace-ms`).
pub fn stdio_options(cli: &Cli) -> StdioOptions {
    StdioOptions {
        shutdown_grace: Duration::from_millis(cli.shutdown_grace_ms),
        ..StdioOptions::default()
    }
}

/// The HTTP transport's options from the `HTTP` flags, with `auth_token`
/// (read by the caller from `--auth-token-file` or `LMCP_AUTH_TOKEN`) as
/// the bearer token and the OAuth resource server of `--oauth-issuer` and
/// `--public-url` (checked here; nothing is fetched before the first token
/// arrives). Fields without a flag keep [`HttpOptions::default`].
pub fn http_options(cli: &Cli, auth_token: Option<String>) -> Result<HttpOptions, ConfigError> {
    #[cfg(not(feature = "oauth"))]
    if cli.oauth_issuer.is_some() {
        return Err(ConfigError::OAuthNotBuilt);
    }
    Ok(HttpOptions {
        #[cfg(feature = "oauth")]
        oauth: oauth_server(cli)?,
        path: cli.http_path.clone(),
        allowed_origins: cli.allow_origin.clone(),
        allowed_hosts: allowed_hosts(cli),
        auth_token,
        max_body_bytes: cli.max_body_bytes,
        max_connections: cli.max_connections,
        reserved_connections: cli.reserved_connections,
        max_connections_per_peer: cli.max_connections_per_peer,
        max_in_flight: cli.http_max_in_flight,
        max_sessions: cli.max_sessions,
        body_timeout: Duration::from_secs(cli.http_body_timeout_secs),
        session_idle: Duration::from_secs(cli.session_idle_secs),
        sse_replay: Duration::from_secs(cli.sse_replay_secs),
        shutdown_grace: Duration::from_millis(cli.shutdown_grace_ms),
        ..HttpOptions::default()
    })
}

/// The names accepted in the `Host` header: `--allow-host`'s, then the host
/// of `--public-url` (the name clients reach this server by).
fn allowed_hosts(cli: &Cli) -> Vec<String> {
    let public = cli
        .public_url
        .as_deref()
        .and_then(crate::transport::http::url_host);
    cli.allow_host.iter().cloned().chain(public).collect()
}

/// The OAuth resource server of `--oauth-issuer` and `--public-url`, `None`
/// without them.
#[cfg(feature = "oauth")]
fn oauth_server(
    cli: &Cli,
) -> Result<Option<std::sync::Arc<crate::transport::http::oauth::ResourceServer>>, ConfigError> {
    use crate::transport::http::oauth::{ClientCredentials, OAuthConfig, ResourceServer};
    let (Some(issuer), Some(resource)) = (&cli.oauth_issuer, &cli.public_url) else {
        return Ok(None);
    };
    let client_credentials = cli
        .oauth_client_credentials_file
        .as_deref()
        .map(ClientCredentials::from_file)
        .transpose()
        .map_err(ConfigError::OAuth)?;
    let server = ResourceServer::new(OAuthConfig {
        issuer: issuer.clone(),
        resource: resource.clone(),
        introspection_url: cli.oauth_introspection_url.clone(),
        client_credentials,
        ca_file: cli.oauth_ca_file.clone(),
    })
    .map_err(ConfigError::OAuth)?;
    Ok(Some(std::sync::Arc::new(server)))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
