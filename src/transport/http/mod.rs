//! The Streamable HTTP transport, serving both protocol eras on one endpoint.
//!
//! - Modern (2026-07-28): stateless; each POST carries one request, whose
//!   `MCP-Protocol-Version` / `Mcp-Method` / `Mcp-Name` / `Mcp-Param-*`
//!   headers are checked against the body. The answer is JSON, or an SSE
//!   stream when the request asked for progress or log messages or opens a
//!   `subscriptions/listen`. Dropping an SSE stream cancels its request.
//! - Legacy (2025-03-26 … 2025-11-25): `initialize` mints an unguessable
//!   `Mcp-Session-Id`; later requests name it; `DELETE` ends it; a GET opens
//!   the session's stream for server-initiated notifications; server-to-client
//!   requests ride on the request's SSE stream and the client POSTs the answers.
//!   A request's stream is resumable (`GET` + `Last-Event-ID`, `replay.rs`):
//!   a dropped connection does not cancel its request.
//! - Security: loopback `Host` names only on a loopback bind and loopback
//!   `Origin`s only by default (403 otherwise), optional
//!   bearer token (401), body limit (413), header-read (10 s) and body-read
//!   (`body_timeout`, 408) timeouts, connection and in-flight caps (503);
//!   connection slots (`admission.rs`) go first to clients that have been
//!   served: a slow-header flood displaces only itself, and one peer
//!   address holds at most `max_connections_per_peer`.
//! - Shutdown ([`serve`]'s `stop`) drains: `/healthz` answers 503 at once,
//!   new work without a session or job of this instance gets 503 before it
//!   starts (a load balancer retries it elsewhere), in-flight requests
//!   finish within the grace. With an instance id (`ServerBuilder::instance_id`)
//!   every answer names it in an `Lmcp-Instance` header.

mod admission;
mod answer;
mod body;
mod bursts;
mod fd_limit;
pub(crate) mod headers;
pub mod oauth;
mod post;
mod replay;
mod respond;
mod route;
mod security;
mod stream;

pub use fd_limit::raise_open_file_limit;
use respond::error_response;
use route::route;
pub use security::url_host;

