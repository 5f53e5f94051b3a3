#!/usr/bin/env python3
"""Stdio benchmark harness for lmcp and its anchors (standard library only).

For each server command it measures, in one run on this machine:
  - start-up: spawn to the first response (an `initialize`),
  - idle RSS after the handshake (initialize + notifications/initialized),
  - sequential `tools/call echo` latency (p50/p99) over stdio,
  - pipelined throughput: N `tools/call echo` written back to back while a
    reader collects the responses, and the peak RSS (VmHWM) during it.

Usage:
  python3 bench/stdio_bench.py --name lmcp -- target/release/examples/everything --stdio
  python3 bench/stdio_bench.py --all          # every anchor found (see bench/run.sh)
Results are printed as JSON (one object per server) and, with --out FILE, appended to FILE.
Everything runs on local pipes; loops are bounded in count and time.
"""
import argparse
import json
import os
import select
import statistics
import subprocess
import sys
import threading
import time

from procfs import status_kb

LEGACY = "2025-11-25"


rss_kb = status_kb


class Server:
    def __init__(self, cmd):
        self.p = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0
        )
        self.out = self.p.stdout
        self.buf = b""
        self.early = {}  # responses read while waiting for another id

    def send(self, obj):
        self.p.stdin.write((json.dumps(obj, separators=(",", ":")) + "\n").encode())
        self.p.stdin.flush()

    def readline(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.out], [], [], left)[0]:
                raise TimeoutError("server did not answer in time")
            chunk = os.read(self.out.fileno(), 65536)
            if not chunk:
                raise EOFError("server closed stdout")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def request(self, obj, timeout=10):
        self.send(obj)
        return self.wait_for(obj["id"], timeout)

    def wait_for(self, id_, timeout=10):
        if id_ in self.early:
            return self.early.pop(id_)
        deadline = time.monotonic() + timeout
        while True:
            msg = self.readline(deadline)
            if msg.get("id") == id_:
                return msg
            if "id" in msg and "method" not in msg:
                self.early[msg["id"]] = msg

    def close(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=10)
        except Exception:
            self.p.kill()
            self.p.wait()


def echo_call(i, text="hello"):
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": text}}}


def pct(values, p):
    values = sorted(values)
    k = max(0, min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1)))))
    return values[k]


def bench(name, cmd, seq_calls, pipelined_calls, idle_only=False):
    t0 = time.monotonic()
    s = Server(cmd)
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}},
    }
    r = s.request(init, timeout=30)
    startup_ms = (time.monotonic() - t0) * 1000
    if "result" not in r:
        raise RuntimeError(f"{name}: initialize failed: {r}")
    s.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
    time.sleep(0.5)
    idle = rss_kb(s.p.pid)
    idle_anon = rss_kb(s.p.pid, "RssAnon")
    if idle_only:
        # A server without the echo/sleep tools (the lmcp binary itself):
        # start-up and idle memory only, also after a tools/list.
        r = s.request({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        if "result" not in r:
            raise RuntimeError(f"{name}: tools/list failed: {r}")
        time.sleep(0.5)
        listed = rss_kb(s.p.pid)
        s.close()
        return {
            "name": name,
            "cmd": " ".join(cmd),
            "startup_ms": round(startup_ms, 1),
            "idle_rss_kb": idle,
            "idle_anon_rss_kb": idle_anon,
            "idle_rss_after_tools_list_kb": listed,
        }

    # Warm-up, then sequential latency.
    for i in range(1, 101):
        s.request(echo_call(i))
    lat = []
    for i in range(1000, 1000 + seq_calls):
        t = time.perf_counter()
        r = s.request(echo_call(i))
        lat.append((time.perf_counter() - t) * 1e6)
        if "result" not in r:
            raise RuntimeError(f"{name}: echo failed: {r}")

    # Concurrency: an echo while a 3 s sleep runs; three 3 s sleeps at once.
    s.send({"jsonrpc": "2.0", "id": 900, "method": "tools/call", "params": {"name": "sleep", "arguments": {"ms": 3000}}})
    time.sleep(0.1)
    t = time.perf_counter()
    s.request(echo_call(901))
    echo_during_sleep_ms = (time.perf_counter() - t) * 1000
    s.wait_for(900)
    t = time.perf_counter()
    for i in range(3):
        s.send({"jsonrpc": "2.0", "id": 910 + i, "method": "tools/call", "params": {"name": "sleep", "arguments": {"ms": 3000}}})
    for i in range(3):
        s.wait_for(910 + i, timeout=20)
    three_sleeps_s = time.perf_counter() - t

    # Pipelined: a writer thread sends everything, this thread reads.
    base = 100000
    payload = b"".join(
        (json.dumps(echo_call(base + i), separators=(",", ":")) + "\n").encode() for i in range(pipelined_calls)
    )

    def writer():
        s.p.stdin.write(payload)
        s.p.stdin.flush()

    t = time.perf_counter()
    th = threading.Thread(target=writer)
    th.start()
    got = 0
    deadline = time.monotonic() + 120
    while got < pipelined_calls:
        msg = s.readline(deadline)
        if "id" in msg and isinstance(msg["id"], int) and msg["id"] >= base:
            got += 1
    elapsed = time.perf_counter() - t
    th.join()
    peak = rss_kb(s.p.pid, "VmHWM")
    after = rss_kb(s.p.pid)
    after_anon = rss_kb(s.p.pid, "RssAnon")
    s.close()
    return {
        "name": name,
        "cmd": " ".join(cmd),
        "startup_ms": round(startup_ms, 1),
        "idle_rss_kb": idle,
        "idle_anon_rss_kb": idle_anon,
        "echo_p50_us": round(statistics.median(lat), 1),
        "echo_p99_us": round(pct(lat, 99), 1),
        "echo_during_sleep_ms": round(echo_during_sleep_ms, 2),
        "three_parallel_sleep3_s": round(three_sleeps_s, 3),
        "pipelined_calls": pipelined_calls,
        "pipelined_calls_per_s": round(pipelined_calls / elapsed),
        "peak_rss_kb": peak,
        "rss_after_load_kb": after,
        "anon_rss_after_load_kb": after_anon,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="server")
    ap.add_argument("--seq", type=int, default=2000, help="sequential calls")
    ap.add_argument("--pipelined", type=int, default=20000, help="pipelined calls")
    ap.add_argument("--out", help="append JSON results to this file")
    ap.add_argument("--idle-only", action="store_true", help="start-up and idle RSS only (no echo/sleep tools needed)")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if not cmd:
        ap.error("give the server command after --")
    res = bench(a.name, cmd, a.seq, a.pipelined, a.idle_only)
    line = json.dumps(res)
    print(line)
    if a.out:
        with open(a.out, "a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    sys.exit(main())
