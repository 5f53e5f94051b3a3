//! The `web_search` tool and its backends: DuckDuckGo's HTML page (default,
//! keyless), a SearXNG instance's JSON API, and the Brave Search API.

use super::client::{Fetched, WebError};
use super::{helper_time, SearchBackend, Web};
use crate::server::{Tool, ToolError, ToolResult};
use crate::tools::schemas::stored;
use dom_query::Document;
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod locale;

pub use locale::{ddg_kl, searxng_language};

/// Safe-search level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SafeSearch {
    /// No filtering.
    Off,
    /// The engine's default filtering.
    Moderate,
    /// Strict filtering.
    Strict,
}

/// Only results from this recent period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TimeRange {
    /// The last day.
    Day,
    /// The last week.
    Week,
    /// The last month.
    Month,
    /// The last year.
    Year,
}

/// Arguments of `web_search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// What to search for.
    pub query: String,
    /// Number of results (1-20, default 10).
    #[serde(default)]
    #[schemars(range(min = 1, max = 20))]
    pub count: Option<usize>,
    /// Number of results to skip, to see further results (default 0).
    #[serde(default)]
    pub offset: Option<usize>,
    /// Language of the results, e.g. `en` or `de`. DuckDuckGo: without a
    /// region, picks the language's home region (`de` -> `de-de`; languages
    /// without one are ignored). SearXNG: its `language`. Brave: `search_lang`.
    #[serde(default)]
    pub language: Option<String>,
    /// Region of the results, e.g. `us`, `de` (DuckDuckGo also takes `us-en`).
    /// SearXNG has no region: it is joined to the language (`de-CH`), or
    /// alone sent with its main language (`ch` -> `de-CH`; unknown regions
    /// are ignored). Brave: `country`.
    #[serde(default)]
    pub region: Option<String>,
    /// Safe-search level (the engine's default when unset).
    #[serde(default)]
    pub safe_search: Option<SafeSearch>,
    /// Only results from the last day, week, month or year.
    #[serde(default)]
    pub time_range: Option<TimeRange>,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SearchResult {
    /// Title of the page.
    pub title: String,
    /// Address of the page.
    pub url: String,
    /// Text from the page around the query.
    pub snippet: String,
    /// Publication date or age, when the engine gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// Structured result of `web_search`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SearchOutput {
    /// The query asked.
    pub query: String,
    /// The engine asked.
    pub backend: String,
    /// Results skipped.
    pub offset: usize,
    /// The results, best first.
    pub results: Vec<SearchResult>,
}

/// The `web_search` tool.
pub(crate) fn tool(web: Arc<Web>) -> Tool {
    Tool::typed_with_schema::<SearchArgs, _, _>(
        "web_search",
        "Search the web. Returns a numbered list of results (title, URL, snippet, date when \
         known); read a result with the fetch tool. Use offset to see further results.",
        stored!("web_search", SearchArgs),
        move |args: SearchArgs, _ctx| {
            let web = web.clone();
            async move {
                search(&web, args)
                    .await
                    .map_err(|e| ToolError::Tool(e.to_string()))
            }
        },
    )
    .title("Web search")
    .output_schema(stored!("web_search.output", SearchOutput))
    .read_only()
    .open_world(true)
}

fn backend_name(b: SearchBackend) -> &'static str {
    match b {
        SearchBackend::DuckDuckGo => "duckduckgo",
        SearchBackend::Searxng => "searxng",
        SearchBackend::Brave => "brave",
    }
}

/// Run one search.
pub(crate) async fn search(web: &Web, args: SearchArgs) -> Result<ToolResult, WebError> {
    let query = args.query.trim();
    if query.is_empty() {
        return Err(WebError::BadArgument(
            "the query is empty; say what to search for".into(),
        ));
    }
    let count = args.count.unwrap_or(10).clamp(1, 20);
    let offset = args.offset.unwrap_or(0);
    let backend = web.config.search_backend;
    let name = backend_name(backend);
    let timeout = web.config.default_timeout;
    let call = Call {
        web,
        deadline: Instant::now() + timeout,
    };
    let work = async {
        match backend {
            SearchBackend::DuckDuckGo => duckduckgo(&call, query, count, offset, &args).await,
            SearchBackend::Searxng => searxng(&call, query, count, offset, &args).await,
            SearchBackend::Brave => brave(&call, query, count, offset, &args).await,
        }
    };
    let mut results = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| WebError::Timeout(timeout))??;
    results.truncate(count);
    let text = if results.is_empty() {
        format!("No results for \"{query}\" ({name}). Try other or fewer words.")
    } else {
        numbered(query, name, offset, &results)
    };
    let out = SearchOutput {
        query: query.to_string(),
        backend: name.to_string(),
        offset,
        results,
    };
    Ok(ToolResult::text(text).with_structured(serde_json::to_value(&out).unwrap_or_default()))
}

