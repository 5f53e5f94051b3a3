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
use std::io::{self, Read, Write};
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

/// Splits a byte stream into lines, never holding more than `max` bytes of
/// one line: a longer line is skipped and reported as [`Frame::TooLong`].
#[derive(Debug)]
pub struct Framer {
    pending: Vec<u8>,
    max: usize,
    skipped: usize,
}

impl Framer {
    /// A framer refusing lines longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        Framer {
            pending: Vec::new(),
            max,
            skipped: 0,
        }
    }

    /// Feed a chunk of input; complete lines are appended to `out`.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut Vec<Frame>) {
        while let Some(i) = chunk.iter().position(|&b| b == b'\n') {
            let piece = &chunk[..i];
            let total = self.skipped + self.pending.len() + piece.len();
            if self.skipped > 0 || total > self.max {
                out.push(Frame::TooLong(total));
                self.pending = Vec::new();
                self.skipped = 0;
            } else {
                self.pending.extend_from_slice(piece);
                let mut line = std::mem::take(&mut self.pending);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                out.push(Frame::Line(line));
            }
            chunk = &chunk[i + 1..];
        }
        if self.skipped > 0 {
            self.skipped += chunk.len();
        } else if self.pending.len() + chunk.len() > self.max {
            self.skipped = self.pending.len() + chunk.len();
            self.pending = Vec::new();
        } else {
            self.pending.extend_from_slice(chunk);
        }
    }

    /// End of input: the last line if it had no newline.
    pub fn finish(&mut self) -> Option<Frame> {
        if self.skipped > 0 {
            let n = self.skipped;
            self.skipped = 0;
            return Some(Frame::TooLong(n));
        }
        if self.pending.is_empty() {
            return None;
        }
        let mut line = std::mem::take(&mut self.pending);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(Frame::Line(line))
    }
}

/// What one input line asks of the session.
enum Inbound {
    One(Message),
    Batch(Vec<Value>),
    Fail(Response),
}

/// Decode one frame into what to do with it; `None` for a blank line.
fn decode(frame: Frame, limits: &Limits) -> Option<Inbound> {
    let line = match frame {
        Frame::Line(l) => l,
        Frame::TooLong(n) => {
            return Some(Inbound::Fail(Response::err(
                None,
                ErrorObject::invalid_request(format!(
                    "Message of {n} bytes exceeds the limit of {} bytes",
                    limits.max_message_bytes
                )),
            )))
        }
    };
    let start = line.iter().position(|b| !b.is_ascii_whitespace())?;
    if line[start] == b'[' {
        if nesting_exceeds(&line, limits.max_depth) {
            let e = ErrorObject::invalid_request(format!(
                "Message nests deeper than the limit of {} levels",
                limits.max_depth
            ));
            return Some(Inbound::Fail(Response::err(None, e)));
        }
        return Some(match serde_json::from_slice::<Value>(&line) {
            Ok(Value::Array(items)) => Inbound::Batch(items),
            Ok(_) | Err(_) => Inbound::Fail(Response::err(
                None,
                ErrorObject::new(
                    crate::jsonrpc::code::PARSE_ERROR,
                    "Parse error: invalid JSON array",
                ),
            )),
        });
    }
    Some(match Message::parse(&line, limits) {
        Ok(m) => Inbound::One(m),
        Err(f) => Inbound::Fail(f.into_response()),
    })
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

/// Serve `session` over a blocking reader and writer (each driven by a thread
/// of its own) until the input ends, `stop` is cancelled, or the output
/// closes. In-flight requests get `opts.shutdown_grace` to finish, then are
/// cancelled.
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
        .spawn(move || read_thread(input, limits, in_tx))
        .expect("spawning the stdin thread");
    let (out, out_rx) = Outbound::channel(opts.queue);
    let closed = CancellationToken::new();
    let writer = spawn_writer(output, out_rx, closed.clone());
    session.set_legacy_outbound(out.clone());
    session.set_one_channel();
    loop {
        tokio::select! {
            item = in_rx.recv() => match item {
                Some(item) => handle(&session, item, &out).await,
                None => break,
            },
            _ = stop.cancelled() => break,
            _ = closed.cancelled() => break,
        }
    }
    drop(in_rx);
    wind_down(&session, out, &opts, closed.is_cancelled()).await;
    let _ = tokio::task::spawn_blocking(move || writer.join()).await;
}

