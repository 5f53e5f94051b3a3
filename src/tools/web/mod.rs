//! Web tools: `fetch` (read a web page as Markdown) and `web_search`.
//!
//! Built behind the cargo feature `web` (opt-in, see docs/web.md). Nothing is allocated
//! or connected at start-up: each HTTP client is built on first use.
//!
//! Safety: every connection goes through the SSRF guard (`guard`), which refuses
//! link-local and cloud-metadata addresses always and private networks
//! unless [`WebConfig::allow_private`] is set; it judges the resolved address
//! of every redirect hop.
//!
//! ```
//! use std::sync::Arc;
//! use lmcp::tools::web::{tools, WebConfig};
//! let tools = tools(Arc::new(WebConfig::default()));
//! let names: Vec<_> = tools.iter().map(|t| t.name.as_str()).collect();
//! assert_eq!(names, ["fetch", "web_search"]);
//! ```

mod client;
pub(crate) mod extract;
pub mod fetch;
pub(crate) mod guard;
mod robots;
pub mod search;

use crate::server::Tool;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Which search engine `web_search` asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchBackend {
    /// DuckDuckGo's HTML page: keyless, the default.
    #[default]
    DuckDuckGo,
    /// A SearXNG instance's JSON API (set [`WebConfig::searxng_url`]).
    Searxng,
    /// The Brave Search API (needs a key: [`WebConfig::brave_key_env`] or
    /// [`WebConfig::brave_key_file`]).
    Brave,
}

impl FromStr for SearchBackend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "duckduckgo" | "ddg" => Ok(SearchBackend::DuckDuckGo),
            "searxng" | "searx" => Ok(SearchBackend::Searxng),
            "brave" => Ok(SearchBackend::Brave),
            other => Err(format!(
                "unknown search backend {other:?}: use duckduckgo, searxng or brave"
            )),
        }
    }
}

/// Configuration of the web tools.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Allow loopback and private-network addresses (link-local and cloud
    /// metadata addresses stay refused).
    pub allow_private: bool,
    /// `User-Agent` header of every request.
    pub user_agent: String,
    /// Largest response body read, in bytes (after decompression); the rest
    /// is not downloaded.
    pub max_body_bytes: usize,
    /// Largest number of redirects followed by `fetch`.
    pub max_redirects: usize,
    /// Timeout of one fetch or search when the call sets none.
    pub default_timeout: Duration,
    /// Largest `timeout_ms` a call may ask for.
    pub max_timeout: Duration,
    /// Obey `robots.txt` before fetching.
    pub respect_robots: bool,
    /// How long a site's `robots.txt` is remembered (an unreadable one at
    /// most a minute).
    pub robots_ttl: Duration,
    /// The search engine of `web_search`.
    pub search_backend: SearchBackend,
    /// Base URL of the SearXNG instance (e.g. `http://localhost:8888`).
    pub searxng_url: Option<String>,
    /// Environment variable holding the Brave Search API key.
    pub brave_key_env: String,
    /// File holding the Brave Search API key (read when the variable is unset).
    pub brave_key_file: Option<PathBuf>,
    /// Endpoint of the Brave web search API.
    pub brave_url: String,
    /// Endpoint of DuckDuckGo's HTML search page.
    pub duckduckgo_url: String,
    /// Longest edge, in pixels, of a fetched image sent as image content
    /// (`--image-max-edge`, as for `read_file`); larger images are downscaled.
    pub image_max_edge: u32,
    /// Where `fetch` and `web_search` parse pages, documents and result
    /// pages: in the helper process `lmcp-extract` by default, or in
    /// process with
    /// [`Parsers::in_process`](crate::tools::extract_helper::Parsers::in_process).
    pub parsers: crate::tools::extract_helper::Parsers,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            allow_private: false,
            user_agent: concat!("lmcp/", env!("CARGO_PKG_VERSION"), " (MCP fetch tool)").into(),
            max_body_bytes: 5 * 1024 * 1024,
            max_redirects: 5,
            default_timeout: Duration::from_secs(30),
            max_timeout: Duration::from_secs(120),
            respect_robots: false,
            robots_ttl: Duration::from_secs(3600),
            search_backend: SearchBackend::default(),
            searxng_url: None,
            brave_key_env: "BRAVE_API_KEY".into(),
            brave_key_file: None,
            brave_url: "https://api.search.brave.com/res/v1/web/search".into(),
            duckduckgo_url: "https://html.duckduckgo.com/html/".into(),
            image_max_edge: 1568,
            parsers: crate::tools::extract_helper::Parsers::helper(),
        }
    }
}

