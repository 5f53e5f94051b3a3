//! Telling when a burst of connections is over: the open connections rose
//! by [`BURST`] or more, are back to their number before it, and no
//! connection has opened for [`QUIET`] since. Every connection task counts,
//! whether it got a slot or is being refused (a refusal lingers up to
//! 200 ms), so that the burst is over only when all of its connections have
//! freed what they held (see `HttpOptions::burst_ended`, and
//! `crate::transport::block_on_replaceable`, which answers it).

use crate::sync::MutexExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// A burst is this many connections above the level before it (about
/// 20 KB each while served): half of the smallest `--max-connections`
/// worth the trouble, so that a flood that fills 64 slots is one.
const BURST: usize = 32;
/// The level a burst comes back down to is the fewest connections open,
/// raised to the count of the moment when no burst has been under way for
/// this long: connections that stay open (a client's GET stream) become
/// part of the level, while a flood rises within it.
const SETTLE: Duration = Duration::from_secs(10);
/// A burst is over only once no connection has opened for this long after
/// the count came back down: a flood that arrives in waves can touch its
/// level between two of them.
const QUIET: Duration = Duration::from_secs(1);

/// The connection tasks of one listener, counted for the end of a burst.
pub(super) struct Bursts {
    level: Mutex<Level>,
    /// Notified each time the count comes back down to its level.
    back_down: Notify,
}

/// Held by a connection task: counted open until dropped.
pub(super) struct Open(Arc<Bursts>);

impl Bursts {
    pub(super) fn new() -> Arc<Bursts> {
        Arc::new(Bursts {
            level: Mutex::new(Level::default()),
            back_down: Notify::new(),
        })
    }

    /// A connection task starts.
    pub(super) fn open(self: &Arc<Self>) -> Open {
        self.level.lock_unpoisoned().opened(Instant::now());
        Open(self.clone())
    }

    /// Connections opened so far.
    fn opens(&self) -> u64 {
        self.level.lock_unpoisoned().opens
    }

    /// Notify `over` at the end of each burst, until dropped (run it as a
    /// task beside the listener).
    pub(super) async fn tell_ends(self: Arc<Self>, over: Arc<Notify>) {
        loop {
            self.back_down.notified().await;
            loop {
                let seen = self.opens();
                tokio::time::sleep(QUIET).await;
                if self.opens() == seen {
                    break;
                }
            }
            over.notify_one();
        }
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        let ended = self.0.level.lock_unpoisoned().closed(Instant::now());
        if ended {
            self.0.back_down.notify_one();
        }
    }
}

/// The count of open connections and the level it is measured from.
#[derive(Default)]
struct Level {
    open: usize,
    /// Connections opened so far.
    opens: u64,
    /// The level before a burst: the fewest connections open (see [`SETTLE`]).
    quietest: usize,
    /// When `quietest` was last set (`None`: never).
    since: Option<Instant>,
    /// The most connections open since then.
    busiest: usize,
}

impl Level {
    fn opened(&mut self, now: Instant) {
        self.open += 1;
        self.opens += 1;
        let settled = self.since.is_none_or(|t| now.duration_since(t) >= SETTLE);
        if self.busiest < self.quietest + BURST && settled {
            self.quietest = self.open - 1;
            self.since = Some(now);
        }
        self.busiest = self.busiest.max(self.open);
    }

    /// True when this close ended a burst.
    fn closed(&mut self, now: Instant) -> bool {
        self.open = self.open.saturating_sub(1);
        let ended = self.busiest >= self.quietest + BURST && self.open <= self.quietest;
        if ended || self.open < self.quietest {
            self.quietest = self.open;
            self.since = Some(now);
        }
        if ended {
            self.busiest = self.open;
        }
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_to(l: &mut Level, n: usize, at: Instant) {
        while l.open < n {
            l.opened(at);
        }
    }

    /// Closes down to `n`; true if the last close (only) ended a burst.
    fn close_to(l: &mut Level, n: usize, at: Instant) -> bool {
        while l.open > n + 1 {
            assert!(!l.closed(at), "ended with {} still open", l.open);
        }
        l.closed(at)
    }

    #[test]
    fn a_burst_ends_when_the_count_is_back_to_its_level_before() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut l = Level::default();
        // Two connections open at start-up and stay; settled, the next
        // connection finds a level of two.
        open_to(&mut l, 2, t0);
        open_to(&mut l, 2 + BURST, at(20));
        assert!(close_to(&mut l, 2, at(21)));
        // Fewer than BURST more is not a burst, however long it stays.
        open_to(&mut l, 1 + BURST, at(22));
        assert!(!close_to(&mut l, 2, at(40)));
        // The level follows the count down at once (which may count as the
        // end of a burst, since the count was 64 above the new level: one
        // thread replaced more, no harm), and a burst from there ends there.
        close_to(&mut l, 0, at(41));
        open_to(&mut l, BURST, at(42));
        assert!(close_to(&mut l, 0, at(43)));
    }

    #[tokio::test(start_paused = true)]
    async fn the_end_of_a_burst_is_told_once_the_listener_is_quiet() {
        let over = Arc::new(Notify::new());
        let b = Bursts::new();
        let watcher = tokio::spawn(b.clone().tell_ends(over.clone()));
        let told =
            async |within: Duration| tokio::time::timeout(within, over.notified()).await.is_ok();
        let mut burst: Vec<Open> = (0..BURST).map(|_| b.open()).collect();
        burst.truncate(1);
        assert!(!told(QUIET * 3).await, "one of the burst is still open");
        drop(burst);
        // Back down; a connection opening within QUIET puts the end off.
        tokio::time::sleep(QUIET / 2).await;
        drop(b.open());
        assert!(
            !told(QUIET * 3 / 4).await,
            "told while connections still open"
        );
        assert!(told(QUIET).await);
        assert!(!told(QUIET * 3).await, "told once");
        watcher.abort();
    }
}
