//! The flags of `lmcp` as a static table, [`FLAGS`], which one loop
//! ([`add_flags`]) turns into clap arguments.
//!
//! clap's `#[derive(Parser)]` generates a chain of builder calls per flag;
//! for about 70 flags that is well over 100 KB of code, all of it run, and
//! so resident, at every start. A table is data, and the loop is the same
//! few instructions for every flag. What derive did is kept exactly: the
//! argument ids are the field names of [`Cli`](super::Cli), the help text is
//! the first paragraph of what was the field's doc comment (without its
//! final period), and the flags are added in the order of the fields, so
//! `lmcp --help`, the man page, the completions and
//! `docs/configuration.md` are unchanged. The mapping of the parsed
//! [`clap::ArgMatches`] back onto [`Cli`](super::Cli) is in `matches`.
//!
//! A flag of a feature compiled out is not in the table (its entry is
//! `#[cfg]`'d), so clap refuses it as unknown.

#[cfg(feature = "hub")]
use super::heading::HUB;
#[cfg(feature = "web")]
use super::heading::WEB;
use super::heading::{HTTP, SERVER, TRANSPORT};
#[cfg(feature = "tools")]
use super::heading::{SANDBOX, SHELL, TOOLS};
use clap::builder::{ArgAction, ValueParser};
use clap::{Arg, ArgGroup, Command};

/// How the values of a flag are parsed: the type they are stored as in
/// [`clap::ArgMatches`] and the checks they pass.
#[derive(Clone, Copy, Debug)]
pub(super) enum Kind {
    /// No value: `true` when given (`ArgAction::SetTrue`).
    Switch,
    /// Any text, as a `String`.
    Text,
    /// A path, as a `PathBuf`.
    Path,
    /// A `usize`.
    Usize,
    /// A `usize` of at least 1.
    UsizePositive,
    /// A `u64`.
    U64,
    /// A `u64` of at least 1.
    U64Positive,
    /// A `u32` from 16 to 16384 (`--image-max-edge`).
    #[cfg(feature = "tools")]
    EdgePixels,
    /// A `log::LevelFilter`.
    Level,
    /// A `crate::server::InstanceId`.
    InstanceId,
    /// `--http`'s address, as a `String` (see `http_addr`).
    HttpAddr,
    /// `--server-icon`'s source, as a `String` (see `icon_src`).
    Icon,
    /// One of these words, as a `String`.
    #[cfg(feature = "tools")]
    Choice(&'static [&'static str]),
    /// A `crate::tools::sandbox::Net`.
    #[cfg(feature = "tools")]
    Net,
    /// A `crate::tools::sandbox::Limits`.
    #[cfg(feature = "tools")]
    Limits,
    /// A `crate::tools::web::SearchBackend`.
    #[cfg(feature = "web")]
    SearchBackend,
}

/// One flag of `lmcp`: everything clap needs to know about it.
#[derive(Debug)]
pub(super) struct Flag {
    /// The argument id, which is the name of the field of
    /// [`Cli`](super::Cli) that holds the flag.
    pub id: &'static str,
    /// The long spelling, without `--`.
    long: &'static str,
    /// The heading `--help` lists the flag under.
    heading: &'static str,
    /// The name of the value in the help (`--http-path <PATH>`).
    value_name: &'static str,
    /// The help text.
    help: &'static str,
    /// How the values are parsed.
    kind: Kind,
    /// The value when the flag is not given.
    default: Option<&'static str>,
    /// The value of the flag given without one (and the value is then optional).
    missing: Option<&'static str>,
    /// Repeatable: every value is kept (`ArgAction::Append`).
    many: bool,
    /// A value may list several, separated by commas.
    comma_separated: bool,
    /// The id of a flag this one needs.
    requires: Option<&'static str>,
    /// Accepted after a subcommand too.
    global: bool,
}

impl Flag {
    /// A flag taking at most one value (or none, for [`Kind::Switch`]),
    /// without a default.
    const fn new(
        id: &'static str,
        long: &'static str,
        heading: &'static str,
        value_name: &'static str,
        help: &'static str,
        kind: Kind,
    ) -> Flag {
        Flag {
            id,
            long,
            heading,
            value_name,
            help,
            kind,
            default: None,
            missing: None,
            many: false,
            comma_separated: false,
            requires: None,
            global: false,
        }
    }

