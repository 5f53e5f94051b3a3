//! The subcommands of `lmcp` (feature `hub`): `lmcp client ...` talks to
//! an MCP server as a client, `lmcp hub status` checks the upstreams.

/// The subcommands of `lmcp`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Talk to an MCP server as a client (either era, detected automatically).
    Client(ClientArgs),
    /// Hub tools, on the upstreams of --config / --upstream.
    #[command(subcommand)]
    Hub(HubCommand),
}

/// `lmcp hub ...`.
#[derive(clap::Subcommand, Debug)]
pub enum HubCommand {
    /// Connect to every upstream and show its state, era and tool, prompt and
    /// resource counts; exits 1 if any upstream failed.
    Status {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// How long each upstream may take to connect and list, in milliseconds.
        #[arg(long, default_value_t = 30_000, value_name = "MS")]
        timeout_ms: u64,
    },
}

/// The flags of `lmcp client`.
#[derive(clap::Args, Debug)]
pub struct ClientArgs {
    /// Start the server with this command line (split like a shell would).
    #[arg(
        long,
        value_name = "CMD",
        required_unless_present = "http",
        conflicts_with = "http"
    )]
    pub stdio: Option<String>,
    /// Talk Streamable HTTP to this endpoint (http://HOST:PORT/PATH).
    #[arg(long, value_name = "URL")]
    pub http: Option<String>,
    /// Extra HTTP header, NAME=VALUE (repeatable; with --http).
    #[arg(long = "header", value_name = "NAME=VALUE", requires = "http")]
    pub headers: Vec<String>,
    /// With an https:// URL: also trust the certificates in this PEM file.
    #[arg(long, value_name = "FILE", requires = "http")]
    pub ca_file: Option<std::path::PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub action: ClientAction,
}

/// What `lmcp client` does once connected.
#[derive(clap::Subcommand, Debug)]
pub enum ClientAction {
    /// Show the server's era, identity and capabilities.
    Discover,
    /// List the server's tools.
    Tools,
    /// Call a tool with JSON arguments.
    Call {
        /// Tool name.
        tool: String,
        /// Arguments as a JSON object.
        #[arg(default_value = "{}")]
        arguments: String,
        /// Timeout in milliseconds.
        #[arg(long, default_value_t = 60_000)]
        timeout_ms: u64,
    },
}
