"""The official MCP Python SDK client against lmcp over stdio, both eras."""
import time

import anyio
import pytest
from conftest import EVERYTHING, LMCP, server_lines
from mcp.client import Client

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


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


async def test_fast_call_answered_during_slow_call(params):
    async with Client(params(EVERYTHING, "--stdio")) as c:
        done = {}

        async def slow():
            await c.call_tool("sleep", {"ms": 3000})
            done["slow"] = time.monotonic()

        async with anyio.create_task_group() as tg:
            start = time.monotonic()
            tg.start_soon(slow)
            await anyio.sleep(0.1)
            assert text(await c.call_tool("echo", {"text": "fast"})) == "fast"
            done["fast"] = time.monotonic()
        assert done["fast"] - start < 1.5
        assert done["slow"] - start >= 2.9


async def test_cancelled_call_gets_no_response(params, tap_log):
    async with Client(params(EVERYTHING, "--stdio")) as c:
        with anyio.move_on_after(0.5):
            await c.call_tool("sleep", {"ms": 2000})
        await anyio.sleep(2.0)
        assert text(await c.call_tool("echo", {"text": "still here"})) == "still here"
    lines = server_lines(tap_log)
    answered = [m for m in lines if "result" in m and m["result"].get("content", [{}])[0].get("text", "").startswith("slept")]
    assert not answered, "the cancelled sleep was answered"


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
