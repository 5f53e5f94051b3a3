"""The official MCP Python SDK client against lmcp over Streamable HTTP, both eras."""
import socket
import subprocess
import time

import pytest
from conftest import EVERYTHING
from http_tap import tapped_http
from mcp.client import Client

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def http_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen([str(EVERYTHING), "--http", f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=15)


@pytest.fixture
def server(http_url, tap_log):
    """A fresh Transport per Client: the SDK's HTTP client under the validating tap."""
    return lambda: tapped_http(http_url, tap_log)


async def test_http_modern(server):
    async with Client(server(), mode="auto") as c:
        assert c.protocol_version == "2026-07-28"
        tools = await c.list_tools()
        assert "echo" in [t.name for t in tools.tools]
        r = await c.call_tool("echo", {"text": "over http"})
        assert r.content[0].text == "over http"
        seen = []

        async def on_progress(p, total, message):
            seen.append(p)

        await c.call_tool("sleep", {"ms": 300}, progress_callback=on_progress)
        assert len(seen) >= 2


async def test_http_legacy(server):
    async with Client(server(), mode="legacy") as c:
        assert c.protocol_version == "2025-11-25"
        r = await c.call_tool("add", {"a": 1, "b": 2})
        assert r.structured_content == {"sum": 3.0}


async def test_http_elicitation_both_eras(server):
    from mcp.types import ElicitResult

    async def answer(context, params_):
        return ElicitResult(action="accept", content={"name": "Lin"})

    for mode in ("auto", "legacy"):
        async with Client(server(), mode=mode, elicitation_callback=answer) as c:
            r = await c.call_tool("ask_name", {})
            assert r.content[0].text == "Hello, Lin!", mode
