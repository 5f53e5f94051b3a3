#!/usr/bin/env python3
"""Load through the balancer (issue 21): stateless `tools/call ping`
(2026-07-28, JSON answers) sent by wrk with 64 connections to nginx running
the shipped packaging/nginx/lmcp-cluster.conf, in front of 1 and then 3
`lmcp --http --instance-id iN` on loopback. Not a timed test: numbers for
BENCHMARKS.md.

For each run: requests/s, latency p50/p99 (wrk --latency) and non-2xx
answers (must be 0); tests/py/test_scale_out.py checks how calls spread
over the instances. With 1 instance the three
upstream addresses of the config all name it, so nginx and its settings are
the same in both runs.

Usage: bench/cluster_bench.py [--seconds S] [--clients N] [--lmcp BIN] [--out FILE]
Needs nginx (Debian: nginx-light) and wrk."""
import argparse
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "packaging/nginx/lmcp-cluster.conf"
UPSTREAMS = ["127.0.0.1:8101", "127.0.0.1:8102", "127.0.0.1:8103"]
LISTEN = "listen 127.0.0.1:8080;"
LUA = """wrk.method = "POST"
wrk.body = %s
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "ping"
"""
BODY = json.dumps({
    "jsonrpc": "2.0", "id": 1, "method": "tools/call",
    "params": {"name": "ping", "arguments": {},
               "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                         "io.modelcontextprotocol/clientCapabilities": {}}},
})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, deadline=20):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"nothing healthy on port {port}")


def nginx_conf(prefix, ports, listen_port):
    conf = SHIPPED.read_text()
    for old, port in zip(UPSTREAMS, ports * 3):
        conf = conf.replace(old, f"127.0.0.1:{port}")
    conf = conf.replace(LISTEN, f"listen 127.0.0.1:{listen_port};")
    (prefix / "lmcp-cluster.conf").write_text(conf)
    temp = "".join(f"    {k}_temp_path {prefix}/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(
        f"daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
        + "events { worker_connections 1024; }\n"
        + f"http {{\n    access_log off;\n{temp}    include {prefix}/lmcp-cluster.conf;\n}}\n")


def run(n, a, tmp):
    ports = [free_port() for _ in range(n)]
    procs = [subprocess.Popen([a.lmcp, "--http", f"127.0.0.1:{p}", "--instance-id", f"i{i + 1}"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i, p in enumerate(ports)]
    prefix = Path(tmp) / f"nginx{n}"
    prefix.mkdir()
    listen = free_port()
    nginx_conf(prefix, ports, listen)
    nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(prefix), "-c",
                              str(prefix / "nginx.conf"), "-e", str(prefix / "error.log")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    script = prefix / "ping.lua"
    script.write_text(LUA % json.dumps(BODY))
    try:
        for p in ports:
            wait_healthy(p)
        wait_healthy(listen)
        url = f"http://127.0.0.1:{listen}/mcp"
        wrk = ["wrk", "-t", "2", "-c", str(a.clients), "--latency", "-s", str(script), url]
        subprocess.run(wrk[:5] + ["-d", "1s"] + wrk[5:], capture_output=True, check=True)  # warm-up
        out = subprocess.run(wrk + ["-d", f"{a.seconds}s"], capture_output=True, text=True, check=True).stdout
    finally:
        nginx.terminate()
        for p in procs:
            p.terminate()
        for p in [nginx, *procs]:
            p.wait(10)
    unit = {"us": 1, "ms": 1000, "s": 1e6}
    pct = {p: float(v) * unit[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"instances": n, "clients": a.clients, "seconds": a.seconds,
            "rps": round(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))),
            "p50_us": round(pct.get("50", 0)), "p99_us": round(pct.get("99", 0)),
            "non_2xx": int(bad.group(1)) if bad else 0}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--lmcp", default=str(ROOT / "target/release/lmcp"))
    ap.add_argument("--out")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (1, 3):
            r = run(n, a, tmp)
            print(json.dumps(r), flush=True)
            if a.out:
                with open(a.out, "a") as f:
                    f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    sys.exit(main())
