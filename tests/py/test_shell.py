"""Issue 7 through a real client: the official MCP Python SDK drives the `lmcp`
binary's shell and background-job tools over stdio, every server message
checked against the schema by the tap.

Processes are found by a unique marker in their command line (scanned in
/proc), so "no process left behind" covers grandchildren too."""
import json
import os
import signal
import subprocess
import time
import uuid
import warnings
from pathlib import Path

import anyio
import pytest
from conftest import LMCP
from mcp.client import Client

pytestmark = pytest.mark.anyio


def marker():
    # `sleep 1000.<n>` is a valid sleep and names the process uniquely.
    return f"1000.{uuid.uuid4().int % 10**9}"


def procs_with(mark):
    """PIDs of live (not zombie) processes whose command line contains mark."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if mark in cmd and state != "Z" and int(d.name) != os.getpid():
            found.append(int(d.name))
    return found


async def gone(mark, within=5.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not procs_with(mark):
            return True
        await anyio.sleep(0.05)
    return False


def zombies_of(parent):
    """PIDs of zombie processes whose parent is `parent`."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            state, ppid = (d / "stat").read_text().rsplit(")", 1)[1].split()[:2]
        except (OSError, ValueError):
            continue
        if state == "Z" and int(ppid) == parent:
            found.append(int(d.name))
    return found


async def assert_no_zombies(c, within=2.0):
    """No zombie is left under lmcp (its pid from systeminfo): every process of
    a call was reaped, not only killed. Reaping is asynchronous, hence the grace."""
    pid = (await c.call_tool("systeminfo", {})).structured_content["lmcp"]["pid"]
    deadline = time.monotonic() + within
    while zombies_of(pid) and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    assert zombies_of(pid) == [], f"zombies left under lmcp (pid {pid})"


async def shell(c, **args):
    r = await c.call_tool("shell", args)
    assert not r.is_error, r
    return r.structured_content


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_exit_codes_streams_stdin_env_cwd(params, tmp_path, mode):
    (tmp_path / "sub").mkdir()
    async with Client(params(LMCP, "--stdio", "--root", str(tmp_path)), mode=mode) as c:
        s = await shell(c, command="echo out; echo err >&2; exit 3")
        assert (s["exit_code"], s["stdout"], s["stderr"]) == (3, "out\n", "err\n")
        assert s["timed_out"] is False and s["truncated"] is False
        s = await shell(c, command="tr a-z A-Z", stdin="hello")
        assert s["stdout"] == "HELLO"
        s = await shell(c, command='printf %s "$GREETING"', env={"GREETING": "hi there"})
        assert s["stdout"] == "hi there"
        s = await shell(c, command="pwd", cwd="sub")
        assert s["stdout"].strip() == str((tmp_path / "sub").resolve())
        r = await c.call_tool("shell", {"command": "pwd", "cwd": "/"})
        assert r.is_error and str(tmp_path.resolve()) in r.content[0].text
        # Without `stdin`, stdin is closed: cat ends at once.
        s = await shell(c, command="cat; echo done", timeout_ms=5000)
        assert s["stdout"] == "done\n" and not s["timed_out"]


async def test_timeout_truncation_and_binary_output(params):
    async with Client(params(LMCP, "--stdio")) as c:
        mark = marker()
        r = await c.call_tool("shell", {"command": f"sleep {mark}", "timeout_ms": 300})
        assert r.is_error, "a timed-out call is reported as an error result"
        s = r.structured_content
        assert s["timed_out"] is True and s["exit_code"] is None and s["signal"]
        assert await gone(mark)
        await assert_no_zombies(c)
        s = await shell(c, command="seq 1 100000", max_output_bytes=2000)
        assert s["truncated"] is True
        assert s["stdout"].startswith("1\n2\n") and s["stdout"].endswith("99999\n100000\n")
        assert len(s["stdout"]) < 3000 and "bytes" in s["stdout"]
        s = await shell(c, command=r"printf 'ok\377\376end'")
        assert s["stdout"].startswith("ok") and s["stdout"].endswith("end") and "\ufffd" in s["stdout"]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancelled_call_leaves_no_process_behind(params, mode):
    mark = marker()
    async with Client(params(LMCP, "--stdio"), mode=mode) as c:
        with anyio.move_on_after(3):
            async with anyio.create_task_group() as tg:

                async def run():
                    await c.call_tool("shell", {"command": f"sleep {mark} & sleep {mark}; wait"})

                tg.start_soon(run)
                deadline = time.monotonic() + 2
                while len(procs_with(mark)) < 2 and time.monotonic() < deadline:
                    await anyio.sleep(0.02)
                assert len(procs_with(mark)) >= 2, "the command's processes did not start"
                await anyio.sleep(0.5)
                tg.cancel_scope.cancel()
        assert await gone(mark), f"processes survived the cancellation: {procs_with(mark)}"
        await assert_no_zombies(c)
        assert (await shell(c, command="echo alive"))["stdout"] == "alive\n"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_progress_streams_output_while_running(params, mode):
    seen = []
    logged = []

    async def on_progress(progress, total, message):
        seen.append(message or "")

    async def on_log(p):
        logged.append((p.level, p.logger, p.data))

    # The client asks for log messages: per request in the modern era
    # (`log_level`), with logging/setLevel in the legacy era.
    async with Client(params(LMCP, "--stdio"), mode=mode, logging_callback=on_log, log_level="info") as c:
        if mode == "legacy":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # logging is deprecated in the modern era only
                await c.set_logging_level("info")
        r = await c.call_tool(
            "shell",
            {"command": "for i in 1 2 3 4; do echo line$i; sleep 0.3; done; echo oops >&2"},
            progress_callback=on_progress,
        )
        assert r.structured_content["stdout"].count("line") == 4
    assert len(seen) >= 2, seen
    assert any("line1" in m for m in seen), seen
    # The same output streamed as log entries, per stream.
    streamed = [d for (level, logger, d) in logged if logger == "shell" and level == "info"]
    out = "".join(d["text"] for d in streamed if d["stream"] == "stdout")
    err = "".join(d["text"] for d in streamed if d["stream"] == "stderr")
    assert out == "line1\nline2\nline3\nline4\n" and err == "oops\n", logged


