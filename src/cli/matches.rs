//! The parsed command line, [`clap::ArgMatches`], mapped onto
//! [`Cli`](super::Cli) by hand (what `#[derive(Parser)]` generated before
//! the flags became the table of [`flags`](super::flags)), and the clap
//! traits of `Cli`, so that `Cli::parse()`, `Cli::try_parse_from(...)` and
//! [`command`](super::command) work as they did.
//!
//! Each field is taken out of the matches under its own name, which is the
//! id of its flag in the table; the subcommand (feature `hub`) is still
//! derived. The helpers taking the values out are not inlined: one copy per
//! value type, and a call per field, is the smallest code.

use super::Cli;
use clap::error::ErrorKind;
use clap::{ArgMatches, Command, CommandFactory, FromArgMatches, Parser};
use std::any::Any;

/// A value every parse has: a flag with a default (or a switch).
#[inline(never)]
fn one<T: Any + Clone + Send + Sync>(m: &mut ArgMatches, id: &str) -> Result<T, clap::Error> {
    m.remove_one::<T>(id).ok_or_else(|| {
        clap::Error::raw(
            ErrorKind::MissingRequiredArgument,
            format!("the following required argument was not provided: {id}"),
        )
    })
}

/// The value of a flag that may be left out.
#[inline(never)]
fn opt<T: Any + Clone + Send + Sync>(m: &mut ArgMatches, id: &str) -> Option<T> {
    m.remove_one::<T>(id)
}

/// Every value of a repeatable flag, in order (none when it is not given).
#[inline(never)]
fn all<T: Any + Clone + Send + Sync>(m: &mut ArgMatches, id: &str) -> Vec<T> {
    m.remove_many::<T>(id)
        .map(|values| values.collect())
        .unwrap_or_default()
}

impl CommandFactory for Cli {
    fn command() -> Command {
        let cmd = Command::new("lmcp");
        #[cfg(feature = "hub")]
        let cmd = <super::Command as clap::Subcommand>::augment_subcommands(cmd);
        super::flags::add_flags(cmd)
            .about(super::flags::ABOUT)
            .long_about(super::flags::LONG_ABOUT)
            .version(env!("CARGO_PKG_VERSION"))
            .after_help(super::EXAMPLES)
    }

    fn command_for_update() -> Command {
        Self::command()
    }
}

impl FromArgMatches for Cli {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        Self::from_arg_matches_mut(&mut m.clone())
    }

    fn from_arg_matches_mut(m: &mut ArgMatches) -> Result<Self, clap::Error> {
        from_matches(m)
    }

    /// Replaces every field by what `m` holds (derive left the fields of
    /// flags absent from `m` alone; lmcp never updates a `Cli`).
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(m)?;
        Ok(())
    }
}

impl Parser for Cli {}

