//! The fallback byte source and sink: a blocking reader and writer (a
//! terminal, a file, or the in-memory pipes tests use), each on a thread of
//! its own, exchanging whole chunks with the runtime over bounded channels.

use std::io::{self, Read, Write};
use std::thread::JoinHandle;
use tokio::sync::mpsc;

/// Chunks read ahead of the session at most (64 KiB each).
const READ_AHEAD: usize = 4;

/// The receiving end of a reader thread.
pub(super) struct ThreadReader {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
}

impl ThreadReader {
    /// Read `input` on a new thread until its end or an error.
    pub(super) fn spawn<R: Read + Send + 'static>(mut input: R) -> ThreadReader {
        let (tx, rx) = mpsc::channel(READ_AHEAD);
        std::thread::Builder::new()
            .name("lmcp-stdin".into())
            .spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let chunk = match input.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => Ok(buf[..n].to_vec()),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => Err(e),
                    };
                    let failed = chunk.is_err();
                    if tx.blocking_send(chunk).is_err() || failed {
                        return;
                    }
                }
            })
            .expect("spawning the stdin thread");
        ThreadReader { rx }
    }

    /// The next chunk; an empty one at end of input.
    pub(super) async fn next(&mut self) -> io::Result<Vec<u8>> {
        self.rx.recv().await.unwrap_or(Ok(Vec::new()))
    }
}

/// The sending end of a writer thread.
pub(super) struct ThreadWriter {
    tx: mpsc::Sender<Vec<u8>>,
    thread: JoinHandle<()>,
}

impl ThreadWriter {
    /// Write to `output` on a new thread, flushing after each chunk.
    pub(super) fn spawn<W: Write + Send + 'static>(mut output: W) -> ThreadWriter {
        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(1);
        let thread = std::thread::Builder::new()
            .name("lmcp-stdout".into())
            .spawn(move || {
                while let Some(chunk) = rx.blocking_recv() {
                    if let Err(e) = output.write_all(&chunk).and_then(|()| output.flush()) {
                        if e.kind() != io::ErrorKind::BrokenPipe {
                            log::warn!("stdout write failed: {e}");
                        }
                        return;
                    }
                }
            })
            .expect("spawning the stdout thread");
        ThreadWriter { tx, thread }
    }

    /// Hand `chunk` to the thread (waiting while it writes the previous
    /// one). A thread that stopped on a write error (already logged) shows
    /// as `BrokenPipe`.
    pub(super) async fn write(&self, chunk: Vec<u8>) -> io::Result<()> {
        self.tx
            .send(chunk)
            .await
            .map_err(|_| io::ErrorKind::BrokenPipe.into())
    }

    /// Close the output and wait until the thread has written everything.
    pub(super) async fn finish(self) {
        drop(self.tx);
        let thread = self.thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}
