//! The small HTTP client the resource server uses to talk to its
//! authorization server (metadata, keys, introspection): HTTP/1.1 over
//! hyper, `https://` through the MCP client's rustls set-up (system roots
//! plus `--ca-file`), `http://` only to loopback hosts. Bodies are capped,
//! every exchange has a deadline, redirects are not followed.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;
use tokio::net::TcpStream;

/// Largest body read from the authorization server.
const MAX_BODY: usize = 1024 * 1024;
/// Deadline of one exchange (connect, TLS, request, body).
const DEADLINE: Duration = Duration::from_secs(10);

/// A parsed `http(s)://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Url {
    /// `true` for `https`.
    pub tls: bool,
    /// Host as written (IPv6 without brackets).
    pub host: String,
    /// Port (default 80 / 443).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parse an absolute `http(s)` URL; no user info, no fragment.
    pub fn parse(url: &str) -> Result<Url, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("{url:?} is not an http:// or https:// URL"));
        };
        if url.contains('#') {
            return Err(format!("{url:?} must not have a fragment"));
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(format!("{url:?} must not carry user information"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{url:?}: unclosed [ in the host"))?;
            (h.to_owned(), after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (authority.to_owned(), None),
            }
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(format!("{url:?} has no valid host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| format!("{url:?} has a bad port"))?,
            None if tls => 443,
            None => 80,
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        Ok(Url {
            tls,
            host: host.to_ascii_lowercase(),
            port,
            path,
        })
    }

    /// Whether the host is this machine (`localhost`, 127.0.0.0/8, `::1`).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// `scheme://host[:port]`, without the path.
    pub fn origin(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.tls { 443 } else { 80 };
        let scheme = if self.tls { "https" } else { "http" };
        if self.port == default {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{}", self.port)
        }
    }

    /// Refuse plain HTTP except to loopback (tests, a local server).
    pub fn check_secure(&self, what: &str) -> Result<(), String> {
        if self.tls || self.is_loopback() {
            Ok(())
        } else {
            Err(format!(
                "{what} {} must use https:// (http:// is allowed only on loopback)",
                self.origin()
            ))
        }
    }
}

/// The HTTP client, with its TLS set-up made on first `https://` use.
pub(super) struct Fetcher {
    ca_file: Option<PathBuf>,
    tls: OnceLock<Result<crate::client::tls::Config, String>>,
}

impl Fetcher {
    pub fn new(ca_file: Option<PathBuf>) -> Fetcher {
        Fetcher {
            ca_file,
            tls: OnceLock::new(),
        }
    }

    /// GET `url` (Accept: JSON) and parse the JSON body of a 200 answer.
    pub async fn get_json(&self, url: &str) -> Result<serde_json::Value, String> {
        let (status, body) = self.exchange(Method::GET, url, &[], None).await?;
        if status != StatusCode::OK {
            return Err(format!("GET {url} answered {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: the body is not JSON: {e}"))
    }

    /// One exchange with a deadline; the answer's status and body.
    pub async fn exchange(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> Result<(StatusCode, Bytes), String> {
        tokio::time::timeout(DEADLINE, self.exchange_now(method, url, headers, body))
            .await
            .map_err(|_| format!("{url} did not answer within {DEADLINE:?}"))?
    }

    async fn exchange_now(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: Option<String>,
    ) -> Result<(StatusCode, Bytes), String> {
        let u = Url::parse(url)?;
        u.check_secure("the authorization server URL")?;
        let tcp = TcpStream::connect((u.host.as_str(), u.port))
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", u.origin()))?;
        let _ = tcp.set_nodelay(true);
        let mut req = Request::builder()
            .method(method)
            .uri(&u.path)
            .header(hyper::header::HOST, host_header(&u))
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::USER_AGENT, "lmcp");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| format!("bad request to {url}: {e}"))?;
        if u.tls {
            let cfg = self
                .tls
                .get_or_init(|| crate::client::tls::config(self.ca_file.as_deref()))
                .clone()?;
            let stream = crate::client::tls::handshake(&cfg, &u.host, tcp).await?;
            send(stream, req, url).await
        } else {
            send(tcp, req, url).await
        }
    }
}

fn host_header(u: &Url) -> String {
    u.origin()
        .split_once("://")
        .map(|(_, h)| h.to_owned())
        .unwrap_or_default()
}

async fn send<I>(io: I, req: Request<Full<Bytes>>, url: &str) -> Result<(StatusCode, Bytes), String>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP to {url} failed: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let result = async {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("HTTP to {url} failed: {e}"))?;
        let status = resp.status();
        let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer of {url} failed: {e}"))?
            .to_bytes();
        Ok((status, body))
    }
    .await;
    driver.abort();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("https://auth.example.com/realms/x").unwrap();
        assert_eq!((u.tls, u.port, u.path.as_str()), (true, 443, "/realms/x"));
        assert_eq!(u.origin(), "https://auth.example.com");
        let u = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((u.port, u.path.as_str()), (8080, "/"));
        assert!(u.is_loopback() && u.check_secure("x").is_ok());
        let u = Url::parse("http://[::1]:9/a?b").unwrap();
        assert_eq!(
            (u.host.as_str(), u.origin()),
            ("::1", "http://[::1]:9".into())
        );
        assert!(Url::parse("http://example.com/")
            .unwrap()
            .check_secure("issuer")
            .is_err());
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("https://u:p@x/").is_err());
        assert!(Url::parse("https://x:99999/").is_err());
        assert!(Url::parse("https:///").is_err());
    }
}
