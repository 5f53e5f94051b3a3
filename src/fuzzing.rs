//! Entry points of the fuzz targets (`fuzz/fuzz_targets/`, run by
//! `scripts/fuzz.sh`) and of their corpus replay (`tests/fuzz_corpus.rs`,
//! run by `cargo test` on stable). Each takes arbitrary bytes, drives one
//! piece of lmcp with them and panics if an invariant breaks; a panic, an
//! abort or a hang is a finding.
//!
//! Not a stable API: only for lmcp's own fuzzing.

use crate::jsonrpc::{nesting_exceeds, Limits, Message};
use crate::server::{Server, ServerConfig, Tool, ToolResult};
use crate::transport::stdio::{serve, Frame, Framer, StdioOptions};
use serde_json::{json, Value};
use std::io::{Cursor, Write};
#[cfg(feature = "tools")]
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Limits small enough that the fuzzer reaches them.
const LIMITS: Limits = Limits {
    max_message_bytes: 4096,
    max_depth: 16,
};

fn frames(data: &[u8], chunk: usize) -> Vec<Result<Vec<u8>, usize>> {
    let mut f = Framer::new(LIMITS.max_message_bytes);
    let mut out = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        f.feed(c, &mut out);
    }
    out.extend(f.finish());
    out.into_iter()
        .map(|fr| match fr {
            Frame::Line(l) => Ok(l),
            Frame::TooLong(n) => Err(n),
        })
        .collect()
}

/// The JSON-RPC decoder: line framing (the same lines whatever the read
/// sizes), parsing with limits, and re-serialisation (what parses serialises
/// to JSON that parses to the same message).
pub fn jsonrpc(data: &[u8]) {
    let chunk = data.first().map_or(1, |&b| usize::from(b % 64) + 1);
    let whole = frames(data, data.len());
    assert_eq!(whole, frames(data, chunk), "framing depends on read sizes");
    for line in whole.into_iter().flatten() {
        assert!(line.len() <= LIMITS.max_message_bytes);
        let _ = nesting_exceeds(&line, LIMITS.max_depth);
        match Message::parse(&line, &LIMITS) {
            Ok(m) => {
                let text = m.to_json();
                let again = Message::parse(text.as_bytes(), &Limits::default())
                    .unwrap_or_else(|e| panic!("{text} does not parse back: {e:?}"));
                assert_eq!(again, m, "round trip changed the message");
            }
            Err(f) => {
                let text = f.into_response().to_json();
                serde_json::from_str::<Value>(&text).expect("error responses are JSON");
            }
        }
    }
}

#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(feature = "tools")]
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("lmcp-fuzz-{}", std::process::id()));
        let _ = std::fs::create_dir_all(d.join("sub"));
        let _ = std::fs::write(d.join("a.txt"), "alpha\nbeta\n");
        d
    })
}

fn dispatch_server() -> &'static Arc<Server> {
    static SERVER: OnceLock<Arc<Server>> = OnceLock::new();
    SERVER.get_or_init(|| {
        let config = ServerConfig {
            limits: LIMITS,
            client_request_timeout: Duration::from_millis(50),
            default_timeout: Duration::from_secs(2),
            ..ServerConfig::default()
        };
        let builder = Server::builder("lmcp-fuzz", "0").config(config);
        // The read-only built-in tools over a scratch root, when built.
        #[cfg(feature = "tools")]
        let builder = {
            let roots = crate::tools::roots::Roots::new(vec![scratch().to_path_buf()])
                .unwrap_or_else(|_| crate::tools::roots::Roots::none());
            let fs = crate::tools::fs::FsConfig {
                roots,
                read_only: true,
                ..Default::default()
            };
            builder
                .tools(crate::tools::builtin())
                .tools(crate::tools::fs::tools(Arc::new(fs)))
        };
        builder
            .tool(Tool::new("echo", "Echo.", |a, _ctx| async move {
                Ok(ToolResult::text(Value::Object(a).to_string()))
            }))
            .build()
    })
}

/// The message decoder and the dispatcher behind the stdio transport: the
/// bytes are a client's whole stdin; everything written back must be JSON-RPC
/// (a message or a batch of them), each line whole.
pub fn dispatch(data: &[u8]) {
    let sink = Sink::default();
    let out = sink.clone();
    let input = data.to_vec();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let opts = StdioOptions {
            shutdown_grace: Duration::from_millis(100),
            ..StdioOptions::default()
        };
        let session = dispatch_server().session();
        let stop = tokio_util::sync::CancellationToken::new();
        serve(session, Cursor::new(input), out, opts, stop).await;
    });
    let written = sink.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(written.is_empty() || written.ends_with(b"\n"));
    for line in written.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {}",
                String::from_utf8_lossy(line)
                    .chars()
                    .take(300)
                    .collect::<String>()
            )
        });
        let items = match v {
            Value::Array(a) => {
                assert!(!a.is_empty(), "an empty batch answer");
                a
            }
            m => vec![m],
        };
        for m in items {
            assert_eq!(m["jsonrpc"], "2.0", "{m}");
            Message::from_value(m.clone()).unwrap_or_else(|e| panic!("not JSON-RPC {m}: {e:?}"));
        }
    }
}

