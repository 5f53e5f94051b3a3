#!/usr/bin/env python3
"""The Lua original's own concurrency measurement, on the `lmcp` binary's
`shell` tool, over stdio and over Streamable HTTP (modern, stateless):

  - ping_during_sleep_ms: a `ping` tool call answered while `shell "sleep 3"`
    runs (Lua original: 10 ms; target <= 2 ms);
  - three_sleeps_s: wall time of three concurrent `shell "sleep 3"` calls
    (Lua original: 3.77 s; target <= 3.05 s);
  - systeminfo_ms: what a `systeminfo` call costs (median of 20, round trip).
Every result is checked (a failed call would make a fast, false figure).

Usage: bench/shell_bench.py [--out FILE] [--runs N] -- LMCP_BINARY
Loopback only; bounded (each run takes about 6 s per transport)."""
import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def call_params(name, args):
    return {"name": name, "arguments": args, "_meta": META}


class Stdio:
    def __init__(self, binary):
        self.p = subprocess.Popen([binary, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL)
        self.lock = threading.Lock()
        self.waiters = {}
        self.next = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            msg = json.loads(line)
            ev = self.waiters.get(msg.get("id"))
            if ev is not None and "method" not in msg:
                ev[1] = msg
                ev[0].set()

    def call(self, name, args):
        with self.lock:
            self.next += 1
            rid = self.next
            slot = [threading.Event(), None]
            self.waiters[rid] = slot
            msg = {"jsonrpc": "2.0", "id": rid, "method": "tools/call", "params": call_params(name, args)}
            self.p.stdin.write((json.dumps(msg) + "\n").encode())
            self.p.stdin.flush()
        slot[0].wait(30)
        return slot[1]

    def close(self):
        self.p.stdin.close()
        self.p.wait(10)


class Http:
    def __init__(self, binary):
        self.p = subprocess.Popen([binary, "--http", "127.0.0.1:0"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in self.p.stderr:
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                break
        threading.Thread(target=lambda: [None for _ in self.p.stderr], daemon=True).start()
        self.n = 0

    def call(self, name, args):
        self.n += 1
        body = {"jsonrpc": "2.0", "id": self.n, "method": "tools/call", "params": call_params(name, args)}
        req = urllib.request.Request(self.url, data=json.dumps(body).encode(), method="POST", headers={
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": name})
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read().decode()
        if raw.lstrip().startswith("{"):
            return json.loads(raw)
        datas = [l[5:].strip() for l in raw.splitlines() if l.startswith("data:")]
        return [json.loads(d) for d in datas if d][-1]

    def close(self):
        self.p.terminate()
        self.p.wait(10)


def ok(r):
    assert "result" in r and not r["result"].get("isError"), r
    return r["result"]


def sleep3(t, results):
    res = ok(t.call("shell", {"command": "sleep 3"}))
    assert res["structuredContent"]["exit_code"] == 0, res
    results.append(res)


def measure(transport):
    t = transport
    ok(t.call("ping", {}))  # warm up
    slow = []
    th = threading.Thread(target=sleep3, args=(t, slow))
    th.start()
    time.sleep(0.3)
    pings = []
    for _ in range(5):
        s = time.perf_counter()
        r = t.call("ping", {})
        pings.append((time.perf_counter() - s) * 1000)
        assert ok(r)["structuredContent"]["pong"] is True
    th.join()
    assert len(slow) == 1, "the sleep 3 call running under the pings failed"
    s = time.perf_counter()
    ths = [threading.Thread(target=sleep3, args=(t, slow)) for _ in range(3)]
    for x in ths:
        x.start()
    for x in ths:
        x.join()
    three = time.perf_counter() - s
    assert len(slow) == 4, "a parallel sleep 3 call failed"
    infos = []
    for _ in range(20):
        s = time.perf_counter()
        assert ok(t.call("systeminfo", {}))["structuredContent"]["lmcp"]["pid"]
        infos.append((time.perf_counter() - s) * 1000)
    return statistics.median(pings), three, statistics.median(infos)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    if len(cmd) != 1:
        ap.error("give the lmcp binary after --")
    for name, cls in (("stdio", Stdio), ("http", Http)):
        for _ in range(a.runs):
            t = cls(cmd[0])
            try:
                ping_ms, three, info_ms = measure(t)
            finally:
                t.close()
            res = {"name": f"lmcp-shell-{name}", "transport": name, "ping_during_sleep_ms": round(ping_ms, 2),
                   "three_sleeps_s": round(three, 3), "systeminfo_ms": round(info_ms, 2)}
            print(json.dumps(res))
            if a.out:
                with open(a.out, "a") as f:
                    f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    sys.exit(main())
