#!/usr/bin/env python3
"""HTTP load benchmark: `tools/call echo` over Streamable HTTP (modern
2026-07-28, stateless, JSON responses) at 1, 16 and 64 concurrent
connections, with wrk as the load generator, on loopback only.

For each server: requests/s, latency p50/p99 (wrk --latency), non-2xx
responses (must be 0), and RSS: VmRSS sampled every 100 ms during the load
(max) and VmHWM at the end.

Usage: bench/http_bench.py [--seconds S] [--out FILE] NAME[@TOOL]=COMMAND...
(TOOL defaults to echo; the command gets `--http 127.0.0.1:0` appended and
must print "listening on http://127.0.0.1:PORT" to stderr)."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

from procfs import status_kb
from serving import start_http

def body(tool):
    args = {"text": "hello"} if tool == "echo" else {}
    return json.dumps({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": tool, "arguments": args,
                   "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                             "io.modelcontextprotocol/clientCapabilities": {}}},
    })


LUA = """wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = %s
"""


def rss(pid, key="VmRSS"):
    return status_kb(pid, key) or 0


def to_us(v, unit):
    return float(v) * {"us": 1, "ms": 1000, "s": 1e6}[unit]


def load(url, conns, seconds, script, pid):
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss(pid))
            time.sleep(0.1)

    threading.Thread(target=sample, daemon=True).start()
    out = subprocess.run(["wrk", "-t", str(min(conns, 2)), "-c", str(conns), "-d", f"{seconds}s",
                          "--latency", "-s", script, url], capture_output=True, text=True, check=True).stdout
    done.set()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = {p: to_us(v, u) for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": round(rps), "p50_us": round(pct.get("50", 0), 1), "p99_us": round(pct.get("99", 0), 1),
            "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else "",
            "rss_during_kb": peak[0]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--out")
    ap.add_argument("servers", nargs="+", help="NAME=COMMAND")
    a = ap.parse_args()
    for spec in a.servers:
        name, cmd = spec.split("=", 1)
        name, _, tool = name.partition("@")
        tool = tool or "echo"
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA % (json.dumps(body(tool)), json.dumps(tool)))
            script = f.name
        try:
            p, url = start_http(cmd)
            try:
                idle = rss(p.pid)
                # One warm-up second, then 1, 16 and 64 connections.
                load(url, 4, 1, script, p.pid)
                for conns in (1, 16, 64):
                    r = {"name": name, "tool": tool, "clients": conns, "seconds": a.seconds, "idle_rss_kb": idle}
                    r.update(load(url, conns, a.seconds, script, p.pid))
                    r["peak_rss_kb"] = rss(p.pid, "VmHWM")
                    print(json.dumps(r), flush=True)
                    if a.out:
                        with open(a.out, "a") as f:
                            f.write(json.dumps(r) + "\n")
            finally:
                p.terminate()
                p.wait(10)
        finally:
            os.unlink(script)


if __name__ == "__main__":
    sys.exit(main())