/// The fields of [`Cli`] taken out of `m`.
fn from_matches(m: &mut ArgMatches) -> Result<Cli, clap::Error> {
    Ok(Cli {
        #[cfg(feature = "hub")]
        command: if m
            .subcommand_name()
            .is_some_and(<super::Command as clap::Subcommand>::has_subcommand)
        {
            Some(super::Command::from_arg_matches_mut(m)?)
        } else {
            None
        },
        stdio: one(m, "stdio")?,
        http: opt(m, "http"),
        http_path: one(m, "http_path")?,
        allow_origin: all(m, "allow_origin"),
        allow_host: all(m, "allow_host"),
        auth_token_file: opt(m, "auth_token_file"),
        oauth_issuer: opt(m, "oauth_issuer"),
        public_url: opt(m, "public_url"),
        oauth_introspection_url: opt(m, "oauth_introspection_url"),
        oauth_client_credentials_file: opt(m, "oauth_client_credentials_file"),
        oauth_ca_file: opt(m, "oauth_ca_file"),
        max_body_bytes: one(m, "max_body_bytes")?,
        max_connections: one(m, "max_connections")?,
        reserved_connections: one(m, "reserved_connections")?,
        max_connections_per_peer: one(m, "max_connections_per_peer")?,
        http_max_in_flight: one(m, "http_max_in_flight")?,
        http_body_timeout_secs: one(m, "http_body_timeout_secs")?,
        max_sessions: one(m, "max_sessions")?,
        session_idle_secs: one(m, "session_idle_secs")?,
        sse_replay_secs: one(m, "sse_replay_secs")?,
        log_level: one(m, "log_level")?,
        timeout_ms: one(m, "timeout_ms")?,
        max_message_bytes: one(m, "max_message_bytes")?,
        max_depth: one(m, "max_depth")?,
        max_in_flight: one(m, "max_in_flight")?,
        task_ttl_secs: one(m, "task_ttl_secs")?,
        task_poll_interval_ms: one(m, "task_poll_interval_ms")?,
        max_tasks: one(m, "max_tasks")?,
        max_task_bytes: one(m, "max_task_bytes")?,
        #[cfg(feature = "tools")]
        root: all(m, "root"),
        #[cfg(feature = "tools")]
        read_only: one(m, "read_only")?,
        #[cfg(feature = "tools")]
        trust_client_roots: one(m, "trust_client_roots")?,
        #[cfg(feature = "tools")]
        roots_from_client: one(m, "roots_from_client")?,
        #[cfg(feature = "tools")]
        image_max_edge: one(m, "image_max_edge")?,
        state_key_file: opt(m, "state_key_file"),
        instance_id: opt(m, "instance_id"),
        server_icon: all(m, "server_icon"),
        #[cfg(feature = "tools")]
        max_result_bytes: opt(m, "max_result_bytes"),
        #[cfg(feature = "tools")]
        tools: all(m, "tools"),
        #[cfg(feature = "tools")]
        disable: all(m, "disable"),
        #[cfg(feature = "tools")]
        shell: opt(m, "shell"),
        #[cfg(feature = "tools")]
        shell_timeout_ms: opt(m, "shell_timeout_ms"),
        #[cfg(feature = "tools")]
        shell_max_timeout_ms: opt(m, "shell_max_timeout_ms"),
        #[cfg(feature = "tools")]
        shell_output_bytes: opt(m, "shell_output_bytes"),
        #[cfg(feature = "tools")]
        shell_on_timeout: opt(m, "shell_on_timeout"),
        #[cfg(feature = "tools")]
        shell_max_output_bytes: opt(m, "shell_max_output_bytes"),
        #[cfg(feature = "tools")]
        max_jobs: opt(m, "max_jobs"),
        #[cfg(feature = "tools")]
        job_buffer_bytes: opt(m, "job_buffer_bytes"),
        #[cfg(feature = "tools")]
        job_retention_secs: opt(m, "job_retention_secs"),
        #[cfg(feature = "tools")]
        sandbox: opt(m, "sandbox"),
        #[cfg(feature = "tools")]
        sandbox_allow_read: all(m, "sandbox_allow_read"),
        #[cfg(feature = "tools")]
        sandbox_allow_write: all(m, "sandbox_allow_write"),
        #[cfg(feature = "tools")]
        sandbox_net: opt(m, "sandbox_net"),
        #[cfg(feature = "tools")]
        sandbox_limits: opt(m, "sandbox_limits"),
        #[cfg(feature = "web")]
        fetch_allow_private: one(m, "fetch_allow_private")?,
        #[cfg(feature = "web")]
        fetch_respect_robots: one(m, "fetch_respect_robots")?,
        #[cfg(feature = "web")]
        fetch_user_agent: opt(m, "fetch_user_agent"),
        #[cfg(feature = "web")]
        fetch_max_bytes: opt(m, "fetch_max_bytes"),
        #[cfg(feature = "web")]
        fetch_max_redirects: opt(m, "fetch_max_redirects"),
        #[cfg(feature = "web")]
        search_backend: opt(m, "search_backend"),
        #[cfg(feature = "web")]
        searxng_url: opt(m, "searxng_url"),
        #[cfg(feature = "web")]
        brave_key_file: opt(m, "brave_key_file"),
        #[cfg(feature = "web")]
        search_url: opt(m, "search_url"),
        #[cfg(feature = "hub")]
        config: opt(m, "config"),
        #[cfg(feature = "hub")]
        upstream: all(m, "upstream"),
        #[cfg(feature = "hub")]
        hub_boot_wait_ms: one(m, "hub_boot_wait_ms")?,
        shutdown_grace_ms: one(m, "shutdown_grace_ms")?,
    })
}