/// The HTTP transport end to end: the bytes are everything a client sends on
/// one connection (requests, pipelined or not, then end of stream), served
/// by the transport's per-connection service. Whatever comes back must be a
/// sequence of well-formed HTTP/1.x responses; each input is cut off after
/// 1 s (an SSE stream, such as `subscriptions/listen`, stays open), and
/// what arrived by then must be a well-formed prefix.
pub fn http_request(data: &[u8]) {
    let (reply, whole) = http_reply(data);
    let _ = check_http_replies(&reply, whole);
}

/// What [`http_request`] gets back for `data`: the bytes the server wrote,
/// and whether the connection ended within the time bound.
pub fn http_reply(data: &[u8]) -> (Vec<u8>, bool) {
    use crate::transport::http::{serve_one_connection, HttpOptions};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let input = data.to_vec();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let (client, server_io) = tokio::io::duplex(16 * 1024);
        let opts = HttpOptions {
            max_body_bytes: 2048,
            max_in_flight: 8,
            keep_alive: Duration::from_millis(100),
            sse_stall: Duration::from_millis(100),
            shutdown_grace: Duration::from_millis(100),
            // Any Host name: the corpus's inputs (`Host: x`) must reach the
            // service; the Host header is still parsed on every input.
            allowed_hosts: vec!["*".into()],
            sse_replay: Duration::from_millis(100),
            ..HttpOptions::default()
        };
        let serving = tokio::spawn(serve_one_connection(
            dispatch_server().clone(),
            opts,
            server_io,
        ));
        let (mut rd, mut wr) = tokio::io::split(client);
        // All the input, then the end of the stream once every request it
        // holds was answered (hyper drops pipelined requests it has not
        // started when the client's end of stream comes first).
        let expected = count_requests(&input);
        let (shut, shut_rx) = tokio::sync::oneshot::channel::<()>();
        let writer = tokio::spawn(async move {
            // The server may stop reading (it closed): not a finding.
            let _ = wr.write_all(&input).await;
            let _ = shut_rx.await;
            let _ = wr.shutdown().await;
            wr
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
        let mut shut = Some(shut);
        let mut reply = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let whole = loop {
            if shut.is_some() && check_http_replies(&reply, false) >= expected {
                let _ = shut.take().map(|s| s.send(()));
            }
            match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
                Err(_) => break false,
                Ok(Ok(0) | Err(_)) => break true,
                Ok(Ok(n)) => reply.extend_from_slice(&chunk[..n]),
            }
        };
        writer.abort();
        if whole {
            let _ = tokio::time::timeout(Duration::from_secs(1), serving).await;
        }
        (reply, whole)
    })
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).chars().take(300).collect()
}

/// `buf` is a sequence of HTTP/1.x responses; the last may be cut short
/// unless `whole`. Returns how many final (not 1xx) responses are complete.
fn check_http_replies(mut buf: &[u8], whole: bool) -> usize {
    let mut done = 0;
    while !buf.is_empty() {
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut r = httparse::Response::new(&mut hs);
        let n = match r.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if !whole => return done,
            other => panic!("not an HTTP response ({other:?}): {}", lossy(buf)),
        };
        assert!(matches!(r.version, Some(0 | 1)), "{}", lossy(buf));
        let code = r.code.unwrap_or_default();
        assert!((100..600).contains(&code), "status {code}");
        let header = |name: &str| {
            let mut v = r
                .headers
                .iter()
                .filter(|h| h.name.eq_ignore_ascii_case(name));
            let first = v.next().map(|h| h.value);
            assert!(v.next().is_none(), "{name} twice: {}", lossy(buf));
            first
        };
        let chunked =
            header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case(b"chunked"));
        let len = header("content-length").map(|v| {
            std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
                .unwrap_or_else(|| panic!("bad Content-Length: {}", lossy(v)))
        });
        assert!(!(chunked && len.is_some()), "chunked and Content-Length");
        buf = &buf[n..];
        if code < 200 {
            continue;
        }
        if code == 204 || code == 304 {
            assert!(len.unwrap_or(0) == 0 && !chunked, "a body on {code}");
            done += 1;
            continue;
        }
        if chunked {
            loop {
                let (n, size) = match httparse::parse_chunk_size(buf) {
                    Ok(httparse::Status::Complete(x)) => x,
                    Ok(httparse::Status::Partial) if !whole => return done,
                    other => panic!("bad chunk ({other:?}): {}", lossy(buf)),
                };
                buf = &buf[n..];
                let Ok(size) = usize::try_from(size) else {
                    panic!("chunk of {size} bytes")
                };
                if size == 0 {
                    // No trailers: the empty line ends the body.
                    if buf.len() < 2 && !whole {
                        return done;
                    }
                    assert!(
                        buf.starts_with(b"\r\n"),
                        "after the last chunk: {}",
                        lossy(buf)
                    );
                    buf = &buf[2..];
                    break;
                }
                if buf.len() < size + 2 && !whole {
                    return done;
                }
                assert!(buf.len() >= size + 2, "chunk cut short");
                assert_eq!(&buf[size..size + 2], b"\r\n", "chunk not ended by CRLF");
                buf = &buf[size + 2..];
            }
        } else if let Some(len) = len {
            if buf.len() < len && !whole {
                return done;
            }
            assert!(buf.len() >= len, "body shorter than its Content-Length");
            buf = &buf[len..];
        } else {
            // Delimited by the end of the connection.
            return done + usize::from(whole);
        }
        done += 1;
    }
    done
}

