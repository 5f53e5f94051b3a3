//! Background job lifecycle tests.
use super::*;
use crate::tools::process::exec::become_subreaper;
use crate::RequestContext;

fn manager(buffer: usize) -> Arc<JobManager> {
    let _ = become_subreaper();
    JobManager::new(Arc::new(ShellConfig {
        kill_grace: Duration::from_millis(300),
        job_buffer_bytes: buffer,
        max_jobs: 2,
        ..ShellConfig::default()
    }))
}

async fn call(tools: &[crate::Tool], name: &str, args: Value) -> Result<Value, String> {
    let tool = tools.iter().find(|t| t.name == name).unwrap();
    let Value::Object(map) = args else { panic!() };
    tool.validate(&map).map_err(|e| e.to_string())?;
    match (tool.handler)(map, RequestContext::detached()).await {
        Ok(r) => Ok(r.structured.unwrap_or(Value::Null)),
        Err(ToolError::Tool(m)) => Err(m),
        Err(_) => Err("protocol error".into()),
    }
}

fn live(pgid: i64) -> usize {
    crate::tools::shell::tests::live_in_group(pgid as i32).len()
}

#[tokio::test]
async fn start_output_input_list_kill() {
    let m = manager(4096);
    let t = tools(m.clone());
    let v = call(
        &t,
        "shell_bg",
        json!({"command": "echo ready; while read l; do echo got $l; done"}),
    )
    .await
    .unwrap();
    let job = v["job"].as_str().unwrap().to_owned();
    assert!(job.starts_with("job_") && job.len() == 36);
    let pid = v["pid"].as_i64().unwrap();
    let o = call(&t, "shell_bg_output", json!({"job": job, "wait_ms": 3000}))
        .await
        .unwrap();
    assert_eq!(o["stdout"], "ready\n");
    assert_eq!(o["state"], "running");
    let off = o["stdout_offset"].as_u64().unwrap();
    call(&t, "shell_bg_input", json!({"job": job, "input": "ping\n"}))
        .await
        .unwrap();
    let o = call(
        &t,
        "shell_bg_output",
        json!({"job": job, "stdout_offset": off, "wait_ms": 3000}),
    )
    .await
    .unwrap();
    assert_eq!(o["stdout"], "got ping\n");
    let l = call(&t, "shell_bg_list", json!({})).await.unwrap();
    assert_eq!(l["jobs"][0]["job"], job.as_str());
    assert_eq!(l["jobs"][0]["state"], "running");
    let k = call(&t, "shell_bg_kill", json!({"job": job}))
        .await
        .unwrap();
    assert_eq!(k["state"], "killed");
    assert_eq!(live(pid), 0);
    crate::tools::shell::tests::assert_no_zombies(pid as i32).await;
    let e = call(&t, "shell_bg_input", json!({"job": job, "input": "x"}))
        .await
        .unwrap_err();
    assert!(e.contains("closed"), "{e}");
    assert!(call(&t, "shell_bg_output", json!({"job": "job_nope"}))
        .await
        .unwrap_err()
        .contains("shell_bg_list"));
}

#[tokio::test]
async fn output_after_exit_and_closing_stdin() {
    let m = manager(4096);
    let t = tools(m.clone());
    let v = call(
        &t,
        "shell_bg",
        json!({"command": "cat; echo err >&2; exit 7", "stdin": "abc", "close_stdin": true}),
    )
    .await
    .unwrap();
    let job = v["job"].as_str().unwrap();
    // Poll as a client does: each call continues from the previous offsets
    // and waits for something new, so the loop ends with the job.
    let (mut out, mut err) = (String::new(), String::new());
    let (mut so, mut eo) = (0, 0);
    let mut o = Value::Null;
    for _ in 0..50 {
        o = call(
            &t,
            "shell_bg_output",
            json!({"job": job, "wait_ms": 2000, "stdout_offset": so, "stderr_offset": eo}),
        )
        .await
        .unwrap();
        out.push_str(o["stdout"].as_str().unwrap());
        err.push_str(o["stderr"].as_str().unwrap());
        so = o["stdout_offset"].as_u64().unwrap();
        eo = o["stderr_offset"].as_u64().unwrap();
        if o["state"] != "running" {
            break;
        }
    }
    assert_eq!(o["state"], "exited");
    assert_eq!(o["exit_code"], 7);
    assert_eq!(out, "abc");
    assert_eq!(err, "err\n");
    // After the end the whole output is still there from offset 0.
    let o = call(&t, "shell_bg_output", json!({"job": job, "wait_ms": 5000}))
        .await
        .unwrap();
    assert_eq!(
        (o["stdout"].as_str(), o["stderr"].as_str()),
        (Some("abc"), Some("err\n"))
    );
    let o = call(
        &t,
        "shell_bg_output",
        json!({"job": job, "stream": "stderr"}),
    )
    .await
    .unwrap();
    assert!(o.get("stdout").is_none());
}

