//! The configuration reference, `docs/configuration.md`, rendered from the
//! clap definition of [`super::Cli`] plus the tables of environment
//! variables and hub configuration keys below.
//!
//! The committed file is written by `cargo run -p xtask --features web --
//! docs` and compared with [`markdown`] by `tests/docs_config.rs`, so a flag
//! added, removed or reworded without regenerating the file fails the tests.
//! The hub keys are checked there against the configuration parser too.

use clap::builder::ArgAction;
use clap::{Arg, Command};
use std::fmt::Write;

/// An environment variable lmcp reads: (name, meaning).
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "LMCP_AUTH_TOKEN",
        "the bearer token HTTP clients must send, when `--auth-token-file` is not given; \
         removed from the environment at start-up",
    ),
    (
        "LMCP_STATE_KEY",
        "the secret (at least 16 bytes) signing MRTR `requestState`, when `--state-key-file` \
         is not given; removed from the environment at start-up",
    ),
    (
        "BRAVE_API_KEY",
        "(feature `web`) the Brave Search API key, when `--brave-key-file` is not given",
    ),
    (
        "LMCP_EXTRACT",
        "(features `web` and `docs`) the path of the helper `lmcp-extract`, which parses web \
         pages and documents in a process of its own; by default it is looked for next to the \
         `lmcp` executable",
    ),
    (
        "HTTPS_PROXY",
        "(feature `web`, with `HTTP_PROXY`, `ALL_PROXY` and their lower-case spellings) the \
         proxy `fetch` and `web_search` go through; only the connection to the proxy is exempt \
         from the private-address guard, every target is still resolved and judged by lmcp",
    ),
];

/// Top-level keys of the hub configuration file (`--config`): (key, meaning).
pub const HUB_FILE_KEYS: &[(&str, &str)] = &[
    (
        "mcpServers",
        "the upstream servers, by name (letters, digits, `-`, `_`)",
    ),
    ("hub", "settings of the hub itself (the table below)"),
];

/// Keys of one entry of `mcpServers`: (key, meaning).
pub const HUB_SERVER_KEYS: &[(&str, &str)] = &[
    (
        "command",
        "stdio upstream: the program to start (no shell involved); give `command` or `url`",
    ),
    ("args", "its arguments (a list of strings)"),
    (
        "env",
        "extra environment variables for the program (the rest is inherited from lmcp)",
    ),
    ("cwd", "its working directory"),
    (
        "url",
        "Streamable HTTP upstream: `http://` or `https://HOST[:PORT]/PATH` (https needs the `tls` feature); give `command` or `url`",
    ),
    (
        "headers",
        "extra HTTP headers sent with every request (e.g. `Authorization`)",
    ),
    (
        "caFile",
        "https upstream: a PEM file of extra certificates to trust (relative to the config file), besides the system's roots and `SSL_CERT_FILE`",
    ),
    (
        "allow",
        "only these upstream tools and prompts are re-exported (names as the upstream spells them)",
    ),
    (
        "deny",
        "these upstream tools and prompts are never re-exported",
    ),
    (
        "timeoutMs",
        "limit of one forwarded call in milliseconds (default 300000); past it the call is \
         cancelled upstream",
    ),
    (
        "lazy",
        "`true`: start on first use (the first listing or `server/discover` a client sends) \
         instead of at boot; default: the `hub.lazy` key",
    ),
    (
        "idleTimeoutMs",
        "stop the upstream after this long without forwarded requests or followed resources; \
         the next call starts it again (state `idle`); default: never",
    ),
    (
        "era",
        "`\"auto\"` (default: modern probe, legacy fallback) or `\"legacy\"` (straight to \
         `initialize`)",
    ),
    ("disabled", "`true` skips the entry"),
    (
        "type",
        "accepted for compatibility with desktop clients' files (`stdio`, `http`, ...) and \
         ignored: `command` or `url` decides",
    ),
];

/// Keys of the `hub` table: (key, default, meaning).
pub const HUB_TABLE_KEYS: &[(&str, &str, &str)] = &[
    (
        "prefix",
        "remote",
        "first part of re-exported names (`remote_ev_echo`); `\"\"` drops it",
    ),
    (
        "separator",
        "_",
        "between prefix, server name and tool name",
    ),
    ("lazy", "false", "default of the per-server `lazy` key"),
];

/// The heading of the section holding the flags of the `web` feature; a
/// build without it renders the reference without that section.
pub const WEB_SECTION: &str = "### Web tools (feature `web`)";

/// `docs/configuration.md` as this build's command line renders it.
pub fn markdown() -> String {
    let mut cmd = super::command();
    cmd.build();
    let mut out = String::new();
    out.push_str(
        "# Configuration reference\n\n\
         <!-- Generated from src/cli/ by `cargo run -p xtask --features web -- docs`; \
         tests/docs_config.rs fails when this file is stale. Do not edit by hand. -->\n\n\
         Every flag of `lmcp` and of its subcommands, the environment variables it reads and \
         every key of the hub configuration file. `lmcp --help` and `man lmcp` show the same \
         flags. Guides: [hub](hub.md), [deployment](deployment.md), \
         [architecture](architecture.md).\n",
    );
    render_command(&mut out, &cmd, "lmcp");
    out.push_str("\n## Environment\n\n");
    for (name, meaning) in ENVIRONMENT {
        let _ = writeln!(out, "- `{name}`: {meaning}.");
    }
    #[cfg(feature = "hub")]
    render_hub_keys(&mut out);
    out
}

