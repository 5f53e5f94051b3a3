//! The stdio transport: newline-delimited JSON-RPC on stdin/stdout.
//!
//! One loop (`drive`) serves every stdio session. It reads chunks from a
//! byte source, splits them into lines ([`Framer`]), hands each to the
//! session, and a writer task batches the queued answers and writes them
//! when the queue drains. Requests run concurrently on the runtime;
//! responses may come out of order, each written whole.
//!
//! The source and sink differ by what stdin and stdout are:
//! - pipes or sockets (a client launched us: the normal case) are driven
//!   non-blocking from the runtime thread itself (`pipes`), so a request
//!   and its response never cross a thread;
//! - anything else (a terminal, a file, the in-memory pipes of the tests
//!   through [`serve`]) is read and written by a blocking thread each
//!   (`thread`), exchanging whole chunks with the loop.
//!
//! tokio's own stdio goes through the blocking pool for every call, which
//! measured several times slower than either.

mod framing;
mod pipes;
mod thread;

pub use framing::{Frame, Framer};

use crate::jsonrpc::Message;
use crate::server::{Outbound, Session};
use crate::Server;
use framing::{decode, Inbound};
use pipes::StdPipes;
use serde_json::Value;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::Duration;
use thread::{ThreadReader, ThreadWriter};
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

/// Where the loop's input bytes come from.
enum Source {
    /// Non-blocking stdin, read into the buffer.
    Ready(Arc<StdPipes>, Vec<u8>),
    /// A reader thread; the buffer holds its last chunk.
    Thread(ThreadReader, Vec<u8>),
}

impl Source {
    /// The next chunk of input; empty at its end.
    async fn next(&mut self) -> io::Result<&[u8]> {
        match self {
            Source::Ready(pipes, buf) => {
                let n = pipes.read(buf).await?;
                Ok(&buf[..n])
            }
            Source::Thread(reader, chunk) => {
                *chunk = reader.next().await?;
                Ok(chunk)
            }
        }
    }
}

/// Where the writer task's batches go.
enum Sink {
    /// Non-blocking stdout, written from the writer task.
    Ready(Arc<StdPipes>),
    /// A writer thread.
    Thread(ThreadWriter),
}

impl Sink {
    /// Write the batch in `buf` and leave `buf` empty for the next one.
    async fn write(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        match self {
            Sink::Ready(pipes) => {
                pipes.write_all(buf).await?;
                buf.clear();
                if buf.capacity() > 1024 * 1024 {
                    *buf = Vec::with_capacity(64 * 1024);
                }
                Ok(())
            }
            Sink::Thread(writer) => {
                let batch = std::mem::replace(buf, Vec::with_capacity(64 * 1024));
                writer.write(batch).await
            }
        }
    }

    /// Everything written: close the output.
    async fn finish(self) {
        if let Sink::Thread(writer) = self {
            writer.finish().await;
        }
    }
}

/// Act on one decoded line.
async fn handle(session: &Arc<Session>, item: Inbound, out: &Outbound) {
    match item {
        Inbound::One(m) => session.receive(m, out).await,
        Inbound::Fail(r) => {
            out.send_response(&r).await;
        }
        Inbound::Batch(items) => match session.start_batch(items, out).await {
            Err(rejected) => {
                out.send_response(&rejected).await;
            }
            Ok(run) => {
                let out = out.clone();
                tokio::spawn(async move {
                    let responses = run.responses().await;
                    if !responses.is_empty() {
                        let arr: Vec<Value> = responses
                            .into_iter()
                            .map(|r| Message::Response(r).to_value())
                            .collect();
                        out.send_line(Value::Array(arr).to_string()).await;
                    }
                });
            }
        },
    }
}

/// Let in-flight requests finish (up to the grace period), cancel the rest,
/// and close the output.
async fn wind_down(
    session: &Arc<Session>,
    out: Outbound,
    opts: &StdioOptions,
    output_closed: bool,
) {
    session.end_subscriptions();
    if !output_closed && !session.drain(opts.shutdown_grace).await {
        log::warn!(
            "{} request(s) still running after the shutdown grace period; cancelling",
            session.in_flight()
        );
    }
    session.shutdown();
    session.drain(Duration::from_secs(2)).await;
    drop(out);
    session.set_legacy_outbound(Outbound::discard());
}

