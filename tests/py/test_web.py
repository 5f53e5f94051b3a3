"""Issue 4 through a real client: the official MCP Python SDK drives `fetch`
and `web_search` of an lmcp binary built with the `web` feature, over stdio and
Streamable HTTP in both eras, every server message checked against the
official schema by the tap.

No internet: the pages and the search backends' answers are the hand-written
fixtures of tests/fixtures/web/, served by a small HTTP server this module
starts on 127.0.0.1.

The binary is $LMCP_WEB_BIN, default target/web/lmcp (scripts/test.sh
builds it with `cargo build --features web` and copies it there)."""
import gzip
import http.server
import json
import os
import threading
import time
from pathlib import Path

import anyio
import pytest
from fs_support import Lmcp, text

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/fixtures/web"
WEB_BIN = Path(os.environ.get("LMCP_WEB_BIN", ROOT / "target/web/lmcp"))

if not WEB_BIN.exists():
    if os.environ.get("CI"):
        raise AssertionError(f"{WEB_BIN} is missing: scripts/test.sh builds it (cargo build --features web, copied to target/web/lmcp)")
    pytest.skip(f"no lmcp built with the web feature at {WEB_BIN} (set LMCP_WEB_BIN)", allow_module_level=True)

# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101009a5c2f8c0000000049454e44ae426082"
)


