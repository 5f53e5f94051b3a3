//! A minimal logger for the `log` facade that writes to stderr (stdout
//! belongs to the stdio protocol), and never blocks the caller.
//!
//! Some clients pipe a server's stderr and never read it. Once that pipe is
//! full a plain write blocks, and a server whose only runtime thread blocks
//! in a log line stops answering (and stops acting on SIGTERM). So log lines
//! go into a bounded queue that a writer thread (started with the first
//! line, so an idle server runs none) drains into stderr. When the queue is
//! full the line is dropped and counted; the writer reports the count once
//! stderr takes lines again.

use log::{LevelFilter, Log, Metadata, Record};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Lines that may wait for stderr before new ones are dropped.
const QUEUE: usize = 512;

/// The queue into the writer thread, and how many lines wait in it.
struct Writer {
    tx: SyncSender<String>,
    waiting: Mutex<usize>,
    drained: Condvar,
}

struct StderrLogger {
    writer: OnceLock<Option<Writer>>,
    dropped: AtomicU64,
}

impl StderrLogger {
    fn writer(&'static self) -> Option<&'static Writer> {
        self.writer
            .get_or_init(|| {
                let (tx, rx) = sync_channel(QUEUE);
                let spawned = std::thread::Builder::new()
                    .name("lmcp-log".into())
                    .stack_size(64 * 1024)
                    .spawn(move || self.drain(rx));
                spawned.ok().map(|_| Writer {
                    tx,
                    waiting: Mutex::new(0),
                    drained: Condvar::new(),
                })
            })
            .as_ref()
    }

    /// The writer thread: write each line, then report lines dropped meanwhile.
    fn drain(&'static self, rx: Receiver<String>) {
        let mut err = std::io::stderr();
        while let Ok(line) = rx.recv() {
            let _ = err.write_all(line.as_bytes());
            let dropped = self.dropped.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                let _ = writeln!(
                    err,
                    "lmcp WARN  {dropped} log line(s) dropped: stderr was not being read"
                );
            }
            if let Some(w) = self.writer.get().and_then(Option::as_ref) {
                let mut n = w.waiting.lock().unwrap_or_else(|e| e.into_inner());
                *n = n.saturating_sub(1);
                if *n == 0 {
                    w.drained.notify_all();
                }
            }
        }
    }

    /// Queue one line; drop and count it when the queue is full.
    fn emit(&'static self, line: String) {
        let Some(w) = self.writer() else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let mut n = w.waiting.lock().unwrap_or_else(|e| e.into_inner());
        match w.tx.try_send(line) {
            Ok(()) => *n += 1,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Wait up to `timeout` for queued lines to reach stderr.
    fn wait_drained(&self, timeout: Duration) {
        let Some(w) = self.writer.get().and_then(Option::as_ref) else {
            return;
        };
        let deadline = Instant::now() + timeout;
        let mut n = w.waiting.lock().unwrap_or_else(|e| e.into_inner());
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            n = match w.drained.wait_timeout(n, left) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

impl Log for StderrLogger {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }
    fn log(&self, r: &Record<'_>) {
        if self.enabled(r.metadata()) {
            LOGGER.emit(format!("lmcp {:<5} {}\n", r.level(), r.args()));
        }
    }
    fn flush(&self) {
        self.wait_drained(Duration::from_millis(200));
    }
}

static LOGGER: StderrLogger = StderrLogger {
    writer: OnceLock::new(),
    dropped: AtomicU64::new(0),
};

/// Install the stderr logger at `level` (`off`, `error`, `warn`, `info`,
/// `debug`, `trace`). Later calls only change the level.
pub fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}

/// Give queued log lines a moment to reach stderr (call before exiting);
/// returns at once when stderr is not being read.
pub fn flush() {
    LOGGER.flush();
}

/// How many log lines were dropped because stderr was full and not yet
/// reported there.
pub fn dropped() -> u64 {
    LOGGER.dropped.load(Ordering::Relaxed)
}
