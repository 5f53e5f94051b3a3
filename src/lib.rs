//! # lmcp — a lightweight, fast, secure Model Context Protocol server
//!
//! lmcp is a library for writing MCP servers and a ready server binary. It
//! serves both protocol eras on the same process or endpoint: the modern,
//! stateless revision 2026-07-28 and the legacy, handshake-based revisions
//! 2025-11-25, 2025-06-18, 2025-03-26 and 2024-11-05.
//!
//! ## Layout
//! - [`cli`]: the `lmcp` command line (flags, subcommands) and its
//!   configuration reference (feature `cli`).
//! - [`client`]: an MCP client of both eras (hub upstreams, `lmcp client`;
//!   feature `hub`).
//! - [`hub`]: upstream MCP servers re-exported as `remote_*` tools (feature
//!   `hub`).
//! - [`jsonrpc`]: JSON-RPC 2.0 messages, parsing with limits, error codes.
//! - [`protocol`]: MCP vocabulary: revisions, request methods
//!   ([`protocol::Method`]), `_meta` keys, content blocks.
//! - [`server`]: the engine: registry of tools/resources/prompts, sessions,
//!   per-era dispatch, request context (cancellation, progress, logging,
//!   client input), multi round-trip requests.
//! - [`transport`]: stdio (and HTTP) transports feeding a session.
//! - [`tools`]: the built-in tools of the `lmcp` binary, one module per
//!   family (feature `tools`).
//! - [`secrets`]: lmcp's secrets in the environment, scrubbed from children
//!   (features `tools` or `hub`).
//!
//! ## Features
//!
//! Without any feature (`default-features = false`) the crate is the engine:
//! [`jsonrpc`], [`protocol`], [`server`], [`transport`] (stdio and
//! Streamable HTTP) and [`logging`], on tokio, hyper, serde, schemars and
//! jsonschema. The features add:
//!
//! | feature | default | brings | dependencies |
//! | --- | --- | --- | --- |
//! | `cli` | yes | `cli`, the `lmcp` binary | clap, shlex |
//! | `tools` | yes | `tools` (shell, jobs, files, systeminfo, ping) | nix, ignore, grep-searcher, grep-regex, globset, similar, notify |
//! | `hub` | yes | `client`, `hub` | toml, shlex |
//! | `tls` | yes | `https://` for `client` and `hub`; implies `hub` | rustls (ring), tokio-rustls, rustls-native-certs |
//! | `web` | no | `tools::web` (`fetch`, `web_search`); implies `tools` | reqwest, rustls, encoding_rs, dom_smoothie, dom_query, url |
//!
//! The `lmcp` binary needs `cli`; it serves the tools and the hub of
//! whichever of `tools`, `hub` and `web` are on.
#![forbid(unsafe_code)]
// docs.rs (nightly, `--cfg docsrs`): mark items that need a feature.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "cli")]
#[cfg_attr(docsrs, doc(cfg(feature = "cli")))]
pub mod cli;
#[cfg(feature = "hub")]
#[cfg_attr(docsrs, doc(cfg(feature = "hub")))]
pub mod client;
#[doc(hidden)]
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
#[cfg(feature = "hub")]
#[cfg_attr(docsrs, doc(cfg(feature = "hub")))]
pub mod hub;
pub mod jsonrpc;
pub mod logging;
pub mod protocol;
#[cfg(any(feature = "tools", feature = "hub"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "tools", feature = "hub"))))]
pub mod secrets;
pub mod server;
mod sync;
mod time;
#[cfg(feature = "tools")]
#[cfg_attr(docsrs, doc(cfg(feature = "tools")))]
pub mod tools;
pub mod transport;

pub use protocol::{Content, LogLevel, ProtocolVersion};
pub use server::{
    Prompt, PromptResult, RequestContext, Resource, ResourceTemplate, Schema, Server,
    ServerBuilder, ServerConfig, TaskSupport, Tool, ToolError, ToolResult,
};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// docs/hub.md's Rust example (the client used on its own), compiled as a doctest.
#[doc = include_str!("../docs/hub.md")]
#[cfg(all(doctest, feature = "hub"))]
pub struct HubDocDoctests;
