//! Unit tests of `config.rs`: real argument vectors parsed by clap, mapped,
//! and the resulting fields checked one by one.

use super::{
    description, http_options, instructions, server_config, stdio_options, task_limits, ConfigError,
};
use crate::cli::Cli;
use crate::server::{ServerConfig, TaskLimits};
use crate::transport::http::HttpOptions;
use clap::Parser;
use std::time::Duration;

/// `lmcp ARGS...` parsed as the binary parses it (panics on a clap error).
fn parse(args: &[&str]) -> Cli {
    let argv = std::iter::once("lmcp").chain(args.iter().copied());
    Cli::try_parse_from(argv).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn without_flags_the_server_config_is_the_documented_default() {
    let c = server_config(&parse(&[]));
    assert_eq!(c.limits.max_message_bytes, 16 * 1024 * 1024);
    assert_eq!(c.limits.max_depth, 64);
    assert_eq!(c.default_timeout, Duration::from_secs(300));
    assert_eq!(c.max_in_flight, 64);
    // The flags' defaults are the library's: the binary and an embedder
    // without configuration behave alike.
    let d = ServerConfig::default();
    assert_eq!(c.limits.max_message_bytes, d.limits.max_message_bytes);
    assert_eq!(c.limits.max_depth, d.limits.max_depth);
    assert_eq!(c.default_timeout, d.default_timeout);
    assert_eq!(c.max_in_flight, d.max_in_flight);
    // Fields without a flag keep the library's values.
    assert_eq!(c.page_size, d.page_size);
    assert_eq!(c.list_ttl_ms, d.list_ttl_ms);
    assert_eq!(c.client_request_timeout, d.client_request_timeout);
    assert_eq!(c.request_state_ttl_secs, d.request_state_ttl_secs);
    assert_eq!(c.validate_output, d.validate_output);
}

#[test]
fn each_server_flag_sets_its_field() {
    let c = server_config(&parse(&[
        "--max-message-bytes",
        "1000",
        "--max-depth",
        "7",
        "--timeout-ms",
        "2500",
        "--max-in-flight",
        "3",
    ]));
    assert_eq!(c.limits.max_message_bytes, 1000);
    assert_eq!(c.limits.max_depth, 7);
    assert_eq!(c.default_timeout, Duration::from_millis(2500));
    assert_eq!(c.max_in_flight, 3);
    assert_eq!(c.page_size, ServerConfig::default().page_size);
}

#[test]
fn the_shutdown_grace_reaches_both_transports() {
    let cli = parse(&["--shutdown-grace-ms", "1500"]);
    assert_eq!(
        stdio_options(&cli).shutdown_grace,
        Duration::from_millis(1500)
    );
    let http = http_options(&cli, None).unwrap();
    assert_eq!(http.shutdown_grace, Duration::from_millis(1500));
    // Default: ten seconds on both.
    let cli = parse(&[]);
    assert_eq!(stdio_options(&cli).shutdown_grace, Duration::from_secs(10));
    assert_eq!(
        http_options(&cli, None).unwrap().shutdown_grace,
        Duration::from_secs(10)
    );
}

#[test]
fn without_flags_the_http_options_are_the_documented_default() {
    let o = http_options(&parse(&["--http", "8080"]), None).unwrap();
    assert_eq!(o.path, "/mcp");
    assert!(o.allowed_origins.is_empty(), "{:?}", o.allowed_origins);
    assert!(o.allowed_hosts.is_empty(), "{:?}", o.allowed_hosts);
    assert_eq!(o.auth_token, None);
    assert_eq!(o.max_body_bytes, 4 * 1024 * 1024);
    assert_eq!(o.max_connections, 512);
    assert_eq!(o.reserved_connections, 64);
    assert_eq!(o.max_connections_per_peer, 64);
    assert_eq!(o.max_in_flight, 1024);
    assert_eq!(o.max_sessions, 4096);
    assert_eq!(o.body_timeout, Duration::from_secs(30));
    assert_eq!(o.session_idle, Duration::from_secs(1800));
    assert_eq!(o.sse_replay, Duration::from_secs(60));
    #[cfg(feature = "oauth")]
    assert!(o.oauth.is_none());
    // The flags' defaults are the library's.
    let d = HttpOptions::default();
    assert_eq!(o.path, d.path);
    assert_eq!(o.max_body_bytes, d.max_body_bytes);
    assert_eq!(o.max_connections, d.max_connections);
    assert_eq!(o.reserved_connections, d.reserved_connections);
    assert_eq!(o.max_connections_per_peer, d.max_connections_per_peer);
    assert_eq!(o.max_in_flight, d.max_in_flight);
    assert_eq!(o.max_sessions, d.max_sessions);
    assert_eq!(o.body_timeout, d.body_timeout);
    assert_eq!(o.session_idle, d.session_idle);
    assert_eq!(o.sse_replay, d.sse_replay);
    assert_eq!(o.shutdown_grace, d.shutdown_grace);
    // Fields without a flag keep the library's values.
    assert_eq!(o.keep_alive, d.keep_alive);
    assert_eq!(o.sse_stall, d.sse_stall);
}

#[test]
fn each_http_flag_sets_its_field() {
    let cli = parse(&[
        "--http",
        "0.0.0.0:9000",
        "--http-path",
        "/rpc",
        "--allow-origin",
        "https://app.example",
        "--allow-origin",
        "*",
        "--allow-host",
        "mcp.internal",
        "--max-body-bytes",
        "2048",
        "--max-connections",
        "9",
        "--reserved-connections",
        "3",
        "--max-connections-per-peer",
        "0",
        "--http-max-in-flight",
        "11",
        "--max-sessions",
        "13",
        "--http-body-timeout-secs",
        "4",
        "--session-idle-secs",
        "120",
        "--sse-replay-secs",
        "5",
    ]);
    let o = http_options(&cli, Some("s3cret".into())).unwrap();
    assert_eq!(o.path, "/rpc");
    assert_eq!(o.allowed_origins, ["https://app.example", "*"]);
    assert_eq!(o.allowed_hosts, ["mcp.internal"]);
    assert_eq!(o.auth_token.as_deref(), Some("s3cret"));
    assert_eq!(o.max_body_bytes, 2048);
    assert_eq!(o.max_connections, 9);
    assert_eq!(o.reserved_connections, 3);
    assert_eq!(o.max_connections_per_peer, 0);
    // --http-max-in-flight is the transport's cap; --max-in-flight the
    // engine's per session, which the HTTP options do not take.
    assert_eq!(o.max_in_flight, 11);
    assert_eq!(server_config(&cli).max_in_flight, 64);
    assert_eq!(o.max_sessions, 13);
    assert_eq!(o.body_timeout, Duration::from_secs(4));
    assert_eq!(o.session_idle, Duration::from_secs(120));
    assert_eq!(o.sse_replay, Duration::from_secs(5));
}

#[test]
fn the_token_is_the_one_given_whatever_the_flags() {
    // The caller reads the token (file or environment); the mapping only
    // carries it.
    let cli = parse(&["--http", "8080"]);
    assert_eq!(
        http_options(&cli, Some("t0k".into()))
            .unwrap()
            .auth_token
            .as_deref(),
        Some("t0k")
    );
    assert_eq!(http_options(&cli, None).unwrap().auth_token, None);
}

#[cfg(feature = "oauth")]
#[test]
fn the_public_url_host_is_allowed_after_the_named_hosts() {
    let cli = parse(&[
        "--http",
        "127.0.0.1:8080",
        "--allow-host",
        "a.example",
        "--allow-host",
        "b.example",
        "--oauth-issuer",
        "https://auth.example.com",
        "--public-url",
        "https://mcp.example.com:8443/mcp",
    ]);
    let o = http_options(&cli, None).unwrap();
    assert_eq!(
        o.allowed_hosts,
        ["a.example", "b.example", "mcp.example.com"]
    );
    let oauth = o.oauth.expect("--oauth-issuer makes a resource server");
    assert_eq!(oauth.config().issuer, "https://auth.example.com");
    assert_eq!(oauth.config().resource, "https://mcp.example.com:8443/mcp");
    assert_eq!(
        oauth.metadata_url(),
        "https://mcp.example.com:8443/.well-known/oauth-protected-resource/mcp"
    );
    // Alone, the public URL's host is the only one.
    let cli = parse(&[
        "--oauth-issuer",
        "https://auth.example.com",
        "--public-url",
        "https://mcp.example.com/mcp",
    ]);
    assert_eq!(
        http_options(&cli, None).unwrap().allowed_hosts,
        ["mcp.example.com"]
    );
}

#[cfg(feature = "oauth")]
#[test]
fn bad_oauth_flags_are_refused_naming_the_flag() {
    let err = |args: &[&str]| match http_options(&parse(args), None) {
        Err(ConfigError::OAuth(message)) => message,
        other => panic!("{args:?}: expected an OAuth error, got {other:?}"),
    };
    let m = err(&[
        "--oauth-issuer",
        "http://auth.example.com",
        "--public-url",
        "https://mcp.example.com/mcp",
    ]);
    assert!(
        m.starts_with("--oauth-issuer") && m.contains("https://"),
        "{m}"
    );
    let m = err(&[
        "--oauth-issuer",
        "https://auth.example.com",
        "--public-url",
        "https://mcp.example.com/mcp?x=1",
    ]);
    assert_eq!(m, "--public-url must not have a query");
    let missing = std::env::temp_dir().join("lmcp-config-test-no-such-credentials");
    let m = err(&[
        "--oauth-issuer",
        "https://auth.example.com",
        "--public-url",
        "https://mcp.example.com/mcp",
        "--oauth-client-credentials-file",
        missing.to_str().unwrap(),
    ]);
    assert!(m.contains("cannot read the client credentials file"), "{m}");
    // The error reads as the message alone (main prefixes "lmcp: ").
    assert_eq!(ConfigError::OAuth(m.clone()).to_string(), m);
}

#[cfg(not(feature = "oauth"))]
#[test]
fn oauth_flags_without_the_feature_are_refused() {
    let cli = parse(&[
        "--oauth-issuer",
        "https://auth.example.com",
        "--public-url",
        "https://mcp.example.com/mcp",
    ]);
    assert_eq!(
        http_options(&cli, None).unwrap_err(),
        ConfigError::OAuthNotBuilt
    );
    assert!(ConfigError::OAuthNotBuilt
        .to_string()
        .contains("without the oauth feature"));
}

#[test]
fn description_and_instructions_share_one_wording() {
    assert_eq!(
        description(),
        "A lightweight MCP server with built-in tools"
    );
    assert_eq!(
        instructions(),
        "lmcp: a lightweight MCP server with built-in tools."
    );
    assert!(description().ends_with(super::SUMMARY));
    assert!(instructions().contains(super::SUMMARY));
}

#[test]
fn without_flags_the_task_limits_are_the_library_default() {
    let t = task_limits(&parse(&[]));
    assert_eq!(t.ttl, Duration::from_secs(3600));
    assert_eq!(t.poll_interval, Duration::from_millis(500));
    assert_eq!(t.max_tasks, 1024);
    assert_eq!(t.max_bytes, 64 << 20);
    let d = TaskLimits::default();
    assert_eq!(t.ttl, d.ttl);
    assert_eq!(t.poll_interval, d.poll_interval);
    assert_eq!(t.max_tasks, d.max_tasks);
    assert_eq!(t.max_bytes, d.max_bytes);
}

#[test]
fn each_task_flag_sets_its_limit() {
    let t = task_limits(&parse(&[
        "--task-ttl-secs",
        "90",
        "--task-poll-interval-ms",
        "250",
        "--max-tasks",
        "8",
        "--max-task-bytes",
        "65536",
    ]));
    assert_eq!(t.ttl, Duration::from_secs(90));
    assert_eq!(t.poll_interval, Duration::from_millis(250));
    assert_eq!(t.max_tasks, 8);
    assert_eq!(t.max_bytes, 65536);
    // One flag leaves the others at their defaults.
    let t = task_limits(&parse(&["--max-tasks", "2"]));
    assert_eq!(t.max_tasks, 2);
    assert_eq!(t.ttl, TaskLimits::default().ttl);
    assert_eq!(t.max_bytes, TaskLimits::default().max_bytes);
}

#[test]
fn task_limits_of_zero_or_not_a_number_are_refused() {
    for flag in [
        "--task-ttl-secs",
        "--task-poll-interval-ms",
        "--max-tasks",
        "--max-task-bytes",
    ] {
        for bad in ["0", "-1", "ten"] {
            // `=`: a separate "-1" would read as a flag.
            let e = Cli::try_parse_from(["lmcp".to_owned(), format!("{flag}={bad}")])
                .expect_err(&format!("{flag} {bad} was accepted"));
            assert_eq!(
                e.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{flag} {bad}: {e}"
            );
            assert!(e.to_string().contains(flag), "{flag} {bad}: {e}");
        }
    }
}
