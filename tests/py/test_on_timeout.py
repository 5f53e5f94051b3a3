"""Commands that never lose work (issue 16): `shell` with `on_timeout:
"background"` leaves a command still running at its timeout as a shell_bg
job, through the official Python SDK against the real `lmcp` binary, over
stdio and Streamable HTTP, in both eras; every server message passes the
schema-validating tap."""
import uuid
from pathlib import Path

import pytest
from fs_support import lmcp, text  # noqa: F401 (lmcp: fixture)

pytestmark = pytest.mark.anyio
MODES = ["auto", "legacy"]


async def ok(c, tool, args):
    r = await c.call_tool(tool, args)
    assert not r.is_error, f"{tool} {args}: {text(r)}"
    return r.structured_content


def live_with(mark):
    """Live (not zombie) processes whose command line contains `mark`."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if mark in cmd and state != "Z":
            found.append(int(d.name))
    return found


@pytest.mark.parametrize("mode", MODES)
async def test_a_command_past_its_timeout_goes_on_as_a_job(lmcp, tmp_path, mode):
    async with lmcp.connect(mode) as c:
        cmd = "echo started; echo warming >&2; sleep 1.5; echo finished"
        r = await c.call_tool("shell", {"command": cmd, "timeout_ms": 500, "on_timeout": "background"})
        s = r.structured_content
        assert not r.is_error, text(r)
        assert (s["state"], s["timed_out"], s["exit_code"]) == ("running", False, None)
        assert (s["stdout"], s["stderr"], s["stdout_bytes"]) == ("started\n", "warming\n", 8)
        job = s["job"]
        assert f"background job {job}" in text(r) and "stdout_offset=8" in text(r)
        listed = await ok(c, "shell_bg_list", {})
        assert any(j["job"] == job and j["state"] == "running" for j in listed["jobs"])
        # Its output goes on from the offsets the answer gave, until it exits.
        out, so, eo = "", s["stdout_bytes"], s["stderr_bytes"]
        for _ in range(20):
            o = await ok(c, "shell_bg_output", {"job": job, "stdout_offset": so, "stderr_offset": eo, "wait_ms": 3000})
            out, so, eo = out + o["stdout"], o["stdout_offset"], o["stderr_offset"]
            if o["state"] != "running":
                break
        assert (o["state"], o["exit_code"], out) == ("exited", 0, "finished\n")
        o = await ok(c, "shell_bg_output", {"job": job})
        assert (o["stdout"], o["stderr"]) == ("started\nfinished\n", "warming\n")
        # Without on_timeout the command is killed at its timeout, as before.
        r = await c.call_tool("shell", {"command": "sleep 5", "timeout_ms": 300})
        assert r.is_error and r.structured_content["timed_out"] is True
        assert "job" not in r.structured_content
        # A value that is neither kill nor background is refused, naming the argument; nothing starts.
        before = len((await ok(c, "shell_bg_list", {}))["jobs"])
        r = await c.call_tool("shell", {"command": f"touch {tmp_path}/started.txt", "on_timeout": "later"})
        assert r.is_error and "on_timeout" in text(r), text(r)
        assert len((await ok(c, "shell_bg_list", {}))["jobs"]) == before
        assert not (tmp_path / "started.txt").exists()


@pytest.mark.parametrize("mode", MODES)
async def test_the_server_default_and_killing_the_job(lmcp, mode):
    mark = f"1000.{uuid.uuid4().int % 10**9}"
    async with lmcp.connect(mode, "--shell-on-timeout", "background") as c:
        r = await c.call_tool("shell", {"command": f"echo up; sleep {mark}", "timeout_ms": 300})
        s = r.structured_content
        assert not r.is_error and s["state"] == "running" and s["stdout"] == "up\n", text(r)
        assert live_with(mark), "the command keeps running"
        k = await ok(c, "shell_bg_kill", {"job": s["job"]})
        assert k["state"] == "killed"
        assert live_with(mark) == [], "shell_bg_kill ended every process of the command"
        # A call may still ask for the old behaviour.
        r = await c.call_tool("shell", {"command": "sleep 5", "timeout_ms": 300, "on_timeout": "kill"})
        assert r.is_error and r.structured_content["timed_out"] is True
