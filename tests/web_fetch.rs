//! `fetch` against real HTTP servers on 127.0.0.1 started by the tests,
//! serving fixture pages from `tests/fixtures/web/`.
#![cfg(feature = "web")]

mod web_support;

use lmcp::tools::web::WebConfig;
use lmcp::{Content, RequestContext};
use serde_json::{json, Value};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use web_support::*;

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

/// Serve `article.html` encoded by `encode` with `Content-Encoding: name`,
/// fetch it, and check the Markdown came through.
async fn encoded_body_is_decoded(name: &'static str, encode: fn(&[u8]) -> Vec<u8>) {
    let page = fixture("article.html");
    let srv = serve(move |_, _, _| {
        Reply::Full(
            200,
            vec![
                ("Content-Type", "text/html".into()),
                ("Content-Encoding", name.into()),
            ],
            encode(&page),
        )
    })
    .await;
    let fetch = tool(private_ok(), "fetch");
    let r = call(&fetch, json!({"url": srv.url("/enc")})).await.unwrap();
    assert!(text(&r).contains("## Next steps"), "{name}: {}", text(&r));
    let head = srv.heads()[0].to_ascii_lowercase();
    let accept = head
        .lines()
        .find(|l| l.starts_with("accept-encoding:"))
        .unwrap_or_default();
    assert!(accept.contains(name), "{name} not offered: {head}");
}

#[tokio::test]
async fn deflate_body_is_decompressed() {
    // HTTP's "deflate" is the zlib format (RFC 9110 8.4.1.2).
    encoded_body_is_decoded("deflate", |page| {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(page).unwrap();
        enc.finish().unwrap()
    })
    .await;
}

#[tokio::test]
async fn brotli_body_is_decompressed() {
    encoded_body_is_decoded("br", |page| {
        let mut enc = brotli::CompressorWriter::new(Vec::new(), 4096, 9, 22);
        enc.write_all(page).unwrap();
        enc.into_inner()
    })
    .await;
}

#[tokio::test]
async fn self_signed_certificate_is_refused() {
    use std::io::Read;
    // A TLS server on 127.0.0.1 with a self-signed certificate for
    // 127.0.0.1/localhost (tests/fixtures/web/selfsigned.*.der, made once
    // with openssl, valid for 100 years).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rustls::pki_types::CertificateDer::from(fixture("selfsigned.cert.der"));
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(fixture("selfsigned.key.der").into());
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handshakes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (served2, handshakes2) = (served.clone(), handshakes.clone());
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { return };
            let _ = sock.set_read_timeout(Some(Duration::from_secs(20)));
            handshakes2.fetch_add(1, Ordering::SeqCst);
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, sock);
            let mut buf = [0u8; 4096];
            // The handshake runs here; it fails when the client rejects the
            // certificate.
            if matches!(tls.read(&mut buf), Ok(n) if n > 0) {
                served2.fetch_add(1, Ordering::SeqCst);
                let _ = tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret");
            }
        }
    });
    let fetch = tool(private_ok(), "fetch");
    let e = call(&fetch, json!({"url": format!("https://127.0.0.1:{port}/")}))
        .await
        .unwrap_err();
    assert!(e.to_ascii_lowercase().contains("certificate"), "{e}");
    assert!(
        handshakes.load(Ordering::SeqCst) >= 1,
        "no TLS connection was made"
    );
    assert_eq!(served.load(Ordering::SeqCst), 0, "a request got through");
}

