//! Web tools against real HTTP servers on 127.0.0.1 started by the tests,
//! serving fixture pages from `tests/fixtures/web/`.
#![cfg(feature = "web")]

use lmcp::tools::web::{tools, SearchBackend, WebConfig};
use lmcp::{Content, RequestContext, Tool, ToolError, ToolResult};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/web/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// What the test server answers.
enum Reply {
    Full(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Wait this long before answering.
    Slow(Duration),
    /// A text body of this many bytes, streamed.
    Huge(usize),
    /// A body sent slowly for seconds; the flag is set when the client hangs up.
    Trickle(Arc<std::sync::atomic::AtomicBool>),
}

fn ok(ct: &str, body: Vec<u8>) -> Reply {
    Reply::Full(200, vec![("Content-Type", ct.to_string())], body)
}
fn redirect(to: String) -> Reply {
    Reply::Full(302, vec![("Location", to)], Vec::new())
}

type Route = Arc<dyn Fn(&str, &str, u16) -> Reply + Send + Sync>;

struct TestServer {
    port: u16,
    /// Request heads received, in order.
    requests: Arc<Mutex<Vec<String>>>,
    /// Body bytes written by `Huge` replies.
    sent: Arc<AtomicUsize>,
}

impl TestServer {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    fn heads(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn serve(route: impl Fn(&str, &str, u16) -> Reply + Send + Sync + 'static) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let route: Route = Arc::new(route);
    let requests = Arc::new(Mutex::new(Vec::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    let (reqs, sent2) = (requests.clone(), sent.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let (route, reqs, sent) = (route.clone(), reqs.clone(), sent2.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut tmp).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&tmp[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_string();
                let path = head.split(' ').nth(1).unwrap_or("/").to_string();
                reqs.lock().unwrap().push(head.clone());
                match route(&path, &head, port) {
                    Reply::Full(status, headers, body) => {
                        let mut out = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                            body.len()
                        );
                        for (k, v) in headers {
                            out.push_str(&format!("{k}: {v}\r\n"));
                        }
                        out.push_str("\r\n");
                        let _ = sock.write_all(out.as_bytes()).await;
                        let _ = sock.write_all(&body).await;
                    }
                    Reply::Slow(d) => {
                        tokio::time::sleep(d).await;
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .await;
                    }
                    Reply::Trickle(gone) => {
                        let _ = sock
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n")
                            .await;
                        for _ in 0..200 {
                            tokio::time::sleep(Duration::from_millis(25)).await;
                            if sock.write_all(&[b'y'; 1000]).await.is_err() {
                                gone.store(true, Ordering::SeqCst);
                                break;
                            }
                        }
                    }
                    Reply::Huge(n) => {
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {n}\r\n\r\n"
                        );
                        let _ = sock.write_all(head.as_bytes()).await;
                        let chunk = vec![b'x'; 64 * 1024];
                        let mut left = n;
                        while left > 0 {
                            let k = left.min(chunk.len());
                            if sock.write_all(&chunk[..k]).await.is_err() {
                                break;
                            }
                            sent.fetch_add(k, Ordering::SeqCst);
                            left -= k;
                        }
                    }
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    TestServer {
        port,
        requests,
        sent,
    }
}

fn tool(config: WebConfig, name: &str) -> Tool {
    tools(Arc::new(config))
        .into_iter()
        .find(|t| t.name == name)
        .unwrap()
}

fn private_ok() -> WebConfig {
    WebConfig {
        allow_private: true,
        ..WebConfig::default()
    }
}

async fn call(tool: &Tool, args: Value) -> Result<ToolResult, String> {
    let Value::Object(map) = args else {
        panic!("arguments must be an object")
    };
    tool.validate(&map).map_err(|e| format!("invalid: {e}"))?;
    match (tool.handler)(map, RequestContext::detached()).await {
        Ok(r) => Ok(r),
        Err(ToolError::Tool(m)) => Err(m),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

fn text(r: &ToolResult) -> String {
    r.content
        .iter()
        .map(|c| match c {
            Content::Text { text } => text.clone(),
            other => panic!("unexpected block {other:?}"),
        })
        .collect()
}

fn site(path: &str, _head: &str, port: u16) -> Reply {
    match path {
        "/article" => ok("text/html; charset=utf-8", fixture("article.html")),
        "/docs" => ok("text/html", fixture("docs.html")),
        "/latin1" => ok("text/html", fixture("latin1.html")),
        "/data.json" => ok("application/json", fixture("data.json")),
        "/r1" => redirect("/r2".into()),
        "/r2" => redirect(format!("http://localhost:{port}/article")),
        "/loop" => redirect("/loop".into()),
        "/to-metadata" => redirect("http://169.254.169.254/latest/meta-data/".into()),
        "/to-mapped" => redirect(format!("http://[::ffff:169.254.169.254]:{port}/")),
        "/slow" => Reply::Slow(Duration::from_secs(10)),
        "/huge" => Reply::Huge(50 * 1024 * 1024),
        "/image.png" => {
            let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
            png.extend_from_slice(&32u32.to_be_bytes());
            png.extend_from_slice(&16u32.to_be_bytes());
            png.extend_from_slice(&[0u8; 64]);
            ok("image/png", png)
        }
        "/robots.txt" => ok(
            "text/plain",
            b"User-agent: *\nDisallow: /private\n".to_vec(),
        ),
        "/private/page" => ok("text/plain", b"secret".to_vec()),
        "/missing" => Reply::Full(
            404,
            vec![("Content-Type", "text/plain".into())],
            b"no such page".to_vec(),
        ),
        _ => Reply::Full(404, vec![], Vec::new()),
    }
}

#[tokio::test]
async fn news_article_main_content_as_markdown() {
    let srv = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    let r = call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap();
    let t = text(&r);
    assert!(!r.is_error);
    assert!(
        t.contains("Title: Harbour Town Opens Tidal Power Station"),
        "{t}"
    );
    assert!(t.contains("## What it means for households"), "{t}");
    assert!(
        t.contains("[The full council report](https://example.org/council-report)"),
        "{t}"
    );
    assert!(
        t.contains("- Four turbines on the seabed") || t.contains("* Four turbines"),
        "{t}"
    );
    assert!(t.contains("forty percent"), "{t}");
    for chrome in [
        "FOOTER-TEXT-MARKER",
        "NAV-SCRIPT",
        "umbrellas",
        "Subscribe today",
    ] {
        assert!(!t.contains(chrome), "{chrome} leaked into:\n{t}");
    }
    let s = r.structured.unwrap();
    assert_eq!(s["status"], 200);
    assert_eq!(s["main_content"], true);
    assert_eq!(s["format"], "markdown");
    // The user agent is sent.
    assert!(srv.heads()[0]
        .to_ascii_lowercase()
        .contains("user-agent: lmcp/"));
}

#[tokio::test]
async fn docs_page_keeps_code_and_table() {
    let srv = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    let r = call(&fetch, json!({"url": srv.url("/docs")}))
        .await
        .unwrap();
    let t = text(&r);
    assert!(t.contains("```"), "no code fence:\n{t}");
    assert!(t.contains("let queue = Queue::with_capacity(128);"), "{t}");
    assert!(
        t.contains("| Option | Default | Meaning |") || t.contains("| Option |"),
        "{t}"
    );
    assert!(t.contains("| retries | 3 |"), "{t}");
    assert!(t.contains("`Queue::with_capacity`"), "{t}");
    assert!(t.contains("[Running workers]("), "{t}");

    // Other formats.
    let r = call(&fetch, json!({"url": srv.url("/docs"), "format": "text"}))
        .await
        .unwrap();
    let t = text(&r);
    assert!(
        t.contains("Creating a queue") && !t.contains("```") && !t.contains("<p>"),
        "{t}"
    );
    let r = call(&fetch, json!({"url": srv.url("/docs"), "format": "html"}))
        .await
        .unwrap();
    assert!(text(&r).contains("<table"), "{}", text(&r));
    let r = call(&fetch, json!({"url": srv.url("/docs"), "format": "raw"}))
        .await
        .unwrap();
    assert!(text(&r).contains("<nav class=\"docs-nav\">"));
}

#[tokio::test]
async fn latin1_page_is_decoded() {
    let srv = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    let r = call(&fetch, json!({"url": srv.url("/latin1"), "format": "text"}))
        .await
        .unwrap();
    let t = text(&r);
    assert!(t.contains("Grüße aus Köln"), "{t}");
    assert!(t.contains("Café Müller"), "{t}");
    assert!(!t.contains('\u{fffd}'), "{t}");
}

#[tokio::test]
async fn gzip_body_is_decompressed() {
    let page = fixture("article.html");
    let srv = serve(move |_, head, _| {
        assert!(
            head.to_ascii_lowercase().contains("accept-encoding:"),
            "{head}"
        );
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&page).unwrap();
        Reply::Full(
            200,
            vec![
                ("Content-Type", "text/html".into()),
                ("Content-Encoding", "gzip".into()),
            ],
            enc.finish().unwrap(),
        )
    })
    .await;
    let fetch = tool(private_ok(), "fetch");
    let r = call(&fetch, json!({"url": srv.url("/gz")})).await.unwrap();
    assert!(text(&r).contains("## Next steps"), "{}", text(&r));
    assert!(srv.heads()[0].to_ascii_lowercase().contains("gzip"));
}

#[tokio::test]
async fn redirect_chain_is_followed() {
    let srv = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    let r = call(&fetch, json!({"url": srv.url("/r1")})).await.unwrap();
    let s = r.structured.unwrap();
    assert_eq!(s["url"], format!("http://localhost:{}/article", srv.port));
    assert!(s["content"]
        .as_str()
        .unwrap()
        .contains("tidal power station"));
    assert_eq!(srv.heads().len(), 3);

    let e = call(&fetch, json!({"url": srv.url("/loop")}))
        .await
        .unwrap_err();
    assert!(e.contains("stopped after 5 redirects"), "{e}");
}

#[tokio::test]
async fn redirect_to_forbidden_address_is_refused() {
    let srv = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    for path in ["/to-metadata", "/to-mapped"] {
        let e = call(&fetch, json!({"url": srv.url(path)}))
            .await
            .unwrap_err();
        assert!(
            e.contains("169.254.0.0/16") && e.contains("never allowed"),
            "{e}"
        );
    }
    // The forbidden hop was never requested from anyone: only our server saw requests.
    assert_eq!(srv.heads().len(), 2);
}

#[tokio::test]
async fn private_addresses_refused_by_default() {
    let srv = serve(site).await;
    let fetch = tool(WebConfig::default(), "fetch");
    // Literal IP.
    let e = call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap_err();
    assert!(
        e.contains("loopback") && e.contains("--fetch-allow-private"),
        "{e}"
    );
    // A name resolving to loopback (checked in the resolver).
    let e = call(
        &fetch,
        json!({"url": format!("http://localhost:{}/article", srv.port)}),
    )
    .await
    .unwrap_err();
    assert!(e.contains("refused to connect to localhost"), "{e}");
    assert!(srv.heads().is_empty(), "no request may reach the server");
    // Other schemes.
    let e = call(&fetch, json!({"url": "file:///etc/passwd"}))
        .await
        .unwrap_err();
    assert!(e.contains("only http and https"), "{e}");
}

#[tokio::test]
async fn slow_server_times_out() {
    let srv = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    let t0 = Instant::now();
    let e = call(&fetch, json!({"url": srv.url("/slow"), "timeout_ms": 300}))
        .await
        .unwrap_err();
    assert!(e.contains("timed out after 300 ms"), "{e}");
    assert!(t0.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn huge_body_is_capped() {
    let srv = serve(site).await;
    let cfg = WebConfig {
        max_body_bytes: 1024 * 1024,
        ..private_ok()
    };
    let fetch = tool(cfg, "fetch");
    let r = call(&fetch, json!({"url": srv.url("/huge"), "max_length": 100}))
        .await
        .unwrap();
    let s = r.structured.clone().unwrap();
    assert_eq!(s["body_truncated"], true);
    assert_eq!(s["total_length"], 1024 * 1024);
    assert_eq!(s["next_index"], 100);
    assert!(text(&r).contains("download limit"), "{}", text(&r));
    // The transfer was aborted: give the server a moment to notice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = srv.sent.load(Ordering::SeqCst);
    assert!(sent < 20 * 1024 * 1024, "server sent {sent} bytes");
}

#[tokio::test]
async fn json_text_image_and_paging() {
    let srv = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    let r = call(&fetch, json!({"url": srv.url("/data.json")}))
        .await
        .unwrap();
    let t = text(&r);
    assert!(t.contains("\"stations\": [\n    {\n"), "{t}");

    let r = call(&fetch, json!({"url": srv.url("/image.png")}))
        .await
        .unwrap();
    let t = text(&r);
    assert!(
        t.contains("an image (image/png") && t.contains("32x16"),
        "{t}"
    );

    let r = call(
        &fetch,
        json!({"url": srv.url("/article"), "max_length": 200}),
    )
    .await
    .unwrap();
    let s = r.structured.clone().unwrap();
    assert_eq!(s["next_index"], 200);
    assert!(text(&r).contains("start_index=200"));
    let first = s["content"].as_str().unwrap().to_string();
    let r = call(
        &fetch,
        json!({"url": srv.url("/article"), "max_length": 200, "start_index": 200}),
    )
    .await
    .unwrap();
    let s = r.structured.unwrap();
    assert_eq!(s["start_index"], 200);
    assert_ne!(s["content"].as_str().unwrap(), first);

    let r = call(&fetch, json!({"url": srv.url("/missing")}))
        .await
        .unwrap();
    assert!(r.is_error);
    assert!(text(&r).contains("HTTP 404"), "{}", text(&r));
}

#[tokio::test]
async fn extra_headers_sent_and_bad_ones_refused() {
    let srv = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    call(
        &fetch,
        json!({"url": srv.url("/article"), "headers": {"X-Test": "yes"}}),
    )
    .await
    .unwrap();
    assert!(srv.heads()[0].to_ascii_lowercase().contains("x-test: yes"));
    let e = call(
        &fetch,
        json!({"url": srv.url("/article"), "headers": {"Host": "x"}}),
    )
    .await
    .unwrap_err();
    assert!(e.contains("managed by the client"), "{e}");
}

#[tokio::test]
async fn robots_txt_respected_when_asked() {
    let srv = serve(site).await;
    let cfg = WebConfig {
        respect_robots: true,
        ..private_ok()
    };
    let fetch = tool(cfg, "fetch");
    let e = call(&fetch, json!({"url": srv.url("/private/page")}))
        .await
        .unwrap_err();
    assert!(e.contains("robots.txt"), "{e}");
    call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap();
    // Without the option robots.txt is not even read.
    let srv2 = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    call(&fetch, json!({"url": srv2.url("/private/page")}))
        .await
        .unwrap();
    assert!(srv2.heads().iter().all(|h| !h.contains("robots.txt")));
}

#[tokio::test]
async fn dropping_the_call_aborts_the_transfer() {
    // The engine cancels a call by dropping its future: the download must stop.
    let gone = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = gone.clone();
    let srv = serve(move |_, _, _| Reply::Trickle(flag.clone())).await;
    let fetch = tool(private_ok(), "fetch");
    let Value::Object(args) = json!({"url": srv.url("/stream")}) else {
        unreachable!()
    };
    let fut = (fetch.handler)(args, RequestContext::detached());
    assert!(tokio::time::timeout(Duration::from_millis(300), fut)
        .await
        .is_err());
    let t0 = Instant::now();
    while !gone.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        gone.load(Ordering::SeqCst),
        "the server kept sending after the call was dropped"
    );
}

// ---- web_search ----

fn search_cfg(backend: SearchBackend, srv: &TestServer) -> WebConfig {
    // No allow_private: the configured backend host is exempt from the
    // private-network rule, since the operator named it.
    WebConfig {
        search_backend: backend,
        duckduckgo_url: srv.url("/html/"),
        searxng_url: Some(srv.url("/searx")),
        brave_url: srv.url("/brave/search"),
        brave_key_env: "LMCP_TEST_BRAVE_KEY_UNSET".into(),
        ..WebConfig::default()
    }
}

#[tokio::test]
async fn duckduckgo_results_parsed() {
    let srv = serve(|path, _, _| {
        if path.contains("q=nothing") {
            ok("text/html", fixture("ddg_empty.html"))
        } else if path.contains("q=blocked") {
            Reply::Full(
                202,
                vec![("Content-Type", "text/html".into())],
                fixture("ddg_anomaly.html"),
            )
        } else {
            ok("text/html", fixture("ddg.html"))
        }
    })
    .await;
    let search = tool(search_cfg(SearchBackend::DuckDuckGo, &srv), "web_search");
    let r = call(&search, json!({"query": "tidal power", "count": 2, "region": "uk-en", "time_range": "week", "safe_search": "strict"}))
        .await
        .unwrap();
    let s = r.structured.clone().unwrap();
    let results = s["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{s}");
    assert_eq!(
        results[0]["url"],
        "https://energy.example.com/tidal?a=1&b=2"
    );
    assert_eq!(results[0]["title"], "Tidal power explained");
    assert_eq!(results[0]["date"], "2025-03-14");
    assert!(results[0]["snippet"]
        .as_str()
        .unwrap()
        .contains("tidal turbines turn"));
    assert_eq!(
        results[1]["url"],
        "https://wiki.example.net/Tidal_stream_generator"
    );
    let t = text(&r);
    assert!(
        t.contains("1. Tidal power explained\n   https://energy.example.com/tidal?a=1&b=2"),
        "{t}"
    );
    assert!(!t.contains("Sponsored"));
    let head = &srv.heads()[0];
    assert!(
        head.contains("q=tidal+power")
            && head.contains("kl=uk-en")
            && head.contains("df=w")
            && head.contains("kp=1"),
        "{head}"
    );

    let r = call(&search, json!({"query": "tidal power", "offset": 10}))
        .await
        .unwrap();
    assert!(
        text(&r).contains("11. Tidal power explained"),
        "{}",
        text(&r)
    );
    assert!(srv.heads()[1].contains("s=10"));

    let r = call(&search, json!({"query": "nothing"})).await.unwrap();
    assert!(text(&r).contains("No results"), "{}", text(&r));
    assert_eq!(r.structured.unwrap()["results"], json!([]));

    let e = call(&search, json!({"query": "blocked"}))
        .await
        .unwrap_err();
    assert!(e.contains("rate-limiting"), "{e}");
    let e = call(&search, json!({"query": "  "})).await.unwrap_err();
    assert!(e.contains("query is empty"), "{e}");
}

#[tokio::test]
async fn duckduckgo_anomaly_page_with_200_is_rate_limit() {
    let srv = serve(|_, _, _| ok("text/html", fixture("ddg_anomaly.html"))).await;
    let search = tool(search_cfg(SearchBackend::DuckDuckGo, &srv), "web_search");
    let e = call(&search, json!({"query": "x"})).await.unwrap_err();
    assert!(
        e.contains("rate-limiting") && e.contains("searxng or brave"),
        "{e}"
    );
}

#[tokio::test]
async fn searxng_results_and_errors() {
    let srv = serve(|path, _, _| {
        if path.contains("q=broken") {
            ok("application/json", fixture("searxng_broken.json"))
        } else if path.contains("q=denied") {
            Reply::Full(403, vec![], b"Forbidden".to_vec())
        } else if path.contains("q=busy") {
            Reply::Full(429, vec![("Retry-After", "30".into())], Vec::new())
        } else {
            ok("application/json", fixture("searxng.json"))
        }
    })
    .await;
    let search = tool(search_cfg(SearchBackend::Searxng, &srv), "web_search");
    let r = call(
        &search,
        json!({"query": "tidal power", "language": "en", "offset": 11, "count": 1}),
    )
    .await
    .unwrap();
    let s = r.structured.unwrap();
    assert_eq!(s["backend"], "searxng");
    assert_eq!(s["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        s["results"][0]["url"],
        "https://news.example.org/2025/harbour"
    );
    assert_eq!(
        s["results"][0]["snippet"],
        "Westerly Bay switched on its first tidal power station & more."
    );
    assert_eq!(s["results"][0]["date"], "2025-03-14T00:00:00");
    let head = &srv.heads()[0];
    assert!(
        head.starts_with("GET /searx/search?q=tidal+power&format=json&pageno=2&language=en "),
        "{head}"
    );

    let e = call(&search, json!({"query": "broken"})).await.unwrap_err();
    assert!(e.contains("example-engine: timeout"), "{e}");
    let e = call(&search, json!({"query": "denied"})).await.unwrap_err();
    assert!(e.contains("settings.yml"), "{e}");
    let e = call(&search, json!({"query": "busy"})).await.unwrap_err();
    assert!(
        e.contains("rate-limiting") && e.contains("retry after 30 s"),
        "{e}"
    );
}

#[tokio::test]
async fn brave_results_key_and_errors() {
    let srv = serve(|path, head, _| {
        if !head
            .to_ascii_lowercase()
            .contains("x-subscription-token: test-key")
        {
            return Reply::Full(401, vec![], Vec::new());
        }
        if path.contains("q=busy") {
            Reply::Full(429, vec![], Vec::new())
        } else {
            ok("application/json", fixture("brave.json"))
        }
    })
    .await;
    let cfg = search_cfg(SearchBackend::Brave, &srv);
    let search = tool(cfg.clone(), "web_search");
    let e = call(&search, json!({"query": "x"})).await.unwrap_err();
    assert!(
        e.contains("needs an API key") && e.contains("LMCP_TEST_BRAVE_KEY_UNSET"),
        "{e}"
    );

    let dir = std::env::temp_dir().join(format!("lmcp-brave-{}", std::process::id()));
    std::fs::write(&dir, "test-key\n").unwrap();
    let search = tool(
        WebConfig {
            brave_key_file: Some(dir.clone()),
            ..cfg.clone()
        },
        "web_search",
    );
    let r = call(
        &search,
        json!({"query": "tidal power", "count": 5, "region": "gb", "time_range": "month"}),
    )
    .await
    .unwrap();
    let s = r.structured.unwrap();
    assert_eq!(s["results"][0]["title"], "Tidal power explained");
    assert_eq!(
        s["results"][0]["snippet"],
        "How tidal turbines turn the moving sea into electricity."
    );
    assert_eq!(s["results"][0]["date"], "2025-03-14T08:00:00");
    assert_eq!(s["results"].as_array().unwrap().len(), 2);
    let head = srv.heads().last().unwrap().clone();
    assert!(
        head.contains("count=5") && head.contains("country=GB") && head.contains("freshness=pm"),
        "{head}"
    );
    let e = call(&search, json!({"query": "busy"})).await.unwrap_err();
    assert!(e.contains("brave is rate-limiting"), "{e}");

    std::fs::write(&dir, "wrong-key").unwrap();
    let e = call(&search, json!({"query": "x"})).await.unwrap_err();
    assert!(e.contains("rejected the API key"), "{e}");
    let _ = std::fs::remove_file(&dir);
}

#[tokio::test]
async fn search_client_does_not_open_fetch_to_backend_host() {
    // The backend exemption belongs to the search client only.
    let srv = serve(site).await;
    let fetch = tool(search_cfg(SearchBackend::Searxng, &srv), "fetch");
    let e = call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap_err();
    assert!(e.contains("loopback"), "{e}");
}