/// One search: the tools' state and when the call's time is up.
struct Call<'a> {
    web: &'a Web,
    deadline: Instant,
}

fn numbered(query: &str, backend: &str, offset: usize, results: &[SearchResult]) -> String {
    let mut s = format!("Results for \"{query}\" ({backend}):\n");
    for (i, r) in results.iter().enumerate() {
        s.push_str(&format!(
            "\n{}. {}\n   {}\n",
            offset + i + 1,
            r.title,
            r.url
        ));
        if !r.snippet.is_empty() {
            s.push_str(&format!("   {}\n", r.snippet));
        }
        if let Some(d) = &r.date {
            s.push_str(&format!("   Date: {d}\n"));
        }
    }
    s.trim_end().to_string()
}

/// GET a backend URL through the search client.
async fn get(web: &Web, url: Url, headers: HeaderMap) -> Result<Fetched, WebError> {
    web.search_http()?
        .get(url, &headers, 3, web.config.max_body_bytes)
        .await
}

/// A clear error for a failed backend answer.
fn status_error(backend: &str, f: &Fetched) -> WebError {
    let retry = f
        .headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(|s| format!(" (retry after {s} s)"))
        .unwrap_or_default();
    let msg = match f.status {
        StatusCode::TOO_MANY_REQUESTS => format!(
            "{backend} is rate-limiting searches{retry}; wait before searching again, or \
             configure another search backend"
        ),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN if backend == "brave" => {
            "brave rejected the API key (HTTP 401/403); check the key the server is configured with"
                .into()
        }
        StatusCode::FORBIDDEN if backend == "searxng" => {
            "searxng refused the JSON API (HTTP 403); enable the json format in the instance's \
             settings.yml (search: formats: [html, json])"
                .into()
        }
        s => {
            let body = String::from_utf8_lossy(&f.body);
            let excerpt: String = body.chars().take(200).collect();
            format!("{backend} answered HTTP {s}: {}", excerpt.trim())
        }
    };
    WebError::Transport(msg)
}

fn base_url(s: &str, what: &str) -> Result<Url, WebError> {
    Url::parse(s).map_err(|e| {
        WebError::BadArgument(format!("the configured {what} URL {s:?} is invalid: {e}"))
    })
}

async fn duckduckgo(
    call: &Call<'_>,
    query: &str,
    count: usize,
    offset: usize,
    args: &SearchArgs,
) -> Result<Vec<SearchResult>, WebError> {
    let web = call.web;
    let mut url = base_url(&web.config.duckduckgo_url, "DuckDuckGo")?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("q", query);
        if offset > 0 {
            q.append_pair("s", &offset.to_string());
            q.append_pair("dc", &(offset + 1).to_string());
        }
        if let Some(r) = ddg_kl(args.region.as_deref(), args.language.as_deref()) {
            q.append_pair("kl", &r);
        }
        if let Some(s) = args.safe_search {
            let kp = match s {
                SafeSearch::Strict => "1",
                SafeSearch::Moderate => "-1",
                SafeSearch::Off => "-2",
            };
            q.append_pair("kp", kp);
        }
        if let Some(t) = args.time_range {
            q.append_pair("df", &time_letter(t).to_string());
        }
    }
    let f = get(web, url, HeaderMap::new()).await?;
    if f.status == StatusCode::ACCEPTED {
        return Err(ddg_blocked());
    }
    if !f.status.is_success() {
        return Err(status_error("duckduckgo", &f));
    }
    Ok(parse_in_helper(call, "duckduckgo", &f.body, 0, count)
        .await?
        .0)
}

