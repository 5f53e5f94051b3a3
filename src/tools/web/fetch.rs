//! The `fetch` tool: read a web page (or JSON, text, …) in a form a model
//! reads well, a page of characters at a time.

use super::client::{parse_headers, Fetched, WebError};
use super::extract::{self, Converted, Kind};
use super::{helper_time, robots, Web};
use crate::server::{Tool, ToolError, ToolResult};
use crate::tools::schemas::stored;
use reqwest::header::CONTENT_TYPE;
use reqwest::Url;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default number of characters returned.
pub const DEFAULT_MAX_LENGTH: usize = 10_000;

/// How the content is rendered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Main content as Markdown (headings, links, lists, code, tables).
    #[default]
    Markdown,
    /// Main content as plain text.
    Text,
    /// Main content as cleaned HTML.
    Html,
    /// The body exactly as served (decoded to text).
    Raw,
}

/// Arguments of `fetch`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FetchArgs {
    /// The http or https URL to read.
    pub url: String,
    /// Largest number of characters to return (default 10000).
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000000))]
    pub max_length: Option<usize>,
    /// Character offset to start from, to read on where a previous call
    /// stopped (its result gives the next index).
    #[serde(default)]
    pub start_index: Option<usize>,
    /// `markdown` (default), `text`, `html` (cleaned main content) or `raw`.
    #[serde(default)]
    pub format: Option<Format>,
    /// Extra request headers (e.g. Accept-Language, Authorization).
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Timeout of the whole fetch in milliseconds (default 30000).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout_ms: Option<u64>,
}

/// Structured result of `fetch`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FetchOutput {
    /// The URL finally read (after redirects).
    pub url: String,
    /// HTTP status code.
    pub status: u16,
    /// The served content type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The page title, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The rendering used.
    pub format: Format,
    /// The returned part of the content.
    pub content: String,
    /// Characters in the whole rendered content.
    pub total_length: usize,
    /// Where the returned part starts.
    pub start_index: usize,
    /// Where to start the next call, when more remains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_index: Option<usize>,
    /// Whether the download stopped at the size limit.
    pub body_truncated: bool,
    /// For HTML: whether a main content was found (else the whole page was
    /// converted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_content: Option<bool>,
}

/// The `fetch` tool.
pub(crate) fn tool(web: Arc<Web>) -> Tool {
    Tool::typed_with_schema::<FetchArgs, _, _>(
        "fetch",
        "Fetch a URL from the internet and return its content for reading. HTML pages are \
         reduced to their main content and converted to Markdown (headings, links, lists, \
         code blocks and tables kept); JSON is pretty-printed; text is returned as is; images \
         and binaries are described. Long content is returned in parts: call again with \
         start_index set to the next index the result gives.",
        stored!("fetch", FetchArgs),
        move |args: FetchArgs, _ctx| {
            let web = web.clone();
            async move {
                match fetch(&web, args).await {
                    Ok(r) => Ok(r),
                    Err(e) => Err(ToolError::Tool(e.to_string())),
                }
            }
        },
    )
    .title("Fetch web page")
    .output_schema(stored!("fetch.output", FetchOutput))
    .read_only()
    .open_world(true)
}

/// Run one fetch.
pub(crate) async fn fetch(web: &Web, args: FetchArgs) -> Result<ToolResult, WebError> {
    let cfg = &web.config;
    let url = Url::parse(args.url.trim()).map_err(|e| WebError::InvalidUrl(format!("{e}")))?;
    let headers = parse_headers(&args.headers.unwrap_or_default())?;
    let max_length = args.max_length.unwrap_or(DEFAULT_MAX_LENGTH).max(1);
    let start = args.start_index.unwrap_or(0);
    let format = args.format.unwrap_or_default();
    let timeout = args
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(cfg.default_timeout)
        .min(cfg.max_timeout);
    let work = async {
        let http = web.fetch_http()?;
        if cfg.respect_robots {
            check_robots(web, &url).await?;
        }
        http.get(url.clone(), &headers, cfg.max_redirects, cfg.max_body_bytes)
            .await
    };
    let deadline = Instant::now() + timeout;
    let fetched = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| WebError::Timeout(timeout))??;
    // PDF and office documents become text, images image content (feature
    // docs), within what is left of the call's time.
    #[cfg(feature = "docs")]
    let (fetched, media) = {
        let mut f = fetched;
        let path = f.url.path().to_owned();
        let media = crate::tools::docs::for_fetch::convert(
            cfg,
            deadline.saturating_duration_since(Instant::now()),
            &mut f.headers,
            &path,
            &mut f.body,
            f.truncated,
        )
        .await;
        (f, media)
    };
    let typed = Typed::of(&fetched);
    let converted = match (typed.kind, format) {
        (Kind::Html, Format::Markdown | Format::Text | Format::Html) => {
            let time = helper_time(deadline, HELPER_TIME, timeout)?;
            Some(convert_in_helper(cfg, &fetched, &typed, format, time).await?)
        }
        _ => None,
    };
    let result = render(
        fetched,
        typed,
        format,
        start,
        max_length,
        cfg.max_body_bytes,
        converted,
    );
    #[cfg(feature = "docs")]
    let result = match media {
        Some(m) => result.push(m),
        None => result,
    };
    Ok(result)
}

