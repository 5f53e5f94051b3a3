//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout.
//!
//! stdin is read on a dedicated thread with plain blocking reads, and stdout
//! written on another that batches queued messages and flushes when the queue
//! drains (tokio's own stdio goes through the blocking pool for every call,
//! which measured several times slower). Requests run concurrently on the
//! runtime; responses may come out of order, each written whole.
//!
//! [`serve`] runs over any blocking reader/writer pair, which is how the tests
//! drive it in memory; [`serve_stdio`] binds it to the process's streams.

use crate::jsonrpc::{nesting_exceeds, ErrorObject, Limits, Message, Response};
use crate::server::{Outbound, Server, Session};
use serde_json::Value;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Options of the stdio transport.
#[derive(Debug, Clone)]
pub struct StdioOptions {
    /// How long in-flight requests may finish after stdin closes or a signal arrives.
    pub shutdown_grace: Duration,
    /// Capacity of the outgoing message queue.
    pub queue: usize,
}

impl Default for StdioOptions {
    fn default() -> Self {
        StdioOptions {
            shutdown_grace: Duration::from_secs(10),
            queue: 1024,
        }
    }
}

/// One unit read from the input.
#[derive(Debug)]
pub enum Frame {
    /// A complete line (without its newline or a trailing `\r`).
    Line(Vec<u8>),
    /// A line longer than the limit; its bytes were discarded.
    TooLong(usize),
}

/// Splits a byte stream into lines, never holding more than `max` bytes of one.
pub struct LineReader<R> {
    inner: BufReader<R>,
    max: usize,
}

impl<R: Read> LineReader<R> {
    /// A reader that refuses lines longer than `max` bytes.
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner: BufReader::with_capacity(64 * 1024, inner),
            max,
        }
    }

    /// The next line, or `None` at end of input. A final line without a
    /// newline is still returned.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        let mut line = Vec::new();
        let mut total = 0usize;
        loop {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                if total == 0 {
                    return Ok(None);
                }
                break;
            }
            let (chunk, done) = match memchr(buf) {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            total += chunk.len();
            if total <= self.max {
                line.extend_from_slice(chunk);
            } else if !line.is_empty() {
                line = Vec::new();
            }
            let consumed = done.unwrap_or(buf.len());
            self.inner.consume(consumed);
            if done.is_some() {
                break;
            }
        }
        if total > self.max {
            return Ok(Some(Frame::TooLong(total)));
        }
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Ok(Some(Frame::Line(line)))
    }
}

fn memchr(buf: &[u8]) -> Option<usize> {
    buf.iter().position(|&b| b == b'\n')
}

/// What the reader thread hands to the runtime.
enum Inbound {
    One(Message),
    Batch(Vec<Value>),
    Fail(Response),
}

/// Decode one line into what to do with it; `None` for a blank line.
fn decode(line: &[u8], limits: &Limits) -> Option<Inbound> {
    let trimmed = line.iter().position(|b| !b.is_ascii_whitespace());
    let first = line[trimmed?..].first().copied();
    if first == Some(b'[') {
        if nesting_exceeds(line, limits.max_depth) {
            let e = ErrorObject::invalid_request(format!(
                "Message nests deeper than the limit of {} levels",
                limits.max_depth
            ));
            return Some(Inbound::Fail(Response::err(None, e)));
        }
        return Some(match serde_json::from_slice::<Value>(line) {
            Ok(Value::Array(items)) => Inbound::Batch(items),
            Ok(_) => unreachable_batch(),
            Err(e) => Inbound::Fail(Response::err(
                None,
                ErrorObject::new(
                    crate::jsonrpc::code::PARSE_ERROR,
                    format!("Parse error: {e}"),
                ),
            )),
        });
    }
    Some(match Message::parse(line, limits) {
        Ok(m) => Inbound::One(m),
        Err(f) => Inbound::Fail(f.into_response()),
    })
}

fn unreachable_batch() -> Inbound {
    Inbound::Fail(Response::err(
        None,
        ErrorObject::invalid_request("Invalid request"),
    ))
}

