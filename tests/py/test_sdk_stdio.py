"""The official MCP Python SDK client against lmcp over stdio, both eras."""
import json
import time

import anyio
import pytest
from conftest import EVERYTHING, LMCP, server_lines
from mcp.client import Client

pytestmark = pytest.mark.anyio


def text(result):
    return result.content[0].text


async def test_auto_mode_speaks_modern(params):
    async with Client(params(EVERYTHING, "--stdio"), mode="auto") as c:
        assert c.protocol_version == "2026-07-28"
        tools = await c.list_tools()
        names = [t.name for t in tools.tools]
        assert names[:3] == ["echo", "sleep", "add"]
        assert text(await c.call_tool("echo", {"text": "hi"})) == "hi"
        r = await c.call_tool("add", {"a": 2, "b": 5})
        assert r.structured_content == {"sum": 7.0}
        r = await c.call_tool("fail", {})
        assert r.is_error


async def test_legacy_mode_handshake(params):
    async with Client(params(EVERYTHING, "--stdio"), mode="legacy") as c:
        assert c.protocol_version == "2025-11-25"
        tools = await c.list_tools()
        assert "echo" in [t.name for t in tools.tools]
        assert text(await c.call_tool("echo", {"text": "old"})) == "old"
        await c.send_ping()


async def test_lmcp_binary_ping_tool_both_eras(params):
    for mode in ("auto", "legacy"):
        async with Client(params(LMCP, "--stdio"), mode=mode) as c:
            r = await c.call_tool("ping", {})
            assert "pong" in text(r)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_fast_call_answered_during_slow_call(params, mode):
    async with Client(params(EVERYTHING, "--stdio"), mode=mode) as c:
        done = {}

        async def slow():
            await c.call_tool("sleep", {"ms": 3000})
            done["slow"] = time.monotonic()

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                start = time.monotonic()
                tg.start_soon(slow)
                await anyio.sleep(0.1)
                assert text(await c.call_tool("echo", {"text": "fast"})) == "fast"
                done["fast"] = time.monotonic()
        assert done["fast"] - start < 1.5
        assert done["slow"] - start >= 2.9


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancelled_call_gets_no_response(params, tap_log, mode):
    async with Client(params(EVERYTHING, "--stdio"), mode=mode) as c:
        with anyio.move_on_after(0.5):
            await c.call_tool("sleep", {"ms": 2000})
        await anyio.sleep(2.0)
        assert text(await c.call_tool("echo", {"text": "still here"})) == "still here"
    lines = server_lines(tap_log)
    sent = [json.loads(json.loads(r)["client"]) for r in tap_log.read_text().splitlines() if '"client"' in r]
    sleep_ids = [m["id"] for m in sent if m.get("method") == "tools/call" and m["params"]["name"] == "sleep"]
    cancels = [m for m in sent if m.get("method") == "notifications/cancelled"]
    assert sleep_ids and [m["params"]["requestId"] for m in cancels] == sleep_ids, "the SDK did not send notifications/cancelled"
    answered = [m for m in lines if "method" not in m and m.get("id") in sleep_ids]
    assert not answered, f"the cancelled sleep was answered: {answered}"


async def test_progress_reaches_the_client(params):
    seen = []

    async def on_progress(progress, total, message):
        seen.append((progress, total))

    async with Client(params(EVERYTHING, "--stdio")) as c:
        await c.call_tool("sleep", {"ms": 350}, progress_callback=on_progress)
    assert len(seen) >= 2
    assert seen[-1][1] == 350


async def test_elicitation_both_eras(params):
    from mcp.types import ElicitResult

    async def answer(context, params_):
        return ElicitResult(action="accept", content={"name": "Ada"})

    for mode in ("auto", "legacy"):
        async with Client(params(EVERYTHING, "--stdio"), mode=mode, elicitation_callback=answer) as c:
            assert text(await c.call_tool("ask_name", {})) == "Hello, Ada!", mode


async def test_resources_and_prompts(params):
    async with Client(params(EVERYTHING, "--stdio")) as c:
        r = await c.read_resource("test://static/hello")
        assert r.contents[0].text == "Hello, resource!"
        p = await c.get_prompt("greet", {"name": "Bob"})
        assert "Bob" in p.messages[0].content.text


@pytest.mark.parametrize("version", ["2025-06-18", "2025-03-26", "2024-11-05"])
async def test_older_legacy_versions_negotiated(params, tap_log, monkeypatch, version):
    """The SDK offers only its newest handshake version; make it offer an older one."""
    import mcp.client.session as session

    monkeypatch.setattr(session, "LATEST_HANDSHAKE_VERSION", version)
    async with Client(params(EVERYTHING, "--stdio"), mode="legacy") as c:
        assert c.protocol_version == version
        assert text(await c.call_tool("echo", {"text": version})) == version
    init = [m for m in server_lines(tap_log) if "result" in m and "protocolVersion" in m["result"]]
    assert init and init[0]["result"]["protocolVersion"] == version


async def test_pinned_modern_mode_needs_no_probe(params, tap_log):
    async with Client(params(EVERYTHING, "--stdio"), mode="2026-07-28") as c:
        assert text(await c.call_tool("echo", {"text": "pinned"})) == "pinned"
    sent = [json.loads(json.loads(r)["client"]) for r in tap_log.read_text().splitlines() if '"client"' in r]
    methods = [m["method"] for m in sent if "method" in m]
    assert "tools/call" in methods and not {"server/discover", "initialize"} & set(methods), methods
    assert all("io.modelcontextprotocol/protocolVersion" in m["params"]["_meta"] for m in sent if "id" in m)
    reply = [m for m in server_lines(tap_log) if "result" in m][0]
    assert reply["result"]["resultType"] == "complete"
    assert "io.modelcontextprotocol/serverInfo" in reply["result"].get("_meta", {})


async def test_modern_discover_result(params, tap_log):
    async with Client(params(EVERYTHING, "--stdio"), mode="auto") as c:
        assert c.protocol_version == "2026-07-28"
    discover = [m for m in server_lines(tap_log) if "result" in m and "supportedVersions" in m["result"]]
    assert discover, "no server/discover result"
    r = discover[0]["result"]
    assert "2026-07-28" in r["supportedVersions"]
    assert r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"] == "everything"


@pytest.mark.parametrize("opt_in", [True, False])
async def test_modern_logging_only_when_asked(params, tap_log, opt_in):
    got = []

    async def on_log(params_):
        got.append(params_.data)

    kw = {"log_level": "info"} if opt_in else {}
    async with Client(params(EVERYTHING, "--stdio"), mode="auto", logging_callback=on_log, **kw) as c:
        assert text(await c.call_tool("test_tool_with_logging", {})) == "Logging tool finished"
    logs = [m for m in server_lines(tap_log) if m.get("method") == "notifications/message"]
    if opt_in:
        assert len(logs) == 3 and got == ["Tool execution started", "Tool processing data", "Tool execution completed"]
    else:
        assert logs == [] and got == []
