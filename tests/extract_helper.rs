//! The helper process `lmcp-extract` through lmcp's side of it
//! (`lmcp::tools::extract_helper::spawn`): answers, refusals and kills.
#![cfg(feature = "web")]

use lmcp::tools::extract_helper::protocol::{Answer, Job};
use lmcp::tools::extract_helper::{spawn, HelperError, HELPER_ENV};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn use_built_helper() {
    // One test binary: the variable is the same for every test in it.
    std::env::set_var(HELPER_ENV, env!("CARGO_BIN_EXE_lmcp-extract"));
}

fn html_job() -> Job {
    Job::Html {
        url: "http://example.com/".into(),
        format: "markdown".into(),
    }
}

#[tokio::test]
async fn a_page_is_converted_in_the_helper() {
    use_built_helper();
    let page = b"<html><head><title>T</title></head><body><article><h1>Hello</h1>\
        <p>A paragraph long enough to count as the main content of this page, with words.</p>\
        </article></body></html>";
    let a = spawn::run(html_job(), page, Duration::from_secs(10), None, 1 << 20)
        .await
        .unwrap();
    match a {
        Answer::Html { title, content, .. } => {
            assert_eq!(title.as_deref(), Some("T"));
            assert!(content.contains("## Hello"), "{content}");
        }
        other => panic!("unexpected answer {other:?}"),
    }
}

#[tokio::test]
async fn an_answer_over_the_cap_is_refused() {
    use_built_helper();
    let page = format!(
        "<html><body><pre>{}</pre></body></html>",
        "word ".repeat(10_000)
    );
    let e = spawn::run(
        html_job(),
        page.as_bytes(),
        Duration::from_secs(10),
        None,
        100,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, HelperError::TooLarge(100)), "{e}");
}

#[tokio::test]
async fn cancellation_kills_the_helper() {
    use_built_helper();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let started = Instant::now();
    let e = spawn::run(
        html_job(),
        b"<p>x</p>",
        Duration::from_secs(10),
        Some(&cancel),
        1 << 20,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, HelperError::Cancelled), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn an_unknown_search_backend_is_a_failure_answer() {
    use_built_helper();
    let job = Job::Search {
        backend: "altavista".into(),
        skip: 0,
        count: 3,
    };
    match spawn::run(job, b"", Duration::from_secs(10), None, 1 << 20).await {
        Ok(Answer::Failed { message }) => assert!(message.contains("altavista"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
}

/// An embedder calling from a plain thread (no tokio runtime): `run_blocking`
/// supervises the helper on a runtime of its own.
#[test]
fn run_blocking_works_without_a_runtime() {
    use_built_helper();
    assert!(tokio::runtime::Handle::try_current().is_err());
    let page = b"<html><head><title>Plain</title></head><body><p>text</p></body></html>";
    match spawn::run_blocking(html_job(), page, Duration::from_secs(10), None, 1 << 20) {
        Ok(Answer::Html { title, .. }) => assert_eq!(title.as_deref(), Some("Plain")),
        other => panic!("unexpected {other:?}"),
    }
}

/// SearXNG's JSON is read once, in the helper: the results and the engines
/// that did not answer come back together.
#[tokio::test]
async fn searxng_answers_carry_the_unresponsive_engines() {
    use_built_helper();
    let job = Job::Search {
        backend: "searxng".into(),
        skip: 0,
        count: 3,
    };
    let body = br#"{"results": [], "unresponsive_engines": [["google", "timeout"]]}"#;
    match spawn::run(job, body, Duration::from_secs(10), None, 1 << 20).await {
        Ok(Answer::Search {
            results,
            unresponsive_engines,
        }) => {
            assert!(results.is_empty());
            assert_eq!(unresponsive_engines, ["google: timeout"]);
        }
        other => panic!("unexpected {other:?}"),
    }
}
