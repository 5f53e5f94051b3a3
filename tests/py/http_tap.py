"""An HTTP tap for the Python SDK's Streamable HTTP client: an httpx2
transport that sits under the SDK's HTTP client and validates every message
the server sends (JSON bodies and SSE events) with the same checks as the
stdio tap (tap.py), logging to the same kind of file."""
import json
from contextlib import asynccontextmanager

import httpx2
from tap import Conversation


class _Log:
    def __init__(self, path):
        self.f = open(path, "a", buffering=1)

    def write(self, entry):
        self.f.write(json.dumps(entry) + "\n")


class _TeeStream(httpx2.AsyncByteStream):
    """Passes the body through unchanged, feeding it to a parser."""

    def __init__(self, inner, feed, done):
        self.inner, self.feed, self.done = inner, feed, done

    async def __aiter__(self):
        async for chunk in self.inner:
            self.feed(chunk)
            yield chunk
        self.done()

    async def aclose(self):
        await self.inner.aclose()


class TapTransport(httpx2.AsyncBaseTransport):
    def __init__(self, log_path):
        self.inner = httpx2.AsyncHTTPTransport()
        self.conv = Conversation()
        self.log = _Log(log_path)

    def _server_message(self, text, where):
        try:
            msg = json.loads(text)
            msgs = msg if isinstance(msg, list) else [msg]
            if isinstance(msg, list):
                self.log.write({"line": text, "era": "?", "errors": [f"{where}: a JSON array (servers never send batches)"]})
                return
            for m in msgs:
                era, errs, extra = self.conv.check(m)
                self.log.write({"line": json.dumps(m), "era": era, "errors": errs, "where": where, **extra})
        except Exception as e:
            self.log.write({"line": text, "era": "?", "errors": [f"{where}: invalid message: {e}"]})

    async def handle_async_request(self, request):
        try:
            body = request.content
        except httpx2.RequestNotRead:
            body = await request.aread()
        if body:
            try:
                msg = json.loads(body)
                for m in msg if isinstance(msg, list) else [msg]:
                    self.conv.client_line(m)
            except ValueError:
                pass
            self.log.write({"client": body.decode("utf-8", "replace")})
        resp = await self.inner.handle_async_request(request)
        ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
        where = f"{request.method} {resp.status_code} {ctype or '-'}"
        self.log.write({"http": where})
        if ctype == "application/json":
            buf = bytearray()
            feed, done = buf.extend, lambda: buf and self._server_message(buf.decode(), where)
        elif ctype == "text/event-stream":
            buf = bytearray()

            def feed(chunk):
                buf.extend(chunk)
                data = buf.replace(b"\r\n", b"\n")
                *events, rest = data.split(b"\n\n")
                buf[:] = rest
                for ev in events:
                    lines = [ln[5:].lstrip(b" ") if ln.startswith(b"data:") else None for ln in ev.split(b"\n")]
                    payload = b"\n".join(x for x in lines if x is not None)
                    if payload.strip():
                        self._server_message(payload.decode(), where + " (SSE)")

            done = lambda: None  # noqa: E731
        else:
            return resp
        return httpx2.Response(
            status_code=resp.status_code,
            headers=resp.headers,
            stream=_TeeStream(resp.stream, feed, done),
            extensions=resp.extensions,
        )

    async def aclose(self):
        await self.inner.aclose()


@asynccontextmanager
async def tapped_http(url, log_path):
    """A Transport for mcp.client.Client: the SDK's Streamable HTTP client over the tap."""
    from mcp.client.streamable_http import streamable_http_client

    timeout = httpx2.Timeout(30, read=300)
    async with httpx2.AsyncClient(transport=TapTransport(log_path), timeout=timeout) as client:
        async with streamable_http_client(url, http_client=client) as streams:
            yield streams
