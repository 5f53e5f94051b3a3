//! The examples at the end of `lmcp --help` (and in the man page), each
//! shown only when the features it needs are compiled in.

/// Examples of the flags of feature `tools` (none without it).
#[cfg(feature = "tools")]
macro_rules! tools_examples {
    () => {
        r#"  lmcp --root ~/project --read-only    file tools confined to ~/project, nothing written
  lmcp --tools shell,read_file,search_files --log-level info
"#
    };
}
#[cfg(not(feature = "tools"))]
macro_rules! tools_examples {
    () => {
        ""
    };
}

/// Examples of the flags and subcommands of feature `hub` (none without it).
#[cfg(feature = "hub")]
macro_rules! hub_examples {
    () => {
        r#"  lmcp --upstream ev="npx -y @modelcontextprotocol/server-everything"
                                       also serve another MCP server's tools (hub)
  lmcp --config servers.json           upstreams from a desktop client's mcpServers file
  lmcp client --stdio lmcp tools       list the tools of an MCP server
  lmcp client --stdio "python3 server.py" call echo '{"text": "hi"}'
  lmcp client --http http://127.0.0.1:8080/mcp discover
"#
    };
}
#[cfg(not(feature = "hub"))]
macro_rules! hub_examples {
    () => {
        ""
    };
}

/// A desktop client's `mcpServers` entry for lmcp (with a root when the file
/// tools exist).
#[cfg(feature = "tools")]
macro_rules! client_entry {
    () => {
        r#"  "lmcp": {"command": "lmcp", "args": ["--stdio", "--root", "/home/me/project"]}"#
    };
}
#[cfg(not(feature = "tools"))]
macro_rules! client_entry {
    () => {
        r#"  "lmcp": {"command": "lmcp", "args": ["--stdio"]}"#
    };
}

/// Examples shown at the end of `lmcp --help` (and in the man page): only
/// those of the features compiled in.
pub const EXAMPLES: &str = concat!(
    r#"Examples:
  lmcp                                 serve the built-in tools on stdio
"#,
    tools_examples!(),
    r#"  lmcp --http 8080                     serve Streamable HTTP at http://127.0.0.1:8080/mcp
  lmcp --http 0.0.0.0:8080 --auth-token-file ~/.config/lmcp/token
                                       ... on every interface, requiring Authorization: Bearer <token>
"#,
    hub_examples!(),
    "\nClient configuration (an entry of a desktop client's mcpServers):\n",
    client_entry!(),
    "\n\nEvery flag and config key: man lmcp, or docs/configuration.md."
);

#[cfg(test)]
mod tests {
    use super::EXAMPLES;
    use crate::cli::Cli;
    use clap::Parser;

    /// Every example command of `--help` parses, with whichever features
    /// are compiled in.
    #[test]
    fn every_example_parses() {
        let mut seen = 0;
        for line in EXAMPLES.lines() {
            let Some(cmd) = line.strip_prefix("  lmcp") else {
                continue;
            };
            // The description follows the command after a run of spaces.
            let cmd = cmd.split("   ").next().unwrap_or_default();
            let mut argv = vec!["lmcp".to_string()];
            argv.extend(shlex::split(cmd).expect("example quoting"));
            if let Err(e) = Cli::try_parse_from(&argv) {
                panic!("example {argv:?} does not parse: {e}");
            }
            seen += 1;
        }
        assert!(seen >= 3, "too few examples found: {seen}");
    }
}
