use super::*;

fn limits(ttl_ms: u64, max_tasks: usize, max_bytes: usize) -> TaskLimits {
    TaskLimits {
        ttl: Duration::from_millis(ttl_ms),
        poll_interval: Duration::from_millis(100),
        max_tasks,
        max_bytes,
    }
}

fn id_of(task: &Value) -> String {
    task["taskId"].as_str().unwrap().to_string()
}

#[test]
fn a_new_task_is_working_with_ttl_and_poll_interval() {
    let s = TaskStore::new(limits(60_000, 8, 1 << 20));
    let t = s.create("alice", CancellationToken::new()).unwrap();
    assert_eq!(t["status"], "working");
    assert_eq!(t["ttlMs"], 60_000);
    assert_eq!(t["pollIntervalMs"], 100);
    let id = id_of(&t);
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let created = t["createdAt"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    assert_eq!(s.get("alice", &id).unwrap()["status"], "working");
}

#[test]
fn ids_are_distinct_and_bound_to_their_owner() {
    let s = TaskStore::new(limits(60_000, 8, 1 << 20));
    let a = id_of(&s.create("alice", CancellationToken::new()).unwrap());
    let b = id_of(&s.create("alice", CancellationToken::new()).unwrap());
    assert_ne!(a, b);
    assert!(s.get("mallory", &a).is_none());
    assert!(s.cancel("mallory", &a).is_none());
    assert_eq!(s.get("alice", &a).unwrap()["status"], "working");
    assert!(s.get("alice", "no-such-task").is_none());
}

#[test]
fn finished_tasks_carry_their_result_or_error() {
    let s = TaskStore::new(limits(60_000, 8, 1 << 20));
    let ok = id_of(&s.create("c", CancellationToken::new()).unwrap());
    let bad = id_of(&s.create("c", CancellationToken::new()).unwrap());
    let result = json!({"content": [{"type": "text", "text": "done"}], "isError": false});
    assert!(s.finish(&ok, TaskOutcome::Result(result.clone())));
    assert!(s.finish(&bad, TaskOutcome::Error(ErrorObject::internal("boom"))));
    let t = s.get("c", &ok).unwrap();
    assert_eq!(
        (t["status"].clone(), t["result"].clone()),
        (json!("completed"), result)
    );
    let t = s.get("c", &bad).unwrap();
    assert_eq!(t["status"], "failed");
    assert_eq!(t["error"]["code"], -32603);
    assert_eq!(t["statusMessage"], "boom");
    // Terminal states do not change.
    assert!(!s.finish(&ok, TaskOutcome::Error(ErrorObject::internal("late"))));
    assert_eq!(s.get("c", &ok).unwrap()["status"], "completed");
}

#[test]
fn cancel_stops_the_work_and_wins_over_a_late_result() {
    let s = TaskStore::new(limits(60_000, 8, 1 << 20));
    let token = CancellationToken::new();
    let id = id_of(&s.create("c", token.clone()).unwrap());
    assert_eq!(s.cancel("c", &id), Some(true));
    assert!(token.is_cancelled());
    assert!(!s.finish(&id, TaskOutcome::Result(json!({"content": []}))));
    let t = s.get("c", &id).unwrap();
    assert_eq!(t["status"], "cancelled");
    assert!(t.get("result").is_none());
    // Cancelling a finished task acknowledges and changes nothing.
    let done = id_of(&s.create("c", CancellationToken::new()).unwrap());
    s.finish(&done, TaskOutcome::Result(json!({"content": []})));
    assert_eq!(s.cancel("c", &done), Some(false));
    assert_eq!(s.get("c", &done).unwrap()["status"], "completed");
}

#[test]
fn expired_tasks_are_gone_and_their_work_cancelled() {
    let s = TaskStore::new(limits(30, 8, 1 << 20));
    let token = CancellationToken::new();
    let id = id_of(&s.create("c", token.clone()).unwrap());
    std::thread::sleep(Duration::from_millis(60));
    assert!(s.get("c", &id).is_none());
    assert!(token.is_cancelled());
    assert_eq!(s.usage(), (0, 0));
}

#[test]
fn the_count_is_bounded_evicting_finished_tasks_first() {
    let s = TaskStore::new(limits(60_000, 2, 1 << 20));
    let first = id_of(&s.create("c", CancellationToken::new()).unwrap());
    let second = id_of(&s.create("c", CancellationToken::new()).unwrap());
    // Both still working: no room.
    let full = s.create("c", CancellationToken::new()).unwrap_err();
    assert_eq!(full.code, -32603);
    s.finish(&first, TaskOutcome::Result(json!({"content": []})));
    let third = id_of(&s.create("c", CancellationToken::new()).unwrap());
    assert!(s.get("c", &first).is_none());
    assert!(s.get("c", &second).is_some() && s.get("c", &third).is_some());
}

#[test]
fn result_bytes_are_bounded() {
    let s = TaskStore::new(limits(60_000, 8, 200));
    let a = id_of(&s.create("c", CancellationToken::new()).unwrap());
    let b = id_of(&s.create("c", CancellationToken::new()).unwrap());
    let big = json!({"text": "x".repeat(150)});
    s.finish(&a, TaskOutcome::Result(big.clone()));
    assert!(s.usage().1 > 150);
    // The second result only fits once the first is evicted.
    s.finish(&b, TaskOutcome::Result(big.clone()));
    assert!(s.get("c", &a).is_none());
    assert_eq!(s.get("c", &b).unwrap()["result"], big);
    // A result larger than the whole budget becomes an error.
    let c = id_of(&s.create("c", CancellationToken::new()).unwrap());
    s.finish(&c, TaskOutcome::Result(json!({"text": "y".repeat(500)})));
    let t = s.get("c", &c).unwrap();
    assert_eq!(t["status"], "failed");
    assert!(t["error"]["message"].as_str().unwrap().contains("larger"));
}

#[test]
fn input_required_until_every_request_is_answered() {
    let s = TaskStore::new(limits(60_000, 8, 1 << 20));
    let id = id_of(&s.create("c", CancellationToken::new()).unwrap());
    let requests = json!({"a": {"method": "elicitation/create"}, "b": {"method": "roots/list"}});
    let mut rx = s
        .await_input(&id, requests.as_object().unwrap().clone())
        .unwrap();
    let t = s.get("c", &id).unwrap();
    assert_eq!(t["status"], "input_required");
    assert_eq!(t["inputRequests"], requests);
    // Another identity cannot answer; unknown keys are ignored.
    assert!(s.give_input("x", &id, Map::new()).is_none());
    let partial = json!({"a": {"action": "accept"}, "zzz": 1});
    s.give_input("c", &id, partial.as_object().unwrap().clone())
        .unwrap();
    let t = s.get("c", &id).unwrap();
    assert_eq!(t["status"], "input_required");
    assert_eq!(t["inputRequests"], json!({"b": {"method": "roots/list"}}));
    assert!(rx.try_recv().is_err());
    let rest = json!({"b": {"roots": []}});
    s.give_input("c", &id, rest.as_object().unwrap().clone())
        .unwrap();
    assert_eq!(s.get("c", &id).unwrap()["status"], "working");
    let answers = rx.try_recv().unwrap();
    assert_eq!(
        Value::Object(answers),
        json!({"a": {"action": "accept"}, "b": {"roots": []}})
    );
}

#[test]
fn watchers_hear_every_status_change() {
    let s = TaskStore::new(limits(60_000, 8, 1 << 20));
    let a = id_of(&s.create("alice", CancellationToken::new()).unwrap());
    let b = id_of(&s.create("alice", CancellationToken::new()).unwrap());
    // Nobody watches yet: nothing is kept for later.
    assert!(s.finish(&a, TaskOutcome::Result(json!({"content": []}))));
    let mut rx = s.watch();
    assert!(rx.try_recv().is_err());
    let mut asked = serde_json::Map::new();
    asked.insert("k".into(), json!({"method": "elicitation/create"}));
    let _resume = s.await_input(&b, asked).unwrap();
    let mut answers = serde_json::Map::new();
    answers.insert("k".into(), json!({"action": "accept"}));
    s.give_input("alice", &b, answers).unwrap();
    assert_eq!(s.cancel("alice", &b), Some(true));
    let heard: Vec<String> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert_eq!(heard, [b.clone(), b.clone(), b]);
}

#[test]
fn the_wire_status_reads_back_and_says_whether_the_task_still_runs() {
    let s = TaskStore::new(limits(60_000, 8, 1 << 20));
    let t = s.create("alice", CancellationToken::new()).unwrap();
    assert_eq!(TaskStatus::of(&t), Some(TaskStatus::Working));
    assert!(TaskStatus::still_running(&t));
    let id = id_of(&t);
    s.finish(&id, TaskOutcome::Result(json!({"content": []})));
    let done = s.get("alice", &id).unwrap();
    assert_eq!(TaskStatus::of(&done), Some(TaskStatus::Completed));
    assert!(!TaskStatus::still_running(&done));
    for status in [
        "working",
        "input_required",
        "completed",
        "failed",
        "cancelled",
    ] {
        let st = TaskStatus::of(&json!({ "status": status })).unwrap();
        assert_eq!(st.as_str(), status);
    }
    assert_eq!(TaskStatus::of(&json!({"status": "paused"})), None);
    assert!(!TaskStatus::still_running(&json!({})));
}
