//! Launching a stdio MCP server as a child process and talking to it.

use super::{Client, ClientError};
use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

/// How to start a stdio server.
#[derive(Debug, Clone, Default)]
pub struct StdioSpawn {
    /// The program.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
}

impl StdioSpawn {
    /// Start the server; returns the client and the child (killed when dropped).
    pub fn spawn(&self) -> Result<(Client, Child), ClientError> {
        let mut cmd = Command::new(&self.command);
        cmd.args(&self.args)
            .envs(self.env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        if let Some(d) = &self.cwd {
            cmd.current_dir(d);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| ClientError::Transport(format!("cannot start {:?}: {e}", self.command)))?;
        let mut stdin = child
            .stdin
            .take()
            .ok_or_else(|| ClientError::Transport("no stdin".into()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| ClientError::Transport("no stdout".into()))?;
        let (tx, mut rx) = mpsc::channel::<String>(256);
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if stdin.write_all(line.as_bytes()).await.is_err()
                    || stdin.write_all(b"\n").await.is_err()
                {
                    break;
                }
                if rx.is_empty() && stdin.flush().await.is_err() {
                    break;
                }
            }
        });
        let info = json!({"name": "lmcp-client", "version": env!("CARGO_PKG_VERSION")});
        let (client, lines) = Client::over_channels(tx, info);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if line.trim().is_empty() {
                    continue;
                }
                if lines.send(line).await.is_err() {
                    break;
                }
            }
        });
        Ok((client, child))
    }
}