    /// With this value when the flag is not given.
    const fn default(self, value: &'static str) -> Flag {
        Flag {
            default: Some(value),
            ..self
        }
    }

    /// With an optional value: the flag given alone means `value`.
    #[cfg(feature = "tools")]
    const fn missing(self, value: &'static str) -> Flag {
        Flag {
            missing: Some(value),
            ..self
        }
    }

    /// Repeatable.
    const fn many(self) -> Flag {
        Flag { many: true, ..self }
    }

    /// Repeatable, and a value may list several separated by commas.
    #[cfg(feature = "tools")]
    const fn comma_separated(self) -> Flag {
        Flag {
            many: true,
            comma_separated: true,
            ..self
        }
    }

    /// Refused without the flag of id `other`.
    const fn requires(self, other: &'static str) -> Flag {
        Flag {
            requires: Some(other),
            ..self
        }
    }

    /// Accepted after a subcommand too.
    #[cfg(feature = "hub")]
    const fn global(self) -> Flag {
        Flag {
            global: true,
            ..self
        }
    }

    /// The clap argument.
    fn arg(&self) -> Arg {
        let (parser, action): (ValueParser, ArgAction) = match self.kind {
            Kind::Switch => (ValueParser::bool(), ArgAction::SetTrue),
            kind => {
                let action = if self.many {
                    ArgAction::Append
                } else {
                    ArgAction::Set
                };
                (value_parser(kind), action)
            }
        };
        let mut arg = Arg::new(self.id)
            .value_name(self.value_name)
            .value_parser(parser)
            .action(action)
            .help_heading(self.heading)
            .long(self.long)
            .help(self.help);
        if let Some(value) = self.default {
            arg = arg.default_value(value);
        }
        if let Some(value) = self.missing {
            arg = arg.num_args(0..=1).default_missing_value(value);
        }
        if self.comma_separated {
            arg = arg.value_delimiter(',');
        }
        if let Some(other) = self.requires {
            arg = arg.requires(other);
        }
        if self.global {
            arg = arg.global(true);
        }
        arg
    }
}

/// The value parser of a flag of `kind` (other than [`Kind::Switch`]).
fn value_parser(kind: Kind) -> ValueParser {
    match kind {
        Kind::Switch => ValueParser::bool(),
        Kind::Text => ValueParser::string(),
        Kind::Path => ValueParser::path_buf(),
        Kind::Usize => clap::value_parser!(usize).into(),
        Kind::UsizePositive => super::at_least_one().into(),
        Kind::U64 => clap::value_parser!(u64).into(),
        Kind::U64Positive => clap::value_parser!(u64).range(1..).into(),
        #[cfg(feature = "tools")]
        Kind::EdgePixels => clap::value_parser!(u32).range(16..=16384).into(),
        Kind::Level => clap::value_parser!(log::LevelFilter).into(),
        Kind::InstanceId => clap::value_parser!(crate::server::InstanceId).into(),
        Kind::HttpAddr => ValueParser::new(super::http_addr),
        Kind::Icon => ValueParser::new(super::icon_src),
        #[cfg(feature = "tools")]
        Kind::Choice(words) => {
            clap::builder::PossibleValuesParser::new(words.iter().copied()).into()
        }
        #[cfg(feature = "tools")]
        Kind::Net => clap::value_parser!(crate::tools::sandbox::Net).into(),
        #[cfg(feature = "tools")]
        Kind::Limits => clap::value_parser!(crate::tools::sandbox::Limits).into(),
        #[cfg(feature = "web")]
        Kind::SearchBackend => clap::value_parser!(crate::tools::web::SearchBackend).into(),
    }
}

/// `cmd` with every flag of [`FLAGS`], in order, and the group of them all
/// that derive made (named after the struct, `Cli`).
pub(super) fn add_flags(cmd: Command) -> Command {
    let mut group = ArgGroup::new("Cli").multiple(true);
    for flag in FLAGS {
        group = group.arg(flag.id);
    }
    let mut cmd = cmd.group(group);
    for flag in FLAGS {
        cmd = cmd.arg(flag.arg());
    }
    cmd
}

/// The first paragraph of the description of `lmcp` (`-h`).
pub(super) const ABOUT: &str = "lmcp: a lightweight, fast, secure MCP server";

