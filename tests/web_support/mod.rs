//! Shared by the web tool tests: a tiny HTTP/1.1 server on 127.0.0.1 and
//! helpers to call the tools directly.
#![allow(dead_code)]

use lmcp::tools::web::{tools, WebConfig};
use lmcp::{Content, RequestContext, Tool, ToolError, ToolResult};
use serde_json::Value;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/web/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// What the test server answers.
pub enum Reply {
    Full(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Wait this long before answering.
    Slow(Duration),
    /// A text body of this many bytes, streamed.
    Huge(usize),
    /// Close the connection without answering.
    Hangup,
    /// A body sent slowly (1000 bytes every 25 ms, 25 s in all); the flag is
    /// set when the client hangs up.
    Trickle(Arc<std::sync::atomic::AtomicBool>),
}

pub fn ok(ct: &str, body: Vec<u8>) -> Reply {
    Reply::Full(200, vec![("Content-Type", ct.to_string())], body)
}
pub fn redirect(to: String) -> Reply {
    Reply::Full(302, vec![("Location", to)], Vec::new())
}

pub type Route = Arc<dyn Fn(&str, &str, u16) -> Reply + Send + Sync>;

pub struct TestServer {
    pub port: u16,
    /// Request heads received, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    /// Body bytes written by `Huge` replies.
    pub sent: Arc<AtomicUsize>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    pub fn heads(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

pub async fn serve(route: impl Fn(&str, &str, u16) -> Reply + Send + Sync + 'static) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let route: Route = Arc::new(route);
    let requests = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    let (reqs, sent2) = (requests.clone(), sent.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (route, reqs, sent) = (route.clone(), reqs.clone(), sent2.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                reqs.lock().unwrap().push(head.clone());
                match route(&path, &head, port) {
                    Reply::Full(status, headers, body) => {
                        let mut out = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (k, v) in headers {
                            out.push_str(&format!("{k}: {v}\r\n"));
                        }
                        out.push_str("\r\n");
                        let _ = sock.write_all(out.as_bytes()).await;
                        let _ = sock.write_all(&body).await;
                    }
                    Reply::Hangup => {}
                    Reply::Slow(d) => {
                        tokio::time::sleep(d).await;
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .await;
                    }
                    Reply::Trickle(gone) => {
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n")
                            .await;
                        for _ in 0..1000 {
                            tokio::time::sleep(Duration::from_millis(25)).await;
                            if sock.write_all(&[b'y'; 1000]).await.is_err() {
                                gone.store(true, Ordering::SeqCst);
                                break;
                            }
                        }
                    }
                    Reply::Huge(n) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {n}\r\n\r\n"
                        );
                        let _ = sock.write_all(head.as_bytes()).await;
                        let chunk = vec![b'x'; 64 * 1024];
                        let mut left = n;
                        while left > 0 {
                            let k = left.min(chunk.len());
                            if sock.write_all(&chunk[..k]).await.is_err() {
                                break;
                            }
                            sent.fetch_add(k, Ordering::SeqCst);
                            left -= k;
                        }
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    TestServer {
        port,
        requests,
        sent,
    }
}

pub fn tool(config: WebConfig, name: &str) -> Tool {
    // Pages are converted in the helper process, which is not next to the
    // test binary: point lmcp at the one cargo built.
    std::env::set_var("LMCP_EXTRACT", env!("CARGO_BIN_EXE_lmcp-extract"));
    tools(Arc::new(config))
        .into_iter()
        .find(|t| t.name == name)
        .unwrap()
}

pub fn private_ok() -> WebConfig {
    WebConfig {
        allow_private: true,
        ..WebConfig::default()
    }
}

pub async fn call(tool: &Tool, args: Value) -> Result<ToolResult, String> {
    let Value::Object(map) = args else {
        panic!("arguments must be an object")
    };
    tool.validate(&map).map_err(|e| format!("invalid: {e}"))?;
    match (tool.handler)(map, RequestContext::detached()).await {
        Ok(r) => Ok(r),
        Err(ToolError::Tool(m)) => Err(m),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

pub fn text(r: &ToolResult) -> String {
    r.content
        .iter()
        .map(|c| match c {
            Content::Text { text, .. } => text.clone(),
            other => panic!("unexpected block {other:?}"),
        })
        .collect()
}

/// The routes of the test web site.
pub fn site(path: &str, _head: &str, port: u16) -> Reply {
    match path {
        "/article" => ok("text/html; charset=utf-8", fixture("article.html")),
        "/docs" => ok("text/html", fixture("docs.html")),
        "/cluttered" => ok("text/html; charset=utf-8", fixture("cluttered.html")),
        "/latin1" => ok("text/html", fixture("latin1.html")),
        "/data.json" => ok("application/json", fixture("data.json")),
        "/r1" => redirect("/r2".into()),
        "/r2" => redirect(format!("http://localhost:{port}/article")),
        "/loop" => redirect("/loop".into()),
        "/to-metadata" => redirect("http://169.254.169.254/latest/meta-data/".into()),
        "/to-mapped" => redirect(format!("http://[::ffff:169.254.169.254]:{port}/")),
        "/slow" => Reply::Slow(Duration::from_secs(10)),
        "/huge" => Reply::Huge(50 * 1024 * 1024),
        "/image.png" => ok("image/png", png(32, 16)),
        "/robots.txt" => ok(
            "text/plain",
            b"User-agent: *\nDisallow: /private\n".to_vec(),
        ),
        "/private/page" => ok("text/plain", b"secret".to_vec()),
        "/missing" => Reply::Full(
            404,
            vec![("Content-Type", "text/plain".into())],
            b"no such page".to_vec(),
        ),
        _ => Reply::Full(404, vec![], Vec::new()),
    }
}

/// A real PNG of `width`x`height` grey pixels (valid CRCs and zlib data):
/// with the `docs` feature `fetch` decodes images, so a header alone would
/// be reported as unreadable.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    use std::io::Write;
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale
    let mut rows = Vec::new();
    for _ in 0..height {
        rows.push(0u8); // filter: none
        rows.extend(std::iter::repeat_n(0x80u8, width as usize));
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&rows).expect("compress in memory");
    let idat = z.finish().expect("compress in memory");
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}
