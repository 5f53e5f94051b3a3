//! Who gets a connection slot: the `max_connections` cap, a cap per peer
//! address, and a reserve that clients which have been served keep when
//! others flood the listener.
//!
//! A connection is *unproven* until one of its requests is accepted (any
//! answer but 401 or 403: without a token or OAuth that is its first
//! request). Slow-header clients (slowloris) never get there. When the
//! listener is full, or unproven connections fill all but the reserve, a new
//! connection ends the oldest unproven one that is not serving a request
//! (it is still sending its headers, or sits idle after a refusal) instead
//! of being refused itself: a flood then only displaces itself, while a
//! legitimate client sends its headers at once and is proven within a
//! round trip. Only when every slot is busy or proven is a new connection
//! answered 503. Per peer address (an IPv6 /64 counts as one address;
//! loopback peers, a local client or a reverse proxy, are not counted), at
//! most `max_per_peer` connections are open at once; past it 503.

use crate::sync::MutexExt;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Every slot holds a proven connection or one serving a request.
    Full,
    /// This peer address holds `max_per_peer` connections already.
    PeerFull,
}

/// The connection slots of one listener.
pub(super) struct Admission {
    max: usize,
    /// Most unproven connections at once: `max` less the reserve.
    max_unproven: usize,
    max_per_peer: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// Open connections by admission order (oldest first).
    conns: BTreeMap<u64, Arc<Conn>>,
    unproven: usize,
    per_peer: HashMap<IpAddr, usize>,
}

/// One admitted connection, shared by the registry and its task.
struct Conn {
    /// The counted peer address (`None`: loopback, not counted).
    peer: Option<IpAddr>,
    proven: AtomicBool,
    /// Requests of this connection being served right now.
    serving: AtomicUsize,
    /// Cancelled when a newer connection takes this one's slot.
    evicted: CancellationToken,
}

/// A slot held by one connection; dropping it frees the slot.
pub(super) struct Ticket {
    id: u64,
    conn: Arc<Conn>,
    admission: Arc<Admission>,
}

impl Admission {
    /// Slots for `max` connections, `reserve` of which only proven
    /// connections may hold (at most half of `max`), and at most
    /// `max_per_peer` per peer address (0: no per-peer cap).
    pub(super) fn new(max: usize, reserve: usize, max_per_peer: usize) -> Arc<Admission> {
        let max = max.max(1);
        let reserve = reserve.min(max / 2);
        Arc::new(Admission {
            max,
            max_unproven: (max - reserve).max(1),
            max_per_peer,
            inner: Mutex::new(Inner::default()),
        })
    }

    /// Admit a connection from `peer`, ending the oldest unproven idle
    /// connection if that is what it takes.
    pub(super) fn admit(self: &Arc<Self>, peer: SocketAddr) -> Result<Ticket, Refusal> {
        let key = peer_key(peer.ip());
        let mut inner = self.inner.lock_unpoisoned();
        if let Some(k) = key {
            if self.max_per_peer > 0
                && inner.per_peer.get(&k).copied().unwrap_or(0) >= self.max_per_peer
            {
                return Err(Refusal::PeerFull);
            }
        }
        while inner.conns.len() >= self.max || inner.unproven >= self.max_unproven {
            let victim = inner
                .conns
                .iter()
                .find(|(_, c)| {
                    !c.proven.load(Ordering::SeqCst) && c.serving.load(Ordering::SeqCst) == 0
                })
                .map(|(id, _)| *id);
            let Some(id) = victim else {
                return Err(Refusal::Full);
            };
            if let Some(c) = inner.remove(id) {
                c.evicted.cancel();
            }
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let conn = Arc::new(Conn {
            peer: key,
            proven: AtomicBool::new(false),
            serving: AtomicUsize::new(0),
            evicted: CancellationToken::new(),
        });
        if let Some(k) = key {
            *inner.per_peer.entry(k).or_insert(0) += 1;
        }
        inner.unproven += 1;
        inner.conns.insert(id, conn.clone());
        Ok(Ticket {
            id,
            conn,
            admission: self.clone(),
        })
    }

    /// Connections open now (for tests and logs).
    #[cfg(test)]
    fn open(&self) -> usize {
        self.inner.lock_unpoisoned().conns.len()
    }
}

impl Inner {
    /// Forget connection `id`, returning it if it was still registered.
    fn remove(&mut self, id: u64) -> Option<Arc<Conn>> {
        let c = self.conns.remove(&id)?;
        if !c.proven.load(Ordering::SeqCst) {
            self.unproven -= 1;
        }
        if let Some(k) = c.peer {
            if let Some(n) = self.per_peer.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    self.per_peer.remove(&k);
                }
            }
        }
        Some(c)
    }
}

impl Ticket {
    /// Cancelled when a newer connection took this slot: close at once.
    pub(super) fn evicted(&self) -> CancellationToken {
        self.conn.evicted.clone()
    }