async def background(c, tool, **args):
    r = await c.call_tool(tool, args)
    assert not r.is_error, r
    return r.structured_content


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_background_job_lifecycle(params, mode):
    async with Client(params(LMCP, "--stdio"), mode=mode) as c:
        j = await background(c, "shell_bg", command="echo ready; while read l; do echo got $l; done")
        job = j["job"]
        o = await background(c, "shell_bg_output", job=job, wait_ms=3000)
        assert o["stdout"] == "ready\n" and o["state"] == "running"
        await background(c, "shell_bg_input", job=job, input="ping\n")
        o = await background(c, "shell_bg_output", job=job, stdout_offset=o["stdout_offset"], wait_ms=3000)
        assert o["stdout"] == "got ping\n"
        listed = await background(c, "shell_bg_list")
        assert any(x["job"] == job and x["state"] == "running" for x in listed["jobs"])
        k = await background(c, "shell_bg_kill", job=job)
        assert k["state"] == "killed"
        r = await c.call_tool("shell_bg_input", {"job": job, "input": "x"})
        assert r.is_error
        r = await c.call_tool("shell_bg_output", {"job": "job_unknown"})
        assert r.is_error


async def test_job_output_after_exit_and_ring_buffer_overflow(params):
    async with Client(params(LMCP, "--stdio", "--job-buffer-bytes", "4096")) as c:
        j = await background(c, "shell_bg", command="cat; echo err >&2; exit 7", stdin="abc", close_stdin=True)
        so = eo = 0
        for _ in range(50):
            o = await background(c, "shell_bg_output", job=j["job"], wait_ms=2000, stdout_offset=so, stderr_offset=eo)
            so, eo = o["stdout_offset"], o["stderr_offset"]
            if o["state"] != "running":
                break
        assert (o["state"], o["exit_code"]) == ("exited", 7)
        o = await background(c, "shell_bg_output", job=j["job"])
        assert (o["stdout"], o["stderr"]) == ("abc", "err\n")

        j = await background(c, "shell_bg", command="seq 1 20000")
        for _ in range(50):
            o = await background(c, "shell_bg_output", job=j["job"], tail_lines=2, wait_ms=2000)
            if o["state"] != "running":
                break
        assert o["stdout"] == "19999\n20000\n"
        o = await background(c, "shell_bg_output", job=j["job"])
        assert o["stdout_dropped"] > 0
        assert o["stdout"].startswith(f"[... {o['stdout_dropped']} earlier bytes dropped ...]"), o["stdout"][:80]
        assert "20000\n" in o["stdout"] and not o["stdout"].startswith("1\n2\n")


async def test_server_shutdown_ends_every_job(params):
    mark = marker()
    async with Client(params(LMCP, "--stdio")) as c:
        await background(c, "shell_bg", command=f"sleep {mark} & sleep {mark}; wait")
        deadline = time.monotonic() + 2
        while len(procs_with(mark)) < 2 and time.monotonic() < deadline:
            await anyio.sleep(0.02)
        assert len(procs_with(mark)) >= 2
    # Leaving the client closes the server's stdin: lmcp ends its jobs and exits.
    assert await gone(mark, within=10), f"jobs survived the server: {procs_with(mark)}"