use crate::jsonrpc::ErrorObject;
use crate::server::{Server, Session};
use crate::sync::MutexExt;
use admission::{Admission, Refusal, Ticket};
use body::Body;
use bursts::Bursts;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ORIGIN};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Options of the HTTP transport.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Path of the MCP endpoint.
    pub path: String,
    /// Extra allowed `Origin`s (exact match; `*` allows any). Loopback
    /// origins are always allowed.
    pub allowed_origins: Vec<String>,
    /// Extra host names accepted in the `Host` header (`*` allows any). On
    /// a loopback bind only loopback names (`localhost`, 127.0.0.0/8,
    /// `[::1]`, any port) are accepted besides these, against DNS
    /// rebinding (403 otherwise); on other binds any name is, unless this
    /// list is set.
    pub allowed_hosts: Vec<String>,
    /// Bearer token required on every request, if set.
    pub auth_token: Option<String>,
    /// OAuth 2.1 resource server: access tokens of this authorization
    /// server are accepted too (beside `auth_token`, if set).
    #[cfg(feature = "oauth")]
    pub oauth: Option<Arc<oauth::ResourceServer>>,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest time a request body may take to arrive once its headers
    /// are in (slowloris bodies); past it the answer is 408 and the
    /// connection closes.
    pub body_timeout: Duration,
    /// Most connections served at once. When all are taken, a new
    /// connection ends the oldest one that has had no request accepted and
    /// is not serving one (a slow-header client), or gets 503 if there is
    /// none.
    pub max_connections: usize,
    /// Of `max_connections`, how many only connections with an accepted
    /// request may hold (at most half): a flood of connections that send
    /// no valid request never takes them.
    pub reserved_connections: usize,
    /// Most connections open at once from one peer address (an IPv6 /64
    /// counts as one; loopback peers are not counted); past it 503. 0: no
    /// per-peer cap.
    pub max_connections_per_peer: usize,
    /// Most requests in flight at once.
    pub max_in_flight: usize,
    /// Most legacy sessions open at once: past it, `initialize` ends the
    /// least recently used idle session (no request running, no GET
    /// stream open), or is answered 503 when none is idle.
    pub max_sessions: usize,
    /// Legacy sessions idle this long are ended.
    pub session_idle: Duration,
    /// Interval of SSE keep-alive comments.
    pub keep_alive: Duration,
    /// An SSE stream whose client took nothing for this long (its 64-event
    /// buffer full) is cut: its connection closed and its request
    /// cancelled. A client that stops reading holds a bounded buffer, and
    /// only for this long.
    pub sse_stall: Duration,
    /// How long a legacy request's stream stays resumable after its
    /// connection drops (`GET` + `Last-Event-ID`): the request runs on
    /// meanwhile, and is cancelled when nobody has resumed by then.
    pub sse_replay: Duration,
    /// How long in-flight requests may finish at shutdown.
    pub shutdown_grace: Duration,
    /// Notified when a burst of connections is over: the open connections
    /// rose by 32 or more, are back down to where they were, and none has
    /// opened for a second since. The memory those connections took is
    /// free then, but glibc keeps part of it in the serving thread's cache
    /// of small blocks, which pins the rest;
    /// [`crate::transport::block_on_replaceable`] answers this by moving the
    /// runtime to a fresh thread, and the old thread's cache goes back to
    /// the heap as it ends (BENCHMARKS.md, session 20).
    pub burst_ended: Option<Arc<tokio::sync::Notify>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            path: "/mcp".into(),
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            auth_token: None,
            #[cfg(feature = "oauth")]
            oauth: None,
            max_body_bytes: 4 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            max_connections: 512,
            reserved_connections: 64,
            max_connections_per_peer: 64,
            max_in_flight: 1024,
            max_sessions: 4096,
            session_idle: Duration::from_secs(30 * 60),
            keep_alive: Duration::from_secs(15),
            sse_stall: Duration::from_secs(60),
            sse_replay: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
            burst_ended: None,
        }
    }
}

struct LegacySession {
    session: Arc<Session>,
    last_seen: Instant,
    /// Open GET streams: a session a client listens on is not idle.
    streams: Arc<std::sync::atomic::AtomicUsize>,
    /// The session's `--max-in-flight` slots.
    slots: Arc<Semaphore>,
    /// Its requests' resumable streams.
    replays: Arc<replay::Replays>,
    /// The subject of the token that opened it, when tokens are checked:
    /// another subject's token may not use it.
    owner: Option<String>,
}

impl LegacySession {
    fn idle(&self) -> bool {
        self.session.in_flight() == 0 && self.streams.load(std::sync::atomic::Ordering::SeqCst) == 0
    }
}

/// Counts an open GET stream for as long as it lives.
struct StreamGuard(Arc<std::sync::atomic::AtomicUsize>);

