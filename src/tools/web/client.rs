//! The guarded HTTP client: manual redirects re-checked at every hop, a
//! size-capped streaming body, errors a user can act on.

use super::guard::{find_guard_error, Guard, GuardError, GuardedResolver};
use super::WebConfig;
use reqwest::dns::{Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderValue, LOCATION};
use reqwest::{StatusCode, Url};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a web request failed.
#[derive(Debug)]
pub enum WebError {
    /// The SSRF guard refused a destination.
    Guard(GuardError),
    /// The URL could not be parsed.
    InvalidUrl(String),
    /// An argument was wrong.
    BadArgument(String),
    /// The HTTP client could not be built.
    Client(String),
    /// More redirects than allowed.
    TooManyRedirects(usize),
    /// A redirect without a usable `Location`.
    BadRedirect(String),
    /// The whole operation took longer than allowed.
    Timeout(Duration),
    /// `robots.txt` disallows the URL: the URL and the rule that refused it.
    Robots(String, String),
    /// Behind a proxy, a target name that does not resolve here (so its
    /// addresses cannot be judged): the host and the resolver's error.
    Unresolved(String, String),
    /// Connection, TLS or protocol failure.
    Transport(String),
    /// The helper process `lmcp-extract` could not read the page: the
    /// message says why and what to do.
    Helper(String),
}

impl fmt::Display for WebError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebError::Guard(g) => write!(f, "{g}"),
            WebError::InvalidUrl(m) => write!(f, "invalid URL: {m}; give an absolute http(s) URL"),
            WebError::BadArgument(m) => write!(f, "{m}"),
            WebError::Client(m) => write!(f, "could not set up the HTTP client: {m}"),
            WebError::TooManyRedirects(n) => write!(
                f,
                "stopped after {n} redirects; fetch the last URL directly if it is the one you want"
            ),
            WebError::BadRedirect(m) => write!(f, "bad redirect: {m}"),
            WebError::Timeout(d) => write!(
                f,
                "timed out after {} ms; retry with a larger timeout_ms or try later",
                d.as_millis()
            ),
            WebError::Robots(u, rule) => write!(
                f,
                "robots.txt disallows fetching {u}: {rule}; this server respects robots.txt \
                 (--fetch-respect-robots), so ask the user for another source"
            ),
            WebError::Unresolved(h, e) => write!(
                f,
                "refused to send {h} to the proxy: it does not resolve here ({e}), and lmcp only \
                 hands the proxy names whose addresses it has checked; check the host name"
            ),
            WebError::Transport(m) | WebError::Helper(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for WebError {}

impl From<GuardError> for WebError {
    fn from(g: GuardError) -> Self {
        WebError::Guard(g)
    }
}

impl From<reqwest::Error> for WebError {
    fn from(e: reqwest::Error) -> Self {
        if let Some(g) = find_guard_error(&e) {
            return WebError::Guard(g.clone());
        }
        let mut msg = String::new();
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = cur {
            let s = err.to_string();
            if !msg.contains(&s) {
                if !msg.is_empty() {
                    msg.push_str(": ");
                }
                msg.push_str(&s);
            }
            cur = err.source();
        }
        if e.is_connect() {
            msg = format!("could not connect ({msg}); check the host name and that the site is up");
        }
        WebError::Transport(msg)
    }
}

/// A guarded client.
///
/// Two reqwest clients share the work, so that the proxy's exemption from
/// the address guard can never cover a target:
/// - `direct` never uses a proxy; its resolver applies the target guard.
/// - `via_proxy` (when proxy variables are set) uses the proxies of the
///   environment; its resolver resolves nothing but the proxies' own host
///   names, which the operator named and which may therefore be private.
///
/// Each hop is routed by the same environment rules (`HTTP_PROXY`, …,
/// `NO_PROXY`) reqwest applies, and judged by the target guard first: behind
/// a proxy the target's name is resolved here and every address checked
/// before the request is handed to the proxy.
#[derive(Debug)]
pub struct Http {
    direct: reqwest::Client,
    via_proxy: Option<(reqwest::Client, Matcher)>,
    /// The target guard: no proxy exemption.
    guard: Arc<Guard>,
}

/// The environment's proxy rules (`hyper_util`'s matcher, the one reqwest
/// itself reads the environment with).
struct Matcher(hyper_util::client::proxy::matcher::Matcher);

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Matcher(..)")
    }
}

