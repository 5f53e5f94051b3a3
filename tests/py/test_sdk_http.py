"""The official MCP Python SDK client against lmcp over Streamable HTTP, both eras."""
import json
import socket
import subprocess
import time

import pytest
from conftest import EVERYTHING
from http_tap import tapped_http
from mcp.client import Client

pytestmark = pytest.mark.anyio


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


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_fast_call_during_slow_call(server, mode):
    import anyio

    async with Client(server(), mode=mode) as c:
        times = {}

        async def slow():
            await c.call_tool("sleep", {"ms": 3000})
            times["slow"] = time.monotonic()

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                start = time.monotonic()
                tg.start_soon(slow)
                await anyio.sleep(0.1)
                assert (await c.call_tool("echo", {"text": "fast"})).content[0].text == "fast"
                times["fast"] = time.monotonic()
        assert times["fast"] - start < 1.5 and times["slow"] - start >= 2.9


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_cancelled_call_gets_no_response(server, tap_log, mode):
    import anyio

    async with Client(server(), mode=mode) as c:
        with anyio.move_on_after(0.5):
            await c.call_tool("sleep", {"ms": 2000})
        await anyio.sleep(2.0)
        assert (await c.call_tool("echo", {"text": "after"})).content[0].text == "after"
    entries = [json.loads(r) for r in tap_log.read_text().splitlines()]
    sent = [json.loads(e["client"]) for e in entries if "client" in e]
    cancelled_id = [m["id"] for m in sent if m.get("method") == "tools/call" and m["params"]["arguments"] == {"ms": 2000}][0]
    if mode == "legacy":  # modern HTTP cancels by closing the response stream instead
        assert any(m.get("method") == "notifications/cancelled" and m["params"]["requestId"] == cancelled_id for m in sent)
    answered = [e for e in entries if e.get("cancelled")]
    assert not answered, f"the cancelled call was answered: {answered}"


class _CutAfterProgress:
    """An httpx2 transport (a proxy in the test): the first streamed
    `sleep` call's event stream is cut once a progress event has passed, its
    connection closed; every GET's Last-Event-ID is recorded."""

    def __init__(self, inner):
        self.inner, self.cut, self.resumed = inner, False, []

    async def handle_async_request(self, request):
        import httpx2

        body = request.content if request.method == "POST" else b""
        if request.method == "GET" and "last-event-id" in request.headers:
            self.resumed.append(request.headers["last-event-id"])
        resp = await self.inner.handle_async_request(request)
        streamed = resp.headers.get("content-type", "").startswith("text/event-stream")
        if self.cut or not streamed or b'"sleep"' not in body:
            return resp
        self.cut = True
        inner = resp.stream

        class Cut(httpx2.AsyncByteStream):
            async def __aiter__(self):
                seen = b""
                async for chunk in inner:
                    yield chunk
                    seen += chunk
                    if b"notifications/progress" in seen and seen.endswith(b"\n\n"):
                        break
                await inner.aclose()

            async def aclose(self):
                await inner.aclose()

        return httpx2.Response(status_code=resp.status_code, headers=resp.headers, stream=Cut(), extensions=resp.extensions)

    async def aclose(self):
        await self.inner.aclose()


async def test_http_legacy_call_resumes_after_its_stream_is_cut(http_url, tap_log):
    """Issue 19: the SDK's legacy client, whose call's event stream a proxy
    cuts mid-call, reconnects with GET + Last-Event-ID and gets the result
    (the cut did not cancel the call)."""
    from contextlib import asynccontextmanager

    import httpx2
    from http_tap import TapTransport
    from mcp.client.streamable_http import streamable_http_client

    tap = TapTransport(tap_log)
    cutter = _CutAfterProgress(tap.inner)
    tap.inner = cutter

    @asynccontextmanager
    async def transport():
        async with httpx2.AsyncClient(transport=tap, timeout=httpx2.Timeout(30, read=300)) as client:
            async with streamable_http_client(http_url, http_client=client) as streams:
                yield streams

    seen = []

    async def on_progress(p, total, message):
        seen.append(p)

    async with Client(transport(), mode="legacy") as c:
        assert c.protocol_version == "2025-11-25"
        r = await c.call_tool("sleep", {"ms": 1500}, progress_callback=on_progress)
        assert r.content[0].text == "slept 1500 ms", r
    assert cutter.cut and cutter.resumed, (cutter.cut, cutter.resumed)
    assert seen
