//! Hub configuration: the `mcpServers` shape desktop clients use, from a
//! JSON or TOML file, plus `--upstream NAME=CMD` shortcuts.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to reach one upstream server.
#[derive(Debug, Clone, PartialEq)]
pub enum UpstreamTransport {
    /// A child process speaking stdio.
    Stdio {
        /// Program.
        command: String,
        /// Arguments.
        args: Vec<String>,
        /// Extra environment.
        env: BTreeMap<String, String>,
        /// Working directory.
        cwd: Option<PathBuf>,
    },
    /// A Streamable HTTP endpoint.
    Http {
        /// The endpoint URL.
        url: String,
        /// Extra request headers.
        headers: BTreeMap<String, String>,
        /// For `https://`: extra trusted certificates (PEM), besides the system's.
        ca_file: Option<PathBuf>,
    },
}

/// One upstream server.
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamConfig {
    /// Name used in tool names (`remote_<name>_<tool>`).
    pub name: String,
    /// How to reach it.
    pub transport: UpstreamTransport,
    /// Only these upstream tools (all when `None`).
    pub allow: Option<Vec<String>>,
    /// Never these upstream tools.
    pub deny: Vec<String>,
    /// Timeout of one forwarded call.
    pub timeout: Duration,
    /// Start on first use (the first listing a client asks for) instead of at boot.
    pub lazy: bool,
    /// Skip the modern probe and speak the legacy era (`initialize`).
    pub legacy: bool,
    /// Stop the upstream after this long without forwarded requests (it
    /// starts again on the next one).
    pub idle_timeout: Option<Duration>,
}

impl UpstreamConfig {
    /// Whether the allow/deny lists let the upstream tool or prompt `name` through.
    pub fn permits(&self, name: &str) -> bool {
        self.allow
            .as_ref()
            .is_none_or(|a| a.iter().any(|x| x == name))
            && !self.deny.iter().any(|x| x == name)
    }
}

