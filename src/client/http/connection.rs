//! One HTTP exchange of the client: a fresh connection (plain or TLS), the
//! HTTP/1.1 handshake and one request with the session's headers.

use super::Shared;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

pub(super) type Resp = hyper::Response<hyper::body::Incoming>;

/// Send one HTTP request on a fresh connection.
pub(super) async fn send(
    shared: &Shared,
    method: Method,
    body: Option<String>,
    session: Option<String>,
    extra: Option<Vec<(String, String)>>,
) -> Result<Resp, String> {
    let t = &shared.target;
    let stream = TcpStream::connect((t.connect_host.as_str(), t.port))
        .await
        .map_err(|e| shared.died(format!("cannot connect to {}: {e}", t.addr)))?;
    let _ = stream.set_nodelay(true);
    let mut sender = match &shared.tls {
        None => http_handshake(TokioIo::new(stream), &t.addr).await?,
        #[cfg(feature = "tls")]
        Some(cfg) => {
            let tls = crate::client::tls::handshake(cfg, &t.connect_host, stream)
                .await
                .map_err(|e| shared.died(format!("{}: {e}", t.addr)))?;
            http_handshake(TokioIo::new(tls), &t.addr).await?
        }
        #[cfg(not(feature = "tls"))]
        Some(never) => match *never {},
    };
    let mut b = Request::builder()
        .method(method)
        .uri(&t.path)
        .header("host", &t.host)
        .header("accept", "application/json, text/event-stream");
    if body.is_some() {
        b = b.header("content-type", "application/json");
    }
    if let Some(s) = session {
        b = b.header("mcp-session-id", s);
    }
    for (k, v) in extra.into_iter().flatten() {
        b = b.header(k.as_str(), v);
    }
    for (k, v) in &shared.headers {
        b = b.header(k.as_str(), v.as_str());
    }
    let req = b
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .map_err(|e| {
            format!("cannot build the HTTP request (check the configured headers): {e}")
        })?;
    sender
        .send_request(req)
        .await
        .map_err(|e| shared.died(format!("HTTP request to {} failed: {e}", t.addr)))
}

/// Start HTTP/1.1 on an open connection (plain or TLS).
async fn http_handshake<T>(
    io: T,
    addr: &str,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake with {addr} failed: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}