def modern_line(id_, method, params):
    """A modern-era request line for a raw stdio conversation."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "test_shell", "version": "0"}}
    return json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": {**params, "_meta": meta}}) + "\n"


def raw_lmcp(*args):
    """lmcp on plain pipes, so a test decides exactly when its stdin closes
    and no client cancels the call on the way out."""
    return subprocess.Popen([str(LMCP), "--stdio", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


async def started(mark, count=2):
    deadline = time.monotonic() + 3
    while len(procs_with(mark)) < count and time.monotonic() < deadline:
        await anyio.sleep(0.02)
    return len(procs_with(mark)) >= count


async def test_server_shutdown_ends_a_running_shell_call():
    """stdin closes while a `shell` call runs: the call gets --shutdown-grace-ms
    to finish, then is cancelled; its whole group ends and lmcp exits."""
    mark = marker()
    p = raw_lmcp("--shutdown-grace-ms", "300")
    try:
        call = {"name": "shell", "arguments": {"command": f"sleep {mark} & sleep {mark}; wait"}}
        p.stdin.write(modern_line(1, "tools/call", call))
        p.stdin.flush()
        assert await started(mark), "the command did not start"
        p.stdin.close()
        assert await gone(mark, within=10), f"the call's processes survived the server: {procs_with(mark)}"
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


async def test_sigterm_ends_the_server_and_its_jobs():
    mark = marker()
    p = raw_lmcp("--shutdown-grace-ms", "300")
    try:
        call = {"name": "shell_bg", "arguments": {"command": f"sleep {mark} & sleep {mark}; wait"}}
        p.stdin.write(modern_line(1, "tools/call", call))
        p.stdin.flush()
        reply = json.loads(p.stdout.readline())
        assert reply["result"]["structuredContent"]["state"] == "running", reply
        assert await started(mark), "the job did not start"
        p.send_signal(signal.SIGTERM)  # stdin stays open: the signal alone ends lmcp
        assert await gone(mark, within=10), f"the job survived the server: {procs_with(mark)}"
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


async def test_processes_that_leave_their_group_do_not_outlive_the_call_or_the_server():
    """Issue 23/16: a process that `setsid`s out of its command's process group
    is found by the command's tag: it ends with a `shell` call that exits, and
    with the server (SIGTERM) when a job started it."""
    mark, job_mark = marker(), marker()
    p = raw_lmcp("--shutdown-grace-ms", "300")
    try:
        call = {"name": "shell", "arguments": {"command": f"setsid sleep {mark} >/dev/null 2>&1 & echo hi"}}
        p.stdin.write(modern_line(1, "tools/call", call))
        p.stdin.flush()
        reply = json.loads(p.stdout.readline())
        assert reply["result"]["structuredContent"]["stdout"] == "hi\n", reply
        assert await gone(mark, within=5), f"an escaped process outlived the call: {procs_with(mark)}"
        call = {"name": "shell_bg", "arguments": {"command": f"setsid sleep {job_mark} & sleep {job_mark}; wait"}}
        p.stdin.write(modern_line(2, "tools/call", call))
        p.stdin.flush()
        reply = json.loads(p.stdout.readline())
        assert reply["result"]["structuredContent"]["state"] == "running", reply
        assert await started(job_mark), "the job did not start"
        p.send_signal(signal.SIGTERM)
        assert await gone(job_mark, within=10), f"an escaped process outlived the server: {procs_with(job_mark)}"
        assert p.wait(timeout=10) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        for pid in procs_with(mark) + procs_with(job_mark):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("accept", ["application/json", "application/json, text/event-stream"])
async def test_http_client_closing_the_response_kills_the_command(accept):
    """Modern HTTP has no notifications/cancelled: closing the response stream
    cancels the request, and with it the shell's whole process group. Raw
    socket, so the test controls exactly when the connection closes."""
    import re
    import socket

    p = subprocess.Popen([str(LMCP), "--http", "127.0.0.1:0"], stderr=subprocess.PIPE, text=True)
    try:
        for line in p.stderr:
            m = re.search(r"listening on http://([\d.]+):(\d+)(\S+)", line)
            if m:
                host, port, path = m.group(1), int(m.group(2)), m.group(3)
                break
        mark = marker()
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "shell", "arguments": {"command": f"sleep {mark} & sleep {mark}; wait"},
            "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                      "io.modelcontextprotocol/clientCapabilities": {}}}})
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
                f"Accept: {accept}\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\n"
                f"Mcp-Name: shell\r\nContent-Length: {len(body)}\r\n\r\n")
        s = socket.create_connection((host, port))
        s.sendall(head.encode() + body.encode())
        deadline = time.monotonic() + 3
        while len(procs_with(mark)) < 2 and time.monotonic() < deadline:
            await anyio.sleep(0.02)
        assert len(procs_with(mark)) >= 2, "the command did not start"
        s.close()
        assert await gone(mark), f"processes survived the closed response: {procs_with(mark)}"
    finally:
        p.terminate()
        p.wait(10)