impl StreamGuard {
    fn new(count: Arc<std::sync::atomic::AtomicUsize>) -> Self {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        StreamGuard(count)
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

struct State {
    opts: HttpOptions,
    modern: Arc<Session>,
    server: Arc<Server>,
    sessions: Mutex<HashMap<String, LegacySession>>,
    in_flight: Arc<Semaphore>,
    /// The `--max-in-flight` slots all modern requests share.
    modern_slots: Arc<Semaphore>,
    /// Cancelled at shutdown: ends the legacy sessions' GET streams.
    streams_stop: CancellationToken,
    /// Bound to a loopback address: `Host` must be a loopback name (or an
    /// allowed one).
    loopback_bind: bool,
    /// Set when shutdown begins: `/healthz` answers 503 and new work is refused.
    draining: std::sync::atomic::AtomicBool,
}

type Resp = Response<Body>;

impl State {
    /// Register a new legacy session, first ending the least recently used
    /// idle one when `max_sessions` are open; an error when all are busy.
    fn open_session(&self, id: String, entry: LegacySession) -> Result<(), ErrorObject> {
        let evicted = {
            let mut map = self.sessions.lock_unpoisoned();
            let mut evicted = None;
            if map.len() >= self.opts.max_sessions.max(1) {
                let lru = map
                    .iter()
                    .filter(|(_, s)| s.idle())
                    .min_by_key(|(_, s)| s.last_seen)
                    .map(|(k, _)| k.clone());
                let Some(lru) = lru else {
                    return Err(ErrorObject::internal(format!(
                        "Too many sessions: all {} are busy; end one with DELETE or retry shortly",
                        map.len()
                    )));
                };
                evicted = map.remove(&lru);
            }
            map.insert(id, entry);
            evicted
        };
        if let Some(old) = evicted {
            log::debug!("legacy HTTP session evicted (max_sessions reached; it was the least recently used idle one)");
            old.session.shutdown();
        }
        Ok(())
    }
}

impl State {
    /// Whether shutdown has begun (see [`serve`]).
    fn is_draining(&self) -> bool {
        self.draining.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn new(server: Arc<Server>, opts: HttpOptions, loopback_bind: bool) -> Arc<State> {
        Arc::new(State {
            modern: server.session(),
            sessions: Mutex::new(HashMap::new()),
            in_flight: Arc::new(Semaphore::new(opts.max_in_flight.max(1))),
            modern_slots: Arc::new(Semaphore::new(server.config().max_in_flight.max(1))),
            streams_stop: CancellationToken::new(),
            loopback_bind,
            draining: false.into(),
            server,
            opts,
        })
    }
}

/// Serve one HTTP/1.1 connection: every request on it goes through
/// [`handle`]; `ticket` is its slot (`None`: not counted), which marks the
/// connection proven once a request reaches the endpoint past the token
/// check (`route::Admitted`) and ends it when a newer
/// connection takes the slot; `conn_stop` asks for a graceful close
/// (finish the current request); `half_close` keeps answering after the
/// client shut its write side.
async fn serve_connection<I>(
    state: Arc<State>,
    io: I,
    peer: SocketAddr,
    ticket: Option<Ticket>,
    half_close: bool,
    conn_stop: CancellationToken,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let grace = state.opts.shutdown_grace;
    let evicted = ticket.as_ref().map(Ticket::evicted).unwrap_or_default();
    let ticket = ticket.map(Arc::new);
    let svc = hyper::service::service_fn(move |req| {
        let state = state.clone();
        let ticket = ticket.clone();
        async move {
            let serving = ticket.as_deref().map(Ticket::serving);
            let r = handle(&state, req, peer).await;
            if let Some(t) = &ticket {
                if r.extensions().get::<route::Admitted>().is_some() {
                    t.prove();
                }
            }
            drop(serving);
            Ok::<_, std::convert::Infallible>(r)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10))
        .half_close(half_close);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => if let Err(e) = r { log::debug!("connection from {peer}: {e}") },
        _ = evicted.cancelled() => log::debug!("connection from {peer} ended: its slot went to a newer connection (it had no request accepted)"),
        _ = conn_stop.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(grace, conn).await;
        }
    }
}

/// Serve `io` as one connection from 127.0.0.1 with a fresh transport state
/// (no legacy sessions yet), then shut that state's sessions down. For
/// lmcp's fuzzing (`lmcp::fuzzing::http_request`): the per-connection
/// service of [`serve`], without a listener, and with half-close on so that
/// a client that writes its whole byte stream and then shuts its write side
/// still gets every answer.
#[cfg(feature = "fuzzing")]
pub(crate) async fn serve_one_connection<I>(server: Arc<Server>, opts: HttpOptions, io: I)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let state = State::new(server, opts, true);
    let peer = SocketAddr::from(([127, 0, 0, 1], 0));
    serve_connection(
        state.clone(),
        io,
        peer,
        None,
        true,
        CancellationToken::new(),
    )
    .await;
    state.modern.shutdown();
    let sessions: Vec<Arc<Session>> = state
        .sessions
        .lock_unpoisoned()
        .drain()
        .map(|(_, s)| s.session)
        .collect();
    for s in sessions {
        s.shutdown();
    }
}

/// Serve `server` on `listener` until `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    opts: HttpOptions,
    stop: CancellationToken,
) {
    let loopback_bind = listener.local_addr().map_or(true, |a| a.ip().is_loopback());
    let state = State::new(server, opts, loopback_bind);
    let slots = Admission::new(
        state.opts.max_connections,
        state.opts.reserved_connections,
        state.opts.max_connections_per_peer,
    );
    let bursts = state.opts.burst_ended.clone().map(|over| {
        let bursts = Bursts::new();
        let watcher = tokio::spawn(bursts.clone().tell_ends(over));
        (bursts, watcher)
    });
    let reaper = tokio::spawn(reap_sessions(state.clone()));
    let conn_stop = CancellationToken::new();
    // One clone per connection task: shutdown waits until only this one is left.
    let open_conns = Arc::new(());
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let ticket = slots.admit(peer);
        let state = state.clone();
        let conn_stop = conn_stop.clone();
        let open = open_conns.clone();
        let counted = bursts.as_ref().map(|(b, _)| b.open());
        tokio::spawn(async move {
            let _open = (open, counted);
            match ticket {
                Ok(t) => serve_connection(state, stream, peer, Some(t), false, conn_stop).await,
                Err(why) => refuse_connection(stream, why).await,
            }
        });
    }
    // Drain: `/healthz` answers 503 from now on, and new work (stateless
    // calls, new sessions) gets a 503 before it starts, so a balancer sends
    // it elsewhere; every connection finishes the request it is serving and
    // takes no other. Then end subscriptions, let requests finish within
    // the grace period, and cancel what is left. A request is finished when
    // its in-flight permit is back (JSON answers hold it until built, SSE
    // answers until their last event is queued) and its connection has
    // written the answer out and closed. The socket stays open meanwhile
    // (a health check sees "draining", not a refused connection) and is
    // closed when the drain ends.
    state
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    conn_stop.cancel();
    state.streams_stop.cancel();
    state.modern.end_subscriptions();
    let sessions: Vec<Arc<Session>> = state
        .sessions
        .lock_unpoisoned()
        .values()
        .map(|s| s.session.clone())
        .collect();
    for s in &sessions {
        s.end_subscriptions();
    }
    let grace = state.opts.shutdown_grace;
    let idle = async {
        while state.in_flight.available_permits() < state.opts.max_in_flight.max(1)
            || Arc::strong_count(&open_conns) > 1
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let finished = tokio::time::timeout(grace, async {
        tokio::pin!(idle);
        loop {
            tokio::select! {
                () = &mut idle => break,
                r = listener.accept() => if let Ok((stream, peer)) = r {
                    let _ = stream.set_nodelay(true);
                    let ticket = slots.admit(peer);
                    let (state, open) = (state.clone(), open_conns.clone());
                    // Each answer while draining says `Connection: close`.
                    tokio::spawn(async move {
                        let _open = open;
                        match ticket {
                            Ok(t) => serve_connection(state, stream, peer, Some(t), false, CancellationToken::new()).await,
                            Err(why) => refuse_connection(stream, why).await,
                        }
                    });
                },
            }
        }
    })
    .await;
    drop(listener);
    if finished.is_err() {
        log::warn!("shutdown grace of {grace:?} over: cancelling the requests still running");
    }
    state.modern.shutdown();
    for s in sessions {
        s.shutdown();
    }
    reaper.abort();
    if let Some((_, watcher)) = bursts {
        watcher.abort();
    }
}

