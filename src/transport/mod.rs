//! Transports: they move bytes between a client and a [`crate::server::Session`].
//!
//! - [`stdio`]: newline-delimited JSON-RPC over the process's stdin/stdout.
//! - [`http`]: Streamable HTTP, both protocol eras on one endpoint.
//!
//! [`block_on_replaceable`] runs a server on a thread that is replaced after
//! a burst of connections, so that the burst's memory goes back to the system.

pub mod http;
mod serving_thread;
pub mod stdio;

pub use serving_thread::block_on_replaceable;

use tokio_util::sync::CancellationToken;

/// Cancel `stop` on SIGINT or SIGTERM. Returns the watcher task.
///
/// A helper for binaries (the `lmcp` binary and the examples call it in
/// `main`); [`stdio::serve_stdio`] installs no handlers of its own.
pub fn shutdown_signal(stop: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                log::warn!("cannot install signal handlers; stop with EOF on stdin");
                return;
            };
            tokio::select! {
                _ = term.recv() => log::info!("SIGTERM: shutting down"),
                _ = int.recv() => log::info!("SIGINT: shutting down"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        stop.cancel();
    })
}