fn read_thread<R: Read>(mut input: R, limits: Limits, tx: mpsc::Sender<Inbound>) {
    let mut framer = Framer::new(limits.max_message_bytes);
    let mut buf = vec![0u8; 64 * 1024];
    let mut frames = Vec::new();
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::warn!("stdin read failed: {e}");
                break;
            }
        };
        framer.feed(&buf[..n], &mut frames);
        for f in frames.drain(..) {
            if let Some(item) = decode(f, &limits) {
                if tx.blocking_send(item).is_err() {
                    return;
                }
            }
        }
    }
    if let Some(item) = framer.finish().and_then(|f| decode(f, &limits)) {
        let _ = tx.blocking_send(item);
    }
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
        match nonblocking::StdPipes::open() {
            Some(pipes) => nonblocking::serve(session, pipes, opts, stop.clone()).await,
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

mod nonblocking {
    //! The single-thread driver over non-blocking stdin/stdout pipes.

    use super::*;
    use rustix::fs::{fcntl_getfl, fcntl_setfl, fstat, FileType, OFlags};
    use std::os::fd::{AsFd, OwnedFd};
    use tokio::net::unix::pipe;
    use tokio::net::UnixStream;

    /// The read half: a pipe or a socket (Node-based clients hand their
    /// children socket pairs).
    enum In {
        Pipe(pipe::Receiver),
        Sock(UnixStream),
    }

    /// The write half.
    enum Out {
        Pipe(pipe::Sender),
        Sock(UnixStream),
    }

    /// Duplicated stdin/stdout descriptors driven non-blocking; the original
    /// file status flags are restored on drop.
    pub(super) struct StdPipes {
        input: In,
        output: Out,
        saved: Vec<(OwnedFd, OFlags)>,
    }

    fn kind(fd: &OwnedFd) -> Option<FileType> {
        let st = fstat(fd).ok()?;
        Some(FileType::from_raw_mode(st.st_mode))
    }

    fn socket(fd: OwnedFd) -> Option<UnixStream> {
        let std = std::os::unix::net::UnixStream::from(fd);
        std.set_nonblocking(true).ok()?;
        UnixStream::from_std(std).ok()
    }

    impl StdPipes {
        pub(super) fn open() -> Option<StdPipes> {
            let i = io::stdin().as_fd().try_clone_to_owned().ok()?;
            let o = io::stdout().as_fd().try_clone_to_owned().ok()?;
            let (ki, ko) = (kind(&i)?, kind(&o)?);
            let usable = |k: FileType| matches!(k, FileType::Fifo | FileType::Socket);
            if !usable(ki) || !usable(ko) {
                return None;
            }
            let mut saved = Vec::new();
            for fd in [&i, &o] {
                saved.push((fd.try_clone().ok()?, fcntl_getfl(fd).ok()?));
            }
            let restore = |saved: &Vec<(OwnedFd, OFlags)>| {
                for (fd, flags) in saved {
                    let _ = fcntl_setfl(fd, *flags);
                }
            };
            let input = match ki {
                FileType::Fifo => pipe::Receiver::from_owned_fd(i).ok().map(In::Pipe),
                _ => socket(i).map(In::Sock),
            };
            let output = match ko {
                FileType::Fifo => pipe::Sender::from_owned_fd(o).ok().map(Out::Pipe),
                _ => socket(o).map(Out::Sock),
            };
            match (input, output) {
                (Some(input), Some(output)) => Some(StdPipes {
                    input,
                    output,
                    saved,
                }),
                _ => {
                    restore(&saved);
                    None
                }
            }
        }
    }

    impl Drop for StdPipes {
        fn drop(&mut self) {
            for (fd, flags) in &self.saved {
                let _ = fcntl_setfl(fd, *flags);
            }
        }
    }

    async fn read_some(input: &In, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let r = match input {
                In::Pipe(p) => {
                    p.readable().await?;
                    p.try_read(buf)
                }
                In::Sock(s) => {
                    s.readable().await?;
                    s.try_read(buf)
                }
            };
            match r {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                r => return r,
            }
        }
    }

    async fn write_all(output: &Out, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let r = match output {
                Out::Pipe(p) => {
                    p.writable().await?;
                    p.try_write(data)
                }
                Out::Sock(s) => {
                    s.writable().await?;
                    s.try_write(data)
                }
            };
            match r {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub(super) async fn serve(
        session: Arc<Session>,
        pipes: StdPipes,
        opts: StdioOptions,
        stop: CancellationToken,
    ) {
        let limits = session.server().config().limits;
        let (out, mut out_rx) = Outbound::channel(opts.queue);
        let closed = CancellationToken::new();
        session.set_legacy_outbound(out.clone());
        session.set_one_channel();
        let pipes = Arc::new(pipes);
        let writer = {
            let pipes = pipes.clone();
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
                    if let Err(e) = write_all(&pipes.output, &buf).await {
                        if e.kind() != io::ErrorKind::BrokenPipe {
                            log::warn!("stdout write failed: {e}");
                        }
                        closed.cancel();
                        return;
                    }
                    buf.clear();
                    if buf.capacity() > 1024 * 1024 {
                        buf = Vec::with_capacity(64 * 1024);
                    }
                }
            })
        };
        let mut framer = Framer::new(limits.max_message_bytes);
        let mut buf = vec![0u8; 64 * 1024];
        let mut frames = Vec::new();
        'read: loop {
            let n = tokio::select! {
                r = read_some(&pipes.input, &mut buf) => match r {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        log::warn!("stdin read failed: {e}");
                        break;
                    }
                },
                _ = stop.cancelled() => break,
                _ = closed.cancelled() => break,
            };
            framer.feed(&buf[..n], &mut frames);
            for f in frames.drain(..) {
                if let Some(item) = decode(f, &limits) {
                    handle(&session, item, &out).await;
                }
                if stop.is_cancelled() || closed.is_cancelled() {
                    break 'read;
                }
            }
        }
        if !stop.is_cancelled() {
            if let Some(item) = framer.finish().and_then(|f| decode(f, &limits)) {
                handle(&session, item, &out).await;
            }
        }
        wind_down(&session, out, &opts, closed.is_cancelled()).await;
        let _ = writer.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], max: usize) -> Vec<String> {
        let mut fr = Framer::new(max);
        let mut frames = Vec::new();
        for chunk in input.chunks(7) {
            fr.feed(chunk, &mut frames);
        }
        frames.extend(fr.finish());
        let mut out = Vec::new();
        for f in frames {
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
