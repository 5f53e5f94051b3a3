"""Issue 20 through real processes: the Tasks extension (2026-07-28,
`io.modelcontextprotocol/tasks`) and the 2025-11-25 experimental tasks,
driven with raw JSON-RPC over stdio because the official SDK client has no
task support; every server line goes through the tap, which validates it
against the official schema (the core shapes; the extension's task shapes,
which the core schema does not define, are checked field by field here).

- `shell "sleep 2; echo done"` as a task, polled to completion;
- a task cancelled mid-way: its process group is gone;
- a task that needs the client's input (`input_required`, `tasks/update`);
- an expired task (the fixture's `--task-ttl-ms`): `tasks/get` finds nothing;
- a legacy task fetched with the blocking `tasks/result`;
- a hub call to an upstream, wrapped in a local task;
- hub calls of upstream tools that run as tasks: the hub asks the upstream
  for a task and follows it, so a tool that runs only as a task works for
  clients without tasks (both eras), also when it asks for input before it
  becomes a task; an upstream's input request reaches our client's task and
  its answer goes back upstream.

A task id of another identity is refused over HTTP with tokens: that needs
an authorization server and is covered by tests/oauth.rs."""
import json
import queue
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from conftest import EVERYTHING, LMCP, TAP

TASKS = "io.modelcontextprotocol/tasks"
PV = "io.modelcontextprotocol/protocolVersion"
CAPS = "io.modelcontextprotocol/clientCapabilities"
STATUSES = {"working", "input_required", "completed", "failed", "cancelled"}
TIMEOUT = 15.0