#[tokio::test]
async fn ring_buffer_overflow_drops_old_output_with_a_marker() {
    let m = manager(1000);
    let t = tools(m.clone());
    let v = call(&t, "shell_bg", json!({"command": "seq 1 10000"}))
        .await
        .unwrap();
    let job = v["job"].as_str().unwrap();
    let j = m.get(job).unwrap();
    j.wait_for(Duration::from_secs(5), |s| s.end.is_some())
        .await;
    let o = call(&t, "shell_bg_output", json!({"job": job}))
        .await
        .unwrap();
    let text = o["stdout"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "[... {} earlier bytes dropped ...]",
            48_894 - 1000
        )),
        "{text}"
    );
    assert!(text.ends_with("9999\n10000\n"));
    assert_eq!(o["stdout_offset"], 48_894);
    let o = call(&t, "shell_bg_output", json!({"job": job, "tail_lines": 2}))
        .await
        .unwrap();
    assert_eq!(o["stdout"], "9999\n10000\n");
}

#[tokio::test]
async fn job_limit_and_signal() {
    let m = manager(4096);
    let t = tools(m.clone());
    let a = call(&t, "shell_bg", json!({"command": "sleep 100"}))
        .await
        .unwrap();
    call(&t, "shell_bg", json!({"command": "sleep 100"}))
        .await
        .unwrap();
    let e = call(&t, "shell_bg", json!({"command": "sleep 100"}))
        .await
        .unwrap_err();
    assert!(e.contains("limit is 2"), "{e}");
    // A SIGINT that reaches `sh -c` before `sleep` has been exec'd (before
    // the fork, or between fork and exec while the child still runs dash's
    // handler; dash catches INT under -c) never reaches `sleep`: wait until
    // the shell's child is `sleep`, as a user sees the job running before
    // interrupting it. On a loaded machine that window is long.
    let pid = a["pid"].as_i64().unwrap();
    let is_sleep = |child: &str| {
        std::fs::read_to_string(format!("/proc/{child}/comm")).is_ok_and(|c| c.trim() == "sleep")
    };
    for _ in 0..500 {
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if children.split_whitespace().any(is_sleep) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let k = call(
        &t,
        "shell_bg_kill",
        json!({"job": a["job"], "signal": "INT"}),
    )
    .await
    .unwrap();
    // The tool waits 500 ms for the job to end after a named signal; on a
    // loaded machine reaping can take longer, so look again until it shows.
    let mut k = k;
    for _ in 0..100 {
        if k["state"] == "killed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        let list = call(&t, "shell_bg_list", json!({})).await.unwrap();
        k = list["jobs"]
            .as_array()
            .and_then(|js| js.iter().find(|j| j["job"] == a["job"]).cloned())
            .unwrap_or(k);
    }
    assert_eq!(k["state"], "killed", "{k}");
    assert_eq!(k["signal"], "SIGINT");
    assert!(call(
        &t,
        "shell_bg_kill",
        json!({"job": a["job"], "signal": "BOGUS"})
    )
    .await
    .is_err());
    m.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_every_job_group() {
    let m = manager(4096);
    let t = tools(m.clone());
    let mut pids = Vec::new();
    for cmd in ["sleep 100 & sleep 100", "trap '' TERM; sleep 100"] {
        let v = call(&t, "shell_bg", json!({"command": cmd})).await.unwrap();
        pids.push(v["pid"].as_i64().unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(pids.iter().all(|&p| live(p) > 0));
    m.shutdown().await;
    assert!(pids.iter().all(|&p| live(p) == 0));
    assert!(m.list().iter().all(|j| !j.is_running()));
    let e = call(&t, "shell_bg", json!({"command": "true"}))
        .await
        .unwrap_err();
    assert!(e.contains("shutting down"));
}

#[tokio::test]
async fn wait_ms_waits_for_new_output_or_the_end() {
    let m = manager(4096);
    let t = tools(m.clone());
    let v = call(
        &t,
        "shell_bg",
        json!({"command": "echo first; sleep 0.3; echo second; sleep 0.3"}),
    )
    .await
    .unwrap();
    let job = v["job"].as_str().unwrap();
    let o = call(&t, "shell_bg_output", json!({"job": job, "wait_ms": 10000}))
        .await
        .unwrap();
    assert_eq!(o["stdout"], "first\n");
    // Nothing past the offset yet: the call waits for "second".
    let o = call(
        &t,
        "shell_bg_output",
        json!({"job": job, "wait_ms": 10000, "stdout_offset": o["stdout_offset"]}),
    )
    .await
    .unwrap();
    assert_eq!(o["stdout"], "second\n");
    assert_eq!(o["state"], "running");
    // In tail mode the call waits for output past what is there: the end.
    let o = call(
        &t,
        "shell_bg_output",
        json!({"job": job, "wait_ms": 10000, "tail_lines": 1}),
    )
    .await
    .unwrap();
    assert_eq!(o["stdout"], "second\n");
    assert_eq!(o["state"], "exited");
    assert_eq!(o["exit_code"], 0);
}

#[tokio::test]
async fn ended_jobs_are_discarded_after_the_retention() {
    let _ = become_subreaper();
    let m = JobManager::new(Arc::new(ShellConfig {
        kill_grace: Duration::from_millis(300),
        job_retention: Duration::from_millis(100),
        ..ShellConfig::default()
    }));
    let t = tools(m.clone());
    let running = call(&t, "shell_bg", json!({"command": "sleep 100"}))
        .await
        .unwrap();
    // The job waits for a line, so it is still running (never discarded)
    // when the test takes hold of it; the line ends it.
    let v = call(&t, "shell_bg", json!({"command": "read line; echo bye"}))
        .await
        .unwrap();
    let job = v["job"].as_str().unwrap();
    let j = m.get(job).unwrap();
    call(
        &t,
        "shell_bg_input",
        json!({"job": job, "input": "go\n", "close": true}),
    )
    .await
    .unwrap();
    j.wait_for(Duration::from_secs(10), |s| s.end.is_some())
        .await;
    assert!(!j.is_running());
    tokio::time::sleep(Duration::from_millis(400)).await;
    // The ended job is gone from the list; the running one, older still, stays.
    let l = call(&t, "shell_bg_list", json!({})).await.unwrap();
    let listed: Vec<&str> = l["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [running["job"].as_str().unwrap()]);
    let e = call(&t, "shell_bg_output", json!({"job": job}))
        .await
        .unwrap_err();
    assert!(e.contains("discarded") && e.contains(job), "{e}");
    m.shutdown().await;
}

#[tokio::test]
async fn shell_bg_waits_for_its_first_output_to_settle() {
    let m = manager(4096);
    let t = tools(m.clone());
    let start = Instant::now();
    let args = json!({"command": "echo ready; sleep 5", "wait_ms": 4000, "idle_ms": 200});
    let v = call(&t, "shell_bg", args).await.unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        (v["settled"].as_str(), v["state"].as_str()),
        (Some("idle"), Some("running"))
    );
    assert_eq!(
        (v["stdout"].as_str(), v["stdout_offset"].as_u64()),
        (Some("ready\n"), Some(6))
    );
    let job = m.get(v["job"].as_str().unwrap()).unwrap();
    job.kill(Duration::from_secs(3)).await;
    // A command that exits within the wait answers with its end.
    let v = call(
        &t,
        "shell_bg",
        json!({"command": "echo done; exit 4", "wait_ms": 4000}),
    )
    .await
    .unwrap();
    assert_eq!(
        (v["settled"].as_str(), v["exit_code"].as_i64()),
        (Some("ended"), Some(4))
    );
    assert_eq!(v["stdout"], "done\n");
}

#[tokio::test]
async fn shell_bg_input_waits_until_the_prompt() {
    let m = manager(4096);
    let t = tools(m.clone());
    let repl = "printf '> '; while read l; do sleep 0.2; echo \"got $l\"; printf '> '; done";
    let v = call(&t, "shell_bg", json!({"command": repl, "wait_ms": 3000}))
        .await
        .unwrap();
    assert_eq!(
        (v["settled"].as_str(), v["stdout"].as_str()),
        (Some("idle"), Some("> "))
    );
    let job = v["job"].as_str().unwrap().to_owned();
    let args = json!({"job": job, "input": "a\n", "wait_ms": 3000, "until": "> $"});
    let v = call(&t, "shell_bg_input", args).await.unwrap();
    assert_eq!(
        (v["settled"].as_str(), v["stdout"].as_str()),
        (Some("matched"), Some("got a\n> "))
    );
    assert_eq!(
        (v["stdout_offset"].as_u64(), v["bytes"].as_u64()),
        (Some(10), Some(2))
    );
    // Bad arguments are refused before anything is written.
    for (args, name) in [
        (
            json!({"job": job, "input": "b\n", "wait_ms": 3000, "until": "(unclosed"}),
            "`until`",
        ),
        (
            json!({"job": job, "input": "b\n", "wait_ms": 99_999_999}),
            "`wait_ms`",
        ),
        (
            json!({"job": job, "input": "b\n", "until": "> $"}),
            "`wait_ms`",
        ),
    ] {
        let e = call(&t, "shell_bg_input", args).await.unwrap_err();
        assert!(e.contains(name), "{e}");
    }
    let e = call(
        &t,
        "shell_bg",
        json!({"command": "echo no", "wait_ms": 99_999_999}),
    )
    .await
    .unwrap_err();
    assert!(e.contains("`wait_ms`") && m.list().len() == 1, "{e}");
    // A wait that is cancelled (its future dropped) ends the wait, not the job.
    let args = json!({"job": job, "input": "c\n", "wait_ms": 3000, "until": "never"});
    assert!(
        tokio::time::timeout(Duration::from_millis(600), call(&t, "shell_bg_input", args))
            .await
            .is_err()
    );
    let o = call(
        &t,
        "shell_bg_output",
        json!({"job": job, "stdout_offset": 10, "wait_ms": 3000}),
    )
    .await
    .unwrap();
    assert_eq!(o["state"], "running");
    assert!(o["stdout"].as_str().unwrap().starts_with("got c\n"), "{o}");
    m.get(&job).unwrap().kill(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn shell_bg_list_shows_a_job_waiting_for_input() {
    let m = manager(4096);
    let t = tools(m.clone());
    let cmd = "echo ready; read l; echo got $l; sleep 5";
    let v = call(
        &t,
        "shell_bg",
        json!({"command": cmd, "wait_ms": 3000, "idle_ms": 200}),
    )
    .await
    .unwrap();
    let job = v["job"].as_str().unwrap().to_owned();
    let waiting = || async {
        let l = call(&t, "shell_bg_list", json!({})).await.unwrap();
        l["jobs"][0]["waiting_for_input"].clone()
    };
    assert_eq!(waiting().await, true, "blocked in read on its stdin");
    let args = json!({"job": job, "input": "x\n", "wait_ms": 3000, "until": "got x"});
    call(&t, "shell_bg_input", args).await.unwrap();
    assert_eq!(waiting().await, false, "sleeping, not reading");
    m.get(&job).unwrap().kill(Duration::from_secs(3)).await;
    assert_eq!(waiting().await, false);
}

#[tokio::test]
async fn job_output_fits_the_output_budget_and_its_offsets_read_everything() {
    // Issue 16: a job's answer (text and structured content) stays within
    // the budget whatever max_bytes or tail_lines ask; offsets go on.
    let _ = become_subreaper();
    let m = JobManager::new(Arc::new(ShellConfig {
        kill_grace: Duration::from_millis(300),
        max_result_bytes: 2048,
        ..ShellConfig::default()
    }));
    let tools = tools(m.clone());
    let started = call(
        &tools,
        "shell_bg",
        json!({"command": "seq 1 20000; printf '\\033%.0s' $(seq 1 2000) >&2", "wait_ms": 20000}),
    )
    .await
    .unwrap();
    let id = started["job"].as_str().unwrap().to_owned();
    let job = m.get(&id).unwrap();
    job.wait_for(Duration::from_secs(20), |s| s.end.is_some())
        .await;
    let tool = tools.iter().find(|t| t.name == "shell_bg_output").unwrap();
    let answer = |args: Value| async {
        let Value::Object(map) = args else { panic!() };
        let r = (tool.handler)(map, RequestContext::detached())
            .await
            .unwrap();
        let crate::Content::Text { text, .. } = &r.content[0] else {
            panic!()
        };
        let v = r.structured.unwrap();
        assert!(
            text.len() + v.to_string().len() <= 2048,
            "{} + {}",
            text.len(),
            v
        );
        v
    };
    let tail = answer(json!({"job": id, "tail_lines": 100000, "max_bytes": 1000000})).await;
    assert!(
        tail["stdout"].as_str().unwrap().ends_with("20000\n"),
        "{tail}"
    );
    let escapes = answer(json!({"job": id, "stream": "stderr", "max_bytes": 1000000})).await;
    assert!(escapes["stderr_more"] == true, "{escapes}");
    let expected: String = (1..=20000).map(|i| format!("{i}\n")).collect();
    let mut got = String::new();
    let mut offset = 0u64;
    for _ in 0..500 {
        let args =
            json!({"job": id, "stream": "stdout", "stdout_offset": offset, "max_bytes": 1000000});
        let v = answer(args).await;
        got.push_str(v["stdout"].as_str().unwrap());
        let next = v["stdout_offset"].as_u64().unwrap();
        assert!(
            next > offset || v["stdout_more"] == false,
            "no progress at {offset}: {v}"
        );
        offset = next;
        if v["stdout_more"] == false {
            break;
        }
    }
    let same = got
        .bytes()
        .zip(expected.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        got.len() == expected.len() && same == got.len(),
        "{} of {} bytes, the same up to {same}: {:?}",
        got.len(),
        expected.len(),
        &got[same.saturating_sub(20)..(same + 40).min(got.len())]
    );
}

/// Scale-out (issue 21): handles carry the instance id, and a handle another
/// instance minted gets an error naming both instances and the routing fix.
#[test]
fn handles_carry_the_instance_id_and_foreign_ones_are_named() {
    let m = JobManager::new(Arc::new(ShellConfig {
        instance_id: Some("i1".parse().unwrap()),
        ..ShellConfig::default()
    }));
    let own = m.admit().unwrap();
    assert!(own.starts_with("job_i1.") && own.len() == 7 + 32, "{own}");
    let e = m.get("job_i2.0123").unwrap_err().to_string();
    assert!(
        e.contains("\"job_i2.0123\"") && e.contains("\"i2\"") && e.contains("Mcp-Param-Job"),
        "{e}"
    );
    let e = m.get(&own).unwrap_err().to_string();
    assert!(e.contains("ended jobs are discarded"), "{e}");
    let e = m.get("job_00ff").unwrap_err().to_string();
    assert!(e.contains("ended jobs are discarded"), "{e}");
}
