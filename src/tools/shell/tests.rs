//! Handler tests of `shell`, run with a detached request context.
use super::*;
use serde_json::{Map, Value};

/// Processes of process group `pgid`, from /proc, whose state (`Z` for a
/// zombie) passes `keep`.
fn in_group(pgid: i32, keep: impl Fn(&str) -> bool) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let rest = stat.rsplit_once(')').unwrap().1;
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f[2].parse::<i32>() == Ok(pgid) && keep(f[0]) {
            v.push(pid);
        }
    }
    v
}

/// Live (non-zombie) processes of process group `pgid`.
pub(crate) fn live_in_group(pgid: i32) -> Vec<i32> {
    in_group(pgid, |state| state != "Z")
}

/// Fails unless no zombie of process group `pgid` is left: every process of
/// the call was reaped, not just killed. Zombies are reaped asynchronously,
/// so they get about 2 s to go.
pub(crate) async fn assert_no_zombies(pgid: i32) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut left = in_group(pgid, |state| state == "Z");
    while !left.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        left = in_group(pgid, |state| state == "Z");
    }
    assert_eq!(left, Vec::<i32>::new(), "zombies left in group {pgid}");
}

fn config() -> ShellConfig {
    let _ = crate::tools::process::exec::become_subreaper();
    ShellConfig {
        kill_grace: Duration::from_millis(500),
        ..ShellConfig::default()
    }
}

async fn call(args: Value) -> ToolResult {
    let tool = shell_tool(Arc::new(config()), None);
    let Value::Object(map) = args else { panic!() };
    (tool.handler)(map, RequestContext::detached())
        .await
        .unwrap()
}

async fn out(args: Value) -> ShellOutput {
    serde_json::from_value(call(args).await.structured.unwrap()).unwrap()
}

#[tokio::test]
async fn exit_code_stdout_and_stderr_kept_apart() {
    let o = out(json!({"command": "echo hello; echo oops >&2; exit 3"})).await;
    assert_eq!(o.exit_code, Some(3));
    assert_eq!(o.signal, None);
    assert_eq!(o.stdout, "hello\n");
    assert_eq!(o.stderr, "oops\n");
    assert!(!o.timed_out && !o.truncated);
    let r = call(json!({"command": "echo hi"})).await;
    assert!(!r.is_error);
    let crate::Content::Text { text, .. } = &r.content[0] else {
        panic!()
    };
    assert!(
        text.contains("exit code 0") && text.contains("hi"),
        "{text}"
    );
}

#[tokio::test]
async fn stdin_env_and_cwd() {
    let o = out(
        json!({"command": "cat; printf %s \"$GREETING\"", "stdin": "from stdin\n",
                       "env": {"GREETING": "hi there"}}),
    )
    .await;
    assert_eq!(o.stdout, "from stdin\nhi there");
    // Without `stdin`, stdin is closed (reads end at once).
    let o = out(json!({"command": "cat; echo done", "timeout_ms": 5000})).await;
    assert_eq!((o.stdout.as_str(), o.timed_out), ("done\n", false));
    let dir = std::env::temp_dir();
    let o = out(json!({"command": "pwd", "cwd": dir.to_str().unwrap()})).await;
    assert_eq!(
        std::fs::canonicalize(o.stdout.trim()).unwrap(),
        std::fs::canonicalize(&dir).unwrap()
    );
    let tool = shell_tool(Arc::new(config()), None);
    let mut m = Map::new();
    m.insert("command".into(), json!("true"));
    m.insert("cwd".into(), json!("/no/such/dir"));
    let e = (tool.handler)(m, RequestContext::detached())
        .await
        .unwrap_err();
    assert!(matches!(e, ToolError::Tool(msg) if msg.contains("not an existing directory")));
}

#[tokio::test]
async fn signal_is_reported() {
    let o = out(json!({"command": "kill -9 $$"})).await;
    assert_eq!((o.exit_code, o.signal.as_deref()), (None, Some("SIGKILL")));
}

#[tokio::test]
async fn timeout_kills_the_whole_group() {
    let cfg = config();
    let ctx = RequestContext::detached();
    let args: ShellArgs = serde_json::from_value(
        json!({"command": "echo $$; sleep 100 & sleep 100", "timeout_ms": 300}),
    )
    .unwrap();
    let started = Instant::now();
    let o = run(&cfg, args, &ctx, None).await.unwrap();
    assert!(o.timed_out);
    assert!(started.elapsed() < Duration::from_secs(3));
    let pgid: i32 = o.stdout.trim().parse().unwrap();
    assert_eq!(live_in_group(pgid), Vec::<i32>::new());
    assert_no_zombies(pgid).await;
    assert_eq!(o.signal.as_deref(), Some("SIGTERM"));
}

