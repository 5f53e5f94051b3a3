//! `fetch` through a proxy named by `HTTP_PROXY` / `HTTPS_PROXY` (its own
//! test binary: it changes the process environment, one test at a time).
//!
//! The proxy is a test server on loopback, so it is private; only the
//! connection to it may be exempt from the address guard, never a target.
#![cfg(feature = "web")]

mod web_support;

use lmcp::tools::web::WebConfig;
use serde_json::json;
use web_support::*;

/// The tests change the environment one at a time.
static ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Clear every proxy variable, then set `vars`.
fn set_proxy_env(vars: &[(&str, String)]) {
    for var in [
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        std::env::remove_var(var);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
}

/// A proxy answering plain-HTTP requests for `http://1.1.1.1/hello` itself
/// (no internet needed) and 502 to everything else, CONNECT included.
async fn proxy() -> TestServer {
    serve(|path, _, _| {
        if path == "http://1.1.1.1/hello" || path.ends_with(":7/hello") {
            ok("text/plain", b"hello through the proxy".to_vec())
        } else {
            Reply::Full(502, vec![], Vec::new())
        }
    })
    .await
}

/// A target that would answer if anything reached it.
async fn target() -> TestServer {
    serve(|_, _, _| ok("text/plain", b"secret".to_vec())).await
}

#[tokio::test]
async fn public_target_goes_through_a_loopback_proxy() {
    let _env = ENV.lock().await;
    let proxy = proxy().await;
    set_proxy_env(&[("HTTP_PROXY", proxy.url(""))]);
    // The proxy is on loopback yet reached without --fetch-allow-private
    // (the operator named it). A public literal address needs no DNS, and
    // the proxy answers for it.
    let fetch = tool(WebConfig::default(), "fetch");
    let r = call(&fetch, json!({"url": "http://1.1.1.1/hello"}))
        .await
        .unwrap();
    assert!(text(&r).contains("hello through the proxy"), "{}", text(&r));
    assert!(proxy.heads()[0].starts_with("GET http://1.1.1.1/hello HTTP/1.1"));

    // The guard still applies to targets: a name that resolves to a private
    // address, a forbidden literal, and a name that does not resolve here
    // (it cannot be checked, so it is not handed to the proxy).
    let e = call(&fetch, json!({"url": "http://localhost:9/secret"}))
        .await
        .unwrap_err();
    assert!(e.contains("refused to connect to localhost"), "{e}");
    let e = call(&fetch, json!({"url": "http://169.254.169.254/latest"}))
        .await
        .unwrap_err();
    assert!(e.contains("never allowed"), "{e}");
    let e = call(&fetch, json!({"url": "http://pages.invalid/hello"}))
        .await
        .unwrap_err();
    assert!(
        e.contains("refused to send pages.invalid to the proxy"),
        "{e}"
    );
    assert_eq!(proxy.heads().len(), 1);
    set_proxy_env(&[]);
}

#[tokio::test]
async fn the_proxy_address_exempts_no_target() {
    let _env = ENV.lock().await;
    let proxy = proxy().await;
    let target = target().await;
    set_proxy_env(&[("HTTP_PROXY", format!("http://127.0.0.1:{}", proxy.port))]);
    let fetch = tool(WebConfig::default(), "fetch");
    // Another port on the proxy's address, the proxy itself, and a name
    // resolving to it: all loopback, all refused by the private-address rule.
    for url in [
        target.url("/"),
        proxy.url("/admin"),
        format!("http://localhost:{}/", target.port),
    ] {
        let e = call(&fetch, json!({ "url": url })).await.unwrap_err();
        assert!(
            e.contains("loopback") && e.contains("--fetch-allow-private"),
            "{url}: {e}"
        );
    }
    assert!(proxy.heads().is_empty(), "{:?}", proxy.heads());
    assert!(target.heads().is_empty(), "{:?}", target.heads());
    set_proxy_env(&[]);
}

#[tokio::test]
async fn no_proxy_target_on_the_proxy_host_is_refused() {
    let _env = ENV.lock().await;
    let proxy = proxy().await;
    let target = target().await;
    // The proxy is named `localhost`, and `localhost` bypasses it: a direct
    // connection to localhost must not inherit the proxy's exemption.
    set_proxy_env(&[
        ("HTTP_PROXY", format!("http://localhost:{}", proxy.port)),
        ("NO_PROXY", "localhost".into()),
    ]);
    let fetch = tool(WebConfig::default(), "fetch");
    let e = call(
        &fetch,
        json!({"url": format!("http://localhost:{}/", target.port)}),
    )
    .await
    .unwrap_err();
    assert!(
        e.contains("refused to connect to localhost") && e.contains("loopback"),
        "{e}"
    );
    assert!(target.heads().is_empty(), "{:?}", target.heads());
    assert!(proxy.heads().is_empty(), "{:?}", proxy.heads());
    // The proxy, named `localhost`, is still reached for a public target.
    let r = call(&fetch, json!({"url": "http://1.1.1.1/hello"}))
        .await
        .unwrap();
    assert!(text(&r).contains("hello through the proxy"), "{}", text(&r));
    assert_eq!(proxy.heads().len(), 1);
    set_proxy_env(&[]);
}

#[tokio::test]
async fn https_proxy_tunnels_only_checked_targets() {
    let _env = ENV.lock().await;
    let proxy = proxy().await;
    let target = target().await;
    set_proxy_env(&[("HTTPS_PROXY", proxy.url(""))]);
    let fetch = tool(WebConfig::default(), "fetch");
    let e = call(
        &fetch,
        json!({"url": format!("https://127.0.0.1:{}/", target.port)}),
    )
    .await
    .unwrap_err();
    assert!(e.contains("loopback"), "{e}");
    assert!(proxy.heads().is_empty(), "{:?}", proxy.heads());
    // A public target is tunnelled: the proxy sees the CONNECT (and refuses
    // it, being a test double).
    let e = call(&fetch, json!({"url": "https://1.1.1.1/"}))
        .await
        .unwrap_err();
    assert!(!e.contains("refused to connect"), "{e}");
    assert!(
        proxy.heads()[0].starts_with("CONNECT 1.1.1.1:443 HTTP/1.1"),
        "{:?}",
        proxy.heads()
    );
    assert!(target.heads().is_empty());
    set_proxy_env(&[]);
}

#[tokio::test]
async fn allowed_private_target_goes_through_the_proxy() {
    let _env = ENV.lock().await;
    let proxy = proxy().await;
    set_proxy_env(&[("HTTP_PROXY", proxy.url(""))]);
    // With --fetch-allow-private a loopback target is allowed, and it goes
    // through the proxy like any other (port 7 is closed: only the proxy
    // can answer).
    let fetch = tool(private_ok(), "fetch");
    let r = call(&fetch, json!({"url": "http://127.0.0.1:7/hello"}))
        .await
        .unwrap();
    assert!(text(&r).contains("hello through the proxy"), "{}", text(&r));
    assert!(proxy.heads()[0].starts_with("GET http://127.0.0.1:7/hello HTTP/1.1"));
    // Forbidden addresses stay refused.
    let e = call(&fetch, json!({"url": "http://169.254.169.254/latest"}))
        .await
        .unwrap_err();
    assert!(e.contains("never allowed"), "{e}");
    assert_eq!(proxy.heads().len(), 1);
    set_proxy_env(&[]);
}