/// Read the results of a backend's answer (and, for SearXNG, the engines
/// that did not answer) with the configured parsers, by default in the
/// helper process `lmcp-extract` (the HTML parser is not part of lmcp
/// itself), within what is left of the call's time.
async fn parse_in_helper(
    call: &Call<'_>,
    backend: &str,
    body: &[u8],
    skip: usize,
    count: usize,
) -> Result<(Vec<SearchResult>, Vec<String>), WebError> {
    use crate::tools::extract_helper::protocol::{Answer, Job};
    let job = Job::Search {
        backend: backend.to_string(),
        skip,
        count,
    };
    let cap = body.len().saturating_mul(4) + (1 << 20);
    let time = helper_time(call.deadline, HELPER_TIME, call.web.config.default_timeout)?;
    match call
        .web
        .config
        .parsers
        .run(job, body, time, None, cap)
        .await
    {
        Ok(Answer::Search {
            results,
            unresponsive_engines,
        }) => Ok((
            results
                .into_iter()
                .filter_map(|r| serde_json::from_value(r).ok())
                .collect(),
            unresponsive_engines,
        )),
        Ok(Answer::Failed { message }) => Err(WebError::Transport(message)),
        Ok(_) => Err(WebError::Helper(format!(
            "cannot read the {backend} results: the helper gave an unexpected answer"
        ))),
        Err(e) => Err(WebError::Helper(format!(
            "cannot read the {backend} results: {e}"
        ))),
    }
}

/// Most time the helper may take to read a result page (less when less is
/// left of the call's timeout).
const HELPER_TIME: Duration = Duration::from_secs(10);

fn ddg_blocked() -> WebError {
    WebError::Transport(
        "duckduckgo is rate-limiting this server (it answered with a bot check); wait a few \
         minutes before searching again, or configure the searxng or brave backend"
            .into(),
    )
}

fn time_letter(t: TimeRange) -> char {
    match t {
        TimeRange::Day => 'd',
        TimeRange::Week => 'w',
        TimeRange::Month => 'm',
        TimeRange::Year => 'y',
    }
}

/// Parse DuckDuckGo's HTML result page.
pub fn parse_duckduckgo(html: &str, count: usize) -> Result<Vec<SearchResult>, WebError> {
    let doc = Document::from(html);
    if !doc
        .select(".anomaly-modal__modal, #challenge-form, .anomaly-modal")
        .is_empty()
    {
        return Err(ddg_blocked());
    }
    let mut out = Vec::new();
    for result in doc.select("div.result").iter() {
        if result.has_class("result--ad") {
            continue;
        }
        let link = result.select("a.result__a");
        let Some(href) = link.attr("href") else {
            continue;
        };
        let Some(url) = ddg_target(&href) else {
            continue;
        };
        let title = squash(&link.text());
        let snippet = squash(&result.select(".result__snippet").text());
        let date =
            Some(squash(&result.select(".result__timestamp").text())).filter(|d| !d.is_empty());
        out.push(SearchResult {
            title,
            url,
            snippet,
            date,
        });
        if out.len() >= count {
            break;
        }
    }
    Ok(out)
}

/// The real target of a DuckDuckGo result link (which may go through its
/// `/l/?uddg=` redirector).
fn ddg_target(href: &str) -> Option<String> {
    let abs = if href.starts_with("//") {
        format!("https:{href}")
    } else if href.starts_with('/') {
        format!("https://duckduckgo.com{href}")
    } else {
        href.to_string()
    };
    let url = Url::parse(&abs).ok()?;
    if url.path().starts_with("/l/") {
        let target = url.query_pairs().find(|(k, _)| k == "uddg")?.1.into_owned();
        return Some(target);
    }
    if url
        .host_str()
        .is_some_and(|h| h.ends_with("duckduckgo.com"))
        && url.path() == "/y.js"
    {
        return None; // an ad click
    }
    Some(abs)
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Remove tags and decode entities of an HTML snippet.
fn strip_tags(s: &str) -> String {
    if !s.contains('<') && !s.contains('&') {
        return squash(s);
    }
    squash(&Document::from(s).select("body").text())
}

async fn searxng(
    call: &Call<'_>,
    query: &str,
    count: usize,
    offset: usize,
    args: &SearchArgs,
) -> Result<Vec<SearchResult>, WebError> {
    let web = call.web;
    let Some(base) = &web.config.searxng_url else {
        return Err(WebError::BadArgument(
            "the searxng backend has no instance URL; the server operator must set one".into(),
        ));
    };
    let mut url = base_url(base, "SearXNG")?;
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    let mut url = url
        .join("search")
        .map_err(|e| WebError::BadArgument(format!("SearXNG URL: {e}")))?;
    const PAGE: usize = 10;
    let skip = offset % PAGE;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("q", query);
        q.append_pair("format", "json");
        q.append_pair("pageno", &(offset / PAGE + 1).to_string());
        if let Some(l) = searxng_language(args.language.as_deref(), args.region.as_deref()) {
            q.append_pair("language", &l);
        }
        if let Some(s) = args.safe_search {
            let v = match s {
                SafeSearch::Off => "0",
                SafeSearch::Moderate => "1",
                SafeSearch::Strict => "2",
            };
            q.append_pair("safesearch", v);
        }
        if let Some(t) = args.time_range {
            q.append_pair("time_range", &format!("{t:?}").to_lowercase());
        }
    }
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let f = get(web, url, headers).await?;
    if !f.status.is_success() {
        return Err(status_error("searxng", &f));
    }
    let (results, broken) = parse_in_helper(call, "searxng", &f.body, skip, count).await?;
    if results.is_empty() && !broken.is_empty() {
        return Err(WebError::Transport(format!(
            "searxng found nothing because its engines failed ({}); try again later",
            broken.join("; ")
        )));
    }
    Ok(results)
}