#[tokio::test]
async fn term_ignoring_processes_get_killed_after_grace() {
    let o = out(json!({"command": "trap '' TERM; echo $$; sleep 100", "timeout_ms": 200})).await;
    assert!(o.timed_out);
    let pgid: i32 = o.stdout.trim().parse().unwrap();
    assert!(live_in_group(pgid).is_empty());
    assert_no_zombies(pgid).await;
}

#[tokio::test]
async fn leftover_background_processes_are_ended_when_the_command_exits() {
    let o = out(json!({"command": "echo $$; sleep 100 &", "timeout_ms": 5000})).await;
    assert_eq!(o.exit_code, Some(0));
    assert!(o.duration_ms < 3000);
    let pgid: i32 = o.stdout.trim().parse().unwrap();
    assert!(live_in_group(pgid).is_empty());
    assert_no_zombies(pgid).await;
}

#[tokio::test]
async fn dropping_the_call_kills_the_group_grandchildren_included() {
    let dir = std::env::temp_dir().join(format!("lmcp-shell-drop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pidfile = dir.join("pid");
    let cfg = config();
    let ctx = RequestContext::detached();
    let args: ShellArgs = serde_json::from_value(json!({
        "command": format!("echo $$ > {}; sleep 100 & sleep 100", pidfile.display())
    }))
    .unwrap();
    let fut = run(&cfg, args, &ctx, None);
    // The engine drops the future on cancellation; so does this timeout.
    assert!(tokio::time::timeout(Duration::from_millis(500), fut)
        .await
        .is_err());
    let pgid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while !live_in_group(pgid).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(live_in_group(pgid), Vec::<i32>::new());
    assert_no_zombies(pgid).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn long_output_keeps_head_and_tail() {
    let o = out(json!({"command": "seq 1 100000", "max_output_bytes": 100})).await;
    assert!(o.truncated);
    assert_eq!(o.stdout_bytes, 588_895);
    assert!(o.stdout.starts_with("1\n2\n3\n"));
    assert!(o.stdout.ends_with("99999\n100000\n"));
    assert!(o
        .stdout
        .contains(&format!("[... {} bytes cut ...]", 588_895 - 100)));
}

#[tokio::test]
async fn binary_output_is_lossy_text() {
    let o = out(json!({"command": "printf 'a\\377\\000b'"})).await;
    assert_eq!(o.stdout, "a\u{fffd}\u{0}b");
    assert_eq!(o.stdout_bytes, 4);
}

#[tokio::test]
async fn many_calls_run_concurrently() {
    let started = Instant::now();
    let calls = (0..3).map(|_| out(json!({"command": "sleep 1"})));
    let outs = futures_join(calls.collect()).await;
    assert!(outs.iter().all(|o| o.exit_code == Some(0)));
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
}

async fn futures_join<F: std::future::Future<Output = ShellOutput> + Send + 'static>(
    futs: Vec<F>,
) -> Vec<ShellOutput> {
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut v = Vec::new();
    for h in handles {
        v.push(h.await.unwrap());
    }
    v
}

#[test]
fn output_schema_matches_the_result() {
    let tool = shell_tool(Arc::new(ShellConfig::default()), None);
    let schema = tool.output_schema.unwrap().to_value();
    for k in [
        "exit_code",
        "signal",
        "stdout",
        "stderr",
        "duration_ms",
        "timed_out",
        "truncated",
    ] {
        assert!(schema["properties"].get(k).is_some(), "{k}");
    }
    assert_eq!(tool.annotations.destructive_hint, Some(true));
    assert_eq!(tool.annotations.open_world_hint, Some(true));
}

/// Pids of processes whose command line contains `mark`.
fn with_mark(mark: &str) -> Vec<i32> {
    let mut v = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(mark) {
            v.push(pid);
        }
    }
    v
}

/// Kill and reap what a failed test left (it is ours as the subreaper).
fn clean_up(pids: &[i32]) {
    for &pid in pids {
        let pid = nix::unistd::Pid::from_raw(pid);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(pid, None);
    }
}

#[tokio::test]
async fn a_process_leaving_the_group_does_not_hold_the_call_and_does_not_outlive_it() {
    // `setsid` moves the sleep out of the group (so the group kill cannot
    // reach it) while it keeps the output pipes open. Issue 23: it must not
    // outlive the call either.
    let mark = format!("30.{}1", std::process::id());
    let o = out(json!({
        "command": format!("setsid sleep {mark} & sleep 0.2; echo hi; exit 4"),
        "timeout_ms": 20000
    }))
    .await;
    assert_eq!(
        (o.exit_code, o.timed_out, o.stdout.as_str()),
        (Some(4), false, "hi\n")
    );
    let left: Vec<i32> = with_mark(&mark)
        .into_iter()
        .filter(|&p| !crate::tools::process::tree::is_dead(p))
        .collect();
    clean_up(&left);
    assert_eq!(
        left,
        Vec::<i32>::new(),
        "an escaped process outlived the call"
    );
}

#[tokio::test]
async fn a_timed_out_command_ends_the_processes_that_left_its_group() {
    // Issue 16: grandchildren die with a timed-out command, even after setsid
    // (and a double fork, so they are not the shell's children either).
    let mark = format!("31.{}2", std::process::id());
    let o = out(json!({
        "command": format!("(setsid sh -c 'sleep {mark}' >/dev/null 2>&1 &) ; echo started; sleep 100"),
        "timeout_ms": 500
    }))
    .await;
    assert!(o.timed_out && o.stdout == "started\n", "{o:?}");
    let found = with_mark(&mark);
    let left: Vec<i32> = found
        .iter()
        .copied()
        .filter(|&p| !crate::tools::process::tree::is_dead(p))
        .collect();
    clean_up(&found);
    assert_eq!(
        left,
        Vec::<i32>::new(),
        "an escaped process outlived the timeout"
    );
}

/// A `shell` tool sharing a job manager, with `on_timeout` defaulting to `dflt`.
fn with_jobs(dflt: OnTimeout, max_jobs: usize) -> (Tool, Arc<JobManager>) {
    let cfg = Arc::new(ShellConfig {
        on_timeout: dflt,
        max_jobs,
        ..config()
    });
    let jobs = JobManager::new(cfg.clone());
    (shell_tool(cfg, Some(jobs.clone())), jobs)
}

async fn call_with(tool: &Tool, args: Value) -> Result<ToolResult, ToolError> {
    let Value::Object(map) = args else { panic!() };
    (tool.handler)(map, RequestContext::detached()).await
}

#[tokio::test]
async fn on_timeout_background_leaves_the_command_running_as_a_job() {
    let (tool, jobs) = with_jobs(OnTimeout::Kill, 4);
    let args = json!({"command": "echo first; echo err >&2; sleep 0.6; echo second",
                      "timeout_ms": 300, "on_timeout": "background"});
    let r = call_with(&tool, args).await.unwrap();
    assert!(!r.is_error);
    let o: ShellOutput = serde_json::from_value(r.structured.clone().unwrap()).unwrap();
    assert_eq!(
        (o.state.as_deref(), o.timed_out, o.exit_code),
        (Some("running"), false, None)
    );
    assert_eq!((o.stdout.as_str(), o.stderr.as_str()), ("first\n", "err\n"));
    let id = o.job.clone().unwrap();
    let crate::Content::Text { text, .. } = &r.content[0] else {
        panic!()
    };
    assert!(
        text.contains(&format!("background job {id}")) && text.contains("stdout_offset=6"),
        "{text}"
    );
    // The job finishes on its own; its output counts every byte from the start.
    let job = jobs.get(&id).unwrap();
    job.wait_for(Duration::from_secs(10), |s| s.end.is_some())
        .await;
    assert_eq!(job.summary()["state"], "exited");
    assert_eq!(job.summary()["exit_code"], 0);
    assert_eq!(job.read(Stream::Stdout, 0, 1000).data, b"first\nsecond\n");
    assert_eq!(
        job.read(Stream::Stdout, o.stdout_bytes, 1000).data,
        b"second\n"
    );
    assert_eq!(job.read(Stream::Stderr, 0, 1000).data, b"err\n");
}

#[tokio::test]
async fn on_timeout_kill_is_the_default_and_the_server_may_change_it() {
    let (tool, jobs) = with_jobs(OnTimeout::Kill, 4);
    let r = call_with(&tool, json!({"command": "sleep 5", "timeout_ms": 200}))
        .await
        .unwrap();
    let o: ShellOutput = serde_json::from_value(r.structured.unwrap()).unwrap();
    assert!(r.is_error && o.timed_out && o.job.is_none() && o.state.is_none());
    assert!(jobs.list().is_empty());
    // A server default of "background", overridden by a call asking for "kill".
    let (tool, jobs) = with_jobs(OnTimeout::Background, 4);
    let args = json!({"command": "sleep 5", "timeout_ms": 200, "on_timeout": "kill"});
    let r = call_with(&tool, args).await.unwrap();
    assert!(r.is_error && jobs.list().is_empty());
    let r = call_with(&tool, json!({"command": "sleep 5", "timeout_ms": 200}))
        .await
        .unwrap();
    let o: ShellOutput = serde_json::from_value(r.structured.unwrap()).unwrap();
    assert!(!r.is_error && o.state.as_deref() == Some("running"));
    let job = jobs.get(o.job.as_deref().unwrap()).unwrap();
    assert!(job.is_running());
    job.kill(Duration::from_secs(5)).await;
    assert!(!job.is_running());
    assert!(live_in_group(job.pid()).is_empty());
}

#[tokio::test]
async fn on_timeout_background_at_the_jobs_limit_kills_and_says_why() {
    let (tool, jobs) = with_jobs(OnTimeout::Background, 0);
    let r = call_with(&tool, json!({"command": "sleep 5", "timeout_ms": 200}))
        .await
        .unwrap();
    let o: ShellOutput = serde_json::from_value(r.structured.unwrap()).unwrap();
    assert!(r.is_error && o.timed_out && o.job.is_none());
    let note = o.note.unwrap();
    assert!(
        note.contains("not left running in the background") && note.contains("limit is 0"),
        "{note}"
    );
    assert!(jobs.list().is_empty());
    // A value other than kill or background is refused.
    let e = call_with(&tool, json!({"command": "true", "on_timeout": "later"}))
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("later"), "{e:?}");
}