/// The whole hub configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct HubConfig {
    /// Upstreams, in name order.
    pub upstreams: Vec<UpstreamConfig>,
    /// Prefix of re-exported tool names.
    pub prefix: String,
    /// Separator between prefix, server name and tool name.
    pub separator: String,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            upstreams: Vec::new(),
            prefix: "remote".into(),
            separator: "_".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileConfig {
    #[serde(default)]
    mcp_servers: BTreeMap<String, FileServer>,
    #[serde(default)]
    hub: Option<FileHub>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileHub {
    prefix: Option<String>,
    separator: Option<String>,
    lazy: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileServer {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    cwd: Option<PathBuf>,
    url: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    ca_file: Option<PathBuf>,
    allow: Option<Vec<String>>,
    #[serde(default)]
    deny: Vec<String>,
    timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    /// Accepted for compatibility with desktop configs; ignored.
    #[serde(default, rename = "type")]
    _kind: Option<String>,
    #[serde(default)]
    disabled: bool,
    lazy: Option<bool>,
    /// `"auto"` (default) or `"legacy"`.
    era: Option<String>,
}

/// Why a configuration was refused.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

impl HubConfig {
    /// Read a JSON (`.json`) or TOML (any other extension) configuration file.
    pub fn load(path: &Path) -> Result<HubConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "cannot read the config file {}: {e}",
                path.display()
            ))
        })?;
        let is_json =
            path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
        let file: FileConfig = if is_json {
            serde_json::from_str(&text)
                .map_err(|e| ConfigError(format!("{}: invalid JSON config: {e}", path.display())))?
        } else {
            toml::from_str(&text)
                .map_err(|e| ConfigError(format!("{}: invalid TOML config: {e}", path.display())))?
        };
        let mut cfg = HubConfig::default();
        let mut lazy_default = false;
        if let Some(h) = file.hub {
            lazy_default = h.lazy.unwrap_or(false);
            if let Some(p) = h.prefix {
                cfg.prefix = p;
            }
            if let Some(s) = h.separator {
                cfg.separator = s;
            }
        }
        for (name, s) in file.mcp_servers {
            if s.disabled {
                continue;
            }
            let transport = match (s.command, s.url) {
                (Some(command), None) => UpstreamTransport::Stdio { command, args: s.args, env: s.env, cwd: s.cwd },
                (None, Some(url)) => UpstreamTransport::Http {
                    url,
                    headers: s.headers,
                    // Relative to the config file.
                    ca_file: s.ca_file.map(|f| path.parent().unwrap_or(Path::new(".")).join(f)),
                },
                _ => {
                    return Err(ConfigError(format!(
                        "mcpServers.{name}: give either \"command\" (stdio) or \"url\" (HTTP), not both or neither"
                    )))
                }
            };
            let legacy = match s.era.as_deref() {
                None | Some("auto") => false,
                Some("legacy") => true,
                Some(other) => {
                    return Err(ConfigError(format!(
                        "mcpServers.{name}.era: {other:?} is not \"auto\" or \"legacy\""
                    )))
                }
            };
            cfg.push(UpstreamConfig {
                name,
                transport,
                allow: s.allow,
                deny: s.deny,
                timeout: s
                    .timeout_ms
                    .map(Duration::from_millis)
                    .unwrap_or(DEFAULT_TIMEOUT),
                lazy: s.lazy.unwrap_or(lazy_default),
                legacy,
                idle_timeout: s.idle_timeout_ms.map(Duration::from_millis),
            })?;
        }
        Ok(cfg)
    }

    /// Add an upstream from `NAME=CMD` (a command line, split like a shell
    /// would) or `NAME=URL` (http:// or https://).
    pub fn add_shortcut(&mut self, spec: &str) -> Result<(), ConfigError> {
        let (name, rest) = spec.split_once('=').ok_or_else(|| {
            ConfigError(format!(
                "--upstream {spec:?}: expected NAME=COMMAND or NAME=URL"
            ))
        })?;
        let transport = if rest.starts_with("http://") || rest.starts_with("https://") {
            UpstreamTransport::Http {
                url: rest.into(),
                headers: BTreeMap::new(),
                ca_file: None,
            }
        } else {
            let mut words = shlex::split(rest)
                .ok_or_else(|| ConfigError(format!("--upstream {name}: unbalanced quotes")))?;
            if words.is_empty() {
                return Err(ConfigError(format!("--upstream {name}: empty command")));
            }
            let command = words.remove(0);
            UpstreamTransport::Stdio {
                command,
                args: words,
                env: BTreeMap::new(),
                cwd: None,
            }
        };
        self.push(UpstreamConfig {
            name: name.into(),
            transport,
            allow: None,
            deny: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            lazy: false,
            legacy: false,
            idle_timeout: None,
        })
    }

    fn push(&mut self, u: UpstreamConfig) -> Result<(), ConfigError> {
        let ok = !u.name.is_empty()
            && u.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(ConfigError(format!(
                "upstream name {:?}: use letters, digits, '-' and '_' only (it becomes part of tool names)",
                u.name
            )));
        }
        if let UpstreamTransport::Http { url, .. } = &u.transport {
            if cfg!(not(feature = "tls")) && url.starts_with("https://") {
                return Err(ConfigError(format!(
                    "upstream {:?}: {url}: this lmcp was built without TLS; rebuild it with the `tls` cargo feature (`--features tls`) for https:// upstreams",
                    u.name
                )));
            }
        }
        if self.upstreams.iter().any(|x| x.name == u.name) {
            return Err(ConfigError(format!(
                "upstream {:?} is configured twice",
                u.name
            )));
        }
        self.upstreams.push(u);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_desktop_json_and_toml() {
        let dir = std::env::temp_dir().join(format!("lmcp-hubcfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let j = dir.join("c.json");
        std::fs::write(
            &j,
            r#"{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "x"], "env": {"A": "1"}},
                "web": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer t"}, "deny": ["bad"]}}}"#,
        )
        .unwrap();
        let c = HubConfig::load(&j).unwrap();
        assert_eq!(c.upstreams.len(), 2);
        assert_eq!(c.upstreams[0].name, "fs");
        assert!(
            matches!(&c.upstreams[0].transport, UpstreamTransport::Stdio { command, args, .. } if command == "npx" && args.len() == 2)
        );
        assert_eq!(c.upstreams[1].deny, ["bad"]);
        let t = dir.join("c.toml");
        std::fs::write(
            &t,
            "[hub]\nprefix = \"up\"\nlazy = true\n[mcpServers.a]\ncommand = \"lmcp\"\nargs = [\"--stdio\"]\n[mcpServers.b]\ncommand = \"x\"\nlazy = false\n",
        )
        .unwrap();
        let c = HubConfig::load(&t).unwrap();
        assert_eq!(c.prefix, "up");
        assert_eq!(c.upstreams[0].name, "a");
        assert!(c.upstreams[0].lazy && !c.upstreams[1].lazy);
        std::fs::write(
            &j,
            r#"{"mcpServers": {"x": {"command": "a", "url": "http://b"}}}"#,
        )
        .unwrap();
        assert!(HubConfig::load(&j).unwrap_err().0.contains("either"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shortcuts() {
        let mut c = HubConfig::default();
        c.add_shortcut("ev=./everything --stdio 'a b'").unwrap();
        assert!(
            matches!(&c.upstreams[0].transport, UpstreamTransport::Stdio { args, .. } if args == &["--stdio", "a b"])
        );
        c.add_shortcut("h=http://127.0.0.1:1/mcp").unwrap();
        assert!(c.add_shortcut("ev=x").is_err());
        assert!(c.add_shortcut("bad name=x").is_err());
        assert!(c.add_shortcut("nothing").is_err());
    }

    #[test]
    fn https_needs_tls() {
        let mut c = HubConfig::default();
        let r = c.add_shortcut("s=https://127.0.0.1:1/mcp");
        if cfg!(feature = "tls") {
            r.unwrap();
        } else {
            assert!(r.unwrap_err().0.contains("`tls` cargo feature"));
            assert!(c.upstreams.is_empty());
        }
    }
}
