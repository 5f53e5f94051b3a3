"""Commands driven in one call each (issue 16): `shell_bg` with `wait_ms`
answers with how a command began, and `shell_bg_input` with `wait_ms` and
`until` drives a Python REPL a turn per call; cancelling a waiting call
ends the wait, not the job. Through the official Python
SDK against the real `lmcp` binary, over stdio and Streamable HTTP, in both
eras; every server message passes the schema-validating tap."""
import sys
import time

import anyio
import pytest
from fs_support import lmcp, text  # noqa: F401 (lmcp: fixture)

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]


async def ok(c, tool, args):
    r = await c.call_tool(tool, args)
    assert not r.is_error, f"{tool} {args}: {text(r)}"
    return r.structured_content


async def refused(c, tool, args):
    r = await c.call_tool(tool, args)
    assert r.is_error, f"{tool} {args} should have failed: {text(r)}"
    return text(r)


@pytest.mark.parametrize("mode", MODES)
async def test_a_python_repl_one_call_per_turn(lmcp, mode):
    async with lmcp.connect(mode) as c:
        # Without a terminal, python -i writes its prompt to stderr.
        s = await ok(c, "shell_bg", {"command": f"{sys.executable} -i -q -u", "wait_ms": 10000, "idle_ms": 300})
        assert s["state"] == "running" and s["settled"] == "idle" and s["stderr"].endswith(">>> "), s
        job, so, eo = s["job"], s["stdout_offset"], s["stderr_offset"]
        for expr, want in (("print(6*7)", "42\n"), ("print('a' + 'b')", "ab\n")):
            begun = time.monotonic()
            s = await ok(c, "shell_bg_input", {"job": job, "input": expr + "\n", "wait_ms": 10000, "until": ">>> $"})
            assert time.monotonic() - begun < 5, "a turn answers as soon as the prompt is back"
            assert (s["settled"], s["stdout"], s["stderr"]) == ("matched", want, ">>> "), s
            assert s["stdout_offset"] == so + len(want) and s["stderr_offset"] == eo + 4
            so, eo = s["stdout_offset"], s["stderr_offset"]
        # Between turns the REPL is blocked reading its stdin, and the list says so.
        listed = {j["job"]: j for j in (await ok(c, "shell_bg_list", {}))["jobs"]}
        assert listed[job]["waiting_for_input"] is True, listed[job]
        # Bad arguments are refused, naming them, and nothing is written.
        msg = await refused(c, "shell_bg_input", {"job": job, "input": "print(1)\n", "wait_ms": 1000, "until": "(>>>"})
        assert "`until`" in msg, msg
        msg = await refused(c, "shell_bg_input", {"job": job, "input": "print(1)\n", "wait_ms": 10**9})
        assert "`wait_ms`" in msg, msg
        o = await ok(c, "shell_bg_output", {"job": job, "stdout_offset": so, "stderr_offset": eo})
        assert (o["stdout"], o["stderr"]) == ("", ""), o
        before = len((await ok(c, "shell_bg_list", {}))["jobs"])
        msg = await refused(c, "shell_bg", {"command": "echo never", "wait_ms": 10**9})
        assert "`wait_ms`" in msg and len((await ok(c, "shell_bg_list", {}))["jobs"]) == before
        # The last turn ends the REPL: the wait ends with the job.
        s = await ok(c, "shell_bg_input", {"job": job, "input": "exit()\n", "wait_ms": 10000, "until": ">>> $"})
        assert (s["settled"], s["state"], s["exit_code"]) == ("ended", "exited", 0), s


@pytest.mark.parametrize("mode", MODES)
async def test_shell_bg_answers_with_how_a_command_began(lmcp, mode):
    async with lmcp.connect(mode) as c:
        s = await ok(c, "shell_bg", {"command": "echo listening on 8080; sleep 30", "wait_ms": 10000})
        assert (s["settled"], s["state"], s["stdout"]) == ("idle", "running", "listening on 8080\n"), s
        listed = {j["job"]: j for j in (await ok(c, "shell_bg_list", {}))["jobs"]}
        assert listed[s["job"]]["waiting_for_input"] is False, "sleeping, not reading its stdin"
        k = await ok(c, "shell_bg_kill", {"job": s["job"]})
        assert k["state"] == "killed"
        s = await ok(c, "shell_bg", {"command": "echo built; exit 3", "wait_ms": 10000})
        assert (s["settled"], s["exit_code"], s["stdout"]) == ("ended", 3, "built\n"), s
        # Without wait_ms it answers at once, as before.
        s = await ok(c, "shell_bg", {"command": "sleep 30"})
        assert s["state"] == "running" and "settled" not in s and "stdout" not in s
        await ok(c, "shell_bg_kill", {"job": s["job"]})


@pytest.mark.parametrize("mode", MODES)
async def test_cancelling_a_wait_ends_the_wait_not_the_job(lmcp, mode):
    async with lmcp.connect(mode) as c:
        repl = "while read l; do echo \"got $l\"; done"
        s = await ok(c, "shell_bg", {"command": repl})
        job = s["job"]
        # The call waits for output that never comes; the client gives up on it after a second.
        with anyio.move_on_after(1) as scope:
            await c.call_tool("shell_bg_input", {"job": job, "input": "x\n", "wait_ms": 60000, "until": "never"})
        assert scope.cancelled_caught, "the wait should still have been going"
        o = await ok(c, "shell_bg_output", {"job": job, "wait_ms": 5000})
        assert (o["state"], o["stdout"]) == ("running", "got x\n"), o
        # The job still takes input and answers.
        s = await ok(c, "shell_bg_input", {"job": job, "input": "y\n", "wait_ms": 5000, "until": "got y"})
        assert (s["settled"], s["stdout"]) == ("matched", "got y\n"), s
        await ok(c, "shell_bg_kill", {"job": job})