/// Serve `session` over a blocking reader and writer until the input ends,
/// `stop` is cancelled, or the output closes. In-flight requests get
/// `opts.shutdown_grace` to finish, then are cancelled.
pub async fn serve<R, W>(
    session: Arc<Session>,
    input: R,
    output: W,
    opts: StdioOptions,
    stop: CancellationToken,
) where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    let limits = session.server().config().limits;
    let (in_tx, mut in_rx) = mpsc::channel::<Inbound>(64);
    std::thread::Builder::new()
        .name("lmcp-stdin".into())
        .spawn(move || {
            let mut reader = LineReader::new(input, limits.max_message_bytes);
            loop {
                let item = match reader.next_frame() {
                    Ok(None) => break,
                    Err(e) => {
                        log::warn!("stdin read failed: {e}");
                        break;
                    }
                    Ok(Some(Frame::TooLong(n))) => Some(Inbound::Fail(Response::err(
                        None,
                        ErrorObject::invalid_request(format!(
                            "Message of {n} bytes exceeds the limit of {} bytes",
                            limits.max_message_bytes
                        )),
                    ))),
                    Ok(Some(Frame::Line(line))) => decode(&line, &limits),
                };
                if let Some(item) = item {
                    if in_tx.blocking_send(item).is_err() {
                        break;
                    }
                }
            }
        })
        .expect("spawning the stdin thread");

    let (out, out_rx) = Outbound::channel(opts.queue);
    let closed = CancellationToken::new();
    let writer = spawn_writer(output, out_rx, closed.clone());
    session.set_legacy_outbound(out.clone());

    loop {
        tokio::select! {
            item = in_rx.recv() => match item {
                Some(Inbound::One(m)) => session.receive(m, &out).await,
                Some(Inbound::Fail(r)) => {
                    out.send_response(&r).await;
                }
                Some(Inbound::Batch(items)) => {
                    let s = session.clone();
                    let o = out.clone();
                    tokio::spawn(async move {
                        let responses = s.call_batch(items, &o).await;
                        if !responses.is_empty() {
                            let arr: Vec<Value> = responses.iter().map(|r| Message::Response(r.clone()).to_value()).collect();
                            o.send_line(Value::Array(arr).to_string()).await;
                        }
                    });
                }
                None => break,
            },
            _ = stop.cancelled() => break,
            _ = closed.cancelled() => break,
        }
    }
    drop(in_rx);
    if !closed.is_cancelled() && !session.drain(opts.shutdown_grace).await {
        log::warn!(
            "{} request(s) still running after the shutdown grace period; cancelling",
            session.in_flight()
        );
    }
    session.shutdown();
    session.drain(Duration::from_secs(2)).await;
    drop(out);
    session.set_legacy_outbound(Outbound::discard());
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
}

fn spawn_writer<W: Write + Send + 'static>(
    output: W,
    mut rx: mpsc::Receiver<String>,
    closed: CancellationToken,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("lmcp-stdout".into())
        .spawn(move || {
            let mut w = io::BufWriter::with_capacity(64 * 1024, output);
            let result = (|| -> io::Result<()> {
                while let Some(line) = rx.blocking_recv() {
                    w.write_all(line.as_bytes())?;
                    w.write_all(b"\n")?;
                    while let Ok(line) = rx.try_recv() {
                        w.write_all(line.as_bytes())?;
                        w.write_all(b"\n")?;
                    }
                    w.flush()?;
                }
                w.flush()
            })();
            if let Err(e) = result {
                if e.kind() != io::ErrorKind::BrokenPipe {
                    log::warn!("stdout write failed: {e}");
                }
                closed.cancel();
            }
        })
        .expect("spawning the stdout thread")
}

/// Serve `server` on the process's stdin and stdout until stdin closes or
/// SIGINT/SIGTERM arrives.
pub async fn serve_stdio(server: Arc<Server>, opts: StdioOptions) {
    let stop = CancellationToken::new();
    let signals = crate::transport::shutdown_signal(stop.clone());
    let session = server.session();
    serve(session, io::stdin(), io::stdout(), opts, stop).await;
    signals.abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], max: usize) -> Vec<String> {
        let mut r = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            out.push(match f {
                Frame::Line(l) => String::from_utf8_lossy(&l).into_owned(),
                Frame::TooLong(n) => format!("<too long {n}>"),
            });
        }
        out
    }

    #[test]
    fn splits_lines_and_caps_length() {
        assert_eq!(frames(b"a\nbb\r\n\nccc", 10), ["a", "bb", "", "ccc"]);
        let long = format!("{}\nok\n", "x".repeat(100));
        assert_eq!(frames(long.as_bytes(), 10), ["<too long 100>", "ok"]);
    }

    #[test]
    fn huge_line_is_discarded_without_buffering() {
        let long = format!("{}\n{{}}\n", "y".repeat(5_000_000));
        assert_eq!(frames(long.as_bytes(), 1024), ["<too long 5000000>", "{}"]);
    }
}
