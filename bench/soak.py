#!/usr/bin/env python3
"""Bounded soak of the lmcp binary (standard library only).

One `lmcp --http 127.0.0.1:0` server with N client threads (default 64) and
one `lmcp --stdio` server driven by a pipelining client, for DURATION seconds
(default 180), with a mix of calls:

  HTTP (modern, stateless): ping, read_file, list_dir, search_files,
    write_file + edit_file on a per-client file, shell `echo`, shell with a
    progress token (SSE read to the end), shell `sleep 30` abandoned after
    0.3 s (the client disconnects: the server must cancel and kill it), an SSE
    stream closed after its first event;
  HTTP (legacy): initialize, notifications/initialized, tools/call, DELETE;
  stdio: the same tools pipelined, plus shell `sleep 30` cancelled with
    notifications/cancelled.

Each server's RSS, open fds, OS threads and live descendant processes are
sampled once idle before the load, every 5 s under it, when the clients have
stopped and the servers settled, and once more after --rest seconds idle. It
fails (exit 1, each problem on stderr as `soak: FAIL: ...`) on any failed
request that should have succeeded, on RSS growth after warm-up beyond a
tolerance, and, after the rest, on descendants left behind, on fds above the
lowest count seen after warm-up by more than --fd-slack, or on more OS threads
than before the load plus --thread-slack (a task or blocking thread that
never ends: tokio retires idle blocking threads after 10 s); it prints a JSON
report (and appends it to --out FILE).

  python3 bench/soak.py [--bin target/release/lmcp] [--duration 180] [--clients 64]
  python3 bench/soak.py --bin target/debug/lmcp --duration 30 --clients 16   # quick check

Traffic stays on 127.0.0.1; every loop is bounded in time.
"""
import argparse
import http.client
import json
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from procfs import status_kb

MODERN = "2026-07-28"
LEGACY = "2025-11-25"
META = {
    "io.modelcontextprotocol/protocolVersion": MODERN,
    "io.modelcontextprotocol/clientCapabilities": {},
    "io.modelcontextprotocol/clientInfo": {"name": "soak", "version": "1"},
}


