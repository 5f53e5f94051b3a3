//! How a client opens a connection and learns the server's era: the modern
//! probe (`server/discover`), the legacy `initialize` handshake it falls back
//! to, and what the server said about itself ([`ServerHello`]).

use super::{Client, ClientError, PROBE_TIMEOUT};
use crate::jsonrpc::code;
use crate::protocol::Method;
use crate::protocol::ProtocolVersion;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// Which era the server speaks, and at which revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// Stateless, per-request `_meta`.
    Modern(ProtocolVersion),
    /// Handshake-based, negotiated with `initialize`.
    Legacy(ProtocolVersion),
}

impl Era {
    /// The protocol revision.
    pub fn version(self) -> ProtocolVersion {
        match self {
            Era::Modern(v) | Era::Legacy(v) => v,
        }
    }
}

/// What the server said about itself when the client connected.
#[derive(Debug, Clone)]
pub struct ServerHello {
    /// The era and revision in use.
    pub era: Era,
    /// `serverInfo` (name, version).
    pub server_info: Value,
    /// The server's capabilities.
    pub capabilities: Value,
    /// The server's instructions, if any.
    pub instructions: Option<String>,
}

impl Client {
    /// Detect the server's era and open the connection (see the module docs).
    ///
    /// A modern server that starts slowly may answer the probe after
    /// [`PROBE_TIMEOUT`]; it then refuses the `initialize` that followed
    /// (`-32022`), and the client probes once more, waiting up to 30 s.
    pub async fn connect(&self) -> Result<ServerHello, ClientError> {
        match self.discover(PROBE_TIMEOUT).await {
            Err(ClientError::Timeout(_)) => match self.initialize().await {
                Err(ClientError::Rpc(e)) if e.code == code::UNSUPPORTED_PROTOCOL_VERSION => {
                    log::info!(
                        "client: the server answered the modern probe late and refused initialize ({}); probing again",
                        e.message
                    );
                    self.discover(Duration::from_secs(30)).await
                }
                r => r,
            },
            r => r,
        }
    }

    /// `server/discover`: the hello of a modern server; an error that is not
    /// a recognised modern one falls back to `initialize`.
    async fn discover(&self, timeout: Duration) -> Result<ServerHello, ClientError> {
        let mut params = Map::new();
        params.insert("_meta".into(), self.modern_meta(ProtocolVersion::MODERN));
        match self
            .raw_request(Method::Discover.as_str(), params, timeout)
            .await
        {
            Ok(r) => {
                let supported: Vec<&str> = r["supportedVersions"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if !supported.contains(&ProtocolVersion::MODERN.as_str()) {
                    return Err(ClientError::Protocol(format!(
                        "the server supports none of our modern versions (it lists {supported:?})"
                    )));
                }
                *self.inner.era.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(Era::Modern(ProtocolVersion::MODERN));
                Ok(ServerHello {
                    era: Era::Modern(ProtocolVersion::MODERN),
                    server_info: r["_meta"]["io.modelcontextprotocol/serverInfo"].clone(),
                    capabilities: r["capabilities"].clone(),
                    instructions: r["instructions"].as_str().map(String::from),
                })
            }
            Err(ClientError::Rpc(e)) if e.code == code::UNSUPPORTED_PROTOCOL_VERSION => {
                Err(ClientError::Protocol(format!(
                    "the server is modern but supports none of our versions: {}",
                    e.data
                        .map(|d| d["supported"].to_string())
                        .unwrap_or_default()
                )))
            }
            Err(ClientError::Transport(m)) => Err(ClientError::Transport(m)),
            Err(ClientError::Timeout(d)) => Err(ClientError::Timeout(d)),
            Err(_) => self.initialize().await,
        }
    }

    /// Open the connection with the legacy `initialize` handshake, without
    /// the modern probe (for servers whose modern support is unwanted).
    pub async fn connect_legacy(&self) -> Result<ServerHello, ClientError> {
        self.initialize().await
    }

    async fn initialize(&self) -> Result<ServerHello, ClientError> {
        let params = json!({
            "protocolVersion": ProtocolVersion::LATEST_LEGACY.as_str(),
            "capabilities": self.inner.legacy_capabilities.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            "clientInfo": self.inner.info,
        });
        let r = self
            .raw_request(
                Method::Initialize.as_str(),
                params.as_object().cloned().unwrap_or_default(),
                Duration::from_secs(30),
            )
            .await?;
        let v = r["protocolVersion"]
            .as_str()
            .and_then(ProtocolVersion::parse)
            .filter(|v| !v.is_modern())
            .ok_or_else(|| {
                ClientError::Protocol(format!(
                    "the server negotiated an unknown version {}",
                    r["protocolVersion"]
                ))
            })?;
        *self.inner.era.lock().unwrap_or_else(|e| e.into_inner()) = Some(Era::Legacy(v));
        self.notify("notifications/initialized", json!({})).await?;
        Ok(ServerHello {
            era: Era::Legacy(v),
            server_info: r["serverInfo"].clone(),
            capabilities: r["capabilities"].clone(),
            instructions: r["instructions"].as_str().map(String::from),
        })
    }
}