/// How many whole requests `b` holds, as HTTP/1.1 frames them (heads,
/// then bodies by `Content-Length` or chunks): the number of answers to
/// wait for before ending the stream.
fn count_requests(mut b: &[u8]) -> usize {
    let mut n = 0;
    loop {
        while let Some(rest) = b.strip_prefix(b"\r\n") {
            b = rest;
        }
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut hs);
        let Ok(httparse::Status::Complete(head)) = req.parse(b) else {
            return n;
        };
        let header = |name: &str| {
            req.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value)
        };
        let chunked =
            header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case(b"chunked"));
        let len = header("content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.trim().parse::<usize>().ok());
        b = &b[head..];
        if chunked {
            loop {
                let Ok(httparse::Status::Complete((k, size))) = httparse::parse_chunk_size(b)
                else {
                    return n;
                };
                let Some(end) = usize::try_from(size)
                    .ok()
                    .and_then(|s| s.checked_add(k + 2))
                else {
                    return n;
                };
                if b.len() < end {
                    return n;
                }
                b = &b[end..];
                if size == 0 {
                    break;
                }
            }
        } else if let Some(len) = len {
            if b.len() < len {
                return n;
            }
            b = &b[len..];
        }
        n += 1;
    }
}

/// Split `data` at `0xff` bytes into at most `n` parts.
fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut v: Vec<&[u8]> = data.splitn(n, |&b| b == 0xff).collect();
    v.resize(n, &[]);
    v
}

/// The modern request headers: `Mcp-Name` / `Mcp-Param-*` decoding (plain
/// and `=?base64?…?=`) and their comparison with a request body. Input:
/// `name header 0xff param header 0xff body JSON`.
pub fn http_headers(data: &[u8]) {
    use crate::transport::http::headers::{
        annotated_params, check_params, check_standard, decode_value,
    };
    use base64::Engine;
    use hyper::header::{HeaderMap, HeaderName, HeaderValue};
    let p = parts(data, 3);
    for raw in &p[..2] {
        if let Ok(v) = decode_value(raw) {
            // What decodes re-encodes to a value that decodes the same.
            let enc = format!(
                "=?base64?{}?=",
                base64::engine::general_purpose::STANDARD.encode(&v)
            );
            assert_eq!(decode_value(enc.as_bytes()).as_deref(), Ok(v.as_str()));
        }
    }
    let Ok(body) = serde_json::from_slice::<Value>(p[2]) else {
        return;
    };
    let Ok(Message::Request(req)) = Message::from_value(body) else {
        return;
    };
    let mut h = HeaderMap::new();
    h.insert(
        "mcp-protocol-version",
        HeaderValue::from_static("2026-07-28"),
    );
    if let Ok(v) = HeaderValue::from_str(&req.method) {
        h.insert("mcp-method", v);
    }
    if let Ok(v) = HeaderValue::from_bytes(p[0]) {
        h.insert("mcp-name", v);
    }
    if let Ok(v) = HeaderValue::from_bytes(p[1]) {
        h.insert(HeaderName::from_static("mcp-param-region"), v.clone());
        h.insert(HeaderName::from_static("mcp-param-n"), v);
    }
    let _ = check_standard(&h, &req, "2026-07-28");
    let schema = json!({"type": "object", "properties": {
        "region": {"type": "string", "x-mcp-header": "Region"},
        "n": {"type": "number", "x-mcp-header": "N"},
        "o": {"type": "object", "properties": {"deep": {"x-mcp-header": "Region"}}}}});
    let args = req.params.get("arguments").cloned().unwrap_or(Value::Null);
    let _ = check_params(&h, &annotated_params(&schema), &args);
}