/// The engines a SearXNG JSON answer lists as unresponsive, each as
/// `name: reason`.
pub fn searxng_unresponsive(v: &Value) -> Vec<String> {
    let Some(broken) = v["unresponsive_engines"].as_array() else {
        return Vec::new();
    };
    broken
        .iter()
        .map(|e| match e {
            Value::Array(p) => p
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(": "),
            other => other.to_string(),
        })
        .collect()
}

/// Results of a SearXNG JSON answer.
pub fn parse_searxng(v: &Value, skip: usize, count: usize) -> Vec<SearchResult> {
    let Some(items) = v["results"].as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|r| {
            let url = r["url"].as_str()?.to_string();
            Some(SearchResult {
                title: squash(r["title"].as_str().unwrap_or(&url)),
                snippet: strip_tags(r["content"].as_str().unwrap_or_default()),
                date: r["publishedDate"]
                    .as_str()
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned),
                url,
            })
        })
        .skip(skip)
        .take(count)
        .collect()
}

fn brave_key(web: &Web) -> Result<String, WebError> {
    let cfg = &web.config;
    if let Ok(k) = std::env::var(&cfg.brave_key_env) {
        if !k.trim().is_empty() {
            return Ok(k.trim().to_string());
        }
    }
    if let Some(path) = &cfg.brave_key_file {
        let k = std::fs::read_to_string(path).map_err(|e| {
            WebError::BadArgument(format!(
                "could not read the Brave API key file {}: {e}",
                path.display()
            ))
        })?;
        if !k.trim().is_empty() {
            return Ok(k.trim().to_string());
        }
    }
    Err(WebError::BadArgument(format!(
        "the brave backend needs an API key: the server operator must set {} or a key file",
        cfg.brave_key_env
    )))
}

async fn brave(
    call: &Call<'_>,
    query: &str,
    count: usize,
    offset: usize,
    args: &SearchArgs,
) -> Result<Vec<SearchResult>, WebError> {
    let web = call.web;
    let key = brave_key(web)?;
    let mut url = base_url(&web.config.brave_url, "Brave")?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("q", query);
        q.append_pair("count", &count.to_string());
        // Brave's offset counts pages of `count` results.
        q.append_pair("offset", &(offset / count).min(9).to_string());
        if let Some(l) = &args.language {
            q.append_pair("search_lang", l);
        }
        if let Some(r) = &args.region {
            let country = r.split('-').next().unwrap_or(r);
            q.append_pair("country", &country.to_ascii_uppercase());
        }
        if let Some(s) = args.safe_search {
            q.append_pair("safesearch", &format!("{s:?}").to_lowercase());
        }
        if let Some(t) = args.time_range {
            q.append_pair("freshness", &format!("p{}", time_letter(t)));
        }
    }
    let mut headers = HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
    let token = HeaderValue::from_str(&key).map_err(|_| {
        WebError::BadArgument("the Brave API key contains invalid characters".into())
    })?;
    headers.insert("x-subscription-token", token);
    let f = get(web, url, headers).await?;
    if !f.status.is_success() {
        return Err(status_error("brave", &f));
    }
    Ok(
        parse_in_helper(call, "brave", &f.body, offset % count, count)
            .await?
            .0,
    )
}

/// Results of a Brave web search answer.
pub fn parse_brave(v: &Value, skip: usize, count: usize) -> Vec<SearchResult> {
    let Some(items) = v["web"]["results"].as_array() else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|r| {
            let url = r["url"].as_str()?.to_string();
            Some(SearchResult {
                title: strip_tags(r["title"].as_str().unwrap_or(&url)),
                snippet: strip_tags(r["description"].as_str().unwrap_or_default()),
                date: r["page_age"]
                    .as_str()
                    .or_else(|| r["age"].as_str())
                    .map(str::to_owned),
                url,
            })
        })
        .skip(skip)
        .take(count)
        .collect()
}
