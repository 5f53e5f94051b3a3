//! Launching a stdio MCP server as a child process and talking to it.

use super::{Client, ClientError};
use crate::transport::stdio::{Frame, Framer};
use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
    /// Longest line accepted from the server; longer ones are skipped
    /// (0 means the default JSON-RPC message limit).
    pub max_line_bytes: usize,
}

impl StdioSpawn {
    /// Start the server; returns the client and the child (killed when dropped).
    pub fn spawn(&self) -> Result<(Client, Child), ClientError> {
        let mut cmd = Command::new(&self.command);
        crate::secrets::scrub(&mut cmd);
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
        let max = match self.max_line_bytes {
            0 => crate::jsonrpc::Limits::default().max_message_bytes,
            n => n,
        };
        tokio::spawn(async move {
            // Lines are capped: an upstream flooding its stdout without a
            // newline must not make us buffer without bound.
            let mut stdout = stdout;
            let mut framer = Framer::new(max);
            let mut buf = vec![0u8; 64 * 1024];
            let mut frames = Vec::new();
            loop {
                let n = match stdout.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                framer.feed(&buf[..n], &mut frames);
                for f in frames.drain(..) {
                    let line = match f {
                        Frame::Line(l) => String::from_utf8_lossy(&l).into_owned(),
                        Frame::TooLong(n) => {
                            log::warn!("client: skipped a {n}-byte line from the server (limit {max} bytes)");
                            continue;
                        }
                    };
                    if line.trim().is_empty() {
                        continue;
                    }
                    if lines.send(line).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok((client, child))
    }
}
