//! HTTP/1.1 spoken by hand over a loopback socket, for tests that need to see
//! (or break) exactly what goes over the wire: status lines, headers, chunked
//! bodies, connections dropped half way.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `Content-Type: application/json`.
pub const JSON: (&str, &str) = ("Content-Type", "application/json");
/// The `Accept` header a Streamable HTTP client sends.
pub const ACCEPT: (&str, &str) = ("Accept", "application/json, text/event-stream");

/// Connect to `127.0.0.1:port` and send one `method /mcp` request with
/// `headers` (plus Host, `Connection: close` and Content-Length) and `body`;
/// the response is left to read.
pub fn open(port: u16, method: &str, headers: &[(&str, &str)], body: &str) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut req = format!(
        "{method} /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    s
}

/// A whole response: status, headers and the body (de-chunked).
pub struct Reply {
    /// The status code (0 when the server sent no status line).
    pub status: u16,
    /// The headers in the order received.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Reply {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// The body as a JSON-RPC message, validated against the official schema
    /// of revision `rev` (panics with the violations).
    pub fn checked(&self, rev: &str) -> Value {
        let v = self.json();
        let errors = super::check(rev, "JSONRPCMessage", &v);
        assert!(errors.is_empty(), "{v} violates {rev}: {errors:?}");
        v
    }

    /// Status and JSON-RPC error code of a reply whose body is validated
    /// against revision `rev` (see [`Reply::checked`]).
    pub fn status_code(&self, rev: &str) -> (u16, Option<i64>) {
        (self.status, self.checked(rev)["error"]["code"].as_i64())
    }

    /// The JSON-RPC messages of an SSE body.
    pub fn events(&self) -> Vec<Value> {
        self.body
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .map(|d| serde_json::from_str(d).unwrap())
            .collect()
    }
}

/// Read the response on `s` to its end.
pub fn read_reply(mut s: TcpStream) -> Reply {
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// One request, its whole response.
pub fn send(port: u16, method: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    read_reply(open(port, method, headers, body))
}

fn dechunk(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail.get(n + 2..).unwrap_or("");
    }
    out
}

/// A keep-alive connection: many requests in turn, each response read to
/// its end (Content-Length or chunked) and no further.
pub struct KeepAlive {
    stream: std::io::BufReader<TcpStream>,
}

impl KeepAlive {
    /// Connect to `127.0.0.1:port`.
    pub fn connect(port: u16) -> KeepAlive {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        s.set_nodelay(true).unwrap();
        KeepAlive {
            stream: std::io::BufReader::new(s),
        }
    }

    /// The connection itself, to hold open or watch.
    pub fn into_stream(self) -> TcpStream {
        self.stream.into_inner()
    }

    /// Send one `POST /mcp` with `headers` and `body`; the whole response.
    pub fn post(&mut self, headers: &[(&str, &str)], body: &str) -> Reply {
        self.request("POST", "/mcp", headers, body)
    }

    /// Send one `method path` request with `headers` and `body`; the whole
    /// response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        use std::io::BufRead;
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.stream.get_mut().write_all(req.as_bytes()).unwrap();
        let mut line = String::new();
        self.stream.read_line(&mut line).unwrap();
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line).unwrap();
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
            body.resize(n, 0);
            self.stream.read_exact(&mut body).unwrap();
        } else if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                line.clear();
                self.stream.read_line(&mut line).unwrap();
                let n = usize::from_str_radix(line.trim(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                self.stream.read_exact(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}

/// A modern `shell` call running `command`; `progress` makes it SSE.
pub fn shell_call(id: i64, command: &str, progress: bool) -> String {
    let mut m = super::meta(json!({}));
    if progress {
        m["progressToken"] = json!(format!("p{id}"));
    }
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "shell", "arguments": {"command": command}, "_meta": m}})
    .to_string()
}

/// Headers of a modern `shell` call.
pub const SHELL_HEADERS: [(&str, &str); 5] = [
    JSON,
    ACCEPT,
    ("MCP-Protocol-Version", super::MODERN),
    ("Mcp-Method", "tools/call"),
    ("Mcp-Name", "shell"),
];

/// A modern `tools/list` request with id `id`.
pub fn modern_list(id: i64) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/list",
        "params": {"_meta": super::meta(json!({}))}})
    .to_string()
}

/// Headers of a modern `tools/list` request.
pub const LIST_HEADERS: [(&str, &str); 4] = [
    JSON,
    ACCEPT,
    ("MCP-Protocol-Version", super::MODERN),
    ("Mcp-Method", "tools/list"),
];
