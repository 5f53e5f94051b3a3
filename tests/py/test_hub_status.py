"""`lmcp hub status`: connects to real upstreams (the Python SDK server on
stdio and HTTP, the official TypeScript everything server over HTTP, our
examples/everything) and reports their era and counts — checked against what
the official Python SDK client itself lists from the same servers."""
import json
import subprocess

import pytest
from conftest import EVERYTHING, LMCP
from http_tap import tapped_http
from mcp.client import Client
from test_hub import py_http, py_stdio, ts_http  # noqa: F401 (fixtures)

pytestmark = pytest.mark.anyio


def hub_status(tmp_path, servers, *extra):
    cfg = tmp_path / "hub.json"
    cfg.write_text(json.dumps({"mcpServers": servers}))
    return subprocess.run(
        [str(LMCP), "hub", "status", "--config", str(cfg), *extra], capture_output=True, text=True, timeout=120
    )


async def sdk_counts(url, tap_log, mode):
    """Tools, prompts and resources as the Python SDK client lists them (every page)."""

    async def every(list_page):
        n, cursor = 0, None
        while True:
            r = await list_page(cursor)
            n += len(getattr(r, "tools", None) or getattr(r, "prompts", None) or getattr(r, "resources", None) or [])
            cursor = r.next_cursor
            if not cursor:
                return n

    async with Client(tapped_http(url, tap_log), mode=mode) as c:
        return (
            await every(lambda cur: c.list_tools(cursor=cur)),
            await every(lambda cur: c.list_prompts(cursor=cur)),
            await every(lambda cur: c.list_resources(cursor=cur)),
        )


async def test_status_of_real_upstreams(tmp_path, py_http, ts_http, tap_log):  # noqa: F811
    servers = {
        "pys": py_stdio(tmp_path),
        "pyh": {"url": py_http.url},
        "tsh": {"url": ts_http.url},
        "ev": {"command": str(EVERYTHING), "args": ["--stdio"], "deny": ["fail"]},
        "bad": {"command": str(tmp_path / "no-such-server")},
    }
    out = hub_status(tmp_path, servers, "--json")
    assert out.returncode == 1, out.stderr
    rows = {u["name"]: u for u in json.loads(out.stdout)["upstreams"]}
    assert list(rows) == sorted(servers)  # config order (mcpServers is read sorted)
    assert {n: r["state"] for n, r in rows.items()} == {**dict.fromkeys(servers, "up"), "bad": "failed"}
    assert "no-such-server" in rows["bad"]["last_error"], rows["bad"]
    assert rows["bad"]["era"] is None and rows["bad"]["tools"] is None
    for n in ("pys", "pyh", "ev"):
        assert (rows[n]["era"], rows[n]["protocol_version"]) == ("modern", "2026-07-28"), rows[n]
    assert rows["tsh"]["era"] == "legacy" and rows["tsh"]["transport"] == "http"
    assert rows["pys"]["transport"] == "stdio" and rows["pyh"]["target"] == py_http.url

    for n, up, mode in (("pyh", py_http, "auto"), ("tsh", ts_http, "legacy")):
        tools, prompts, resources = await sdk_counts(up.url, tap_log, mode)
        assert (rows[n]["tools"], rows[n]["prompts"], rows[n]["resources"]) == (tools, prompts, resources), rows[n]
    assert (rows["pys"]["tools"], rows["pys"]["prompts"]) == (rows["pyh"]["tools"], rows["pyh"]["prompts"])

    # The table: a header and one line per upstream, failures visible.
    out = hub_status(tmp_path, servers)
    assert out.returncode == 1
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "TRANSPORT", "STATE"]
    by_name = {line.split()[0]: line for line in lines[1:]}
    assert set(by_name) == set(servers)
    assert by_name["bad"].split()[2] == "failed" and "no-such-server" in by_name["bad"]
    assert "legacy 2025-" in by_name["tsh"] and by_name["pyh"].split()[2] == "up"


def test_status_exit_codes(tmp_path):
    servers = {"ev": {"command": str(EVERYTHING), "args": ["--stdio"]}}
    out = hub_status(tmp_path, servers)
    assert out.returncode == 0, out.stderr
    # --upstream works too, and an unreachable HTTP upstream fails with its cause.
    out = subprocess.run(
        [str(LMCP), "hub", "status", "--upstream", "gone=http://127.0.0.1:1/mcp", "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 1
    (row,) = json.loads(out.stdout)["upstreams"]
    assert row["state"] == "failed" and "cannot connect to 127.0.0.1:1" in row["last_error"], row
    out = subprocess.run([str(LMCP), "hub", "status"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "no upstreams" in out.stderr