class Raw:
    """A JSON-RPC client over a server's stdio, through the tap."""

    def __init__(self, tap_log, binary, *args):
        assert Path(binary).exists(), f"{binary} is missing: run cargo build --release --examples first"
        cmd = [sys.executable, str(TAP), str(tap_log), "--", str(binary), *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.lines = queue.Queue()
        self.next_id = 0
        self.stashed = {}
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.put(json.loads(raw))
        self.lines.put(None)

    def send(self, method, params):
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.proc.stdin.write((json.dumps(msg) + "\n").encode())
        self.proc.stdin.flush()
        return self.next_id

    def response(self, rid, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while rid not in self.stashed:
            msg = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            assert msg is not None, "the server closed its output"
            if "id" in msg and "method" not in msg:
                self.stashed[msg["id"]] = msg
        return self.stashed.pop(rid)

    def call(self, method, params):
        return self.response(self.send(method, params))

    def modern(self, method, params, caps=None):
        meta = {PV: "2026-07-28", CAPS: {"extensions": {TASKS: {}}} if caps is None else caps}
        return self.call(method, {**params, "_meta": meta})

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=TIMEOUT)


@pytest.fixture
def raw(tap_log):
    made = []

    def make(binary, *args):
        r = Raw(tap_log, binary, *args)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


# The answer accepting the fixture's confirm_delete question.
ACCEPT_CONFIRM = {"action": "accept", "content": {"confirm": True}}

def assert_task(t):
    assert isinstance(t.get("taskId"), str) and len(t["taskId"]) >= 32, t
    assert t.get("status") in STATUSES, t
    for k in ("createdAt", "lastUpdatedAt"):
        assert isinstance(t.get(k), str) and t[k].endswith("Z"), t
    assert isinstance(t.get("ttlMs"), int) and isinstance(t.get("pollIntervalMs"), int), t


def created(resp):
    t = resp["result"]
    assert t.get("resultType") == "task", resp
    assert_task(t)
    assert "requestState" not in t and "content" not in t, t
    return t["taskId"]


def poll(client, task_id, until=("completed", "failed", "cancelled")):
    """tasks/get every pollIntervalMs until the status is in `until`."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        t = client.modern("tasks/get", {"taskId": task_id})["result"]
        assert t.get("resultType") == "complete", t
        assert_task(t)
        if t["status"] in until:
            return t
        assert time.monotonic() < deadline, f"task stuck: {t}"
        time.sleep(t["pollIntervalMs"] / 1000)


def through_input(c, caps, name, arguments, key, response):
    """Call tool `name` as a task, wait until it asks for input `key` alone,
    answer with `response` (tasks/update); the task as it asked, and as it
    ended."""
    tid = created(c.modern("tools/call", {"name": name, "arguments": arguments}, caps))
    asked = poll(c, tid, until=("input_required",))
    assert list(asked["inputRequests"]) == [key], asked
    ack = c.modern("tasks/update", {"taskId": tid, "inputResponses": {key: response}}, caps)
    assert ack["result"].get("resultType") == "complete", ack
    return asked, poll(c, tid)


def alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_shell_as_a_task_is_polled_to_completion(raw):
    c = raw(LMCP)
    tid = created(c.modern("tools/call", {"name": "shell", "arguments": {"command": "sleep 2; echo done"}}))
    first = c.modern("tasks/get", {"taskId": tid})["result"]
    assert first["status"] == "working", first
    t = poll(c, tid)
    assert t["status"] == "completed", t
    assert "done" in t["result"]["content"][0]["text"], t
    assert t["result"]["structuredContent"]["exit_code"] == 0, t


def test_a_cancelled_shell_task_loses_its_process_group(raw, tmp_path):
    c = raw(LMCP)
    pid_file = tmp_path / f"pid-{uuid.uuid4().hex}"
    cmd = f"sleep 1000 & echo $! > {pid_file}; wait"
    tid = created(c.modern("tools/call", {"name": "shell", "arguments": {"command": cmd}}))
    deadline = time.monotonic() + TIMEOUT
    while not (pid_file.exists() and pid_file.read_text().strip()):
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.02)
    pid = int(pid_file.read_text())
    assert alive(pid)
    ack = c.modern("tasks/cancel", {"taskId": tid})
    assert ack["result"].get("resultType") == "complete", ack
    deadline = time.monotonic() + TIMEOUT
    while alive(pid):
        assert time.monotonic() < deadline, f"sleep {pid} survived the cancel"
        time.sleep(0.02)
    assert poll(c, tid)["status"] == "cancelled"


def test_a_task_that_needs_input(raw):
    c = raw(EVERYTHING, "--stdio")
    caps = {"elicitation": {}, "extensions": {TASKS: {}}}
    asked, t = through_input(c, caps, "confirm_delete", {"filename": "a.txt"}, "confirm", ACCEPT_CONFIRM)
    assert asked["inputRequests"]["confirm"]["method"] == "elicitation/create", asked
    assert t["status"] == "completed", t
    assert t["result"]["content"][0]["text"] == 'a.txt: "accept"', t


def test_an_expired_task_is_gone(raw):
    c = raw(EVERYTHING, "--stdio", "--task-ttl-ms", "300")
    r = c.modern("tools/call", {"name": "slow_compute", "arguments": {"seconds": 30}})
    tid = created(r)
    assert r["result"]["ttlMs"] == 300, r
    # After its TTL it is unknown (-32602).
    deadline = time.monotonic() + TIMEOUT
    while "error" not in (r := c.modern("tasks/get", {"taskId": tid})):
        assert time.monotonic() < deadline, f"the task outlived its TTL: {r}"
        time.sleep(0.05)
    assert r["error"]["code"] == -32602, r


def test_a_legacy_task_and_its_blocking_result(raw):
    c = raw(EVERYTHING, "--stdio")
    init = c.call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {"tasks": {}}, "clientInfo": {"name": "t", "version": "0"}})
    assert "tasks" in init["result"]["capabilities"], init
    c.proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    c.proc.stdin.flush()
    r = c.call("tools/call", {"name": "slow_compute", "arguments": {"seconds": 0.5, "label": "x"}, "task": {}})
    task = r["result"]["task"]
    assert task["status"] == "working" and "ttl" in task, r
    res = c.call("tasks/result", {"taskId": task["taskId"]})["result"]
    assert res["content"][0]["text"] == "computed x", res
    assert res["_meta"]["io.modelcontextprotocol/related-task"]["taskId"] == task["taskId"], res
    listed = c.call("tasks/list", {})["result"]["tasks"]
    assert [t["status"] for t in listed] == ["completed"], listed


def test_a_hub_call_runs_in_a_local_task(raw):
    c = raw(LMCP, "--stdio", "--upstream", f"ev={EVERYTHING} --stdio", "--hub-boot-wait-ms", "30000")
    args = {"seconds": 0.3, "label": "up"}
    tid = created(c.modern("tools/call", {"name": "remote_ev_slow_compute", "arguments": args}))
    t = poll(c, tid)
    assert t["status"] == "completed", t
    assert t["result"]["content"][0]["text"] == "computed up", t


def hub(raw):
    return raw(LMCP, "--stdio", "--upstream", f"ev={EVERYTHING} --stdio", "--hub-boot-wait-ms", "30000")


def test_a_hub_forwards_a_task_only_tool_to_clients_without_tasks(raw):
    c = hub(raw)
    # A modern client that did not declare the extension: the upstream tool
    # runs only as a task (-32021 for such a client when called directly).
    r = c.modern("tools/call", {"name": "remote_ev_failing_job", "arguments": {}}, caps={})
    res = r["result"]
    assert res.get("resultType") == "complete", r
    assert res["isError"] is True and res["content"][0]["text"] == "the job failed", r
    # The same tool straight from the upstream refuses that client.
    up = raw(EVERYTHING, "--stdio")
    direct = up.modern("tools/call", {"name": "failing_job", "arguments": {}}, caps={})
    assert direct["error"]["code"] == -32021, direct


def test_a_legacy_client_of_the_hub_calls_a_task_only_tool(raw):
    c = hub(raw)
    init = c.call("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}})
    assert "result" in init, init
    c.proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    c.proc.stdin.flush()
    r = c.call("tools/call", {"name": "remote_ev_failing_job", "arguments": {}})
    assert r["result"]["isError"] is True, r
    assert r["result"]["content"][0]["text"] == "the job failed", r


def test_an_upstream_input_request_reaches_our_clients_task(raw):
    c = hub(raw)
    caps = {"elicitation": {}, "extensions": {TASKS: {}}}
    # The upstream task's own key, relayed as is.
    asked, t = through_input(c, caps, "remote_ev_confirm_delete", {"filename": "b.txt"}, "confirm", ACCEPT_CONFIRM)
    assert asked["inputRequests"]["confirm"]["method"] == "elicitation/create", asked
    assert t["status"] == "completed", t
    assert t["result"]["content"][0]["text"] == 'b.txt: "accept"', t


def test_a_task_only_tool_that_asks_first_works_through_the_hub(raw):
    # test_tool_with_task runs only as a task and asks for a name (MRTR)
    # before it becomes one: the hub calls it again as a task, relays the
    # question into our client's task, and follows the upstream task.
    c = hub(raw)
    caps = {"elicitation": {}, "extensions": {TASKS: {}}}
    _, t = through_input(c, caps, "remote_ev_test_tool_with_task", {}, "user_name", {"action": "accept", "content": {"name": "Ada"}})
    assert t["status"] == "completed", t
    assert t["result"]["content"][0]["text"] == "Hello, Ada!", t


def test_a_2025_11_25_upstreams_task_only_tool_through_the_hub(raw, tmp_path):
    # The upstream speaks 2025-11-25 (era "legacy"): its task-only tool
    # answers a plain call with -32601, so the hub calls it with
    # params.task and waits for tasks/result.
    c = hub_config(raw, tmp_path, era="legacy")
    r = c.modern("tools/call", {"name": "remote_ev_failing_job", "arguments": {}}, caps={})
    res = r["result"]
    assert res.get("resultType") == "complete", r
    assert res["isError"] is True and res["content"][0]["text"] == "the job failed", r
    # A client with tasks gets a local task around the same forwarded call.
    tid = created(c.modern("tools/call", {"name": "remote_ev_failing_job", "arguments": {}}))
    t = poll(c, tid)
    assert t["status"] == "completed", t
    assert t["result"]["isError"] is True and t["result"]["content"][0]["text"] == "the job failed", t
    # Called straight, the 2025-11-25 upstream refuses a plain call.
    up = raw(EVERYTHING, "--stdio")
    init = up.call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {"tasks": {}}, "clientInfo": {"name": "t", "version": "0"}})
    assert init["result"]["capabilities"]["tasks"]["requests"]["tools"]["call"] == {}, init
    up.proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    up.proc.stdin.flush()
    direct = up.call("tools/call", {"name": "failing_job", "arguments": {}})
    assert direct["error"]["code"] == -32601, direct


def hub_with_timeout(raw, tmp_path, era=None):
    """A hub whose upstream (the fixture) has a 1 s request timeout."""
    return hub_config(raw, tmp_path, era=era, timeoutMs=1000)


def hub_config(raw, tmp_path, **settings):
    """A hub over the fixture from a --config file, with `settings` (None
    values left out) in the upstream's entry."""
    server = {"command": str(EVERYTHING), "args": ["--stdio"]}
    server.update({k: v for k, v in settings.items() if v is not None})
    cfg = tmp_path / "hub.json"
    cfg.write_text(json.dumps({"mcpServers": {"ev": server}}))
    return raw(LMCP, "--stdio", "--config", str(cfg), "--hub-boot-wait-ms", "30000")


@pytest.mark.parametrize("era", [None, "legacy"])
def test_a_hub_task_runs_as_an_upstream_task_past_the_call_timeout(raw, tmp_path, era):
    # Our client's call is a task, and the upstream can run slow_compute as
    # one (modern: it answers the extension with a task; 2025-11-25: it lists
    # the tool as optional), so the hub follows the upstream's task instead
    # of waiting on one call: the 2.5 s job outlasts the 1 s upstream timeout.
    c = hub_with_timeout(raw, tmp_path, era)
    args = {"seconds": 2.5, "label": "long"}
    tid = created(c.modern("tools/call", {"name": "remote_ev_slow_compute", "arguments": args}))
    t = poll(c, tid)
    assert t["status"] == "completed", t
    assert t["result"].get("isError") is not True, t
    assert t["result"]["content"][0]["text"] == "computed long", t
    # A plain call of the same tool still has the upstream's timeout.
    r = c.modern("tools/call", {"name": "remote_ev_slow_compute", "arguments": args}, caps={})
    assert r["result"]["isError"] is True, r
    assert "1000 ms" in r["result"]["content"][0]["text"], r


def test_a_legacy_clients_hub_task_runs_as_an_upstream_task(raw, tmp_path):
    # The same through a 2025-11-25 client's task (params.task, tasks/result).
    c = hub_with_timeout(raw, tmp_path)
    init = c.call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {"tasks": {}}, "clientInfo": {"name": "t", "version": "0"}})
    assert "tasks" in init["result"]["capabilities"], init
    c.proc.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    c.proc.stdin.flush()
    args = {"seconds": 2.5, "label": "old"}
    r = c.call("tools/call", {"name": "remote_ev_slow_compute", "arguments": args, "task": {}})
    task = r["result"]["task"]
    res = c.call("tasks/result", {"taskId": task["taskId"]})["result"]
    assert res.get("isError") is not True, res
    assert res["content"][0]["text"] == "computed old", res