/// Answer a connection that got no slot at once, without reading its
/// request: a fixed 503, the write side shut, and the descriptor released
/// after a short drain (closing with unread bytes would reset the
/// connection and could discard the answer before the client reads it).
async fn refuse_connection(mut stream: tokio::net::TcpStream, why: Refusal) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 21\r\n\r\ntoo many connections\n";
    const PEER_BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 39\r\n\r\ntoo many connections from your address\n";
    let answer = match why {
        Refusal::Full => BUSY,
        Refusal::PeerFull => PEER_BUSY,
    };
    let _ = tokio::time::timeout(Duration::from_millis(200), async {
        stream.write_all(answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    })
    .await;
}

async fn reap_sessions(state: Arc<State>) {
    let idle = state.opts.session_idle;
    loop {
        tokio::time::sleep(Duration::from_secs(30).min(idle)).await;
        let expired: Vec<Arc<Session>> = {
            let mut map = state.sessions.lock_unpoisoned();
            let dead: Vec<String> = map
                .iter()
                .filter(|(_, s)| s.last_seen.elapsed() > idle && s.idle())
                .map(|(k, _)| k.clone())
                .collect();
            dead.iter()
                .filter_map(|k| map.remove(k))
                .map(|s| s.session)
                .collect()
        };
        for s in expired {
            log::debug!("legacy HTTP session expired");
            s.shutdown();
        }
    }
}