/// Appends the section of `cmd` (called `path`) and of its subcommands.
fn render_command(out: &mut String, cmd: &Command, path: &str) {
    let _ = write!(out, "\n## `{path}`\n\n");
    if let Some(about) = cmd.get_long_about().or(cmd.get_about()) {
        let _ = write!(out, "{}\n\n", about.to_string().trim());
    }
    let usage = cmd.clone().render_usage().to_string();
    let usage = usage.trim().trim_start_matches("Usage:").trim();
    let _ = write!(out, "```text\n{path}{}\n```\n", strip_name(usage, cmd));
    // Sections in the order their first argument appears.
    let mut sections: Vec<String> = Vec::new();
    for arg in cmd.get_arguments() {
        let title = section_of(arg);
        if !sections.contains(&title) {
            sections.push(title);
        }
    }
    for title in &sections {
        let _ = write!(out, "\n### {title}\n\n");
        for arg in cmd.get_arguments().filter(|a| &section_of(a) == title) {
            render_arg(out, arg);
        }
    }
    let subs: Vec<&Command> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .collect();
    if !subs.is_empty() {
        out.push_str("\n### Subcommands\n\n");
        for sub in &subs {
            let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
            let _ = writeln!(out, "- `{path} {}`: {}", sub.get_name(), about.trim());
        }
    }
    if let Some(after) = cmd.get_after_help() {
        let _ = write!(out, "\n```text\n{}\n```\n", after.to_string().trim_end());
    }
    for sub in subs {
        render_command(out, sub, &format!("{path} {}", sub.get_name()));
    }
}

/// The usage line without the command's own name (the path replaces it).
fn strip_name<'a>(usage: &'a str, cmd: &Command) -> &'a str {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name());
    usage.strip_prefix(name).unwrap_or(usage)
}

/// The section title an argument is listed under.
fn section_of(arg: &Arg) -> String {
    match arg.get_help_heading() {
        Some(h) => h.to_owned(),
        None if arg.is_positional() => "Arguments".to_owned(),
        None => "Options".to_owned(),
    }
}

/// Appends one argument as a list item: its spelling, value, default and help.
fn render_arg(out: &mut String, arg: &Arg) {
    let mut spelling = String::new();
    if let Some(s) = arg.get_short() {
        let _ = write!(spelling, "-{s}, ");
    }
    let takes_value = matches!(arg.get_action(), ArgAction::Set | ArgAction::Append);
    let value_name = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
    match arg.get_long() {
        Some(long) if takes_value => {
            let _ = write!(spelling, "--{long} <{value_name}>");
        }
        Some(long) => {
            let _ = write!(spelling, "--{long}");
        }
        None if arg.is_required_set() => {
            let _ = write!(spelling, "<{value_name}>");
        }
        None => {
            let _ = write!(spelling, "[{value_name}]");
        }
    }
    let mut notes = Vec::new();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    if takes_value && !defaults.is_empty() {
        notes.push(format!("default `{}`", defaults.join(",")));
    }
    if matches!(arg.get_action(), ArgAction::Append) {
        notes.push(match arg.get_value_delimiter() {
            Some(d) => format!("repeatable, `{d}`-separated"),
            None => "repeatable".to_owned(),
        });
    }
    let _ = write!(out, "- `{spelling}`");
    if !notes.is_empty() {
        let _ = write!(out, " ({})", notes.join("; "));
    }
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(|h| h.to_string())
        .unwrap_or_default();
    // Continuation lines of a list item are indented by two spaces.
    let help = help.trim().replace("\n\n", "\n").replace('\n', "\n  ");
    let _ = writeln!(out, "  \n  {help}");
}

/// Appends the hub configuration keys.
#[cfg(feature = "hub")]
fn render_hub_keys(out: &mut String) {
    out.push_str(
        "\n## Hub configuration file\n\n\
         `--config FILE` reads JSON (a `.json` file, or any file starting with `{`) or TOML \
         (anything else) in the `mcpServers` shape desktop clients use; see [hub](hub.md) for \
         examples and behaviour.\n\n### Top-level keys\n\n\
         | key | meaning |\n| --- | --- |\n",
    );
    for (key, meaning) in HUB_FILE_KEYS {
        let _ = writeln!(out, "| `{key}` | {meaning} |");
    }
    out.push_str(
        "\n### Keys of one server (`mcpServers.NAME`)\n\n| key | meaning |\n| --- | --- |\n",
    );
    for (key, meaning) in HUB_SERVER_KEYS {
        let _ = writeln!(out, "| `{key}` | {meaning} |");
    }
    out.push_str(
        "\n### Keys of the `hub` table\n\n| key | default | meaning |\n| --- | --- | --- |\n",
    );
    for (key, default, meaning) in HUB_TABLE_KEYS {
        let _ = writeln!(out, "| `{key}` | `{default}` | {meaning} |");
    }
}

/// `text` without the section [`WEB_SECTION`] (up to the next heading of the
/// same or a higher level): what a build without the `web` feature renders
/// from a reference made with it.
pub fn without_web_section(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        if line.trim_end() == WEB_SECTION {
            skipping = true;
            continue;
        }
        if skipping && (line.starts_with("### ") || line.starts_with("## ")) {
            skipping = false;
        }
        if !skipping {
            out.push_str(line);
        }
    }
    out
}
