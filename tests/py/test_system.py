"""Issue 7 through a real client: `systeminfo` and `ping` on the `lmcp`
binary in both eras (the SDK checks structuredContent against each tool's
outputSchema, the tap checks every message against the spec schema), the
tool annotations clients rely on, and the --read-only / --tools presets."""
import os
import socket

import pytest
from conftest import LMCP
from mcp.client import Client
from mcp.shared.exceptions import MCPError

pytestmark = pytest.mark.anyio


def meminfo_kb(key):
    for line in open("/proc/meminfo"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_systeminfo_reports_machine_and_server(params, mode):
    async with Client(params(LMCP, "--stdio"), mode=mode) as c:
        r = await c.call_tool("systeminfo", {})
        assert not r.is_error, r
        v = r.structured_content
        uname = os.uname()
        assert v["kernel"] == f"{uname.sysname} {uname.release}"
        assert v["hostname"] == socket.gethostname()
        assert v["arch"] in (uname.machine, {"amd64": "x86_64"}.get(uname.machine, uname.machine))
        assert v["uptime_s"] > 0 and len(v["load"]) == 3
        assert v["cpu"]["logical"] == os.cpu_count() and v["cpu"]["model"]
        assert v["cpu"]["available"] == len(os.sched_getaffinity(0))
        assert v["memory"]["total"] == meminfo_kb("MemTotal") * 1024
        assert v["memory"]["swap_total"] == meminfo_kb("SwapTotal") * 1024
        root = next(f for f in v["filesystems"] if f["mount"] == "/")
        st = os.statvfs("/")
        assert root["size"] == st.f_blocks * st.f_frsize
        assert 0 < root["used"] <= root["size"] and root["free"] <= root["size"]
        lo = next(i for i in v["interfaces"] if i["name"] == "lo")
        assert "127.0.0.1" in lo["addresses"]
        assert v["user"]["uid"] == os.getuid()
        assert v["processes"] > 1
        server = v["lmcp"]
        assert server["version"] and server["rss"] > 0 and server["uptime_s"] >= 0
        # The server runs behind the tap: its pid is a live process of ours.
        cmd = open(f"/proc/{server['pid']}/cmdline", "rb").read().split(b"\0")[0]
        assert cmd.endswith(b"lmcp")
        text = r.content[0].text
        assert f"pid {server['pid']}" in text and "\nfs / (" in text and "\nnet lo: 127.0.0.1" in text


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_ping_tool_answers_pong_with_time_and_uptime(params, mode):
    async with Client(params(LMCP, "--stdio"), mode=mode) as c:
        a = (await c.call_tool("ping", {})).structured_content
        b = (await c.call_tool("ping", {})).structured_content
        assert a["pong"] is True and a["time"].endswith("Z")
        assert b["uptime_ms"] >= a["uptime_ms"] and b["time"] >= a["time"]


async def test_annotations_tell_the_truth(params):
    async with Client(params(LMCP, "--stdio")) as c:
        tools = {t.name: t.annotations for t in (await c.list_tools()).tools}
    for name in ("shell", "shell_bg", "shell_bg_input"):
        a = tools[name]
        assert (a.read_only_hint, a.destructive_hint, a.open_world_hint) == (False, True, True), name
    assert tools["shell_bg_kill"].destructive_hint is True
    for name in ("systeminfo", "ping", "shell_bg_output", "shell_bg_list", "read_file", "list_dir"):
        a = tools[name]
        assert (a.read_only_hint, a.destructive_hint) == (True, False), name
    for name in ("write_file", "edit_file", "move_file", "make_dir"):
        assert tools[name].read_only_hint is False, name
    # Every tool says whether it changes anything.
    assert all(a is not None and a.read_only_hint is not None for a in tools.values())


async def test_read_only_preset_leaves_only_tools_that_change_nothing(params):
    async with Client(params(LMCP, "--stdio", "--read-only")) as c:
        tools = (await c.list_tools()).tools
        names = {t.name for t in tools}
        assert {"ping", "systeminfo", "read_file"} <= names
        assert not names & {"shell", "shell_bg", "shell_bg_output", "write_file", "edit_file"}
        assert all(t.annotations.read_only_hint is True for t in tools), names
        r = await c.call_tool("systeminfo", {})
        assert not r.is_error


async def test_tools_and_disable_choose_by_name(params):
    async with Client(params(LMCP, "--stdio", "--tools", "shell,ping,systeminfo", "--disable", "ping")) as c:
        assert sorted(t.name for t in (await c.list_tools()).tools) == ["shell", "systeminfo"]
        with pytest.raises(MCPError, match="Unknown tool: ping"):
            await c.call_tool("ping", {})
