//! `lmcp hub status`: connect once to every configured upstream, in
//! parallel, and report what each one offers (or why it failed), without
//! starting a hub or a server.

use super::config::{HubConfig, UpstreamConfig, UpstreamTransport};
use super::supervisor::open;
use crate::client::{Client, Era};
use crate::protocol::Method;
use serde::Serialize;
use std::time::Duration;

/// What one upstream answered.
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamReport {
    /// The upstream's name in the configuration.
    pub name: String,
    /// `"stdio"` or `"http"`.
    pub transport: &'static str,
    /// The command line or URL.
    pub target: String,
    /// `"up"` or `"failed"`.
    pub state: &'static str,
    /// `"modern"` or `"legacy"`, once connected.
    pub era: Option<&'static str>,
    /// The protocol revision in use.
    pub protocol_version: Option<String>,
    /// The upstream's `serverInfo.name`.
    pub server: Option<String>,
    /// Tools the hub would re-export (after the allow/deny lists).
    pub tools: Option<usize>,
    /// Prompts the hub would re-export.
    pub prompts: Option<usize>,
    /// Resources the upstream lists.
    pub resources: Option<usize>,
    /// Why the upstream failed.
    pub last_error: Option<String>,
}

impl UpstreamReport {
    fn new(cfg: &UpstreamConfig) -> UpstreamReport {
        let (transport, target) = match &cfg.transport {
            UpstreamTransport::Stdio { command, args, .. } => {
                let mut words = vec![command.clone()];
                words.extend(args.iter().cloned());
                let line = shlex::try_join(words.iter().map(String::as_str))
                    .unwrap_or_else(|_| words.join(" "));
                ("stdio", line)
            }
            UpstreamTransport::Http { url, .. } => ("http", url.clone()),
        };
        UpstreamReport {
            name: cfg.name.clone(),
            transport,
            target,
            state: "failed",
            era: None,
            protocol_version: None,
            server: None,
            tools: None,
            prompts: None,
            resources: None,
            last_error: None,
        }
    }
}

/// Connect to every upstream of `cfg` (each within `timeout`) and report.
/// Must be called inside a tokio runtime.
pub async fn check(cfg: &HubConfig, timeout: Duration) -> Vec<UpstreamReport> {
    let mut set = tokio::task::JoinSet::new();
    for (i, up) in cfg.upstreams.iter().enumerate() {
        let up = up.clone();
        set.spawn(async move {
            let mut report = UpstreamReport::new(&up);
            match tokio::time::timeout(timeout, probe(&up, &mut report)).await {
                Ok(Ok(())) => report.state = "up",
                Ok(Err(e)) => report.last_error = Some(e),
                Err(_) => {
                    report.last_error = Some(format!(
                    "no answer within {} ms (raise --timeout-ms if the upstream is slow to start)",
                    timeout.as_millis()
                ))
                }
            }
            (i, report)
        });
    }
    let mut out: Vec<Option<UpstreamReport>> = vec![None; cfg.upstreams.len()];
    while let Some(done) = set.join_next().await {
        if let Ok((i, r)) = done {
            out[i] = Some(r);
        }
    }
    out.into_iter()
        .zip(&cfg.upstreams)
        .map(|(r, up)| {
            r.unwrap_or_else(|| {
                let mut r = UpstreamReport::new(up);
                r.last_error = Some("the check panicked".into());
                r
            })
        })
        .collect()
}

async fn probe(up: &UpstreamConfig, report: &mut UpstreamReport) -> Result<(), String> {
    let (client, mut link) = open(up)?;
    let hello = tokio::select! {
        r = async {
            if up.legacy { client.connect_legacy().await } else { client.connect().await }
        } => r.map_err(|e| format!("connect failed: {e}"))?,
        why = link.died() => return Err(why),
    };
    let (era, v) = match hello.era {
        Era::Modern(v) => ("modern", v),
        Era::Legacy(v) => ("legacy", v),
    };
    report.era = Some(era);
    report.protocol_version = Some(v.as_str().to_string());
    report.server = hello.server_info["name"].as_str().map(String::from);
    report.tools = Some(count(&client, Method::ToolsList.as_str(), "tools", Some(up)).await?);
    if hello.capabilities.get("prompts").is_some() {
        report.prompts =
            Some(count(&client, Method::PromptsList.as_str(), "prompts", Some(up)).await?);
    }
    if hello.capabilities.get("resources").is_some() {
        report.resources =
            Some(count(&client, Method::ResourcesList.as_str(), "resources", None).await?);
    }
    Ok(())
}

/// How many items a list method gives (only those `up` permits, if given).
async fn count(
    client: &Client,
    method: &str,
    key: &str,
    up: Option<&UpstreamConfig>,
) -> Result<usize, String> {
    let items = client
        .list_all(method, key)
        .await
        .map_err(|e| format!("{method} failed: {e}"))?;
    Ok(items
        .iter()
        .filter(|t| match (up, t["name"].as_str()) {
            (Some(up), Some(n)) => up.permits(n),
            _ => true,
        })
        .count())
}

/// A plain-text table of the reports, one upstream a line.
pub fn table(reports: &[UpstreamReport]) -> String {
    let head = [
        "NAME",
        "TRANSPORT",
        "STATE",
        "ERA",
        "TOOLS",
        "PROMPTS",
        "RESOURCES",
        "LAST ERROR",
    ];
    let num = |n: Option<usize>| n.map_or("-".to_string(), |n| n.to_string());
    let rows: Vec<[String; 8]> = reports
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.transport.to_string(),
                r.state.to_string(),
                match (r.era, &r.protocol_version) {
                    (Some(e), Some(v)) => format!("{e} {v}"),
                    _ => "-".into(),
                },
                num(r.tools),
                num(r.prompts),
                num(r.resources),
                r.last_error.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let n = cells.len();
        for (i, c) in cells.into_iter().enumerate() {
            out.push_str(c);
            if i + 1 < n {
                let pad = width[i] - c.chars().count() + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.push('\n');
    };
    line(head.to_vec());
    for row in &rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut cfg = HubConfig::default();
        cfg.add_shortcut("a=echo 'x y'").unwrap();
        cfg.add_shortcut("bb=http://127.0.0.1:1/mcp").unwrap();
        let mut a = UpstreamReport::new(&cfg.upstreams[0]);
        assert_eq!(a.target, "echo 'x y'");
        a.state = "up";
        a.era = Some("modern");
        a.protocol_version = Some("2026-07-28".into());
        a.tools = Some(3);
        let mut b = UpstreamReport::new(&cfg.upstreams[1]);
        b.last_error = Some("connect failed".into());
        let t = table(&[a, b]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        let col = lines[0].find("STATE").unwrap();
        assert_eq!(&lines[1][col..col + 2], "up");
        assert_eq!(&lines[2][col..col + 6], "failed");
        assert!(lines[1].contains("modern 2026-07-28"));
        assert!(lines[2].ends_with("connect failed"));
    }
}