async fn handle(state: &Arc<State>, req: Request<Incoming>, peer: SocketAddr) -> Resp {
    // Two Origin headers, or one that is not visible ASCII, cannot be
    // checked against the allow-list: refused, never read as absent.
    let mut origins = req.headers().get_all(ORIGIN).iter();
    let (first, second) = (origins.next(), origins.next());
    if second.is_some() || first.is_some_and(|o| o.to_str().is_err()) {
        return error_response(
            StatusCode::FORBIDDEN,
            None,
            ErrorObject::invalid_request("Send one Origin header, in ASCII"),
        );
    }
    let origin = first.and_then(|v| v.to_str().ok()).map(String::from);
    let started = std::time::Instant::now();
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let mcp_method = req
        .headers()
        .get("mcp-method")
        .and_then(|v| v.to_str().ok())
        .map(|m| m.chars().take(64).collect::<String>());
    let mut resp = route(state, req, origin.as_deref()).await;
    if let Some(id) = state.server.instance_id() {
        // Which instance answered: for operators and the scale-out test.
        if let Ok(v) = HeaderValue::from_str(id.as_str()) {
            resp.headers_mut().insert("lmcp-instance", v);
        }
    }
    if state.is_draining() {
        resp.headers_mut()
            .insert("connection", HeaderValue::from_static("close"));
    }
    if let Some(o) = origin.filter(|o| state.origin_allowed(o)) {
        let h = resp.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&o) {
            h.insert("access-control-allow-origin", v);
        }
        h.insert("vary", HeaderValue::from_static("Origin"));
        h.insert(
            "access-control-expose-headers",
            HeaderValue::from_static("Mcp-Session-Id, WWW-Authenticate, Lmcp-Instance"),
        );
    }
    // Access log: no headers' values beyond the method name, never a token or a body.
    log::debug!(
        "access peer={peer} method={method} path={path:?} mcp_method={:?} status={} ms={:.1}",
        mcp_method.as_deref().unwrap_or("-"),
        resp.status().as_u16(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    resp
}

/// Bind `addr` and serve until SIGINT/SIGTERM (or `stop`).
pub async fn serve_http(
    server: Arc<Server>,
    addr: &str,
    opts: HttpOptions,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    #[cfg(feature = "oauth")]
    let oauth_on = opts.oauth.is_some();
    #[cfg(not(feature = "oauth"))]
    let oauth_on = false;
    if !local.ip().is_loopback() && opts.auth_token.is_none() && !oauth_on {
        log::warn!("listening on non-loopback address {local} without a bearer token: anyone who can reach it can use every tool; set --auth-token-file or LMCP_AUTH_TOKEN");
        say(&format!(
            "lmcp: WARNING: {local} is reachable from other machines and no token is set\n"
        ));
    }
    say(&format!("lmcp: listening on http://{local}{}\n", opts.path));
    let signals = crate::transport::shutdown_signal(stop.clone());
    serve(listener, server, opts, stop).await;
    signals.abort();
    Ok(())
}

/// Write one whole line to stderr in a single write. Rust's stderr is
/// unbuffered, so `eprintln!` writes each formatted piece separately, and a
/// reader of a log file (a test or a supervisor looking for the address)
/// could see half a line.
fn say(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(line.as_bytes());
}
