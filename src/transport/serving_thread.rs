//! Running a runtime on a thread that is replaced after a burst of work, so
//! that the memory the burst took goes back to the system.
//!
//! glibc's malloc keeps a small cache per thread (up to seven freed blocks
//! of each size up to 1 KiB). After a flood of connections, the blocks left
//! in the serving thread's cache are scattered over the heap the flood grew,
//! and glibc can only give back the part of a heap above its highest block
//! in use: a few cached blocks keep megabytes resident. A thread's cache is
//! freed for real when the thread ends. [`block_on_replaceable`] drives a
//! current-thread runtime on a thread of its own and, when told, moves it
//! to a new thread and lets the old one end; the tasks and the future carry
//! on where they were (BENCHMARKS.md, session 20: after four floods of
//! 1,000 connections anonymous memory is back to 0.7 MB instead of 9.8 MB).

use std::future::Future;
use std::sync::Arc;
use tokio::runtime::Runtime;
use tokio::sync::Notify;

/// Stack of the serving thread: the size of a main thread's, which served
/// before (only what is used is resident).
const STACK: usize = 8 * 1024 * 1024;

/// Run `fut` to its end on `rt`, on a thread of its own that is replaced by
/// a fresh one each time `replace` is notified (e.g. by
/// [`crate::transport::http::HttpOptions::burst_ended`]). The calling
/// thread waits meanwhile. If no thread can be started, `fut` runs on the
/// calling thread, and is no longer moved.
pub fn block_on_replaceable<F>(rt: &Runtime, fut: F, replace: &Arc<Notify>) -> F::Output
where
    F: Future + Send,
    F::Output: Send,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        let run = std::thread::scope(|scope| {
            let fut = fut.as_mut();
            let spawned = std::thread::Builder::new()
                .name("lmcp-serve".into())
                .stack_size(STACK)
                .spawn_scoped(scope, move || {
                    rt.block_on(async {
                        tokio::select! {
                            biased;
                            out = fut => Some(out),
                            () = replace.notified() => {
                                // Once more round the runtime first: its
                                // I/O driver frees what closed sockets held
                                // when it next runs, and that should be on
                                // this thread, not the next one.
                                tokio::task::yield_now().await;
                                None
                            }
                        }
                    })
                });
            match spawned {
                Ok(thread) => Some(thread.join()),
                Err(e) => {
                    log::warn!("cannot start a serving thread ({e}); serving on the main thread");
                    None
                }
            }
        });
        match run {
            Some(Ok(Some(out))) => return out,
            Some(Ok(None)) => log::info!(
                "a burst of connections is over: serving thread replaced, which gives back the memory its cache held"
            ),
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => return rt.block_on(fut),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_future_carries_on_across_threads_and_its_tasks_with_it() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let replace = Arc::new(Notify::new());
        let r = replace.clone();
        let out = block_on_replaceable(
            &rt,
            async move {
                let mut threads = vec![std::thread::current().id()];
                let (tx, mut rx) = tokio::sync::mpsc::channel(1);
                let task = tokio::spawn(async move {
                    let mut seen = 0;
                    while rx.recv().await.is_some() {
                        seen += 1;
                    }
                    seen
                });
                for _ in 0..3 {
                    r.notify_one();
                    tokio::task::yield_now().await;
                    tx.send(()).await.unwrap();
                    threads.push(std::thread::current().id());
                }
                drop(tx);
                (threads, task.await.unwrap())
            },
            &replace,
        );
        let (threads, seen) = out;
        assert_eq!(seen, 3);
        let main = std::thread::current().id();
        assert!(threads.iter().all(|t| *t != main));
        // Each notification moved the future to a new thread.
        for w in threads.windows(2) {
            assert_ne!(w[0], w[1]);
        }
    }
}
