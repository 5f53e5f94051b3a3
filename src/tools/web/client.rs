//! The guarded HTTP client: manual redirects re-checked at every hop, a
//! size-capped streaming body, errors a user can act on.

use super::guard::{find_guard_error, Guard, GuardError, GuardedResolver};
use super::WebConfig;
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
    /// Connection, TLS or protocol failure.
    Transport(String),
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
            WebError::Transport(m) => write!(f, "{m}"),
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
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    guard: Arc<Guard>,
    /// Whether proxy variables are set (targets are then also resolved here,
    /// since the client hands the name to the proxy).
    proxied: bool,
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
    /// Build a client applying `guard`. Proxies named by the environment are
    /// honoured (by reqwest) and exempted from the guard: the operator set them.
    pub fn build(config: &WebConfig, mut guard: Guard) -> Result<Http, String> {
        // Use ring unless the embedding program installed a provider already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut proxied = false;
        for var in PROXY_VARS {
            if let Ok(v) = std::env::var(var) {
                proxied = true;
                if let Some(h) = Url::parse(&v)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
                {
                    guard.exempt_hosts.push(h.to_ascii_lowercase());
                }
            }
        }
        let guard = Arc::new(guard);
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(GuardedResolver::new(guard.clone()))
            .connect_timeout(Duration::from_secs(15))
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|e| WebError::from(e).to_string())?;
        log::debug!("web: HTTP client built (proxied: {proxied})");
        Ok(Http {
            client,
            guard,
            proxied,
        })
    }

    /// Judge a hop before connecting.
    async fn check_hop(&self, url: &Url) -> Result<(), WebError> {
        self.guard.check_url(url)?;
        if self.proxied {
            if let Some(url::Host::Domain(host)) = url.host() {
                // Behind a proxy the client never resolves the target: do it
                // here so a name pointing inside is still refused. A name that
                // does not resolve locally is the proxy's business.
                if let Ok(addrs) = tokio::net::lookup_host((host, 0)).await {
                    let addrs: Vec<_> = addrs.collect();
                    self.guard.check_addrs(host, &addrs)?;
                }
            }
        }
        Ok(())
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
            self.check_hop(&url).await?;
            log::debug!("web: GET {url}");
            let mut resp = self
                .client
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