impl WebConfig {
    /// Host names of the configured search endpoints: the search client
    /// reaches them even on a private network, since the operator named them.
    fn backend_hosts(&self) -> Vec<String> {
        [
            self.searxng_url.as_deref(),
            Some(self.brave_url.as_str()),
            Some(self.duckduckgo_url.as_str()),
        ]
        .into_iter()
        .flatten()
        .filter_map(|u| reqwest::Url::parse(u).ok())
        .filter_map(|u| {
            u.host_str()
                .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
        })
        .collect()
    }
}

/// State shared by the web tools: the configuration and the lazily built
/// HTTP clients.
#[derive(Debug)]
pub(crate) struct Web {
    pub config: Arc<WebConfig>,
    fetch_client: OnceLock<Result<client::Http, String>>,
    search_client: OnceLock<Result<client::Http, String>>,
    /// The robots.txt policies of recently fetched origins.
    pub robots: robots::Cache,
}

impl Web {
    fn new(config: Arc<WebConfig>) -> Self {
        Web {
            robots: robots::Cache::new(config.robots_ttl),
            config,
            fetch_client: OnceLock::new(),
            search_client: OnceLock::new(),
        }
    }

    /// The client of `fetch`, built on first use.
    pub fn fetch_http(&self) -> Result<&client::Http, client::WebError> {
        self.fetch_client
            .get_or_init(|| {
                let guard = guard::Guard {
                    allow_private: self.config.allow_private,
                    exempt_hosts: Vec::new(),
                };
                client::Http::build(&self.config, guard)
            })
            .as_ref()
            .map_err(|e| client::WebError::Client(e.clone()))
    }

    /// The client of `web_search`, built on first use: it may reach the
    /// configured backend hosts even when they are private.
    pub fn search_http(&self) -> Result<&client::Http, client::WebError> {
        self.search_client
            .get_or_init(|| {
                let guard = guard::Guard {
                    allow_private: self.config.allow_private,
                    exempt_hosts: self.config.backend_hosts(),
                };
                client::Http::build(&self.config, guard)
            })
            .as_ref()
            .map_err(|e| client::WebError::Client(e.clone()))
    }
}

/// How long the helper process may take for one job: what is left of the
/// call's time (until `deadline`), at most `cap`. Nothing left is the
/// call's timeout (`timeout`, the duration the error reports).
pub(crate) fn helper_time(
    deadline: Instant,
    cap: Duration,
    timeout: Duration,
) -> Result<Duration, client::WebError> {
    let time = deadline.saturating_duration_since(Instant::now()).min(cap);
    if time.is_zero() {
        return Err(client::WebError::Timeout(timeout));
    }
    Ok(time)
}

/// The web tools (`fetch`, `web_search`) sharing one configuration.
pub fn tools(config: Arc<WebConfig>) -> Vec<Tool> {
    let web = Arc::new(Web::new(config));
    vec![fetch::tool(web.clone()), search::tool(web)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_parsing_and_hosts() {
        assert_eq!(
            "DDG".parse::<SearchBackend>(),
            Ok(SearchBackend::DuckDuckGo)
        );
        assert_eq!(
            "searxng".parse::<SearchBackend>(),
            Ok(SearchBackend::Searxng)
        );
        assert!("bing"
            .parse::<SearchBackend>()
            .unwrap_err()
            .contains("brave"));
        let cfg = WebConfig {
            searxng_url: Some("http://Searx.Local:8888/".into()),
            ..WebConfig::default()
        };
        let hosts = cfg.backend_hosts();
        assert!(hosts.contains(&"searx.local".to_string()));
        assert!(hosts.contains(&"html.duckduckgo.com".to_string()));
    }

    #[test]
    fn helper_time_is_what_is_left_at_most_the_cap() {
        let cap = Duration::from_secs(10);
        let timeout = Duration::from_secs(30);
        let far = Instant::now() + Duration::from_secs(3600);
        assert_eq!(helper_time(far, cap, timeout).unwrap(), cap);
        let near = Instant::now() + Duration::from_secs(5);
        let t = helper_time(near, cap, timeout).unwrap();
        assert!(t > Duration::ZERO && t <= Duration::from_secs(5));
        match helper_time(Instant::now(), cap, timeout) {
            Err(client::WebError::Timeout(d)) => assert_eq!(d, timeout),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }
}