    /// A request of this connection is being served until the guard drops.
    pub(super) fn serving(&self) -> Serving {
        self.conn.serving.fetch_add(1, Ordering::SeqCst);
        Serving(self.conn.clone())
    }

    /// A request of this connection was accepted: it is never displaced
    /// by the slots' eviction from now on.
    pub(super) fn prove(&self) {
        if self.conn.proven.load(Ordering::Relaxed) {
            return;
        }
        let mut inner = self.admission.inner.lock_unpoisoned();
        // Under the lock, so the unproven count and the flag agree; an
        // evicted connection is no longer counted at all.
        if inner.conns.contains_key(&self.id) && !self.conn.proven.swap(true, Ordering::SeqCst) {
            inner.unproven -= 1;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.inner.lock_unpoisoned().remove(self.id);
    }
}

/// Marks a request of a connection as being served (see [`Ticket::serving`]).
pub(super) struct Serving(Arc<Conn>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.serving.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The address a peer is counted under: IPv4 as is, IPv6 by its /64 (one
/// host usually holds a whole /64), an IPv4-mapped IPv6 address as IPv4;
/// `None` for loopback peers, which are not counted.
fn peer_key(ip: IpAddr) -> Option<IpAddr> {
    let ip = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None if v6.is_loopback() => return None,
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    };
    (!ip.is_loopback()).then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40000)
    }

    #[test]
    fn a_full_listener_ends_the_oldest_unproven_idle_connection() {
        let a = Admission::new(3, 0, 0);
        let t1 = a.admit(at("127.0.0.1")).unwrap();
        let t2 = a.admit(at("127.0.0.1")).unwrap();
        let t3 = a.admit(at("127.0.0.1")).unwrap();
        t2.prove();
        let _busy = t3.serving();
        // Full: the oldest connection neither proven nor serving goes.
        let t4 = a.admit(at("127.0.0.1")).unwrap();
        assert!(t1.evicted().is_cancelled());
        assert!(!t2.evicted().is_cancelled() && !t3.evicted().is_cancelled());
        assert_eq!(a.open(), 3);
        // t2 proven, t3 serving, t4 the only candidate.
        let t5 = a.admit(at("127.0.0.1")).unwrap();
        assert!(t4.evicted().is_cancelled());
        // Now nothing may go: refused.
        let _busy5 = t5.serving();
        assert_eq!(a.admit(at("127.0.0.1")).err(), Some(Refusal::Full));
        // An evicted ticket dropping late frees nothing twice.
        drop(t1);
        drop(t4);
        assert_eq!(a.open(), 3);
        drop(t2);
        assert_eq!(a.open(), 2);
        assert!(a.admit(at("127.0.0.1")).is_ok());
    }

    #[test]
    fn unproven_connections_leave_the_reserve_to_proven_ones() {
        let a = Admission::new(4, 2, 0);
        let proven = a.admit(at("10.0.0.1")).unwrap();
        proven.prove();
        let u1 = a.admit(at("10.0.0.2")).unwrap();
        let u2 = a.admit(at("10.0.0.2")).unwrap();
        // Two unproven is the most (4 less a reserve of 2): the next one
        // displaces the oldest though a slot is free.
        let u3 = a.admit(at("10.0.0.3")).unwrap();
        assert!(u1.evicted().is_cancelled());
        assert!(!u2.evicted().is_cancelled() && !proven.evicted().is_cancelled());
        // Once proven, a connection leaves the unproven count.
        u3.prove();
        let _u4 = a.admit(at("10.0.0.3")).unwrap();
        assert!(!u2.evicted().is_cancelled());
        assert_eq!(a.open(), 4);
    }

    #[test]
    fn each_peer_address_has_its_own_cap_and_loopback_none() {
        let a = Admission::new(100, 0, 2);
        let _x = a.admit(at("192.0.2.7")).unwrap();
        let y = a.admit(at("192.0.2.7")).unwrap();
        assert_eq!(a.admit(at("192.0.2.7")).err(), Some(Refusal::PeerFull));
        // The IPv4-mapped form is the same peer.
        assert_eq!(
            a.admit(at("::ffff:192.0.2.7")).err(),
            Some(Refusal::PeerFull)
        );
        assert!(a.admit(at("192.0.2.8")).is_ok());
        drop(y);
        assert!(a.admit(at("192.0.2.7")).is_ok());
        // One IPv6 /64 is one peer.
        let _p = a.admit(at("2001:db8:1:2::1")).unwrap();
        let _q = a.admit(at("2001:db8:1:2:ffff::9")).unwrap();
        assert_eq!(
            a.admit(at("2001:db8:1:2::77")).err(),
            Some(Refusal::PeerFull)
        );
        assert!(a.admit(at("2001:db8:1:3::1")).is_ok());
        // Loopback is not counted per address.
        let local: Vec<_> = (0..5).map(|_| a.admit(at("::1")).unwrap()).collect();
        assert_eq!(local.len(), 5);
    }
}
