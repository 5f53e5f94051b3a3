//! The session's limits hold whatever the client does: a cancelled wait for
//! the client gives its in-flight slot back exactly once, batch items share
//! the in-flight limit and the duplicate-id check, and a full in-flight
//! table does not stop the reader from acting on a cancellation.
//!
//! Every case is ordered by events (progress notifications prove a call is
//! running; the order of answers proves what waited for what), not by time.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{example, modern, Peer};

fn fixture(max_in_flight: &str) -> Peer {
    Peer::start(
        &example("everything"),
        &["--stdio", "--max-in-flight", max_in_flight],
    )
}

/// A legacy `sleep` call with a progress token named after its id.
fn sleep_params(ms: u64, token: &str) -> Value {
    json!({"name": "sleep", "arguments": {"ms": ms}, "_meta": {"progressToken": token}})
}

/// Read until a progress notification for `token` arrives; returns the
/// other messages seen meanwhile.
fn wait_progress(p: &mut Peer, token: &str, within: Duration) -> Vec<Value> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = p
            .next_within(left)
            .unwrap_or_else(|| panic!("no progress for {token} within {within:?}; saw {seen:?}"));
        if m["method"] == "notifications/progress" && m["params"]["progressToken"] == token {
            return seen;
        }
        seen.push(m);
    }
}

/// The ids of answers (single responses or batch arrays) in arrival order,
/// reading until `want` answers were seen.
fn answers(p: &mut Peer, want: usize) -> Vec<Value> {
    let mut ids = Vec::new();
    while ids.len() < want {
        let m = p.next();
        match &m {
            Value::Array(items) => ids.extend(items.iter().map(|r| r["id"].clone())),
            _ if m.get("method").is_none() => ids.push(m["id"].clone()),
            _ => {}
        }
    }
    ids
}

#[test]
fn a_cancelled_elicitation_does_not_raise_the_in_flight_limit() {
    let mut p = fixture("1");
    p.initialize("2025-11-25", json!({"elicitation": {}}));
    let asking = p.request("tools/call", json!({"name": "ask_name"}));
    assert_eq!(p.next()["method"], "elicitation/create");
    // The handler waits for the client with its slot released; cancel it there.
    p.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": asking}}));
    // One slot: a slow call, then a fast one that must wait for it.
    let slow = p.request("tools/call", sleep_params(800, "slow"));
    wait_progress(&mut p, "slow", Duration::from_secs(10));
    let fast = p.request(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "x"}}),
    );
    assert_eq!(
        answers(&mut p, 2),
        [json!(slow), json!(fast)],
        "the echo ran beside the sleep: the cancelled elicitation leaked a slot"
    );
}

#[test]
fn a_batch_waits_for_in_flight_slots() {
    let mut p = fixture("1");
    p.initialize("2025-03-26", json!({}));
    p.send(&json!([{"jsonrpc": "2.0", "id": 100, "method": "tools/call", "params": sleep_params(800, "batch")}]));
    wait_progress(&mut p, "batch", Duration::from_secs(10));
    let fast = p.request(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "x"}}),
    );
    // The echo may be written just before the batch's array (the array is
    // sent once every item has ended, the echo as soon as the slot frees);
    // what must not happen is the echo answered while the batch's sleep
    // still reports progress.
    let mut events = Vec::new();
    while events
        .iter()
        .filter(|e: &&String| e.starts_with("answer"))
        .count()
        < 2
    {
        let m = p.next();
        match &m {
            Value::Array(items) => {
                events.extend(items.iter().map(|r| format!("answer {}", r["id"])))
            }
            _ if m["method"] == "notifications/progress" => events.push("progress".into()),
            _ if m.get("method").is_none() => events.push(format!("answer {}", m["id"])),
            _ => {}
        }
    }
    let echo = events
        .iter()
        .position(|e| *e == format!("answer {fast}"))
        .unwrap();
    assert!(
        !events[echo..].contains(&"progress".to_string()),
        "the echo ran beside the batch's sleep (batch items took no in-flight slot): {events:?}"
    );
    assert!(events.contains(&"answer 100".to_string()), "{events:?}");
}

#[test]
fn a_batch_larger_than_the_limit_runs_within_it() {
    let mut p = fixture("2");
    p.initialize("2025-03-26", json!({}));
    let batch: Vec<Value> = (0..6)
        .map(|i| json!({"jsonrpc": "2.0", "id": 200 + i, "method": "tools/call", "params": sleep_params(300, &format!("b{i}"))}))
        .collect();
    p.send(&Value::Array(batch));
    // Count the distinct calls seen running before the first one ends
    // (the first progress of a call marks it started; its own answer comes
    // only with the whole batch).
    let mut started = std::collections::BTreeSet::new();
    let mut last_progress: std::collections::HashMap<String, f64> = Default::default();
    let mut peak = 0;
    loop {
        let m = p.next();
        if m.is_array() {
            assert_eq!(m.as_array().unwrap().len(), 6);
            break;
        }
        if m["method"] != "notifications/progress" {
            continue;
        }
        let token = m["params"]["progressToken"].as_str().unwrap().to_owned();
        let done = m["params"]["progress"].as_f64().unwrap();
        started.insert(token.clone());
        last_progress.insert(token, done);
        let running = last_progress.values().filter(|&&d| d < 300.0).count();
        peak = peak.max(running);
    }
    assert_eq!(started.len(), 6);
    assert!(
        peak <= 2,
        "{peak} batch items ran at once under a limit of 2"
    );
}

#[test]
fn duplicate_ids_in_a_batch_are_refused() {
    let mut p = fixture("4");
    p.initialize("2025-03-26", json!({}));
    p.send(&json!([
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": sleep_params(300, "dup")},
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}},
    ]));
    let r = loop {
        let m = p.next();
        if m.is_array() {
            break m;
        }
    };
    let items = r.as_array().unwrap();
    assert_eq!(items.len(), 2, "{r}");
    let errors: Vec<&Value> = items.iter().filter(|i| i.get("error").is_some()).collect();
    assert_eq!(
        errors.len(),
        1,
        "exactly one of two id-7 calls is refused: {r}"
    );
    assert_eq!(errors[0]["error"]["code"], -32600);
    assert!(errors[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Duplicate request id"));
}

#[test]
fn a_cancellation_takes_effect_while_every_slot_is_busy() {
    let mut p = fixture("2");
    let long = |token: &str| {
        let mut params = modern(json!({"name": "sleep", "arguments": {"ms": 20_000}}));
        params["_meta"]["progressToken"] = json!(token);
        params
    };
    let a = p.request("tools/call", long("a"));
    let b = p.request("tools/call", long("b"));
    wait_progress(&mut p, "a", Duration::from_secs(10));
    wait_progress(&mut p, "b", Duration::from_secs(10));
    // Both slots are busy: this one waits for a slot...
    let c = p.request("tools/call", long("c"));
    // ...and the reader still reads the cancellation behind it.
    let t = Instant::now();
    p.send(
        &json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": a}}),
    );
    wait_progress(&mut p, "c", Duration::from_secs(15));
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the cancellation waited behind a full in-flight table ({:?})",
        t.elapsed()
    );
    for id in [b, c] {
        p.send(&json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": id}}));
    }
    p.close_stdin();
    assert_eq!(p.wait_exit(), Some(0));
}
