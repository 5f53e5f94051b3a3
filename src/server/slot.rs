//! In-flight slots: the permits that bound how many requests of a session
//! run at once, held so that dropping a future can never leak one.
//!
//! A running request owns a [`Slot`]. While its handler waits for the client
//! (elicitation, sampling, roots in the legacy era), the slot is released so
//! the reader can admit the request that carries the client's answer, and
//! taken again before the handler goes on. The permit itself is what is
//! released and re-acquired (never `add_permits`/`forget` bookkeeping), so a
//! cancelled, timed-out or dropped wait leaves the semaphore exactly as it
//! found it.

use crate::sync::MutexExt;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One request's claim on a session's in-flight semaphore.
#[derive(Debug)]
pub(crate) struct Slot {
    semaphore: Arc<Semaphore>,
    permit: Mutex<Option<OwnedSemaphorePermit>>,
}

impl Slot {
    /// Wait for a free slot; `None` if the semaphore was closed.
    pub(crate) async fn acquire(semaphore: &Arc<Semaphore>) -> Option<Arc<Slot>> {
        let permit = semaphore.clone().acquire_owned().await.ok()?;
        Some(Arc::new(Slot {
            semaphore: semaphore.clone(),
            permit: Mutex::new(Some(permit)),
        }))
    }

    /// Give the slot back while waiting for something outside the session;
    /// the returned guard takes it again with [`Lent::restore`]. Dropping
    /// the guard instead leaves the slot released (nothing leaks).
    pub(crate) fn lend(&self) -> Lent<'_> {
        drop(self.lock().take());
        Lent { slot: self }
    }

    /// Whether the slot currently holds its permit.
    #[cfg(test)]
    pub(crate) fn is_held(&self) -> bool {
        self.lock().is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<OwnedSemaphorePermit>> {
        self.permit.lock_unpoisoned()
    }
}

/// A slot released by [`Slot::lend`].
#[must_use = "a lent slot is taken back with restore()"]
pub(crate) struct Lent<'a> {
    slot: &'a Slot,
}

impl Lent<'_> {
    /// Wait for a free slot again and hold it.
    pub(crate) async fn restore(self) {
        if let Ok(p) = self.slot.semaphore.clone().acquire_owned().await {
            *self.slot.lock() = Some(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dropped_lend_or_restore_leaks_nothing() {
        let sem = Arc::new(Semaphore::new(1));
        let slot = Slot::acquire(&sem).await.unwrap();
        assert_eq!(sem.available_permits(), 0);
        drop(slot.lend());
        assert_eq!(sem.available_permits(), 1);
        assert!(!slot.is_held());
        // Restoring while another request holds the only slot: dropped mid-wait.
        let other = Slot::acquire(&sem).await.unwrap();
        let lent = slot.lend();
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(20), lent.restore());
        assert!(waiting.await.is_err());
        drop(other);
        drop(slot);
        assert_eq!(sem.available_permits(), 1);
    }
}