/// Ask the site's robots.txt whether `url` may be read (RFC 9309). The
/// robots.txt is fetched through the same guarded client as any fetch, so
/// every hop is checked, and its verdict is cached per origin.
async fn check_robots(web: &Web, url: &Url) -> Result<(), WebError> {
    let origin = url.origin().ascii_serialization();
    let policy = match web.robots.get(&origin) {
        Some(p) => p,
        None => {
            let policy = read_robots(web, url).await?;
            log::debug!("web: robots.txt of {origin}: {policy:?}");
            web.robots.put(&origin, policy)
        }
    };
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }
    match policy.judge(&path) {
        robots::Verdict::Allowed => Ok(()),
        robots::Verdict::Disallowed(rule) => Err(WebError::Robots(url.to_string(), rule)),
    }
}

/// Fetch and read the robots.txt of `url`'s origin. A refusal of the guard
/// is an error (never cached); anything else becomes a policy.
async fn read_robots(web: &Web, url: &Url) -> Result<robots::Policy, WebError> {
    use robots::Policy;
    let http = web.fetch_http()?;
    let mut robots_url = url.clone();
    robots_url.set_path("/robots.txt");
    robots_url.set_query(None);
    robots_url.set_fragment(None);
    let got = http
        .get(
            robots_url,
            &Default::default(),
            robots::MAX_REDIRECTS,
            robots::MAX_BYTES,
        )
        .await;
    Ok(match got {
        Ok(r) if r.status.is_success() => Policy::Rules(robots::parse(
            &String::from_utf8_lossy(&r.body),
            &web.config.user_agent,
        )),
        Ok(r) if r.status.is_client_error() => {
            Policy::AllowAll(format!("robots.txt answered HTTP {}", r.status))
        }
        Ok(r) => Policy::DisallowAll(format!("robots.txt answered HTTP {}", r.status)),
        Err(WebError::TooManyRedirects(n)) => {
            Policy::AllowAll(format!("robots.txt redirected more than {n} times"))
        }
        Err(e @ (WebError::Guard(_) | WebError::Unresolved(..) | WebError::Client(_))) => {
            return Err(e)
        }
        Err(e) => Policy::DisallowAll(format!("robots.txt could not be read ({e})")),
    })
}

/// Most time the helper may take to convert a page (less when less is left
/// of the call's timeout).
const HELPER_TIME: Duration = Duration::from_secs(30);

/// What a response is, worked out once from its `Content-Type` and body.
struct Typed {
    /// The served `Content-Type`.
    content_type: Option<String>,
    /// Its MIME type, lowercased, without parameters.
    mime: Option<String>,
    /// How it is rendered.
    kind: Kind,
}

impl Typed {
    fn of(f: &Fetched) -> Typed {
        let content_type = f
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Typed {
            mime: extract::mime(content_type.as_deref()),
            kind: extract::kind(content_type.as_deref(), &f.body),
            content_type,
        }
    }

    /// The body decoded to text.
    fn decode(&self, body: &[u8]) -> String {
        extract::decode(body, self.content_type.as_deref(), self.kind).0
    }
}

/// An HTML page reduced to its main content, within `time`, by the
/// configured parsers (by default the helper process `lmcp-extract`: the
/// HTML parser is not part of lmcp itself).
async fn convert_in_helper(
    cfg: &super::WebConfig,
    f: &Fetched,
    typed: &Typed,
    format: Format,
    time: Duration,
) -> Result<Converted, WebError> {
    use crate::tools::extract_helper::protocol::{Answer, Job};
    let html = typed.decode(&f.body);
    let name = match format {
        Format::Text => "text",
        Format::Html => "html",
        _ => "markdown",
    };
    let job = Job::Html {
        url: f.url.to_string(),
        format: name.into(),
    };
    // Markdown and text are shorter than the page; cleaned HTML about as
    // long, JSON escaping at most a few times longer.
    let cap = html.len().saturating_mul(6) + (1 << 20);
    match cfg.parsers.run(job, html.as_bytes(), time, None, cap).await {
        Ok(Answer::Html {
            title,
            content,
            main_content,
        }) => Ok(Converted {
            title,
            content,
            main_content,
        }),
        Ok(Answer::Failed { message }) => Err(WebError::Helper(format!(
            "cannot convert this HTML page: {message}; fetch it with format \"raw\" to read its source"
        ))),
        Ok(_) => Err(WebError::Helper(
            "cannot convert this HTML page: the helper gave an unexpected answer".into(),
        )),
        Err(e) => Err(WebError::Helper(format!(
            "cannot convert this HTML page: {e}; fetch it with format \"raw\" to read its source"
        ))),
    }
}