#[tokio::test]
async fn cluttered_page_keeps_the_article_and_drops_the_rest() {
    let srv = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    let r = call(
        &fetch,
        json!({"url": srv.url("/cluttered"), "max_length": 100000}),
    )
    .await
    .unwrap();
    let t = text(&r);
    assert_eq!(r.structured.as_ref().unwrap()["main_content"], true);
    for kept in [
        "Title: Migrating a Job Queue to Postgres",
        "## Why leave Redis",
        "## The table and the dequeue query",
        "### Measured throughput",
        "two million a day",
        "```",
        "  FOR UPDATE SKIP LOCKED",
        "RETURNING id, kind, payload;",
        "`FOR UPDATE SKIP LOCKED`",
        "| Postgres, 32 workers | 5600 | 11 ms |",
        "- Move the cheapest job types first.",
        "(https://www.postgresql.org/docs/current/routine-vacuuming.html)",
    ] {
        assert!(t.contains(kept), "{kept:?} missing from:\n{t}");
    }
    for clutter in [
        "NAV-MARKER",
        "COOKIE-BANNER-MARKER",
        "COOKIE-STYLE-MARKER",
        "JSONLD-MARKER",
        "schema.org",
        "ANALYTICS-SCRIPT-MARKER",
        "INLINE-SCRIPT-MARKER",
        "SIDEBAR-NEWSLETTER-MARKER",
        "Topic number",
        "ADVERT-MARKER",
        "RELATED-LINK",
        "SHARE-MARKER",
        "FOOTER-MARKER",
        "FOOTER-LINK",
    ] {
        assert!(!t.contains(clutter), "{clutter} leaked into:\n{t}");
    }
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
    let t: String = r
        .content
        .iter()
        .filter_map(|c| match c {
            Content::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        t.contains("an image (image/png") && t.contains("32x16"),
        "{t}"
    );
    // With docs the image itself follows the description, as image content.
    let images = r
        .content
        .iter()
        .filter(|c| matches!(c, Content::Image { mime_type, .. } if mime_type == "image/png"))
        .count();
    assert_eq!(
        images,
        usize::from(cfg!(feature = "docs")),
        "{:?}",
        r.content
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

fn robots_heads(srv: &TestServer) -> usize {
    srv.heads()
        .iter()
        .filter(|h| h.starts_with("GET /robots.txt "))
        .count()
}

fn robots_cfg() -> WebConfig {
    WebConfig {
        respect_robots: true,
        ..private_ok()
    }
}

#[tokio::test]
async fn robots_txt_respected_when_asked() {
    let srv = serve(site).await;
    let fetch = tool(robots_cfg(), "fetch");
    let e = call(&fetch, json!({"url": srv.url("/private/page")}))
        .await
        .unwrap_err();
    // The refusal names the rule and its group.
    assert!(
        e.contains("robots.txt disallows")
            && e.contains("\"Disallow: /private\"")
            && e.contains("user-agent \"*\""),
        "{e}"
    );
    call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap();
    // Read once per origin: the second and third fetch use the cache.
    assert_eq!(robots_heads(&srv), 1, "{:?}", srv.heads());
    // Without the option robots.txt is not even read.
    let srv2 = serve(site).await;
    let fetch = tool(private_ok(), "fetch");
    call(&fetch, json!({"url": srv2.url("/private/page")}))
        .await
        .unwrap();
    assert_eq!(robots_heads(&srv2), 0);
}

#[tokio::test]
async fn robots_txt_missing_means_allowed_server_error_means_disallowed() {
    // RFC 9309: 4xx (unavailable) allows everything; 5xx or an unreachable
    // robots.txt disallows everything.
    let srv = serve(|path, _, port| match path {
        "/robots.txt" => Reply::Full(404, vec![], Vec::new()),
        _ => site(path, "", port),
    })
    .await;
    let fetch = tool(robots_cfg(), "fetch");
    call(&fetch, json!({"url": srv.url("/private/page")}))
        .await
        .unwrap();

    let srv = serve(|path, _, port| match path {
        "/robots.txt" => Reply::Full(503, vec![], b"down".to_vec()),
        _ => site(path, "", port),
    })
    .await;
    let e = call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap_err();
    assert!(
        e.contains("robots.txt answered HTTP 503") && e.contains("RFC 9309"),
        "{e}"
    );
    assert!(
        srv.heads().iter().all(|h| !h.starts_with("GET /article")),
        "{:?}",
        srv.heads()
    );

    let srv = serve(|path, _, port| match path {
        "/robots.txt" => Reply::Hangup,
        _ => site(path, "", port),
    })
    .await;
    let e = call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap_err();
    assert!(
        e.contains("robots.txt could not be read") && e.contains("disallowing everything"),
        "{e}"
    );
    // A failure is cached too (briefly): no second robots.txt request.
    call(&fetch, json!({"url": srv.url("/docs")}))
        .await
        .unwrap_err();
    assert_eq!(robots_heads(&srv), 1, "{:?}", srv.heads());
}

#[tokio::test]
async fn robots_txt_goes_through_the_guard() {
    // A robots.txt redirecting to a metadata address is refused with the rule
    // named, and the page itself is not fetched.
    let srv = serve(|path, _, port| match path {
        "/robots.txt" => redirect("http://169.254.169.254/robots.txt".into()),
        _ => site(path, "", port),
    })
    .await;
    let fetch = tool(robots_cfg(), "fetch");
    let e = call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap_err();
    assert!(
        e.contains("169.254.0.0/16") && e.contains("never allowed"),
        "{e}"
    );
    assert!(srv.heads().iter().all(|h| !h.starts_with("GET /article")));

    // Without --fetch-allow-private a loopback site is refused before its
    // robots.txt is read.
    let srv = serve(site).await;
    let fetch = tool(
        WebConfig {
            respect_robots: true,
            ..WebConfig::default()
        },
        "fetch",
    );
    let e = call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap_err();
    assert!(e.contains("loopback"), "{e}");
    assert!(srv.heads().is_empty(), "{:?}", srv.heads());

    // Redirects of robots.txt within the site are followed.
    let srv = serve(|path, _, port| match path {
        "/robots.txt" => redirect("/robots-real.txt".into()),
        "/robots-real.txt" => ok(
            "text/plain",
            b"User-agent: lmcp\nDisallow: /docs\n".to_vec(),
        ),
        _ => site(path, "", port),
    })
    .await;
    let fetch = tool(robots_cfg(), "fetch");
    let e = call(&fetch, json!({"url": srv.url("/docs")}))
        .await
        .unwrap_err();
    assert!(e.contains("user-agent \"lmcp\""), "{e}");
    call(&fetch, json!({"url": srv.url("/article")}))
        .await
        .unwrap();
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
    // A generous bound against hangs: the trickle itself lasts 25 s.
    while !gone.load(Ordering::SeqCst) && t0.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        gone.load(Ordering::SeqCst),
        "the server kept sending after the call was dropped"
    );
}

/// The binary's fetch flags reach the tool: --fetch-user-agent is sent,
/// --fetch-max-bytes caps the download.
#[tokio::test]
async fn binary_flags_set_user_agent_and_download_cap() {
    use std::io::{BufRead, BufReader};
    let srv = serve(site).await;
    let url = srv.url("/huge");
    let out = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lmcp"))
            .args([
                "--stdio",
                "--fetch-allow-private",
                "--fetch-user-agent",
                "flag-probe/1.0",
                "--fetch-max-bytes",
                "4096",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "fetch", "arguments": {"url": url, "max_length": 100},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}}}});
        writeln!(stdin, "{call}").unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        drop(stdin);
        let _ = child.wait();
        line
    })
    .await
    .unwrap();
    let r: Value = serde_json::from_str(&out).unwrap();
    let s = &r["result"]["structuredContent"];
    assert_eq!(s["body_truncated"], true, "{r}");
    assert_eq!(s["total_length"], 4096, "{r}");
    assert!(
        srv.heads().iter().any(|h| h
            .to_ascii_lowercase()
            .contains("user-agent: flag-probe/1.0")),
        "{:?}",
        srv.heads()
    );
}

/// Width and height from a PNG's IHDR chunk.
#[cfg(feature = "docs")]
fn png_size(data: &[u8]) -> (u32, u32) {
    assert!(data.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |i: usize| u32::from_be_bytes(data[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// Issue 22: `fetch` sizes images by the configured `--image-max-edge`, as
/// `read_file` does, not by a fixed 1568 px.
#[cfg(feature = "docs")]
#[tokio::test]
async fn fetched_images_are_downscaled_to_the_configured_edge() {
    use base64::Engine;
    let srv = serve(site).await;
    for (edge, want) in [(8, (8, 4)), (1568, (32, 16))] {
        let fetch = tool(
            WebConfig {
                image_max_edge: edge,
                ..private_ok()
            },
            "fetch",
        );
        let r = call(&fetch, json!({"url": srv.url("/image.png")}))
            .await
            .unwrap();
        let data = r
            .content
            .iter()
            .find_map(|c| match c {
                Content::Image { data, .. } => Some(data.clone()),
                _ => None,
            })
            .expect("an image block");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        assert_eq!(png_size(&bytes), want, "edge {edge}");
    }
}