impl Matcher {
    /// Whether a request to `url` goes through a proxy.
    fn proxies(&self, url: &Url) -> bool {
        url.as_str()
            .parse::<hyper::Uri>()
            .ok()
            .and_then(|uri| self.0.intercept(&uri))
            .is_some()
    }
}

/// A resolver that resolves only the proxies' host names, judged by a guard
/// exempting them; any other name is refused (targets behind a proxy are
/// resolved by the proxy, never by this client).
#[derive(Debug, Clone)]
struct ProxyResolver {
    guard: Arc<Guard>,
}

impl Resolve for ProxyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        if !self.guard.exempt_hosts.contains(&host) {
            let err = GuardError {
                host,
                addr: None,
                rule: "a name the proxy client was asked to resolve that is not a configured \
                       proxy"
                    .into(),
                private: false,
            };
            return Box::pin(async move { Err(err.into()) });
        }
        GuardedResolver::new(self.guard.clone()).resolve(name)
    }
}

/// A response read up to the size cap.
#[derive(Debug)]
pub struct Fetched {
    /// Where the last hop was.
    pub url: Url,
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// The body, at most the cap.
    pub body: Vec<u8>,
    /// Whether the body was cut at the cap.
    pub truncated: bool,
}

const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

impl Http {
    /// Build a client applying `guard` to every target. Proxies named by the
    /// environment are honoured; only the connection to a proxy itself is
    /// exempt from the private-address rule (the operator named it).
    pub fn build(config: &WebConfig, guard: Guard) -> Result<Http, String> {
        // Use ring unless the embedding program installed a provider already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut proxy_hosts = Vec::new();
        for var in PROXY_VARS {
            if let Ok(v) = std::env::var(var) {
                // reqwest reads `host:port` as `http://host:port`.
                let parsed = Url::parse(&v)
                    .ok()
                    .filter(|u| u.has_host())
                    .or_else(|| Url::parse(&format!("http://{v}")).ok());
                if let Some(h) = parsed.and_then(|u| u.host_str().map(str::to_owned)) {
                    proxy_hosts.push(h.trim_matches(['[', ']']).to_ascii_lowercase());
                }
            }
        }
        let base = || {
            reqwest::Client::builder()
                .user_agent(config.user_agent.clone())
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(15))
                .pool_idle_timeout(Duration::from_secs(30))
                .pool_max_idle_per_host(2)
        };
        let guard = Arc::new(guard);
        let direct = base()
            .no_proxy()
            .dns_resolver(GuardedResolver::new(guard.clone()))
            .build()
            .map_err(|e| WebError::from(e).to_string())?;
        let matcher = Matcher(hyper_util::client::proxy::matcher::Matcher::from_env());
        let via_proxy = if proxy_hosts.is_empty() {
            None
        } else {
            let proxy_guard = Arc::new(Guard {
                allow_private: guard.allow_private,
                exempt_hosts: proxy_hosts,
            });
            // No `.proxy(..)`: reqwest reads the same variables as `matcher`.
            let client = base()
                .dns_resolver(ProxyResolver { guard: proxy_guard })
                .build()
                .map_err(|e| WebError::from(e).to_string())?;
            Some((client, matcher))
        };
        log::debug!("web: HTTP client built (proxied: {})", via_proxy.is_some());
        Ok(Http {
            direct,
            via_proxy,
            guard,
        })
    }

    /// Judge a hop before connecting, and pick the client that makes it.
    async fn check_hop(&self, url: &Url) -> Result<&reqwest::Client, WebError> {
        self.guard.check_url(url)?;
        let Some((client, _)) = self.via_proxy.as_ref().filter(|(_, m)| m.proxies(url)) else {
            // The direct client's resolver judges the name it connects to.
            return Ok(&self.direct);
        };
        if let Some(url::Host::Domain(host)) = url.host() {
            // The proxy resolves the target, not this client: resolve it here
            // too and judge every address, and send no name that cannot be
            // judged. (The proxy's own lookup may still answer differently:
            // see docs/web.md, "Safety rules".)
            let addrs: Vec<_> = tokio::net::lookup_host((host, 0))
                .await
                .map_err(|e| WebError::Unresolved(host.to_owned(), e.to_string()))?
                .collect();
            if addrs.is_empty() {
                return Err(WebError::Unresolved(host.to_owned(), "no addresses".into()));
            }
            self.guard.check_addrs(host, &addrs)?;
        }
        Ok(client)
    }

    /// GET `url`, following up to `max_redirects` redirects (each hop
    /// re-checked), and read at most `max_bytes` of the body. `allow` is
    /// asked about every hop (robots.txt).
    pub async fn get(
        &self,
        url: Url,
        headers: &HeaderMap,
        max_redirects: usize,
        max_bytes: usize,
    ) -> Result<Fetched, WebError> {
        let mut url = url;
        let mut extra = headers.clone();
        let mut hops = 0;
        loop {
            let client = self.check_hop(&url).await?;
            log::debug!("web: GET {url}");
            let mut resp = client
                .get(url.clone())
                .headers(extra.clone())
                .send()
                .await?;
            let status = resp.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let Some(loc) = resp.headers().get(LOCATION) else {
                    return Err(WebError::BadRedirect(format!(
                        "{url} answered {status} without a Location header"
                    )));
                };
                let loc = loc
                    .to_str()
                    .map_err(|_| WebError::BadRedirect("Location is not text".into()))?;
                let next = url
                    .join(loc)
                    .map_err(|e| WebError::BadRedirect(format!("Location {loc:?}: {e}")))?;
                if hops >= max_redirects {
                    return Err(WebError::TooManyRedirects(max_redirects));
                }
                hops += 1;
                if next.origin() != url.origin() {
                    // Caller-supplied headers (credentials) stay with their origin.
                    extra = HeaderMap::new();
                }
                log::debug!("web: {status} redirect to {next}");
                url = next;
                continue;
            }
            let headers = resp.headers().clone();
            let mut body = Vec::new();
            let mut truncated = false;
            while let Some(chunk) = resp.chunk().await? {
                let room = max_bytes - body.len();
                if chunk.len() >= room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = chunk.len() > room || resp.chunk().await?.is_some();
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            // Dropping `resp` here aborts whatever was not read.
            return Ok(Fetched {
                url,
                status,
                headers,
                body,
                truncated,
            });
        }
    }
}

/// Turn the caller's header map into request headers, refusing the ones the
/// client manages itself.
pub fn parse_headers(
    map: &std::collections::BTreeMap<String, String>,
) -> Result<HeaderMap, WebError> {
    let mut out = HeaderMap::new();
    for (k, v) in map {
        let lk = k.to_ascii_lowercase();
        if matches!(
            lk.as_str(),
            "host" | "content-length" | "transfer-encoding" | "connection" | "upgrade" | "te"
        ) {
            return Err(WebError::BadArgument(format!(
                "header {k:?} is managed by the client; leave it out"
            )));
        }
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| WebError::BadArgument(format!("{k:?} is not a valid header name")))?;
        let value = HeaderValue::from_str(v)
            .map_err(|_| WebError::BadArgument(format!("header {k:?} has an invalid value")))?;
        out.insert(name, value);
    }
    Ok(out)
}