/// Turn a response (of type `typed`) into the tool result; an HTML page
/// comes already converted (`converted`, from [`convert_in_helper`]).
fn render(
    f: Fetched,
    typed: Typed,
    format: Format,
    start: usize,
    max_length: usize,
    cap: usize,
    converted: Option<Converted>,
) -> ToolResult {
    let kind = typed.kind;
    let mut title = None;
    let mut main_content = None;
    let content = match (kind, format, converted) {
        (Kind::Image | Kind::Binary, _, _) => {
            extract::describe_binary(kind, typed.mime.as_deref(), &f.body, f.truncated)
        }
        (Kind::Html, _, Some(c)) if format != Format::Raw => {
            title = c.title;
            main_content = Some(c.main_content);
            c.content
        }
        (Kind::Json, Format::Markdown | Format::Text | Format::Html, _) if !f.truncated => {
            extract::pretty_json(&typed.decode(&f.body))
        }
        _ => typed.decode(&f.body),
    };

    let total = content.chars().count();
    let ok = f.status.is_success();
    if start > 0 && start >= total {
        return ToolResult::error(format!(
            "start_index {start} is past the end of the content ({total} characters); \
             start from 0 or a smaller index"
        ));
    }
    let part: String = content.chars().skip(start).take(max_length).collect();
    let end = start + part.chars().count();
    let next_index = (end < total).then_some(end);

    let mut text = String::new();
    if !ok {
        text.push_str(&format!(
            "The server answered HTTP {} for {}.\n\n",
            f.status, f.url
        ));
    }
    if let Some(t) = &title {
        text.push_str(&format!("Title: {t}\n"));
    }
    text.push_str(&format!("URL: {}\n\n", f.url));
    text.push_str(&part);
    if let Some(n) = next_index {
        text.push_str(&format!(
            "\n\n[Showing characters {start}-{end} of {total}. More remains: call fetch again \
             with start_index={n} to read on.]"
        ));
    }
    if f.truncated {
        text.push_str(&format!(
            "\n\n[The response was larger than the {cap}-byte download limit; only its \
             beginning was read.]"
        ));
    }
    let out = FetchOutput {
        url: f.url.to_string(),
        status: f.status.as_u16(),
        content_type: typed.content_type,
        title,
        format,
        content: part,
        total_length: total,
        start_index: start,
        next_index,
        body_truncated: f.truncated,
        main_content,
    };
    let value = serde_json::to_value(&out).unwrap_or_default();
    ToolResult::text(text)
        .with_structured(value)
        .with_error(!ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};
    use reqwest::StatusCode;

    fn fetched(ct: &str, body: &[u8]) -> Fetched {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        Fetched {
            url: Url::parse("http://example.com/a").unwrap(),
            status: StatusCode::OK,
            headers,
            body: body.to_vec(),
            truncated: false,
        }
    }

    fn render_of(
        f: Fetched,
        format: Format,
        start: usize,
        max_length: usize,
        cap: usize,
        converted: Option<Converted>,
    ) -> ToolResult {
        let typed = Typed::of(&f);
        render(f, typed, format, start, max_length, cap, converted)
    }

    #[test]
    fn paging_reports_next_index() {
        let body = "abcdefghij".repeat(3);
        let r = render_of(
            fetched("text/plain", body.as_bytes()),
            Format::Markdown,
            0,
            12,
            100,
            None,
        );
        let s = r.structured.unwrap();
        assert_eq!(s["content"], "abcdefghijab");
        assert_eq!(s["next_index"], 12);
        assert_eq!(s["total_length"], 30);
        let r = render_of(
            fetched("text/plain", body.as_bytes()),
            Format::Markdown,
            24,
            12,
            100,
            None,
        );
        let s = r.structured.unwrap();
        assert_eq!(s["content"], "efghij");
        assert!(s.get("next_index").is_none());
        let r = render_of(
            fetched("text/plain", body.as_bytes()),
            Format::Markdown,
            30,
            12,
            100,
            None,
        );
        assert!(r.is_error);
    }

    #[test]
    fn json_is_pretty_printed() {
        let r = render_of(
            fetched("application/json", br#"{"a":[1,2]}"#),
            Format::Markdown,
            0,
            100,
            100,
            None,
        );
        assert_eq!(
            r.structured.unwrap()["content"],
            "{\n  \"a\": [\n    1,\n    2\n  ]\n}"
        );
    }
}
