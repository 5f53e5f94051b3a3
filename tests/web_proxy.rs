//! `fetch` through an HTTP proxy named by `HTTP_PROXY` (its own test binary:
//! it changes the process environment).
#![cfg(feature = "web")]

mod web_support;

use lmcp::tools::web::WebConfig;
use serde_json::json;
use web_support::*;

#[tokio::test]
async fn proxy_from_environment_is_used_and_guard_still_applies() {
    let proxy = serve(|path, _, _| {
        if path == "http://pages.invalid/hello" {
            ok("text/plain", b"hello through the proxy".to_vec())
        } else {
            Reply::Full(502, vec![], Vec::new())
        }
    })
    .await;
    for var in [
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "http_proxy",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("HTTP_PROXY", proxy.url(""));

    // The proxy is on loopback yet allowed (the operator named it); the
    // target name does not resolve here and is left to the proxy.
    let fetch = tool(WebConfig::default(), "fetch");
    let r = call(&fetch, json!({"url": "http://pages.invalid/hello"}))
        .await
        .unwrap();
    assert!(text(&r).contains("hello through the proxy"), "{}", text(&r));
    assert!(proxy.heads()[0].starts_with("GET http://pages.invalid/hello HTTP/1.1"));

    // A target that resolves to a private address is still refused, before
    // anything is sent to the proxy.
    let e = call(&fetch, json!({"url": "http://localhost:9/secret"}))
        .await
        .unwrap_err();
    assert!(e.contains("refused to connect to localhost"), "{e}");
    let e = call(&fetch, json!({"url": "http://169.254.169.254/latest"}))
        .await
        .unwrap_err();
    assert!(e.contains("never allowed"), "{e}");
    assert_eq!(proxy.heads().len(), 1);
    std::env::remove_var("HTTP_PROXY");
}
