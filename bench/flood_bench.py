#!/usr/bin/env python3
"""Resident memory before and after connection floods (issue 23).

Starts each server with `--http 127.0.0.1:0` (plus the server's own flags),
waits until it is idle, then runs FLOODS floods of CONNS concurrent
connections, each sending one 2026-07-28 `server/discover` request and
reading the answer (200, or 503 past the connection cap). VmRSS is read
SETTLE seconds after each flood, when no connection is left open.

Usage: bench/flood_bench.py [--floods N] [--conns C] [--settle S] [--out FILE]
       NAME=COMMAND...
Prints one row per server: idle, after each flood, and the peak (VmHWM), in
KiB, and the anonymous part (RssAnon: the heap; the rest is the binary's pages). Loopback only; every connection has a 20 s deadline."""
import argparse
import asyncio
import json
import time
import urllib.parse

from procfs import status_kb
from serving import start_http

BODY = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                   "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                                "io.modelcontextprotocol/clientCapabilities": {}}}}).encode()


async def one(host, port, path):
    req = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
           "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n"
           f"Mcp-Method: server/discover\r\nConnection: close\r\nContent-Length: {len(BODY)}\r\n\r\n"
           ).encode() + BODY
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 20)
        w.write(req)
        await w.drain()
        head = await asyncio.wait_for(r.read(), 20)
        w.close()
        return head[9:12].decode(errors="replace") or "closed"
    except (OSError, asyncio.TimeoutError) as e:
        return type(e).__name__


async def flood(host, port, path, conns):
    return await asyncio.gather(*(one(host, port, path) for _ in range(conns)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--floods", type=int, default=4)
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--out")
    ap.add_argument("servers", nargs="+")
    a = ap.parse_args()
    rows = []
    for spec in a.servers:
        name, cmd = spec.split("=", 1)
        p, url = start_http(cmd)
        u = urllib.parse.urlsplit(url)
        host, port, path = u.hostname, u.port, u.path
        try:
            time.sleep(a.settle)
            idle, idle_anon = status_kb(p.pid), status_kb(p.pid, "RssAnon")
            after, after_anon, statuses = [], [], {}
            for _ in range(a.floods):
                for s in asyncio.run(flood(host, port, path, a.conns)):
                    statuses[s] = statuses.get(s, 0) + 1
                time.sleep(a.settle)
                after.append(status_kb(p.pid))
                after_anon.append(status_kb(p.pid, "RssAnon"))
            row = {"name": name, "idle_kb": idle, "after_kb": after,
                   "idle_anon_kb": idle_anon, "after_anon_kb": after_anon,
                   "peak_kb": status_kb(p.pid, "VmHWM"), "answers": statuses,
                   "floods": a.floods, "conns": a.conns}
        finally:
            p.kill()
            p.wait()
        rows.append(row)
        print(f"{name}: idle {idle} KiB; after each flood {' / '.join(map(str, after))} KiB; "
              f"peak {row['peak_kb']} KiB; anonymous {idle_anon} -> {' / '.join(map(str, after_anon))} KiB; "
              f"answers {statuses}", flush=True)
    if a.out:
        with open(a.out, "a") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