/// The description of `lmcp` in `--help`.
pub(super) const LONG_ABOUT: &str = "lmcp: a lightweight, fast, secure MCP server.\n\n\
    Serves the built-in tools over stdio (default) to MCP clients of every protocol revision: \
    modern 2026-07-28 and legacy 2025-11-25, 2025-06-18, 2025-03-26 and 2024-11-05.";

/// Every flag of `lmcp`, in the order `--help` lists them within a heading
/// (the order of the fields of [`Cli`](super::Cli)).
pub(super) static FLAGS: &[Flag] = &[
    Flag::new("stdio", "stdio", TRANSPORT, "STDIO", "Serve over stdin/stdout (the default when no transport is given)", Kind::Switch),
    Flag::new("http", "http", TRANSPORT, "ADDR", "Serve Streamable HTTP on ADDR: HOST:PORT (e.g. 127.0.0.1:8080), or a bare PORT (or :PORT) for loopback 127.0.0.1:PORT", Kind::HttpAddr),
    Flag::new("http_path", "http-path", HTTP, "PATH", "HTTP: path of the MCP endpoint", Kind::Text)
        .default("/mcp"),
    Flag::new("allow_origin", "allow-origin", HTTP, "ORIGIN", "HTTP: also allow this browser Origin (loopback origins always are; `*` allows any). Repeatable", Kind::Text)
        .many(),
    Flag::new("allow_host", "allow-host", HTTP, "NAME", "HTTP: also accept this name in the Host header (on a loopback bind only loopback names are, against DNS rebinding; `*` accepts any). Repeatable", Kind::Text)
        .many(),
    Flag::new("auth_token_file", "auth-token-file", HTTP, "FILE", "HTTP: require `Authorization: Bearer <token>`, the token read from FILE (or set LMCP_AUTH_TOKEN)", Kind::Path),
    Flag::new("oauth_issuer", "oauth-issuer", HTTP, "URL", "HTTP: accept OAuth 2.1 access tokens issued by this authorization server (its issuer URL; https://, or http:// on loopback). Needs --public-url", Kind::Text)
        .requires("public_url"),
    Flag::new("public_url", "public-url", HTTP, "URL", "HTTP: this server's public URL as clients reach it, e.g. https://mcp.example.com/mcp: the resource tokens must be issued for (audience)", Kind::Text)
        .requires("oauth_issuer"),
    Flag::new("oauth_introspection_url", "oauth-introspection-url", HTTP, "URL", "HTTP: RFC 7662 introspection endpoint for opaque (non-JWT) access tokens", Kind::Text)
        .requires("oauth_client_credentials_file"),
    Flag::new("oauth_client_credentials_file", "oauth-client-credentials-file", HTTP, "FILE", "HTTP: lmcp's client credentials for introspection, CLIENT_ID:CLIENT_SECRET in FILE (uses the issuer's introspection endpoint unless --oauth-introspection-url)", Kind::Path)
        .requires("oauth_issuer"),
    Flag::new("oauth_ca_file", "oauth-ca-file", HTTP, "FILE", "HTTP: also trust the CA certificates (PEM) in FILE for the authorization server", Kind::Path)
        .requires("oauth_issuer"),
    Flag::new("max_body_bytes", "max-body-bytes", HTTP, "BYTES", "HTTP: largest accepted request body, in bytes", Kind::Usize)
        .default("4194304"),
    Flag::new("max_connections", "max-connections", HTTP, "N", "HTTP: most connections open at once. When all are taken, a new connection ends the oldest one that has had no request accepted (a request to the MCP endpoint that passed the token check; health checks and other paths do not count) and is not serving one (a slow or idle client); 503 when there is none", Kind::Usize)
        .default("512"),
    Flag::new("reserved_connections", "reserved-connections", HTTP, "N", "HTTP: connection slots kept for clients that have had a request accepted (at most half of --max-connections): a flood of connections that send no valid request never takes them", Kind::Usize)
        .default("64"),
    Flag::new("max_connections_per_peer", "max-connections-per-peer", HTTP, "N", "HTTP: most connections open at once from one address (an IPv6 /64 counts as one; loopback clients, such as a local reverse proxy, are not counted); 503 past it. 0: no cap", Kind::Usize)
        .default("64"),
    Flag::new("http_max_in_flight", "http-max-in-flight", HTTP, "N", "HTTP: most requests in flight at once over HTTP, all clients together (503 past it; a streamed answer counts until its last event)", Kind::Usize)
        .default("1024"),
    Flag::new("http_body_timeout_secs", "http-body-timeout-secs", HTTP, "SECS", "HTTP: longest wait for a request body once its headers are in, in seconds (408 and the connection closes past it)", Kind::U64)
        .default("30"),
    Flag::new("max_sessions", "max-sessions", HTTP, "N", "HTTP: most legacy sessions open at once; past it a new `initialize` ends the least recently used idle session (503 when none is idle)", Kind::Usize)
        .default("4096"),
    Flag::new("session_idle_secs", "session-idle-secs", HTTP, "SECS", "HTTP: legacy sessions idle this long are ended, in seconds", Kind::U64)
        .default("1800"),
    Flag::new("sse_replay_secs", "sse-replay-secs", HTTP, "SECS", "HTTP: how long a legacy request's event stream stays resumable (GET + Last-Event-ID) after its connection drops, in seconds; the request is cancelled when nobody resumes it by then", Kind::U64)
        .default("60"),
    Flag::new("log_level", "log-level", SERVER, "LEVEL", "Log level on stderr: off, error, warn, info, debug, trace", Kind::Level)
        .default("warn"),
    Flag::new("timeout_ms", "timeout-ms", SERVER, "MS", "Default timeout of a tool call, in milliseconds", Kind::U64)
        .default("300000"),
    Flag::new("max_message_bytes", "max-message-bytes", SERVER, "BYTES", "Largest accepted message, in bytes", Kind::Usize)
        .default("16777216"),
    Flag::new("max_depth", "max-depth", SERVER, "N", "Deepest accepted JSON nesting", Kind::Usize)
        .default("64"),
    Flag::new("max_in_flight", "max-in-flight", SERVER, "N", "Most requests handled at once per session (stdio: the process; HTTP: each legacy session, and all modern requests together); further requests wait. Over HTTP, --http-max-in-flight answers 503 past its cap", Kind::Usize)
        .default("64"),
    Flag::new("task_ttl_secs", "task-ttl-secs", SERVER, "SECS", "Tasks (task-augmented calls): how long a task and its result are kept from its creation, in seconds (the `ttlMs` clients are told); an expired task's work is cancelled", Kind::U64Positive)
        .default("3600"),
    Flag::new("task_poll_interval_ms", "task-poll-interval-ms", SERVER, "MS", "Tasks: the polling interval suggested to clients (`pollIntervalMs`), in milliseconds", Kind::U64Positive)
        .default("500"),
    Flag::new("max_tasks", "max-tasks", SERVER, "N", "Tasks: most tasks kept at once, all clients together; past it a new task evicts the oldest finished one, and is refused when none has finished", Kind::UsizePositive)
        .default("1024"),
    Flag::new("max_task_bytes", "max-task-bytes", SERVER, "BYTES", "Tasks: most bytes of results and errors kept, all tasks together; past it the oldest finished tasks are evicted, and a result that still does not fit is replaced by an error", Kind::UsizePositive)
        .default("67108864"),
    #[cfg(feature = "tools")]
    Flag::new("root", "root", TOOLS, "DIR", "File tools: a directory the tools may touch (repeatable; default the current directory). Paths outside every root are refused, symlinks included", Kind::Path)
        .many(),
    #[cfg(feature = "tools")]
    Flag::new("read_only", "read-only", TOOLS, "READ_ONLY", "Serve only the tools that change nothing (annotated read-only): no shell, shell_bg*, write_file, edit_file, make_dir, move_file, copy_file or delete_file", Kind::Switch),
    #[cfg(feature = "tools")]
    Flag::new("trust_client_roots", "trust-client-roots", TOOLS, "TRUST_CLIENT_ROOTS", "Legacy era: narrow the roots to those the client lists (roots/list)", Kind::Switch),
    #[cfg(feature = "tools")]
    Flag::new("roots_from_client", "roots-from-client", TOOLS, "ROOTS_FROM_CLIENT", "Take the file tools' roots from the client's roots (roots/list, both eras; notifications/roots/list_changed updates them). Without --root the client's roots are the roots; with --root they only narrow them", Kind::Switch),
    #[cfg(feature = "tools")]
    Flag::new("image_max_edge", "image-max-edge", TOOLS, "PIXELS", "read_file and fetch: downscale images so their longest edge is at most this many pixels (feature docs)", Kind::EdgePixels)
        .default("1568"),
    Flag::new("state_key_file", "state-key-file", SERVER, "FILE", "A file holding a secret (at least 16 bytes) that signs MRTR requestState; give every instance behind one load balancer the same file (or set LMCP_STATE_KEY). Default: a random key per process", Kind::Path),
    Flag::new("instance_id", "instance-id", SERVER, "ID", "Tag the legacy HTTP session ids, job handles and task ids this instance mints with ID (`ID.<random>`, `job_ID.<random>`), so a load balancer routes each to its instance: 1-63 of a-z, 0-9 and `-`", Kind::InstanceId),
    Flag::new("server_icon", "server-icon", SERVER, "SRC", "An icon clients may show for this server (serverInfo.icons, protocol 2025-11-25 and later): an https:// URL or a data: URI; repeatable", Kind::Icon)
        .many(),
    #[cfg(feature = "tools")]
    Flag::new("max_result_bytes", "max-result-bytes", TOOLS, "BYTES", "The output budget: most bytes of text one read_file, search_files or list_dir answer carries (calls may ask for less with max_bytes; more is reached by offset or cursor) [default: 65536]", Kind::Usize),
    #[cfg(feature = "tools")]
    Flag::new("tools", "tools", TOOLS, "LIST", "Serve only these built-in tools (comma-separated names, e.g. `shell,read_file,search_files`); hub tools are not affected", Kind::Text)
        .comma_separated(),
    #[cfg(feature = "tools")]
    Flag::new("disable", "disable", TOOLS, "LIST", "Leave out these built-in tools (comma-separated names)", Kind::Text)
        .comma_separated(),
    #[cfg(feature = "tools")]
    Flag::new("shell", "shell", SHELL, "PROGRAM", "shell: the program that runs a command, with its leading arguments (split like a shell would); the command is appended [default: sh -c]", Kind::Text),
    #[cfg(feature = "tools")]
    Flag::new("shell_timeout_ms", "shell-timeout-ms", SHELL, "MS", "shell: timeout of a call that gives no timeout_ms [default: 120000]", Kind::U64),
    #[cfg(feature = "tools")]
    Flag::new("shell_max_timeout_ms", "shell-max-timeout-ms", SHELL, "MS", "shell: the largest timeout_ms a call may ask for; also caps the wait of shell_bg_output [default: 1800000]", Kind::U64),
    #[cfg(feature = "tools")]
    Flag::new("shell_output_bytes", "shell-output-bytes", SHELL, "BYTES", "shell: bytes of output kept per stream when a call gives no max_output_bytes (head and tail are kept) [default: 32768]", Kind::Usize),
    #[cfg(feature = "tools")]
    Flag::new("shell_on_timeout", "shell-on-timeout", SHELL, "WHAT", "shell: what a call that gives no on_timeout does at its timeout: kill the command, or leave it running as a shell_bg job [default: kill]", Kind::Choice(&["kill", "background"])),
    #[cfg(feature = "tools")]
    Flag::new("shell_max_output_bytes", "shell-max-output-bytes", SHELL, "BYTES", "shell: the largest max_output_bytes a call may ask for [default: 1048576]", Kind::Usize),
    #[cfg(feature = "tools")]
    Flag::new("max_jobs", "max-jobs", SHELL, "N", "shell_bg: background jobs running at once [default: 16]", Kind::Usize),
    #[cfg(feature = "tools")]
    Flag::new("job_buffer_bytes", "job-buffer-bytes", SHELL, "BYTES", "shell_bg: bytes of output kept per stream of a job (older output is dropped with a marker) [default: 262144]", Kind::Usize),
    #[cfg(feature = "tools")]
    Flag::new("job_retention_secs", "job-retention-secs", SHELL, "SECS", "shell_bg: how long an ended job's output stays readable, in seconds [default: 1800]", Kind::U64),
    #[cfg(feature = "tools")]
    Flag::new("sandbox", "sandbox", SANDBOX, "MODE", "shell and shell_bg: confine every command with the kernel (Landlock): it may write only in the roots, --sandbox-allow-write and a private TMPDIR, read the system directories, not signal lmcp; refuses to start where the kernel cannot enforce it, unless `--sandbox best-effort`", Kind::Choice(&["on", "best-effort"]))
        .missing("on"),
    #[cfg(feature = "tools")]
    Flag::new("sandbox_allow_read", "sandbox-allow-read", SANDBOX, "DIR", "--sandbox: another directory commands may read and execute (repeatable)", Kind::Path)
        .many(),
    #[cfg(feature = "tools")]
    Flag::new("sandbox_allow_write", "sandbox-allow-write", SANDBOX, "DIR", "--sandbox: another directory commands may write (repeatable)", Kind::Path)
        .many(),
    #[cfg(feature = "tools")]
    Flag::new("sandbox_net", "sandbox-net", SANDBOX, "all|none|PORTS", "--sandbox: TCP for commands: all, none (no connect or bind), or the ports they may connect to, e.g. 443,8080 [default: all]", Kind::Net),
    #[cfg(feature = "tools")]
    Flag::new("sandbox_limits", "sandbox-limits", SANDBOX, "LIST", "--sandbox: limits per command, KEY=VALUE by commas (keys left out keep their default; 0 or unlimited lifts one) [default: as=16G,nproc=512,nofile=4096,cpu=unlimited,fsize=8G]", Kind::Limits),
    #[cfg(feature = "web")]
    Flag::new("fetch_allow_private", "fetch-allow-private", WEB, "FETCH_ALLOW_PRIVATE", "fetch: allow loopback and private addresses (link-local and cloud metadata addresses stay refused)", Kind::Switch),
    #[cfg(feature = "web")]
    Flag::new("fetch_respect_robots", "fetch-respect-robots", WEB, "FETCH_RESPECT_ROBOTS", "fetch: honour robots.txt", Kind::Switch),
    #[cfg(feature = "web")]
    Flag::new("fetch_user_agent", "fetch-user-agent", WEB, "TEXT", "fetch and web_search: the User-Agent header sent [default: \"lmcp/VERSION (MCP fetch tool)\"]", Kind::Text),
    #[cfg(feature = "web")]
    Flag::new("fetch_max_bytes", "fetch-max-bytes", WEB, "BYTES", "fetch: the largest response body read, in bytes (after decompression); the rest is not downloaded [default: 5242880]", Kind::Usize),
    #[cfg(feature = "web")]
    Flag::new("fetch_max_redirects", "fetch-max-redirects", WEB, "N", "fetch: the most redirects followed, each re-checked [default: 5]", Kind::Usize),
    #[cfg(feature = "web")]
    Flag::new("search_backend", "search-backend", WEB, "BACKEND", "web_search backend: duckduckgo (default, keyless), searxng or brave", Kind::SearchBackend),
    #[cfg(feature = "web")]
    Flag::new("searxng_url", "searxng-url", WEB, "URL", "web_search: base URL of a SearXNG instance (with --search-backend searxng)", Kind::Text),
    #[cfg(feature = "web")]
    Flag::new("brave_key_file", "brave-key-file", WEB, "FILE", "web_search: file holding the Brave Search API key (else $BRAVE_API_KEY)", Kind::Path),
    #[cfg(feature = "web")]
    Flag::new("search_url", "search-url", WEB, "URL", "web_search: endpoint of the duckduckgo or brave backend, to reach it through a mirror or a proxy [default: the service's public endpoint]", Kind::Text),
    #[cfg(feature = "hub")]
    Flag::new("config", "config", HUB, "FILE", "Hub: read upstream MCP servers from FILE (JSON or TOML, the `mcpServers` shape desktop clients use)", Kind::Path)
        .global(),
    #[cfg(feature = "hub")]
    Flag::new("upstream", "upstream", HUB, "NAME=CMD", "Hub: add an upstream, NAME=COMMAND (split like a shell would) or NAME=URL; its tools appear as remote_NAME_TOOL. Repeatable", Kind::Text)
        .many()
        .global(),
    #[cfg(feature = "hub")]
    Flag::new("hub_boot_wait_ms", "hub-boot-wait-ms", HUB, "MS", "Hub: how long to wait at start-up for upstreams to list their tools, in milliseconds", Kind::U64)
        .default("5000"),
    Flag::new("shutdown_grace_ms", "shutdown-grace-ms", SERVER, "MS", "How long in-flight requests may finish at shutdown, in milliseconds", Kind::U64)
        .default("10000"),
];