class Site(http.server.ThreadingHTTPServer):
    """The fixture web: pages, redirects, a slow, a huge and a trickling
    body, and answers shaped like the three search backends'. Remembers
    request paths and headers, how many bytes of the huge body it managed
    to send, and whether the client hung up on the trickling one."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests = []
        self.media = {}  # path -> (content type, body), made by a test
        self.huge_sent = 0
        self.stream_started = threading.Event()
        self.stream_closed = threading.Event()

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, status, ctype, body, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        try:
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # lmcp gave up on purpose (timeouts, size caps): not a failure of the site

    def do_GET(self):
        site = self.server
        site.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        path = self.path.split("?")[0]
        page = lambda name: (FIXTURES / name).read_bytes()
        if path == "/article":
            self.send(200, "text/html; charset=utf-8", page("article.html"))
        elif path == "/docs":
            self.send(200, "text/html; charset=utf-8", page("docs.html"))
        elif path == "/latin1":
            self.send(200, "text/html; charset=iso-8859-1", page("latin1.html"))
        elif path == "/gzip":
            self.send(200, "text/html; charset=utf-8", gzip.compress(page("article.html")),
                      [("Content-Encoding", "gzip")])
        elif path == "/data":
            self.send(200, "application/json", page("data.json"))
        elif path == "/pixel.png":
            self.send(200, "image/png", PNG)
        elif path in site.media:
            ctype, body = site.media[path]
            self.send(200, ctype, body)
        elif path == "/hop1":
            self.send(302, "text/plain", b"", [("Location", "/hop2")])
        elif path == "/hop2":
            self.send(301, "text/plain", b"", [("Location", f"{site.base}/article")])
        elif path == "/to-metadata":
            self.send(302, "text/plain", b"", [("Location", "http://169.254.169.254/latest/meta-data/")])
        elif path == "/slow":
            time.sleep(10)
            self.send(200, "text/plain", b"late")
        elif path == "/huge":
            # 50 MB, sent in chunks until the client hangs up.
            total = 50 * 1024 * 1024
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(total))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                while site.huge_sent < total:
                    self.wfile.write(chunk)
                    site.huge_sent += len(chunk)
            except OSError:
                pass
        elif path == "/stream":
            # 100 bytes every 50 ms for a minute, until the client hangs up.
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(1200 * 100))
            self.end_headers()
            site.stream_started.set()
            try:
                for _ in range(1200):
                    self.wfile.write(b"y" * 100)
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                site.stream_closed.set()
        elif path == "/searx/search":
            q = self.path
            if "q=busy" in q:
                self.send(429, "application/json", b'{"error": "too many requests"}', [("Retry-After", "30")])
                return
            body = b'{"query": "nothing", "results": []}' if "q=nothing" in q else page("searxng.json")
            self.send(200, "application/json", body)
        elif path == "/brave":
            if self.headers.get("X-Subscription-Token") != "brave-test-key":
                self.send(401, "application/json", b'{"error": "bad key"}')
            else:
                self.send(200, "application/json", page("brave.json"))
        elif path == "/ddg/":
            if "q=blocked" in self.path:
                self.send(202, "text/html", page("ddg_anomaly.html"))
            elif "q=nothing" in self.path:
                self.send(200, "text/html", page("ddg_empty.html"))
            else:
                self.send(200, "text/html", page("ddg.html"))
        else:
            self.send(404, "text/plain", b"not here")

    do_POST = do_GET


@pytest.fixture
def site():
    s = Site()
    t = threading.Thread(target=s.serve_forever, daemon=True)
    t.start()
    yield s
    s.shutdown()
    s.server_close()


@pytest.fixture(params=["stdio", "http"])
def lmcp(request, tap_log, tmp_path):
    servers = Lmcp(request.param, tap_log, tmp_path, binary=WEB_BIN)
    yield servers
    servers.close()


async def fetch(c, **args):
    r = await c.call_tool("fetch", args)
    assert not r.is_error, text(r)
    return r


async def refused(c, **args):
    r = await c.call_tool("fetch", args)
    assert r.is_error, text(r)
    return text(r)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_pages_become_markdown_text_or_json(lmcp, site, mode):
    async with lmcp.connect(mode, "--fetch-allow-private") as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        assert {"fetch", "web_search"} <= set(tools)
        assert tools["fetch"].annotations.read_only_hint is True

        r = await fetch(c, url=f"{site.base}/article")
        t = text(r)
        assert "## What it means for households" in t and "forty percent" in t, t
        s = r.structured_content
        if mode == "auto":
            assert s["status"] == 200 and s["format"] == "markdown" and s["main_content"] is True, s

        t = text(await fetch(c, url=f"{site.base}/docs"))
        assert "```" in t and "let queue = Queue::with_capacity(128);" in t, t
        assert "| retries | 3 |" in t and "[Running workers](" in t, t

        t = text(await fetch(c, url=f"{site.base}/docs", format="html"))
        assert "<table" in t, t

        t = text(await fetch(c, url=f"{site.base}/latin1"))
        assert "Grüße aus Köln" in t and "Café Müller" in t and "\ufffd" not in t, t

        t = text(await fetch(c, url=f"{site.base}/gzip"))
        assert "## What it means for households" in t, t
        assert "gzip" in site.requests[-1][1].get("accept-encoding", ""), site.requests[-1]

        t = text(await fetch(c, url=f"{site.base}/data"))
        assert '"stations": [\n    {\n' in t, t

        r = await fetch(c, url=f"{site.base}/pixel.png")
        t = text(r)
        assert "image/png" in t and "\x89PNG" not in t, t


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_paging_caps_redirects_and_refusals(lmcp, site, mode):
    async with lmcp.connect(mode, "--fetch-allow-private") as c:
        first = await fetch(c, url=f"{site.base}/docs", max_length=200)
        assert "start_index=200" in text(first), text(first)
        second = await fetch(c, url=f"{site.base}/docs", max_length=200, start_index=200)
        assert text(second) != text(first)

        r = await fetch(c, url=f"{site.base}/hop1")
        assert "## What it means for households" in text(r)
        assert [p for p, _ in site.requests[-3:]] == ["/hop1", "/hop2", "/article"]

        # A redirect to the cloud metadata address is refused, even with
        # --fetch-allow-private, and the message names the rule.
        e = await refused(c, url=f"{site.base}/to-metadata")
        assert "169.254.169.254" in e and ("link-local" in e or "metadata" in e), e

        e = await refused(c, url="file:///etc/passwd")
        assert "only http and https" in e, e

        t0 = time.monotonic()
        e = await refused(c, url=f"{site.base}/slow", timeout_ms=500)
        assert "timed out after 500 ms" in e, e
        assert time.monotonic() - t0 < 8, "the timeout did not stop the transfer"

        r = await fetch(c, url=f"{site.base}/huge", max_length=100)
        assert "download limit" in text(r), text(r)
        # The cap stops the download: far less than the 50 MB was sent.
        await anyio.sleep(0.5)
        assert site.huge_sent < 20 * 1024 * 1024, site.huge_sent


async def test_loopback_is_refused_without_allow_private(lmcp, site):
    async with lmcp.connect("auto") as c:
        before = len(site.requests)
        e = await refused(c, url=f"{site.base}/article")
        assert "127.0.0.1" in e and "--fetch-allow-private" in e, e
        e = await refused(c, url=f"http://localhost:{site.server_address[1]}/article")
        assert "refused" in e, e
        assert len(site.requests) == before, "no request may reach the server"


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_cancelling_a_fetch_aborts_the_transfer(lmcp, site, mode):
    async with lmcp.connect(mode, "--fetch-allow-private") as c:
        # /stream trickles bytes for a minute; the call is cancelled once the
        # body is flowing.
        with anyio.move_on_after(30):
            async with anyio.create_task_group() as tg:
                async def call():
                    await c.call_tool("fetch", {"url": f"{site.base}/stream", "timeout_ms": 120000})
                    raise AssertionError("the call finished before it was cancelled")

                tg.start_soon(call)
                await anyio.to_thread.run_sync(site.stream_started.wait, 20)
                assert site.stream_started.is_set(), "the fetch never reached /stream"
                await anyio.sleep(0.3)
                tg.cancel_scope.cancel()
        # The cancellation closed the connection: the site sees the hang-up
        # (a generous bound against hangs, far below the minute of trickle).
        await anyio.to_thread.run_sync(site.stream_closed.wait, 10)
        assert site.stream_closed.is_set(), "lmcp kept downloading after the call was cancelled"
        # And the server goes on answering.
        await fetch(c, url=f"{site.base}/data")


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_search_backends(lmcp, site, tmp_path, mode):
    base = site.base
    async with lmcp.connect(mode, "--search-backend", "searxng", "--searxng-url", f"{base}/searx") as c:
        r = await c.call_tool("web_search", {"query": "tidal power", "count": 3})
        assert not r.is_error, text(r)
        t = text(r)
        assert "\n1. Tidal power explained\n   https://energy.example.com/tidal" in t, t
        if mode == "auto":
            results = r.structured_content["results"]
            assert 1 <= len(results) <= 3 and all(x["url"] and x["title"] for x in results), results
        r = await c.call_tool("web_search", {"query": "nothing"})
        assert "no results" in text(r).lower(), text(r)

    key = tmp_path / "brave.key"
    key.write_text("brave-test-key\n")
    async with lmcp.connect(mode, "--search-backend", "brave", "--search-url", f"{base}/brave",
                            "--brave-key-file", str(key)) as c:
        r = await c.call_tool("web_search", {"query": "tidal power", "count": 2})
        assert not r.is_error, text(r)
        assert "\n1. " in text(r) and "\n2. " in text(r), text(r)
        assert site.requests[-1][1].get("x-subscription-token") == "brave-test-key"

    # A wrong key: the site answers 401, the tool says the key was rejected.
    key.write_text("wrong-key\n")
    async with lmcp.connect(mode, "--search-backend", "brave", "--search-url", f"{base}/brave",
                            "--brave-key-file", str(key)) as c:
        r = await c.call_tool("web_search", {"query": "tidal power"})
        assert r.is_error, text(r)
        assert "brave rejected the API key (HTTP 401/403)" in text(r), text(r)
        assert site.requests[-1][1].get("x-subscription-token") == "wrong-key"

    # SearXNG rate-limiting: 429 with Retry-After.
    async with lmcp.connect(mode, "--search-backend", "searxng", "--searxng-url", f"{base}/searx") as c:
        r = await c.call_tool("web_search", {"query": "busy"})
        assert r.is_error, text(r)
        assert "searxng is rate-limiting searches (retry after 30 s)" in text(r), text(r)

    async with lmcp.connect(mode, "--search-url", f"{base}/ddg/") as c:
        r = await c.call_tool("web_search", {"query": "tidal power", "count": 2})
        assert not r.is_error, text(r)
        t = text(r)
        assert "Tidal power explained" in t and "https://energy.example.com/tidal" in t, t
        r = await c.call_tool("web_search", {"query": "blocked"})
        assert r.is_error and ("rate" in text(r).lower() or "anomaly" in text(r).lower() or "blocked" in text(r).lower()), text(r)
        r = await c.call_tool("web_search", {"query": "nothing"})
        assert "no results" in text(r).lower(), text(r)


def media_files():
    """A two-page PDF made by fpdf2 and a 1200x600 PNG made by Pillow (real
    producers, issue 22); skipped loudly without them, failed on CI."""
    try:
        import io
        from fpdf import FPDF
        from PIL import Image
    except ImportError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"fpdf2 and Pillow are needed ({e}); scripts/peers.sh installs them")
    pdf = FPDF()
    for marker in ("FIRST-PAGE-MARKER alpha", "SECOND-PAGE-MARKER beta"):
        pdf.add_page()
        pdf.set_font("Helvetica", size=14)
        pdf.cell(text=marker)
    img = Image.new("RGB", (1200, 600), (30, 120, 200))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return bytes(pdf.output()), buf.getvalue()


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_fetch_reads_a_pdf_and_sizes_an_image_by_image_max_edge(lmcp, site, mode):
    import base64
    import io
    from PIL import Image

    pdf, png = media_files()
    site.media["/report.pdf"] = ("application/pdf", pdf)
    site.media["/wide.png"] = ("image/png", png)
    async with lmcp.connect(mode, "--fetch-allow-private", "--image-max-edge", "300") as c:
        t = text(await fetch(c, url=f"{site.base}/report.pdf"))
        assert "FIRST-PAGE-MARKER alpha" in t and "SECOND-PAGE-MARKER beta" in t, t
        assert "%PDF" not in t, t
        r = await fetch(c, url=f"{site.base}/wide.png")
        images = [b for b in r.content if b.type == "image"]
        assert len(images) == 1, r.content
        sent = Image.open(io.BytesIO(base64.b64decode(images[0].data)))
        assert sent.size == (300, 150), sent.size