def descendants(pid):
    """Live descendants of pid (zombies excluded)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            rest = stat[stat.rindex(")") + 2:].split()
            state, ppid = rest[0], int(rest[1])
        except (OSError, ValueError):
            continue
        if state != "Z":
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for c in children.get(p, []):
            out.append(c)
            todo.append(c)
    return out


def sample(pid):
    try:
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        fds = None
    return {
        "rss_kb": status_kb(pid, "VmRSS"),
        "fds": fds,
        "threads": status_kb(pid, "Threads"),
        "children": len(descendants(pid)),
    }


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = {}
        self.expected = {}
        self.failed = {}
        self.examples = []

    def add(self, kind, outcome, detail=None):
        with self.lock:
            d = getattr(self, outcome)
            d[kind] = d.get(kind, 0) + 1
            if outcome == "failed" and len(self.examples) < 20:
                self.examples.append(f"{kind}: {detail}")


def rpc(i, method, params, meta=True):
    p = dict(params)
    if meta:
        p["_meta"] = dict(META, **p.get("_meta", {}))
    return {"jsonrpc": "2.0", "id": i, "method": method, "params": p}


def modern_headers(msg):
    h = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": msg["method"],
    }
    if msg["method"] == "tools/call":
        h["Mcp-Name"] = msg["params"]["name"]
    return h


def post(port, msg, headers, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", "/mcp", json.dumps(msg), headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def result_of(r, body):
    """The JSON-RPC response in a JSON or SSE body."""
    if r.getheader("content-type", "").startswith("text/event-stream"):
        last = None
        for line in body.decode().splitlines():
            if line.startswith("data: "):
                m = json.loads(line[6:])
                if "method" not in m:
                    last = m
        return last
    return json.loads(body) if body else None


def tool_ok(m):
    return m is not None and "result" in m and not m["result"].get("isError")


def http_client(port, root, n, stop, stats):
    rnd = random.Random(n)
    i = 0
    own = f"c{n}.txt"
    while not stop.is_set():
        i += 1
        kind = rnd.choice(["ping", "read", "list", "search", "write_edit", "shell",
                           "shell_sse", "abandon", "sse_close", "legacy"])
        try:
            if kind == "abandon":
                # Disconnect mid-request: the server must cancel (and kill the child).
                msg = rpc(i, "tools/call", {"name": "shell", "arguments": {"command": "sleep 30"}})
                try:
                    post(port, msg, modern_headers(msg), timeout=0.3)
                    stats.add(kind, "failed", "a 30 s sleep answered within 0.3 s")
                except (TimeoutError, OSError):
                    stats.add(kind, "expected")
                continue
            if kind == "sse_close":
                msg = rpc(i, "tools/call", {"name": "shell", "arguments": {"command": "sleep 2; echo x"},
                                             "_meta": {"progressToken": f"p{n}-{i}"}})
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("POST", "/mcp", json.dumps(msg), modern_headers(msg))
                r = c.getresponse()
                ok = r.status == 200 and r.getheader("content-type", "").startswith("text/event-stream")
                c.close()  # without reading: the request is cancelled
                stats.add(kind, "expected" if ok else "failed", r.status)
                continue
            if kind == "legacy":
                init = rpc(i, "initialize", {"protocolVersion": LEGACY, "capabilities": {},
                                             "clientInfo": {"name": "soak", "version": "1"}}, meta=False)
                h = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
                r, body = post(port, init, h)
                sid = r.getheader("mcp-session-id")
                if r.status != 200 or not sid:
                    stats.add(kind, "failed", f"initialize {r.status} {body[:200]!r}")
                    continue
                h2 = dict(h, **{"Mcp-Session-Id": sid, "MCP-Protocol-Version": LEGACY})
                r, _ = post(port, {"jsonrpc": "2.0", "method": "notifications/initialized"}, h2)
                call = rpc(i + 1, "tools/call", {"name": "ping", "arguments": {}}, meta=False)
                r, body = post(port, call, h2)
                m = result_of(r, body)
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("DELETE", "/mcp", headers={"Mcp-Session-Id": sid})
                d = c.getresponse()
                d.read()
                c.close()
                ok = tool_ok(m) and d.status in (200, 204)
                stats.add(kind, "ok" if ok else "failed", f"{m} delete={d.status}")
                continue
            if kind == "ping":
                msg = rpc(i, "tools/call", {"name": "ping", "arguments": {}})
            elif kind == "read":
                msg = rpc(i, "tools/call", {"name": "read_file", "arguments": {"path": "data/a.txt"}})
            elif kind == "list":
                msg = rpc(i, "tools/call", {"name": "list_dir", "arguments": {"path": "data"}})
            elif kind == "search":
                msg = rpc(i, "tools/call", {"name": "search_files", "arguments": {"pattern": "needle", "path": "data"}})
            elif kind == "write_edit":
                msg = rpc(i, "tools/call", {"name": "write_file", "arguments": {"path": own, "content": f"v {i}\n"}})
                r, body = post(port, msg, modern_headers(msg))
                if not tool_ok(result_of(r, body)):
                    stats.add(kind, "failed", body[:300])
                    continue
                msg = rpc(i, "tools/call", {"name": "edit_file", "arguments": {
                    "path": own, "edits": [{"old_text": f"v {i}", "new_text": f"w {i}"}]}})
            elif kind == "shell":
                msg = rpc(i, "tools/call", {"name": "shell", "arguments": {"command": f"echo soak-{i}"}})
            else:  # shell_sse
                msg = rpc(i, "tools/call", {"name": "shell", "arguments": {"command": "sleep 0.3; echo done"},
                                             "_meta": {"progressToken": f"p{n}-{i}"}})
            r, body = post(port, msg, modern_headers(msg))
            m = result_of(r, body)
            stats.add(kind, "ok" if r.status == 200 and tool_ok(m) else "failed",
                      f"{r.status} {body[:300]!r}")
        except Exception as e:  # noqa: BLE001 - every failure is counted
            stats.add(kind, "failed", repr(e))


def stdio_client(proc, stop, stats):
    """Pipelines requests on one stdio server; reads answers on a thread."""
    pending = {}
    lock = threading.Lock()
    done = queue.Queue()

    def reader():
        for line in proc.stdout:
            m = json.loads(line)
            if "id" in m and "method" not in m:
                with lock:
                    kind = pending.pop(m["id"], None)
                done.put((kind, m))
        done.put((None, None))

    threading.Thread(target=reader, daemon=True).start()
    rnd = random.Random(7)
    i = 0
    while not stop.is_set():
        while True:  # collect answers
            try:
                kind, m = done.get_nowait()
            except queue.Empty:
                break
            if kind is None and m is None:
                stats.add("stdio", "failed", "stdout closed")
                return
            if kind == "stdio_cancel":
                stats.add(kind, "failed", f"a cancelled request was answered: {m}")
            elif kind is not None:
                stats.add(kind, "ok" if tool_ok(m) else "failed", str(m)[:300])
        with lock:
            inflight = len(pending)
        if inflight > 32:
            time.sleep(0.01)
            continue
        i += 1
        kind = rnd.choice(["stdio_ping", "stdio_read", "stdio_shell", "stdio_cancel"])
        if kind == "stdio_cancel":
            msg = rpc(i, "tools/call", {"name": "shell", "arguments": {"command": "sleep 30"}})
        elif kind == "stdio_ping":
            msg = rpc(i, "tools/call", {"name": "ping", "arguments": {}})
        elif kind == "stdio_read":
            msg = rpc(i, "tools/call", {"name": "read_file", "arguments": {"path": "data/a.txt"}})
        else:
            msg = rpc(i, "tools/call", {"name": "shell", "arguments": {"command": f"echo {i}"}})
        with lock:
            pending[i] = kind
        proc.stdin.write(json.dumps(msg) + "\n")
        proc.stdin.flush()
        if kind == "stdio_cancel":
            time.sleep(0.05)
            with lock:
                pending.pop(i, None)
            proc.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/cancelled",
                                         "params": {"requestId": i, "reason": "soak"}}) + "\n")
            proc.stdin.flush()
            stats.add(kind, "expected")
        time.sleep(0.002)
    deadline = time.time() + 30
    while time.time() < deadline:
        with lock:
            if not pending:
                break
        try:
            kind, m = done.get(timeout=1)
        except queue.Empty:
            continue
        if kind is not None and kind != "stdio_cancel":
            stats.add(kind, "ok" if tool_ok(m) else "failed", str(m)[:300])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/lmcp")
    ap.add_argument("--duration", type=float, default=180)
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--warmup", type=float, default=None, help="default: a sixth of the duration")
    ap.add_argument("--rss-tolerance-kb", type=int, default=8192)
    ap.add_argument("--rest", type=float, default=20,
                    help="seconds idle after the load before the last sample (tokio retires idle "
                         "blocking threads after 10 s)")
    ap.add_argument("--fd-slack", type=int, default=4,
                    help="fds allowed above the lowest post-warm-up count after the rest")
    ap.add_argument("--thread-slack", type=int, default=0,
                    help="OS threads allowed above the idle count before the load, after the rest")
    ap.add_argument("--out")
    a = ap.parse_args()
    warmup = a.warmup if a.warmup is not None else a.duration / 6

    root = tempfile.mkdtemp(prefix="lmcp-soak-")
    os.makedirs(f"{root}/data/sub")
    with open(f"{root}/data/a.txt", "w") as f:
        f.write("alpha\nneedle\n" * 200)
    for k in range(50):
        with open(f"{root}/data/sub/f{k}.txt", "w") as f:
            f.write(f"file {k}\n" + ("needle\n" if k % 7 == 0 else ""))

    common = ["--root", root, "--max-in-flight", "256"]
    http_srv = subprocess.Popen([a.bin, "--http", "127.0.0.1:0", *common],
                                stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    port = None
    t0 = time.time()
    while port is None and time.time() - t0 < 20:
        line = http_srv.stderr.readline()
        if "listening on http://127.0.0.1:" in line:
            port = int(line.split("127.0.0.1:")[1].split("/")[0])
    if port is None:
        sys.exit("soak: the HTTP server did not start")
    threading.Thread(target=lambda: [None for _ in http_srv.stderr], daemon=True).start()
    stdio_srv = subprocess.Popen([a.bin, "--stdio", *common], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    # Idle, before any load: the thread count the servers must return to.
    time.sleep(1)
    idle = {"http": sample(http_srv.pid), "stdio": sample(stdio_srv.pid)}

    stats = Stats()
    stop = threading.Event()
    threads = [threading.Thread(target=http_client, args=(port, root, n, stop, stats), daemon=True)
               for n in range(a.clients)]
    threads.append(threading.Thread(target=stdio_client, args=(stdio_srv, stop, stats), daemon=True))
    samples = []
    start = time.time()
    for t in threads:
        t.start()
    while time.time() - start < a.duration:
        time.sleep(5)
        samples.append({"t": round(time.time() - start), "http": sample(http_srv.pid),
                        "stdio": sample(stdio_srv.pid)})
    stop.set()
    for t in threads:
        t.join(timeout=60)
    # Let cancelled children die and idle connections close.
    settle_deadline = time.time() + 30
    while time.time() < settle_deadline:
        if not descendants(http_srv.pid) and not descendants(stdio_srv.pid):
            break
        time.sleep(0.5)
    time.sleep(2)
    final = {"http": sample(http_srv.pid), "stdio": sample(stdio_srv.pid)}
    # Then idle: blocking-pool threads retire; what memory do they give back?
    time.sleep(a.rest)
    rested = {"http": sample(http_srv.pid), "stdio": sample(stdio_srv.pid)}

    stdio_srv.stdin.close()
    stdio_srv.wait(timeout=30)
    http_srv.terminate()
    http_srv.wait(timeout=30)
    shutil.rmtree(root, ignore_errors=True)

    problems = []
    for name in ("http", "stdio"):
        after = [s[name] for s in samples if s["t"] >= warmup and s[name]["rss_kb"]]
        if after:
            base = after[0]["rss_kb"]
            peak = max(s["rss_kb"] for s in after)
            end = after[-1]["rss_kb"]
            if end - base > a.rss_tolerance_kb:
                problems.append(f"{name}: RSS grew after warm-up ({base} -> {end} KiB, peak {peak})")
        warm_fds = [s[name]["fds"] for s in samples if s["t"] >= warmup and s[name]["fds"]]
        r = rested[name]
        if r["children"] is None or r["fds"] is None or r["threads"] is None:
            problems.append(f"{name}: the server is gone (nothing to sample after the rest)")
            continue
        if r["children"]:
            problems.append(f"{name}: {r['children']} descendant processes left after {a.rest:g} s idle")
        if warm_fds and r["fds"] > min(warm_fds) + a.fd_slack:
            problems.append(f"{name}: {r['fds']} fds after {a.rest:g} s idle, more than the "
                            f"{min(warm_fds)} after warm-up + {a.fd_slack} (leaked sockets or files)")
        if idle[name]["threads"] and r["threads"] > idle[name]["threads"] + a.thread_slack:
            problems.append(f"{name}: {r['threads']} threads after {a.rest:g} s idle, "
                            f"{idle[name]['threads']} before the load (+{a.thread_slack} allowed): "
                            f"threads that never end")
    if stats.failed:
        problems.append(f"failed requests: {stats.failed}")
    report = {
        "duration_s": a.duration, "clients": a.clients, "binary": a.bin,
        "requests_ok": stats.ok, "expected_failures": stats.expected,
        "failed": stats.failed, "failure_examples": stats.examples,
        "total_ok": sum(stats.ok.values()), "idle": idle, "samples": samples, "final": final,
        "rested_s": a.rest, "rested": rested,
        "problems": problems,
    }
    text = json.dumps(report, indent=1)
    print(text)
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(report) + "\n")
    for p in problems:
        print(f"soak: FAIL: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
