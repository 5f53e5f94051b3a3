#!/usr/bin/env python3
"""Streamed (SSE) answers against JSON answers over Streamable HTTP (issue 15).

For each server, on one keep-alive connection, CALLS sequential calls of
each kind, after 20 warm-up calls:

  modern_json      2026-07-28 `tools/call echo`, answered as JSON
  modern_progress  the same with a `progressToken` in `_meta` (a stream)
  legacy_sse       `tools/call echo` in a 2025-06-18 session, Accept JSON and
                   SSE as every client sends it (lmcp and rmcp answer a stream)
  legacy_ping      `ping` in that session (JSON)

and reports p50/p99 latency and calls/s, with the content type each was
answered with ("n/a" where the server does not serve that kind). With wrk
installed (Debian package wrk) it also loads legacy_sse at 1, 16 and 64
connections, as bench/http_bench.py does for modern JSON.

Usage: bench/sse_bench.py [--calls N] [--seconds S] [--out FILE] NAME=COMMAND...
(the command gets `--http 127.0.0.1:0` appended and must print
"listening on http://127.0.0.1:PORT/..." to stderr). Loopback only."""
import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

from serving import start_http

MODERN = "2026-07-28"
LEGACY = "2025-06-18"


class Conn:
    """One keep-alive connection posting JSON-RPC messages."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.path = u.path or "/"
        self.c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        self.c.connect()
        self.c.sock.setsockopt(6, 1, 1)  # TCP_NODELAY, as real clients set it

    def post(self, body, headers):
        h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
        h.update(headers)
        self.c.request("POST", self.path, body=body, headers=h)
        r = self.c.getresponse()
        data = r.read()
        return r.status, r.getheader("content-type") or "", r.getheader("mcp-session-id"), data


def last_message(ctype, data):
    """The final JSON-RPC message of a JSON or SSE answer."""
    if ctype.startswith("text/event-stream"):
        msgs = [json.loads(line[5:]) for line in data.decode().splitlines()
                if line.startswith("data:") and line[5:].strip()]
        return msgs[-1] if msgs else None
    return json.loads(data) if data else None


def modern_call(progress):
    meta = {"io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "sse_bench", "version": "1"}}
    if progress:
        meta["progressToken"] = 1
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "echo", "arguments": {"text": "hello"}, "_meta": meta}})
    return body, {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "echo"}


def open_session(conn):
    init = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                       "params": {"protocolVersion": LEGACY, "capabilities": {},
                                  "clientInfo": {"name": "sse_bench", "version": "1"}}})
    status, ctype, sid, data = conn.post(init, {})
    if status != 200 or not sid:
        return None
    h = {"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY}
    conn.post(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}), h)
    return h


def measure(conn, body, headers, calls):
    """(p50 µs, p99 µs, calls/s, content type) or None if not served."""
    status, ctype, _, data = conn.post(body, headers)
    msg = last_message(ctype, data) if status == 200 else None
    if not msg or "result" not in msg or msg["result"].get("isError"):
        return None
    for _ in range(20):
        conn.post(body, headers)
    times = []
    t0 = time.perf_counter()
    for _ in range(calls):
        t = time.perf_counter()
        conn.post(body, headers)
        times.append(time.perf_counter() - t)
    total = time.perf_counter() - t0
    times.sort()
    return (round(times[len(times) // 2] * 1e6, 1), round(times[int(len(times) * 0.99)] * 1e6, 1),
            round(calls / total), ctype.split(";")[0])


WRK = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
%s
-- Every request its own id, as real clients do (a session refuses an id
-- that is still in flight). Threads have their own Lua state: a random
-- prefix keeps their ids apart.
local template = %s
local prefix, n = nil, 0
request = function()
  if not prefix then
    math.randomseed(os.time() + math.floor(os.clock() * 1e6))
    prefix = tostring(math.random(1, 1e9))
  end
  n = n + 1
  return wrk.format(nil, nil, nil, (template:gsub("@ID@", prefix .. "-" .. n)))
end
"""


def wrk_load(url, headers, body, conns, seconds):
    """Requests/s of `body` (its id replaced per request) over `conns` connections."""
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    msg = json.loads(body)
    msg["id"] = "@ID@"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK % (lines, json.dumps(json.dumps(msg))))
        script = f.name
    try:
        out = subprocess.run(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{seconds}s",
                              "--latency", "-s", script, url], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(script)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": round(rps), "non_2xx": int(bad.group(1)) if bad else 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--out")
    ap.add_argument("servers", nargs="+", help="NAME=COMMAND")
    a = ap.parse_args()
    have_wrk = subprocess.run(["sh", "-c", "command -v wrk"], capture_output=True).returncode == 0
    rows = []

    def emit(r):
        rows.append(r)
        print(json.dumps(r), flush=True)
        if a.out:
            with open(a.out, "a") as f:
                f.write(json.dumps(r) + "\n")

    for spec in a.servers:
        name, cmd = spec.split("=", 1)
        p, url = start_http(cmd)
        try:
            conn = Conn(url)
            session = open_session(Conn(url))
            cases = [("modern_json", *modern_call(False)), ("modern_progress", *modern_call(True))]
            if session:
                call = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                                   "params": {"name": "echo", "arguments": {"text": "hello"}}})
                ping = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})
                cases += [("legacy_sse", call, session), ("legacy_ping", ping, session)]
            for mode, body, headers in cases:
                m = measure(conn, body, headers, a.calls)
                r = {"name": name, "mode": mode, "calls": a.calls}
                if m:
                    r.update(zip(("p50_us", "p99_us", "calls_per_s", "content_type"), m))
                else:
                    r["content_type"] = "n/a"
                emit(r)
            if have_wrk and session:
                for conns in (1, 16, 64):
                    r = {"name": name, "mode": "legacy_sse", "clients": conns, "seconds": a.seconds}
                    r.update(wrk_load(url, session, call, conns, a.seconds))
                    emit(r)
        finally:
            p.terminate()
            p.wait(10)
    print()
    print("| server | kind | answered as | p50 µs | p99 µs | calls/s (one connection) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "clients" not in r:
            print(f"| {r['name']} | {r['mode']} | {r['content_type']} | {r.get('p50_us', '-')} | "
                  f"{r.get('p99_us', '-')} | {r.get('calls_per_s', '-')} |")
    if any("clients" in r for r in rows):
        print()
        print("| server | legacy_sse clients | requests/s | non-2xx |")
        print("|---|---|---|---|")
        for r in rows:
            if "clients" in r:
                print(f"| {r['name']} | {r['clients']} | {r['rps']} | {r['non_2xx']} |")


if __name__ == "__main__":
    sys.exit(main())
