//! `web_search` against hand-written answers shaped like each backend's, served by
//! test servers on 127.0.0.1.
#![cfg(feature = "web")]

mod web_support;

use lmcp::tools::web::{SearchBackend, WebConfig};
use serde_json::json;
use web_support::*;

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

#[test]
fn duckduckgo_region_from_language_and_region() {
    use lmcp::tools::web::search::ddg_kl;
    assert_eq!(ddg_kl(None, None), None);
    // A lone language picks its home region; one without a region is dropped.
    assert_eq!(ddg_kl(None, Some("de")).as_deref(), Some("de-de"));
    assert_eq!(ddg_kl(None, Some("EN")).as_deref(), Some("us-en"));
    assert_eq!(ddg_kl(None, Some("ja")).as_deref(), Some("jp-jp"));
    assert_eq!(ddg_kl(None, Some("xx")), None);
    // A region, with or without a language.
    assert_eq!(ddg_kl(Some("UK-en"), Some("de")).as_deref(), Some("uk-en"));
    assert_eq!(ddg_kl(Some("ch"), Some("fr")).as_deref(), Some("ch-fr"));
    assert_eq!(ddg_kl(Some("us"), None).as_deref(), Some("us-en"));
}

#[test]
fn searxng_language_from_language_and_region() {
    use lmcp::tools::web::search::searxng_language;
    assert_eq!(searxng_language(None, None), None);
    assert_eq!(searxng_language(Some("en"), None).as_deref(), Some("en"));
    assert_eq!(
        searxng_language(Some("de"), Some("ch")).as_deref(),
        Some("de-CH")
    );
    assert_eq!(
        searxng_language(Some("en"), Some("us-en")).as_deref(),
        Some("en-US")
    );
    // A lone region is sent with its main language.
    assert_eq!(searxng_language(None, Some("ch")).as_deref(), Some("de-CH"));
    assert_eq!(searxng_language(None, Some("JP")).as_deref(), Some("ja-JP"));
    assert_eq!(
        searxng_language(None, Some("be-nl")).as_deref(),
        Some("nl-BE")
    );
    assert_eq!(searxng_language(None, Some("zz")), None);
}

#[tokio::test]
async fn lone_language_and_lone_region_reach_the_backends() {
    let srv = serve(|path, _, _| {
        if path.starts_with("/searx/") {
            ok("application/json", fixture("searxng.json"))
        } else {
            ok("text/html", fixture("ddg.html"))
        }
    })
    .await;
    let search = tool(search_cfg(SearchBackend::DuckDuckGo, &srv), "web_search");
    call(&search, json!({"query": "q", "language": "fr"}))
        .await
        .unwrap();
    let search = tool(search_cfg(SearchBackend::Searxng, &srv), "web_search");
    call(&search, json!({"query": "q", "region": "at"}))
        .await
        .unwrap();
    let heads = srv.heads();
    assert!(heads[0].contains("kl=fr-fr"), "{}", heads[0]);
    assert!(heads[1].contains("language=de-AT"), "{}", heads[1]);
}