/// The one stdio loop: serve `session` from `source` to `sink` until the
/// input ends, `stop` is cancelled or the output closes; in-flight requests
/// then get `opts.shutdown_grace` to finish before they are cancelled.
async fn drive(
    session: Arc<Session>,
    mut source: Source,
    mut sink: Sink,
    opts: StdioOptions,
    stop: CancellationToken,
) {
    let limits = session.server().config().limits;
    let (out, mut out_rx) = Outbound::channel(opts.queue);
    let closed = CancellationToken::new();
    session.set_legacy_outbound(out.clone());
    session.set_one_channel();
    let writer = {
        let closed = closed.clone();
        tokio::spawn(async move {
            let mut buf = Vec::with_capacity(64 * 1024);
            while let Some(line) = out_rx.recv().await {
                buf.extend_from_slice(line.as_bytes());
                buf.push(b'\n');
                while buf.len() < 256 * 1024 {
                    match out_rx.try_recv() {
                        Ok(line) => {
                            buf.extend_from_slice(line.as_bytes());
                            buf.push(b'\n');
                        }
                        Err(_) => break,
                    }
                }
                if let Err(e) = sink.write(&mut buf).await {
                    if e.kind() != io::ErrorKind::BrokenPipe {
                        log::warn!("stdout write failed: {e}");
                    }
                    closed.cancel();
                    break;
                }
            }
            sink.finish().await;
        })
    };
    let mut framer = Framer::new(limits.max_message_bytes);
    let mut frames = Vec::new();
    'read: loop {
        let chunk = tokio::select! {
            r = source.next() => match r {
                Ok([]) => break,
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn!("stdin read failed: {e}");
                    break;
                }
            },
            _ = stop.cancelled() => break,
            _ = closed.cancelled() => break,
        };
        framer.feed(chunk, &mut frames);
        for f in frames.drain(..) {
            if let Some(item) = decode(f, &limits) {
                handle(&session, item, &out).await;
            }
            if stop.is_cancelled() || closed.is_cancelled() {
                break 'read;
            }
        }
    }
    drop(source);
    if !stop.is_cancelled() && !closed.is_cancelled() {
        if let Some(item) = framer.finish().and_then(|f| decode(f, &limits)) {
            handle(&session, item, &out).await;
        }
    }
    wind_down(&session, out, &opts, closed.is_cancelled()).await;
    let _ = writer.await;
}

/// Serve `session` over a blocking reader and writer (each driven by a thread
/// of its own) until the input ends, `stop` is cancelled, or the output
/// closes. In-flight requests get `opts.shutdown_grace` to finish, then are
/// cancelled. The loop is the one [`serve_stdio`] runs on pipes.
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
    let source = Source::Thread(ThreadReader::spawn(input), Vec::new());
    let sink = Sink::Thread(ThreadWriter::spawn(output));
    drive(session, source, sink, opts, stop).await;
}

/// Serve `server` on the process's stdin and stdout until stdin closes or
/// `shutdown` completes (in-flight requests then get the grace period).
///
/// The library installs no signal handlers: the caller decides what ends
/// the server (the `lmcp` binary passes a future that completes on SIGINT
/// or SIGTERM; an embedder may pass its own, or `std::future::pending()`).
///
/// When stdin and stdout are pipes or sockets (the normal case: a client
/// launched us), both are driven non-blocking from the runtime thread itself,
/// so a request and its response never cross a thread. Otherwise (a terminal,
/// a file) a reader and a writer thread are used.
pub async fn serve_stdio<F>(server: Arc<Server>, opts: StdioOptions, shutdown: F)
where
    F: std::future::Future<Output = ()>,
{
    let stop = CancellationToken::new();
    let session = server.session();
    let run = async {
        match StdPipes::open() {
            Some(pipes) => serve_pipes(session, pipes, opts, stop.clone()).await,
            None => serve(session, io::stdin(), io::stdout(), opts, stop.clone()).await,
        }
    };
    let mut run = std::pin::pin!(run);
    tokio::select! {
        _ = &mut run => return,
        _ = shutdown => stop.cancel(),
    }
    run.await;
}

/// The loop over non-blocking pipes or sockets.
async fn serve_pipes(
    session: Arc<Session>,
    pipes: StdPipes,
    opts: StdioOptions,
    stop: CancellationToken,
) {
    let pipes = Arc::new(pipes);
    let source = Source::Ready(pipes.clone(), vec![0u8; 64 * 1024]);
    drive(session, source, Sink::Ready(pipes), opts, stop).await;
}

#[cfg(test)]
mod tests;
