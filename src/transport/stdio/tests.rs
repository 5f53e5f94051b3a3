//! The production source (non-blocking sockets) and the fallback (threads)
//! run the same loop: the same input gives the same answers through both.

use super::*;
use crate::server::ServerConfig;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

/// Every kind of line the loop sees: a handshake, requests, a notification,
/// a blank line, CRLF, invalid JSON, a line over the size limit, a batch
/// (refused after the handshake's revision) and a last line without its
/// newline.
fn input() -> Vec<u8> {
    let mut s = String::new();
    s.push_str(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#);
    s.push('\n');
    s.push_str(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    s.push('\n');
    s.push_str("\n   \n");
    s.push_str(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#);
    s.push_str("\r\n");
    s.push_str("{not json\n");
    s.push_str(&format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(300_000)
    ));
    s.push('\n');
    s.push_str(r#"[{"jsonrpc":"2.0","id":4,"method":"ping"}]"#);
    s.push('\n');
    s.push_str(r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#);
    s.push('\n');
    s.push_str(r#"{"jsonrpc":"2.0","id":6,"method":"ping"}"#);
    s.into_bytes()
}

/// Serve `input()` through one of the two sources; the answers, sorted.
fn answers(ready: bool) -> Vec<String> {
    let config = ServerConfig {
        limits: crate::jsonrpc::Limits {
            max_message_bytes: 100_000,
            ..ServerConfig::default().limits
        },
        ..ServerConfig::default()
    };
    let server = Server::builder("t", "1").config(config).build();
    let (server_in, mut client_out) = UnixStream::pair().unwrap();
    let (server_out, mut client_in) = UnixStream::pair().unwrap();
    let feeder = std::thread::spawn(move || {
        client_out.write_all(&input()).unwrap();
        client_out.shutdown(std::net::Shutdown::Write).unwrap();
    });
    let collector = std::thread::spawn(move || {
        let mut all = String::new();
        client_in.read_to_string(&mut all).unwrap();
        all
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let session = server.session();
        let (opts, stop) = (StdioOptions::default(), CancellationToken::new());
        if ready {
            let pipes = StdPipes::from_fds(server_in.into(), server_out.into())
                .expect("sockets are driven non-blocking");
            serve_pipes(session, pipes, opts, stop).await;
        } else {
            serve(session, server_in, server_out, opts, stop).await;
        }
    });
    feeder.join().unwrap();
    let out = collector.join().unwrap();
    let mut lines: Vec<String> = out.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

#[test]
fn the_production_source_and_the_thread_fallback_answer_alike() {
    let ready = answers(true);
    let thread = answers(false);
    assert_eq!(ready, thread);
    let values: Vec<Value> = ready
        .iter()
        .map(|l| serde_json::from_str(l).expect("each answer is one JSON line"))
        .collect();
    let by_id = |id: i64| values.iter().find(|v| v["id"] == id);
    assert!(
        by_id(1).unwrap()["result"]["serverInfo"].is_object(),
        "{ready:?}"
    );
    assert!(by_id(2).unwrap()["result"].is_object(), "{ready:?}");
    assert!(by_id(5).unwrap()["result"]["tools"].is_array(), "{ready:?}");
    assert!(
        by_id(6).unwrap()["result"].is_object(),
        "the last line has no newline: {ready:?}"
    );
    let errors: Vec<i64> = values
        .iter()
        .filter(|v| v["id"].is_null())
        .map(|v| v["error"]["code"].as_i64().unwrap())
        .collect();
    // Invalid JSON (-32700), the line over the limit (-32600) and the batch,
    // which 2025-06-18 no longer allows (-32600).
    let mut errors = errors;
    errors.sort();
    assert_eq!(errors, [-32700, -32600, -32600], "{ready:?}");
    assert!(by_id(3).is_none(), "{ready:?}");
}