#[tokio::test]
async fn on_timeout_background_without_shell_bg_served_is_refused_and_nothing_runs() {
    let (tool, jobs) = with_jobs(OnTimeout::Kill, 4);
    jobs.set_served(false);
    let dir = std::env::temp_dir().join(format!("lmcp-shell-unserved-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("ran");
    let args = json!({"command": format!("touch {}; sleep 5", marker.display()),
                      "timeout_ms": 200, "on_timeout": "background"});
    let e = call_with(&tool, args).await.unwrap_err();
    let msg = format!("{e:?}");
    assert!(
        msg.contains("does not serve shell_bg") && msg.contains("on_timeout"),
        "{msg}"
    );
    assert!(!marker.exists() && jobs.list().is_empty());
    // A server default of "background" falls back to kill.
    let (tool, jobs) = with_jobs(OnTimeout::Background, 4);
    jobs.set_served(false);
    let r = call_with(&tool, json!({"command": "sleep 5", "timeout_ms": 200}))
        .await
        .unwrap();
    let o: ShellOutput = serde_json::from_value(r.structured.unwrap()).unwrap();
    assert!(r.is_error && o.timed_out && o.job.is_none() && jobs.list().is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn the_whole_answer_stays_within_the_output_budget() {
    // Issue 16: a call's max_output_bytes cannot raise the answer past the
    // budget; text and structured content together fit, escapes included.
    let cfg = Arc::new(ShellConfig {
        max_result_bytes: 4096,
        ..config()
    });
    let tool = shell_tool(cfg, None);
    let Value::Object(map) = json!({
        "command": "head -c 300000 /dev/zero | tr '\\0' a; echo END; printf '\\033[31m%.0s' $(seq 1 3000) >&2",
        "max_output_bytes": 1000000
    }) else {
        panic!()
    };
    let r = (tool.handler)(map, RequestContext::detached())
        .await
        .unwrap();
    let crate::Content::Text { text, .. } = &r.content[0] else {
        panic!()
    };
    let value = r.structured.unwrap();
    let size = text.len() + value.to_string().len();
    assert!(size <= 4096, "answer of {size} bytes");
    assert_eq!(value["truncated"], true);
    assert_eq!(value["stdout_bytes"], 300004);
    assert!(
        text.contains("aaaa") && text.contains("END\n") && text.contains("\\x1b[31m"),
        "{text}"
    );
}