/// Path resolution against roots: a tree of symlinks the input describes,
/// a path the input spells; nothing resolved may lie outside the roots.
/// Input: `link specs 0xff path`, each link spec one byte (target, place).
#[cfg(feature = "tools")]
pub fn roots(data: &[u8]) {
    use crate::tools::roots::Roots;
    use std::os::unix::fs::symlink;
    const TARGETS: &[&str] = &[
        "../outside",
        "../outside/secret",
        "/",
        "..",
        "../..",
        "d0",
        "f0",
        "nonexistent",
        "l0",
        "l1",
        "./l2",
        "../outside/back",
        "d0/../..",
        "/etc",
        "../root2",
    ];
    let p = parts(data, 2);
    let Ok(user) = std::str::from_utf8(p[1]) else {
        return;
    };
    if user.len() > 256 || p[0].len() > 6 {
        return;
    }
    let Ok(tmp) = tempdir() else { return };
    let t = tmp.0.clone();
    let r = t.join("root");
    let mk = || -> std::io::Result<()> {
        std::fs::create_dir_all(r.join("d0/d1"))?;
        std::fs::create_dir_all(t.join("root2"))?;
        std::fs::create_dir_all(t.join("outside"))?;
        std::fs::write(r.join("f0"), "in")?;
        std::fs::write(t.join("outside/secret"), "secret")?;
        symlink(r.join("d0"), t.join("outside/back"))?;
        for (i, b) in p[0].iter().enumerate() {
            let target = TARGETS[usize::from(b % 16) % TARGETS.len()];
            let dir = match b / 16 % 3 {
                0 => r.clone(),
                1 => r.join("d0"),
                _ => t.join("root2"),
            };
            let _ = symlink(target, dir.join(format!("l{i}")));
        }
        Ok(())
    };
    if mk().is_err() {
        return;
    }
    let Ok(roots) = Roots::new(vec![r.clone(), t.join("root2")]) else {
        return;
    };
    let inside = |p: &Path| roots.paths().iter().any(|r| p.starts_with(r));
    let user = user.replace("@T", &t.to_string_lossy());
    if let Ok(p) = roots.resolve_existing(&user) {
        assert!(inside(&p), "{user:?} -> {}", p.display());
    }
    if let Ok(p) = roots.resolve_new(&user) {
        assert!(inside(&p), "{user:?} new -> {}", p.display());
        if let Ok(c) = std::fs::canonicalize(&p) {
            assert!(
                inside(&c),
                "{user:?} new -> {} -> {}",
                p.display(),
                c.display()
            );
        }
    }
    if let Ok((p, _f)) = roots.open_read(&user) {
        assert!(inside(&p));
        assert_ne!(std::fs::read(&p).ok().as_deref(), Some(&b"secret"[..]));
    }
}

/// A temp dir removed on drop (no dev-dependency in the library).
#[cfg(feature = "tools")]
struct TempDir(PathBuf);

#[cfg(feature = "tools")]
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(feature = "tools")]
fn tempdir() -> std::io::Result<TempDir> {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name = b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let d = std::env::temp_dir().join(format!("lmcp-fuzz-roots-{name}"));
    std::fs::create_dir(&d)?;
    Ok(TempDir(std::fs::canonicalize(&d)?))
}

/// `edit_file` matching: `original 0xff old 0xff new 0xff flags`. A
/// successful edit of LF text replaces exactly what was asked.
#[cfg(feature = "tools")]
pub fn edit(data: &[u8]) {
    use crate::tools::fs::edit::{apply_edits, Edit};
    let p = parts(data, 4);
    let (Ok(original), Ok(old), Ok(new)) = (
        std::str::from_utf8(p[0]),
        std::str::from_utf8(p[1]),
        std::str::from_utf8(p[2]),
    ) else {
        return;
    };
    let replace_all = p[3].first().is_some_and(|b| b & 1 == 1);
    let e = Edit {
        old_text: old.to_owned(),
        new_text: new.to_owned(),
        replace_all,
        expected_replacements: None,
    };
    let r = apply_edits(original, std::slice::from_ref(&e));
    if original.contains('\r') || old.contains('\r') || new.contains('\r') {
        return;
    }
    match r {
        Ok(out) => {
            assert!(!old.is_empty());
            assert_eq!(out, original.replace(old, new));
            assert!(replace_all || original.matches(old).count() == 1);
        }
        Err(_) => {
            let n = original.matches(old).count();
            assert!(old.is_empty() || n == 0 || (n > 1 && !replace_all));
        }
    }
}

/// Document parsers (feature `docs`): PDF, the ZIP-based office formats and
/// CSV, images; each must answer or fail within its limits.
#[cfg(feature = "docs")]
pub use crate::tools::docs::fuzz::{image as docs_image, office as docs_office, pdf as docs_pdf};
